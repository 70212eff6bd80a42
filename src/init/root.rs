//! Finding and mounting the real root on `/root`.
//!
//! `root=` names the device (a `/dev/...` path). The wait for it is bounded
//! by `rootdelay=N` seconds, unbounded with `rootwait`, and
//! [`DEFAULT_TIMEOUT_S`] otherwise; when it gives up, the log line lists the
//! block devices that did appear. The filesystem types tried are
//! `rootfstype=` (comma-separated) or every non-`nodev` type in
//! `/proc/filesystems`; `rootflags=` is the mount data, and the root is
//! read-only unless `rw` is given, as with the kernel's own root mount.

use crate::clock;
use crate::kmsg::{B, E, Ms};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use modboot::cmdline::BootParams;
use modboot::fstypes;
use rustix::fs::{FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;
use rustix::mount::MountFlags;

/// Seconds to wait for the root device without `rootwait` or `rootdelay=`.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// Where the real root is mounted before the switch.
pub const NEW_ROOT: &CStr = c"/root";
const POLL_MS: u64 = 10;

/// Wait for the root device and mount it on [`NEW_ROOT`]. Every failure is
/// logged before `Err` is returned.
pub fn mount_root(bp: &BootParams<'_>) -> Result<(), ()> {
    let Some(root) = bp.root else {
        error!("no root= on the kernel command line: nothing to mount");
        return Err(());
    };
    if !root.starts_with(b"/dev/") {
        error!("root={}: only /dev/... device paths are supported", B(root));
        return Err(());
    }
    wait_for_device(root, bp)?;
    mount(root, bp)
}

fn is_block_device(path: &[u8]) -> bool {
    rustix::fs::stat(path)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::BlockDevice)
}

fn wait_for_device(root: &[u8], bp: &BootParams<'_>) -> Result<(), ()> {
    if is_block_device(root) {
        return Ok(());
    }
    let timeout_s = if bp.rootwait {
        None
    } else {
        Some(bp.rootdelay.unwrap_or(DEFAULT_TIMEOUT_S))
    };
    match timeout_s {
        Some(s) => info!("waiting up to {} s for root device {}", s, B(root)),
        None => info!(
            "waiting for root device {} (rootwait: no time limit)",
            B(root)
        ),
    }
    let start = clock::now();
    let mut next_note = 10u64;
    loop {
        clock::sleep_ms(POLL_MS);
        if is_block_device(root) {
            info!(
                "root device {} appeared after {}",
                B(root),
                Ms(clock::since(start))
            );
            return Ok(());
        }
        let waited_s = clock::since(start) / 1_000_000_000;
        match timeout_s {
            Some(s) if waited_s >= s as u64 => {
                log_missing_device(root, s);
                return Err(());
            }
            None if waited_s >= next_note => {
                info!(
                    "still waiting for root device {} after {} s",
                    B(root),
                    waited_s
                );
                next_note *= 2;
            }
            _ => {}
        }
    }
}

/// The one line that says the root device did not appear, and what did.
fn log_missing_device(root: &[u8], waited_s: u32) {
    let mut l = crate::kmsg::Line::start(crate::kmsg::ERR);
    let _ = ufmt::uwrite!(
        l,
        "root device {} did not appear within {} s; block devices present:",
        B(root),
        waited_s
    );
    let mut any = false;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if let Ok(dir) = rustix::fs::open(c"/sys/class/block", flags, Mode::empty()) {
        let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
        let mut entries = RawDir::new(&dir, &mut buf);
        while let Some(Ok(e)) = entries.next() {
            let name = e.file_name().to_bytes();
            if name.first() != Some(&b'.') {
                l.push(b" ");
                l.push(name);
                any = true;
            }
        }
    }
    if !any {
        l.push(b" none");
    }
    l.finish();
}

/// Try each candidate filesystem type until one mounts.
fn mount(root: &[u8], bp: &BootParams<'_>) -> Result<(), ()> {
    let _ = rustix::fs::mkdir(NEW_ROOT, Mode::from_raw_mode(0o755));
    let mut data_buf = [0u8; 1024];
    let data = match cstr(bp.rootflags.unwrap_or(b""), &mut data_buf) {
        Some(d) => d,
        None => {
            error!("rootflags= is longer than {} bytes", data_buf.len() - 1);
            return Err(());
        }
    };
    let mut fs_buf = [0u8; 4096];
    let types: &[u8] = match bp.rootfstype {
        Some(t) => t,
        None => match crate::read_file(c"/proc/filesystems", &mut fs_buf) {
            Ok(t) => t,
            Err(e) => {
                error!("cannot read /proc/filesystems: {}; give rootfstype=", E(e));
                return Err(());
            }
        },
    };
    let mut read_only = !bp.read_write;
    let mut last: Option<(&[u8], Errno)> = None;
    for fstype in fstypes::candidates(types, bp.rootfstype.is_some()) {
        loop {
            let mut flags = MountFlags::SILENT;
            if read_only {
                flags |= MountFlags::RDONLY;
            }
            match rustix::mount::mount(root, NEW_ROOT, fstype, flags, data) {
                Ok(()) => {
                    info!(
                        "mounted {} on /root ({}, {}{}{})",
                        B(root),
                        B(fstype),
                        if read_only { "ro" } else { "rw" },
                        if data.is_empty() { "" } else { ", " },
                        B(data.to_bytes())
                    );
                    return Ok(());
                }
                // As the kernel does: a device that refuses writes is mounted read-only.
                Err(Errno::ACCESS | Errno::ROFS) if !read_only => {
                    warn!(
                        "{} refuses read-write mounting; mounting it read-only",
                        B(root)
                    );
                    read_only = true;
                }
                Err(e) => {
                    last = Some((fstype, e));
                    break;
                }
            }
        }
    }
    match last {
        Some((fstype, e)) => error!(
            "cannot mount root {}: last tried {}: {}",
            B(root),
            B(fstype),
            E(e)
        ),
        None => error!("cannot mount root {}: no filesystem type to try", B(root)),
    }
    Err(())
}

/// Copy `s` into `buf` with a NUL; `None` if it does not fit.
pub fn cstr<'b>(s: &[u8], buf: &'b mut [u8]) -> Option<&'b CStr> {
    let dst = buf.get_mut(..s.len())?;
    dst.copy_from_slice(s);
    *buf.get_mut(s.len())? = 0;
    CStr::from_bytes_with_nul(buf.get(..=s.len())?).ok()
}
