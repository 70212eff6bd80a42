//! md RAID members: each one, as it appears, goes to the image's real
//! `mdadm --incremental` ([`MDADM`]), which starts an array once all its
//! members are there (superblocks 0.90, 1.0, 1.1 and 1.2 alike, as mdadm
//! reads them). `rd.md=0` assembles nothing; `rd.md.uuid=UUID` only those
//! arrays (mdadm's or blkid's spelling of the array's UUID).
//!
//! An array still incomplete after two thirds of the root's wait is
//! started degraded (`mdadm --incremental --run --scan`, as
//! initramfs-tools' `mdadm` script does when its own wait ends), said in
//! a line before the kernel's own, which names the array and the members
//! it runs with.

use crate::tools::{self, Argv};
use crate::files;
use core::ffi::CStr;
use modboot::blkid::Uuid;
use modboot::cmdline;

/// Where mkmodboot packs mdadm.
pub const MDADM: &CStr = c"/sbin/mdadm";

/// Whether the boot assembles the array with UUID `uuid`: not with
/// `rd.md=0`, and only those `rd.md.uuid=` names if any.
pub fn wanted(cmdline: &[u8], uuid: &Uuid) -> bool {
    const KEY: &[u8] = b"rd.md.uuid";
    !cmdline::off(cmdline, b"rd.md")
        && (cmdline::value(cmdline, KEY).is_none()
            || cmdline::for_uuid(cmdline, KEY, uuid, false).is_some())
}

/// Add the member `/dev/DEV` to its array; a failure is said.
pub fn add_member(dev: &[u8]) {
    let mut path = [0u8; 80];
    let path = files::join(&mut path, &[b"/dev/", dev]).unwrap_or(b"");
    tools::run_said(&Argv::new(MDADM, &[b"--incremental", b"--offroot", path]), "mdadm --incremental");
}

/// Start every array still waiting for members, degraded, and say so (the
/// kernel's own line names each array and how many members it runs with:
/// `md/raid1:md127: active with 1 out of 2 mirrors`).
#[inline(never)]
pub fn start_degraded() {
    error!("starting the md arrays still waiting for members, degraded");
    tools::run_said(&Argv::new(MDADM, &[b"--incremental", b"--run", b"--scan"]), "mdadm --run");
}
