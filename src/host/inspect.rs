//! `mkmodboot inspect`: what an image, a blob or an init holds, as
//! `lsinitrd` shows an image: its compression and files, its init and that
//! init's machine, its blob's release and modules (each checked to be in
//! the image), and what the boot list resolves to ([`show_depends`]).
//!
//! The report goes to a given writer, a line at a time; a reader that went
//! away (`| head`) is not an error. [`inspect`] says whether what it read
//! is whole, for the caller's exit status.

use super::emit::{self, BlobSpec};
use super::show_depends::show_depends;
use super::{codec, cpio, elf, image, output};
use crate::blob::Stored;
use crate::resolve::Resolver;
use std::io::Write;
use std::path::Path;

/// A line to `out`, whose errors (a closed pipe) are not worth a failure.
macro_rules! put {
    ($out:expr, $($t:tt)*) => {{
        let _ = writeln!($out, $($t)*);
    }};
}

/// What to inspect.
#[derive(Clone, Copy, Debug)]
pub enum What<'a> {
    /// An initramfs image: its files, its init, its blob and what the boot
    /// list resolves to.
    Image(&'a Path),
    /// A blob file.
    Blob(&'a Path),
    /// An init binary with an embedded blob.
    Init(&'a Path),
}

/// Write what `what` holds to `out`. `Ok(false)`: an image that lacks its
/// init, its blob or a module its blob names.
pub fn inspect(what: What<'_>, out: &mut impl Write) -> Result<bool, String> {
    let (bytes, embedded) = match what {
        What::Image(path) => return image(path, out),
        What::Blob(path) => (output::read(path)?, false),
        What::Init(path) => (output::read(path)?, true),
    };
    let stored = if embedded {
        emit::find_embedded(&bytes).ok_or("no valid blob embedded in this file")?
    } else {
        &bytes[..]
    };
    blob(stored, out)?;
    Ok(true)
}

/// Write a stored blob's sizes, release, load list, section counts and
/// modules to `out`; its spec.
pub fn blob(stored: &[u8], out: &mut impl Write) -> Result<BlobSpec, String> {
    let payload = emit::payload_of(stored)?;
    let spec = emit::decode(&emit::checked(&payload)?);
    let stored_len = Stored::new_checked(stored).map_or(0, |s| s.stored_len());
    put!(
        out,
        "stored {stored_len} bytes, payload {} bytes",
        payload.len()
    );
    put!(out, "release {}", spec.release);
    put!(out, "modules {}", spec.modules.len());
    put!(out, "load {}", spec.load.join(" "));
    put!(
        out,
        "aliases {} (config {}), builtin {} (aliases {}), options {}, commands {}, softdeps {}, blacklist {}",
        spec.aliases.len(),
        spec.config_aliases.len(),
        spec.builtin.len(),
        spec.builtin_aliases.len(),
        spec.options.len(),
        spec.commands.len(),
        spec.softdeps.len(),
        spec.blacklist.len()
    );
    for m in &spec.modules {
        put!(
            out,
            "module {} {} deps=[{}]",
            m.name,
            m.path,
            m.deps.join(" ")
        );
    }
    Ok(spec)
}

/// An image as `lsinitrd` shows one: its compression and files, its init,
/// its blob, and what the boot list resolves to. `Ok(false)`: something is
/// missing, and the report says what.
pub fn image(path: &Path, out: &mut impl Write) -> Result<bool, String> {
    let bytes = output::read(path)?;
    let (members, forms) = cpio::read_image(&bytes, &codec::decompress)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // "gzip", or "uncompressed + zstd" for an early archive before the main one.
    let format = forms
        .iter()
        .map(|f| f.kernel_name().unwrap_or("uncompressed"))
        .collect::<Vec<_>>()
        .join(" + ");
    put!(
        out,
        "image {}: {} bytes, {format}, {} entries",
        path.display(),
        bytes.len(),
        members.len()
    );
    let find = |p: &str| members.iter().find(|m| m.path == p);
    let mut whole = true;
    match find("init") {
        Some(init) => {
            let what =
                elf::Header::parse(&init.data).map_or_else(|e| e.to_string(), |h| h.describe());
            put!(out, "init: {what}, {} bytes", init.data.len());
        }
        None => {
            put!(
                out,
                "init: missing: the kernel will not run this image's init"
            );
            whole = false;
        }
    }
    let embedded = find("init").and_then(|i| emit::find_embedded(&i.data));
    let (stored, place) = match (find(image::BLOB_PATH), embedded) {
        (Some(b), _) => (Some(&b.data[..]), "/etc/modboot.blob"),
        (None, Some(e)) => (Some(e), "embedded in /init"),
        (None, None) => (None, ""),
    };
    if let Some(stored) = stored {
        let payload = emit::payload_of(stored)?;
        let blob = emit::checked(&payload)?;
        let spec = emit::decode(&blob);
        put!(
            out,
            "blob: {place}, kernel {}, {} modules",
            spec.release,
            spec.modules.len()
        );
        let base = format!("lib/modules/{}", spec.release);
        for m in &spec.modules {
            if find(&format!("{base}/{}", m.path)).is_none() {
                put!(
                    out,
                    "  missing from the image: {base}/{} ({})",
                    m.path,
                    m.name
                );
                whole = false;
            }
        }
        put!(out, "boot list: {}", spec.load.join(" "));
        let resolver = Resolver::new(blob, b"");
        for name in &spec.load {
            match show_depends(&resolver, name, &format!("/{base}")) {
                Ok(lines) => lines.lines().for_each(|l| put!(out, "  {l}")),
                Err(e) => put!(out, "  {e}"),
            }
        }
    } else {
        put!(
            out,
            "blob: none (neither /etc/modboot.blob nor embedded in /init)"
        );
        whole = false;
    }
    put!(out, "files:");
    for m in &members {
        let link = if m.type_char() == 'l' {
            format!(" -> {}", String::from_utf8_lossy(&m.data))
        } else {
            String::new()
        };
        put!(
            out,
            "  {}{:04o} {:>9} {}{link}",
            m.type_char(),
            m.mode & 0o7777,
            m.data.len(),
            m.path
        );
    }
    Ok(whole)
}
