//! LVM physical volumes: when one appears, the image's real `lvm`
//! ([`LVM`]) activates the volumes the boot asks for, as dracut's lvm
//! module does: `rd.lvm.lv=VG/LV` and `rd.lvm.vg=VG` (those: mkmodboot
//! writes the root's into the image's own command line), else every
//! group; `rd.lvm=0` activates none. Activation runs again for each new
//! physical volume, so a group whose last volume comes later is completed
//! then.
//!
//! There is no udev here: lvm is told not to wait for it, and creates the
//! `/dev/mapper/VG-LV` nodes and `/dev/VG/LV` links itself.

use crate::tools::{self, Argv};
use core::ffi::CStr;
use modboot::cmdline;

/// Where mkmodboot packs lvm.
pub const LVM: &CStr = c"/sbin/lvm";
/// No udev in the initramfs: lvm makes its own nodes and links. (Without
/// this, lvm 2.03 activates the volume but leaves its nodes to udev rules
/// that never run: tried, the root never appeared.)
const NO_UDEV: &[u8] = b"devices{obtain_device_list_from_udev=0} \
    activation{udev_sync=0 udev_rules=0 monitoring=0}";

/// Activate what the boot asks for, a new physical volume having appeared;
/// a failure is said.
pub fn activate(cmdline: &[u8]) {
    const NAMED: &[&[u8]] = &[b"rd.lvm.lv", b"rd.lvm.vg"];
    // lvchange takes groups (all their volumes) and VG/LV alike.
    let named = cmdline::list(cmdline, NAMED).next().is_some();
    let mut argv = Argv::new(LVM, &[if named { b"lvchange" } else { b"vgchange" }]);
    argv.args(&[b"-ay", b"--sysinit", b"--config", NO_UDEV]);
    for name in cmdline::list(cmdline, NAMED) {
        argv.args(&[name]);
    }
    tools::run_said(&argv, if named { "lvm lvchange" } else { "lvm vgchange" });
}
