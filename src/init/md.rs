//! md RAID members: each one, as it appears, goes to the image's real
//! `mdadm --incremental` ([`MDADM`]), which starts an array once all its
//! members are there (superblocks 0.90, 1.0, 1.1 and 1.2 alike, as mdadm
//! reads them). `rd.md=0` assembles nothing; `rd.md.uuid=UUID` only those
//! arrays (mdadm's or blkid's spelling of the array's UUID).
//!
//! An array still incomplete after two thirds of the root's wait is
//! started degraded (`mdadm --incremental --run --scan`, as
//! initramfs-tools' `mdadm` script does when its own wait ends), and a
//! line names each array that runs without some of its members.

use crate::tools::{self, Argv};
use crate::{coldplug, files};
use core::ffi::CStr;
use modboot::blkid::Uuid;
use modboot::cmdline;
use rustix::fs::{Mode, OFlags};

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

/// Start every array still waiting for members, degraded, and name each
/// array that runs without all of its members.
pub fn start_degraded() {
    tools::run_said(&Argv::new(MDADM, &[b"--incremental", b"--run", b"--scan"]), "mdadm --run");
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(d) = rustix::fs::open(c"/sys/class/block", dir, Mode::empty()) else {
        return;
    };
    coldplug::each_entry(&d, &mut |name| {
        let name = name.to_bytes();
        let mut buf = [0u8; 16];
        let missing = files::block_attr(name, b"md/degraded", &mut buf);
        if let Some(n) = missing.and_then(cmdline::parse_u32).filter(|&n| n > 0) {
            error!(
                "md array /dev/{} started degraded, {} member(s) missing: mdadm --detail /dev/{} names them",
                name, n, name
            );
        }
    });
}
