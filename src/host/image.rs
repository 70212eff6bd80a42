//! The initramfs image: `/init`, the modules a blob names, and the blob.
//!
//! ```text
//! /init                              the modboot binary
//! /dev/console                       char 5:1, so the kernel can open init's console
//! /dev /proc /sys /run /root         mount points
//! /etc/modboot.blob                  the blob (absent when the init embeds it)
//! /lib/modules/<release>/<path>      every module of the blob, bytes untouched
//! ```

use super::cpio::Archive;
use super::emit::BlobSpec;
use std::path::Path;

/// Where the init looks for its blob when it has none embedded.
pub const BLOB_PATH: &str = "etc/modboot.blob";

/// Assemble the image. `blob` is written to [`BLOB_PATH`] when given; the
/// module files are read from `tree_dir` for every module of `spec`.
pub fn build(
    init: &[u8],
    spec: &BlobSpec,
    blob: Option<&[u8]>,
    tree_dir: &Path,
) -> Result<Archive, String> {
    let mut a = Archive::new();
    a.add_file("init", 0o755, init.to_vec())?;
    a.add_char_dev("dev/console", 0o600, 5, 1)?;
    for d in ["dev", "proc", "sys", "run", "root"] {
        a.add_dir(d, 0o755)?;
    }
    if let Some(b) = blob {
        a.add_file(BLOB_PATH, 0o644, b.to_vec())?;
    }
    let base = format!("lib/modules/{}", spec.release);
    for m in &spec.modules {
        let src = tree_dir.join(&m.path);
        let data = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        a.add_file(&format!("{base}/{}", m.path), 0o644, data)?;
    }
    Ok(a)
}
