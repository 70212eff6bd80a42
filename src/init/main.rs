//! modboot's init: PID 1 of an initramfs.
//!
//! The boot, in order, each step timed and logged to `/dev/kmsg`:
//! 1. mount `/dev` (devtmpfs), `/proc`, `/sys`, `/run` ([`early_mounts`]);
//! 2. read `/proc/cmdline` ([`modboot::cmdline`]);
//! 3. read and verify the blob, embedded or `/etc/modboot.blob` ([`blobfile`]),
//!    and point the kernel's module requests at this binary ([`modprobe`]);
//! 4. listen for uevents ([`uevents`]), queue the boot's own modules, and the
//!    drivers of every device present ([`coldplug`]), loading them in
//!    dependency order, several at once ([`modload`]);
//! 5. meanwhile, load drivers for devices as they appear, and open the
//!    LUKS, LVM and md containers among them with the image's tools
//!    ([`stack`]), until the root device shows; mount it on `/root`
//!    ([`root`]);
//! 6. wait for the boot's own modules (`rd.break`: the rescue shell), move
//!    the API mounts over and exec the real init ([`switch_root`]); the
//!    loads still running or queued finish in a process that outlives the
//!    hand-over, which then empties the initramfs.
//!
//! Run as `modprobe` (by `argv[0]`), the same binary answers the kernel's
//! `request_module()` from the blob ([`modprobe`]).
//!
//! A failure is logged in one line naming what failed and why; the init then
//! carries on where that is safe, and otherwise applies the operator's
//! failure policy ([`emergency`]: rescue shell, reboot, power-off or halt)
//! without exiting (PID 1 exiting is a kernel panic with no message).
//!
//! This file only orchestrates the boot. Each module uses only the ones
//! below it: `arch`, `sys` (the runtime, the only place with `unsafe`),
//! `clock` and `kmsg` (the log), `files`, `blobfile`, `coldplug` and
//! `uevents`, `modload`, `modprobe`, `tools` (running the image's
//! programs), the layers `crypt`, `lvm` and `md` under `stack`, `root`,
//! `switch_root`, `emergency`.
//! `no_std`, no allocator, no libc.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[macro_use]
mod kmsg;
mod arch;
mod blobfile;
mod clock;
mod coldplug;
mod crypt;
mod emergency;
mod files;
mod lvm;
mod md;
mod modload;
mod modprobe;
mod root;
mod stack;
mod switch_root;
mod sys;
mod tools;
mod uevents;

use core::ffi::CStr;
use kmsg::{B, E};
use modboot::cmdline::BootParams;
use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::mount::MountFlags;

pub fn main(args: sys::Args) -> ! {
    sys::catch_faults(emergency::fault);
    if modprobe::is_invoked_as(&args) {
        modprobe::main(&args);
    }
    let start = clock::now();
    if rustix::process::getpid() != rustix::process::Pid::INIT {
        // Mounting, loading and switching root are for a fresh boot only.
        let msg = b"modboot: not PID 1: refusing to run (use it as /init of an initramfs)\n";
        let _ = rustix::io::write(sys::log_fd().0, msg);
        sys::exit(2);
    }
    early_mounts();
    let devkmsg = files::DevKmsg::unlimited();
    info!("modboot {} starting", env!("CARGO_PKG_VERSION"));

    let mut cmdline_buf = [0u8; files::CMDLINE_MAX];
    let cmdline = files::read_cmdline(&mut cmdline_buf);
    let bp = BootParams::parse(cmdline);
    if let Some((p, why)) = bp.invalid {
        warn!(
            "ignoring {}={}: {}",
            B(p.key),
            B(p.value.unwrap_or(b"")),
            why
        );
    }

    let jobs = bp.jobs.map_or(modload::JOBS_DEFAULT, |j| j as usize);
    let mut loader = blobfile::usable().and_then(|(blob, source)| {
        info!("blob: {}, {} modules", source, blob.module_count());
        modload::Loader::new(blob, cmdline, jobs)
    });
    let helper = loader.as_ref().and_then(|_| modprobe::Helper::install());
    let uevents = match uevents::Uevents::open() {
        Ok(u) => Some(u),
        Err(e) => {
            warn!("cannot listen for uevents: {}", E(e));
            None
        }
    };
    if let Some(l) = loader.as_mut() {
        // The boot's own modules start loading at once; every device is
        // asked for before the first of their drivers starts, so that those
        // loads go in the order of their ranks (modload): the root's chain
        // first, as best the machine tells.
        l.request_boot_modules();
        l.pump();
        coldplug::walk(&mut |d| {
            l.request_modalias(d.modalias);
        });
    }

    let mut stack = stack::Stack::new(cmdline);
    let found = root::find(&bp, loader.as_mut(), uevents.as_ref(), &mut stack);
    drop(uevents);
    let found_at = clock::now();
    // Only the root's filesystem module is waited for, and the boot's own
    // list: other loads go on through the hand-over (switch_root).
    if found
        .and_then(|f| root::mount(&f, &bp, loader.as_mut()))
        .is_ok()
    {
        if let Some(l) = loader.as_mut() {
            l.settle();
        }
        if bp.rd_break {
            emergency::rd_break(&args);
        }
        if let Some(h) = helper {
            h.restore();
        }
        let t = switch_root::Timings {
            start,
            found: found_at - start,
            mount: clock::since(found_at),
        };
        switch_root::switch_root(&bp, &args, &t, loader.as_mut(), &devkmsg);
    }
    // The rescue shell, or whatever the failure policy runs, gets every
    // driver (a USB keyboard's too).
    if let Some(l) = loader.as_mut() {
        l.finish_all();
        l.summarise(start);
    }
    emergency::give_up(&bp, &args)
}

/// The API filesystems: devtmpfs first, so the log can open `/dev/kmsg`.
#[inline(never)]
fn early_mounts() {
    const NOSUID: MountFlags = MountFlags::NOSUID;
    let mounts: [(&CStr, &CStr, MountFlags, &CStr); 4] = [
        (c"/dev", c"devtmpfs", NOSUID, c"mode=0755"),
        (
            c"/proc",
            c"proc",
            NOSUID.union(MountFlags::NODEV).union(MountFlags::NOEXEC),
            c"",
        ),
        (
            c"/sys",
            c"sysfs",
            NOSUID.union(MountFlags::NODEV).union(MountFlags::NOEXEC),
            c"",
        ),
        (
            c"/run",
            c"tmpfs",
            NOSUID.union(MountFlags::NODEV),
            c"mode=0755",
        ),
    ];
    for (i, (target, fstype, flags, data)) in mounts.into_iter().enumerate() {
        let _ = rustix::fs::mkdir(target, Mode::from_raw_mode(0o755));
        match rustix::mount::mount(fstype, target, fstype, flags, data) {
            Ok(()) | Err(Errno::BUSY) => {}
            Err(e) => error!(
                "cannot mount {} on {}: {}",
                B(fstype.to_bytes()),
                B(target.to_bytes()),
                E(e)
            ),
        }
        if i == 0 {
            if let Err(e) = kmsg::open() {
                error!("cannot open /dev/kmsg: {}; logging to the console", E(e));
            }
        }
    }
}
