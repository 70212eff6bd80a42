//! Where things are: the files of an installed modboot (its configuration
//! and its inits, baked in at build time by `initramfs/install`), and a
//! Debian system's kernels and initrds (`/lib/modules/<version>`,
//! `/boot/initrd.img-<version>`, as initramfs-tools names them).

use std::path::{Path, PathBuf};

/// The directory of `modboot.conf` and `modboot.conf.d/`, if this mkmodboot
/// was installed (`MODBOOT_SYSCONFDIR` at build time); a build in the
/// checkout reads no configuration unless given `--conf`.
pub fn sysconfdir() -> Option<&'static Path> {
    option_env!("MODBOOT_SYSCONFDIR")
        .filter(|d| !d.is_empty())
        .map(Path::new)
}

/// Where the installed inits are (`MODBOOT_LIBDIR` at build time), one per
/// architecture: `init-x86_64`, `init-aarch64`, `init-riscv64`.
pub fn libdir() -> Option<&'static Path> {
    option_env!("MODBOOT_LIBDIR")
        .filter(|d| !d.is_empty())
        .map(Path::new)
}

/// The installed init for a machine (`uname -m` name).
pub fn installed_init(machine: &str) -> Result<PathBuf, String> {
    let dir = libdir().ok_or_else(|| {
        "--init FILE is required: this mkmodboot was not installed by initramfs/install, \
         so it has no init of its own (initramfs/build-init builds one)"
            .to_string()
    })?;
    let init = dir.join(format!("init-{machine}"));
    if !init.is_file() {
        return Err(format!(
            "{}: no init for {machine} is installed (initramfs/install --target builds more); \
             or give --init FILE",
            init.display()
        ));
    }
    Ok(init)
}

/// The default module tree: the running kernel's.
pub fn running_tree() -> PathBuf {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Path::new("/lib/modules").join(release.trim())
}

/// The kernel versions installed under `moddir` (each a directory with a
/// `modules.dep`), sorted.
pub fn installed_kernels(moddir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(moddir).map_err(|e| format!("{}: {e}", moddir.display()))? {
        let e = e.map_err(|e| format!("{}: {e}", moddir.display()))?;
        if e.path().join("modules.dep").is_file() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// Debian's name for a kernel's initramfs: `<bootdir>/initrd.img-<version>`.
pub fn initrd(bootdir: &Path, version: &str) -> PathBuf {
    bootdir.join(format!("initrd.img-{version}"))
}
