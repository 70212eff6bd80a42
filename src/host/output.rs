//! Writing an output file (an image in `/boot`, a blob) so that it is either
//! wholly the new bytes or untouched: the bytes go to a temporary file in the
//! target's directory, are flushed to the disk, and the file is renamed over
//! the target (mkinitcpio's fix for its issue #64; initramfs-tools and
//! tiny-initramfs do the same with `mv`). On any error the temporary file is
//! removed and the target, if it existed, keeps its old bytes.
//!
//! Its counterpart for inputs, [`read`], names the file in its error.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The bytes of the file at `path`; the error names it.
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Replace `target` with `bytes` atomically; the new file has mode 0644.
/// The error names the file and the cause (`No space left on device`).
pub fn replace(target: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", target.display()))?;
    let (mut file, temp) = create_temp(&dir, &name.to_string_lossy())
        .map_err(|e| format!("{}: cannot create a file there: {e}", dir.display()))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", target.display()))
        .and_then(|()| {
            drop(file);
            std::fs::rename(&temp, target).map_err(|e| format!("{}: {e}", target.display()))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    // The rename itself is durable once the directory is on the disk.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file `.NAME.XXXXXX` in `dir`, made with `O_EXCL` so that nothing
/// else's file is ever reused.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    let seed = std::process::id() as u64
        ^ std::time::UNIX_EPOCH
            .elapsed()
            .map_or(0, |d| d.as_nanos() as u64);
    let mut last = None;
    for n in 0..100u64 {
        let suffix = seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % 1_000_000;
        let path = dir.join(format!(".{name}.{suffix:06}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("modboot-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("initrd.img");
        replace(&target, b"old").unwrap();
        replace(&target, b"new bytes").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new bytes");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["initrd.img"]);
        // A directory that does not exist: an error naming it, nothing made.
        let e = replace(&dir.join("no/such/x"), b"x").unwrap_err();
        assert!(e.contains("no/such"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
