//! Coldplug: the devices that were there before modboot listened for
//! uevents. Every device on a bus is linked from `/sys/bus/<bus>/devices/`;
//! one with no driver bound yet and a `modalias` file is asked for, as udev's
//! `add` events would have asked.

use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, RawDir};

/// A device that may want a driver: its bus, its name there and its modalias.
pub struct Device<'a> {
    pub bus: &'a [u8],
    pub name: &'a [u8],
    pub modalias: &'a [u8],
}

/// Call `f` for each device on a bus that has a modalias and no driver.
pub fn walk(f: &mut dyn FnMut(Device<'_>)) {
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(buses) = rustix::fs::open(c"/sys/bus", dir, Mode::empty()) else {
        return error!("cannot open /sys/bus: no coldplug");
    };
    each_entry(&buses, &mut |bus| {
        let Ok(devices) = open_at(&buses, bus, c"devices") else {
            return;
        };
        each_entry(&devices, &mut |name| {
            let Ok(dev) = open_at(&devices, name, c"") else {
                return;
            };
            if rustix::fs::statat(&dev, c"driver", AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                return; // bound: it has its driver
            }
            let mut buf = [0u8; 4096];
            let Ok(fd) = rustix::fs::openat(
                &dev,
                c"modalias",
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            ) else {
                return;
            };
            let Ok(n) = rustix::io::read(&fd, &mut buf) else {
                return;
            };
            let modalias = buf.get(..n).unwrap_or(&[]).trim_ascii_end();
            if !modalias.is_empty() {
                f(Device {
                    bus: bus.to_bytes(),
                    name: name.to_bytes(),
                    modalias,
                });
            }
        });
    });
}

/// Call `f` with the name of each entry of `dir` but `.` and `..`.
pub fn each_entry(dir: &OwnedFd, f: &mut dyn FnMut(&CStr)) {
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(dir, &mut buf);
    while let Some(Ok(e)) = entries.next() {
        let name = e.file_name();
        if name.to_bytes().first() != Some(&b'.') {
            f(name);
        }
    }
}

/// Open directory `name/sub` (or `name` when `sub` is empty) under `dir`.
fn open_at(dir: &OwnedFd, name: &CStr, sub: &CStr) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let d = rustix::fs::openat(dir.as_fd(), name, flags, Mode::empty())?;
    if sub.is_empty() {
        return Ok(d);
    }
    rustix::fs::openat(&d, sub, flags, Mode::empty())
}
