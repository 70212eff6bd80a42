//! The rescue shell an image can carry (`mkmodboot image --rescue[=FILE]`,
//! `rescue = yes|no|FILE` in the configuration): a static shell packed at
//! [`SHELL_PATH`], which the init starts on the console for `rd.shell`,
//! `rd.break`, and a failed boot that no `rd.emergency=` or `panic=`
//! decides (see the init's `emergency` module). By default it is the build
//! machine's busybox ([`BUSYBOX`], Debian's busybox-static): its shell runs
//! busybox's applets without links (`ls`, `mount`, `cat` and the rest), so
//! it needs nothing else in the image.
//!
//! The shell must run with nothing but the initramfs: a static executable
//! (no program interpreter, no dynamic section) for the modules' machine.

use super::cpio::Archive;
use super::elf::{self, Header};
use std::path::{Path, PathBuf};

/// Where the shell is packed, and what the init runs.
pub const SHELL_PATH: &str = "bin/sh";
/// The build machine's busybox: `--rescue` and `rescue = yes` without a file.
pub const BUSYBOX: &str = "/bin/busybox";

/// `--rescue`'s and `rescue`'s value: `yes` (busybox), `no`, or a file.
pub fn parse(word: &str) -> Result<Option<PathBuf>, String> {
    match word {
        "yes" | "true" | "1" => Ok(Some(PathBuf::from(BUSYBOX))),
        "no" | "false" | "0" => Ok(None),
        "" => Err("yes, no or a static shell's path".into()),
        path => Ok(Some(PathBuf::from(path))),
    }
}

/// Pack the shell at `path` into `archive` at [`SHELL_PATH`], once
/// [`check`]ed for `machine`.
pub fn pack(path: &Path, machine: Option<u16>, archive: &mut Archive) -> Result<(), String> {
    let bytes = super::output::read(path)?;
    check(&bytes, path, machine)?;
    archive.add_file(SHELL_PATH, 0o755, bytes)
}

/// The shell's bytes, checked: a static executable for `machine` (`None`:
/// any).
pub fn check(shell: &[u8], path: &Path, machine: Option<u16>) -> Result<(), String> {
    let fix = if path == Path::new(BUSYBOX) {
        "install busybox-static, or give --rescue=FILE"
    } else {
        "--rescue takes a static shell"
    };
    let h = Header::parse(shell).map_err(|e| format!("{}: {e}; {fix}", path.display()))?;
    if h.kind != elf::ET_EXEC || !is_static(shell, &h) {
        return Err(format!(
            "{}: a {}, linked dynamically (it needs a program interpreter and libraries the \
             initramfs does not have); {fix}",
            path.display(),
            h.describe()
        ));
    }
    if let Some(m) = machine.filter(|m| *m != h.machine) {
        return Err(format!(
            "{} is a shell for {}, but the modules are for {}: give --rescue=FILE, a static \
             shell for {}",
            path.display(),
            elf::machine_name(h.machine),
            elf::machine_name(m),
            elf::machine_name(m)
        ));
    }
    Ok(())
}

/// Whether an executable needs nothing to run: no `PT_INTERP` and no
/// `PT_DYNAMIC` among its program headers (`e_phoff`, `e_phentsize`,
/// `e_phnum` at 28/42/44 or, 64-bit, 32/54/56).
fn is_static(b: &[u8], h: &Header) -> bool {
    let n = |at: usize, len: usize| {
        let bytes = b.get(at..at + len)?;
        let mut v = 0u64;
        for (i, &byte) in bytes.iter().enumerate() {
            let shift = if h.little { i } else { len - 1 - i };
            v |= u64::from(byte) << (8 * shift);
        }
        Some(v as usize)
    };
    let (phoff, phentsize, phnum) = if h.class64 {
        (n(32, 8), n(54, 2), n(56, 2))
    } else {
        (n(28, 4), n(42, 2), n(44, 2))
    };
    let (Some(phoff), Some(size), Some(count)) = (phoff, phentsize, phnum) else {
        return false;
    };
    (0..count).all(|i| {
        let p_type = n(phoff.saturating_add(i.saturating_mul(size)), 4);
        p_type.is_some_and(|t| t != 2 && t != 3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse("yes"), Ok(Some(PathBuf::from(BUSYBOX))));
        assert_eq!(parse("no"), Ok(None));
        assert_eq!(parse("/opt/sh"), Ok(Some(PathBuf::from("/opt/sh"))));
        assert!(parse("").is_err());
    }

    #[test]
    fn static_shells_only() {
        // The test machine's busybox is busybox-static (qemu/lib.sh's
        // ensure_deps); the test binary itself is dynamic.
        let bb = std::fs::read(BUSYBOX).unwrap();
        let machine = Header::parse(&bb).unwrap().machine;
        assert_eq!(check(&bb, Path::new(BUSYBOX), Some(machine)), Ok(()));
        let other = if machine == 62 { 183 } else { 62 };
        let e = check(&bb, Path::new(BUSYBOX), Some(other)).unwrap_err();
        assert!(
            e.contains("is a shell for") && e.contains("but the modules are for"),
            "{e}"
        );
        let me = std::env::current_exe().unwrap();
        let dynamic = std::fs::read(&me).unwrap();
        let e = check(&dynamic, &me, None).unwrap_err();
        assert!(
            e.contains("linked dynamically") || e.contains("shared object"),
            "{e}"
        );
        let e = check(b"#!/bin/sh\n", Path::new(BUSYBOX), None).unwrap_err();
        assert!(
            e.ends_with("install busybox-static, or give --rescue=FILE"),
            "{e}"
        );
    }
}
