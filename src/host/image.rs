//! The initramfs image: `/init`, the modules a blob names, and the blob.
//!
//! ```text
//! /init                              the modboot binary
//! /sbin/modprobe -> /init            its modprobe mode, for the kernel's requests
//! /dev/console                       char 5:1, so the kernel can open init's console
//! /dev /proc /sys /run /root         mount points
//! /etc/modboot.blob                  the blob (absent when the init embeds it)
//! /lib/modules/<release>/<path>      every module of the blob, in the form its path says
//! /bin/sh                            the rescue shell, with --rescue (host::rescue)
//! PATH                               each --add PATH=SOURCE file
//! ```
//!
//! A module's path in the blob is its stored path (`modstore::plan` chose
//! it): `x.ko` is stored plain, `x.ko.gz` gzipped, `x.ko.xz` and `x.ko.zst`
//! xz (CRC-32 checks) and zstd. Its file comes from the tree, in whatever
//! form the tree has it ([`modstore::source_of`]); a compressed file is
//! decoded and checked, then stored untouched if its form is the stored
//! one, or decompressed (and compressed again in the stored form). The
//! module's uncompressed bytes never change.

use super::codec;
use super::cpio::Archive;
use super::emit::BlobSpec;
use super::modstore;
use crate::compression::Format;
use std::path::{Path, PathBuf};

/// Where the init looks for its blob when it has none embedded.
pub const BLOB_PATH: &str = "etc/modboot.blob";
/// The kernel's usermode helper for `request_module()`: the init's
/// `modprobe` mode (it goes by `argv[0]`).
pub const MODPROBE_PATH: &str = "sbin/modprobe";

/// Assemble the image. `blob` is written to [`BLOB_PATH`] when given; the
/// module files are read from `tree_dir` for every module of `spec` and
/// stored as their paths say.
pub fn build(
    init: &[u8],
    spec: &BlobSpec,
    blob: Option<&[u8]>,
    tree_dir: &Path,
) -> Result<Archive, String> {
    let mut a = Archive::new();
    a.add_file("init", 0o755, init.to_vec())?;
    a.add_symlink(MODPROBE_PATH, "/init")?;
    a.add_char_dev("dev/console", 0o600, 5, 1)?;
    for d in ["dev", "proc", "sys", "run", "root"] {
        a.add_dir(d, 0o755)?;
    }
    if let Some(b) = blob {
        a.add_file(BLOB_PATH, 0o644, b.to_vec())?;
    }
    let base = format!("lib/modules/{}", spec.release);
    for m in &spec.modules {
        let src = modstore::source_of(tree_dir, &m.path)?;
        let data = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let data = stored(data, modstore::stored_format(&m.path))
            .map_err(|e| format!("{}: {e}", src.display()))?;
        a.add_file(&format!("{base}/{}", m.path), 0o644, data)?;
    }
    Ok(a)
}

/// Add the `--add` files to `archive`: each `(path in the image, source)`
/// with its source's bytes and permissions.
pub fn add_files(archive: &mut Archive, add: &[(String, PathBuf)]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    for (path, source) in add {
        let meta = std::fs::metadata(source).map_err(|e| format!("{}: {e}", source.display()))?;
        archive.add_file(
            path,
            meta.permissions().mode() & 0o7777,
            super::output::read(source)?,
        )?;
    }
    Ok(())
}

/// A module file's bytes `data` (in any form) as they are stored in form
/// `to`. Compressed input is decoded, and so checked, even when it is kept.
pub fn stored(data: Vec<u8>, to: Format) -> Result<Vec<u8>, String> {
    let from = Format::detect(&data);
    if from == Format::Plain && to == Format::Plain {
        return Ok(data);
    }
    let plain = codec::decompress(from, &data)?;
    if from != Format::Plain && !plain.starts_with(b"\x7fELF") {
        return Err(format!(
            "decompressed {} data is not an ELF object",
            from.kernel_name().unwrap_or("plain")
        ));
    }
    match to {
        _ if to == from => Ok(data),
        Format::Plain => Ok(plain),
        Format::Gzip => Ok(codec::gzip(&plain)),
        // In the kernel's own module format, for the kernel to decompress
        // (xz with CRC-32 checks, which is what its decoder verifies).
        Format::Xz | Format::Zstd => codec::compress(to, None, &plain),
    }
}
