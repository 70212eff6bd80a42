//! `mkmodboot update`: the images of installed kernels, as `update-initramfs
//! -u -k VERSION|all` writes them: `BOOTDIR/initrd.img-VERSION` from
//! `MODDIR/VERSION` ([`paths`]), each built by [`assemble::image`] with the
//! same settings. One kernel's error is the one message; with several, each
//! failure is told and the others are still written.

use super::notes::note;
use super::settings::Settings;
use super::{assemble, paths};
use std::path::Path;

/// Write the image of kernel `kernel` (`all`: every tree in `moddir` with a
/// `modules.dep`) to `bootdir`; an error if any was not written.
pub fn update(s: &Settings, kernel: &str, moddir: &Path, bootdir: &Path) -> Result<(), String> {
    let versions = if kernel == "all" {
        let v = paths::installed_kernels(moddir)?;
        if v.is_empty() {
            note(&format!(
                "no kernel with a modules.dep in {}: nothing to do",
                moddir.display()
            ));
        }
        v
    } else {
        vec![kernel.to_string()]
    };
    let mut failed = 0;
    for v in &versions {
        let out = paths::initrd(bootdir, v);
        let built = assemble::image(s, Some(&moddir.join(v)), &out);
        match built {
            // One kernel: its error is the one message.
            Err(e) if versions.len() == 1 => {
                return Err(format!("{}: not written: {e}", out.display()));
            }
            Err(e) => {
                note(&format!("{}: not written: {e}", out.display()));
                failed += 1;
            }
            Ok(()) => {}
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} images not written", versions.len()));
    }
    Ok(())
}
