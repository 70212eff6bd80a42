//! modboot's init: PID 1 of an initramfs.
//!
//! The boot, in order, each step timed and logged to `/dev/kmsg`:
//! 1. mount `/dev` (devtmpfs), `/proc`, `/sys`, `/run` ([`early_mounts`]);
//! 2. read `/proc/cmdline` ([`modboot::cmdline`]);
//! 3. read and verify the blob, embedded or `/etc/modboot.blob` ([`load_blob`]),
//!    and point the kernel's module requests at this binary ([`modprobe`]);
//! 4. listen for uevents ([`uevents`]), queue the boot's own modules, and the
//!    drivers of every device present ([`coldplug`]), loading them in
//!    dependency order, several at once ([`modload`]);
//! 5. meanwhile, load drivers for devices as they appear, until the root
//!    device shows; mount it on `/root` ([`root`]);
//! 6. wait for every load started, move the API mounts over, empty the
//!    initramfs, and exec the real init ([`switch_root`]).
//!
//! Run as `modprobe` (by `argv[0]`), the same binary answers the kernel's
//! `request_module()` from the blob ([`modprobe`]).
//!
//! A failure is logged in one line naming what failed and why; the init then
//! carries on where that is safe, and otherwise halts without exiting (PID 1
//! exiting is a kernel panic with no message).
//!
//! `no_std`, no allocator, no libc: `sys` is the runtime and the only place
//! with `unsafe`; `arch/` holds each architecture's `_start`.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[macro_use]
mod kmsg;
mod arch;
mod clock;
mod coldplug;
mod modload;
mod modprobe;
mod root;
mod switch_root;
mod sys;
mod uevents;

use core::ffi::CStr;
use kmsg::{B, E, Ms};
use modboot::blob::{Blob, Stored};
use modboot::cmdline::BootParams;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MountFlags;

/// Set by `build.rs` when the init is built for one board: then it needs no
/// blob file. Empty otherwise.
static EMBEDDED_BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/modboot.blob"));
/// The blob in the image, when none is embedded (see `host::image`).
const BLOB_PATH: &CStr = c"/etc/modboot.blob";
/// The kernel's command line is at most a few KiB (COMMAND_LINE_SIZE).
pub const CMDLINE_MAX: usize = 8192;

/// Timestamps of the boot steps, in monotonic nanoseconds.
pub struct Timings {
    pub start: u64,
    /// Until the root device was found (drivers loading meanwhile).
    pub found: u64,
    /// Loading the rest, and mounting.
    pub mount: u64,
}

pub fn main(args: sys::Args) -> ! {
    sys::catch_faults();
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
    let devkmsg = kmsg_unlimited();
    info!("modboot {} starting", env!("CARGO_PKG_VERSION"));

    let mut cmdline_buf = [0u8; CMDLINE_MAX];
    let cmdline = read_cmdline(&mut cmdline_buf);
    let bp = BootParams::parse(cmdline);
    if let Some(p) = bp.invalid {
        warn!(
            "ignoring {}={}: not a number",
            B(p.key),
            B(p.value.unwrap_or(b""))
        );
    }

    let jobs = bp.jobs.map_or(modload::JOBS_DEFAULT, |j| j as usize);
    let mut loader = usable_blob().and_then(|blob| modload::Loader::new(blob, cmdline, jobs));
    let helper = loader.as_ref().and_then(|_| modprobe::Helper::install());
    let uevents = match uevents::Uevents::open() {
        Ok(u) => Some(u),
        Err(e) => {
            warn!("cannot listen for uevents: {}", E(e));
            None
        }
    };
    if let Some(l) = loader.as_mut() {
        // Loads start as soon as they are asked for: the walk of /sys goes
        // on while the first modules load (in workers), not before.
        l.request_boot_modules();
        l.pump();
        coldplug::walk(&mut |d| {
            l.request_modalias(d.modalias);
            l.pump();
        });
    }

    let found = root::find(&bp, loader.as_mut(), uevents.as_ref());
    drop(uevents);
    let found_at = clock::now();
    let mounted = found.and_then(|f| {
        if let Some(l) = loader.as_mut() {
            l.finish_all();
        }
        root::mount(&f, &bp, loader.as_mut())
    });
    if let Some(l) = loader.as_ref() {
        let s = l.sum;
        info!(
            "modules: {} loaded, {} already present, {} failed, in {}",
            s.loaded,
            s.present,
            s.failed,
            Ms(clock::since(start))
        );
    }
    if mounted.is_ok() {
        if let Some(h) = helper {
            h.restore();
        }
        devkmsg.restore();
        let t = Timings {
            start,
            found: found_at - start,
            mount: clock::since(found_at),
        };
        switch_root::switch_root(&bp, &args, &t);
    }
    error!("cannot continue the boot; halting");
    halt()
}

/// The blob, verified and built for the running kernel; `None` after saying
/// why not.
pub fn usable_blob() -> Option<Blob<'static>> {
    match load_blob() {
        Ok((blob, source)) => {
            let running = rustix::system::uname();
            let release = running.release().to_bytes();
            if release == blob.release().as_bytes() {
                info!("blob: {}, {} modules", source, blob.module_count());
                return Some(blob);
            }
            error!(
                "blob ({}) was built for kernel {} but this kernel is {}: not loading any module",
                source,
                blob.release(),
                B(release)
            );
        }
        Err(BlobError::Open(e)) => error!(
            "cannot open {}: {}; not loading any module",
            B(BLOB_PATH.to_bytes()),
            E(e)
        ),
        Err(BlobError::Bad(source, e)) => error!(
            "blob ({}) is unusable: {}; not loading any module",
            source,
            e.describe()
        ),
    }
    None
}

/// Stay alive forever: PID 1 must not exit.
pub fn halt() -> ! {
    loop {
        clock::sleep_ms(3_600_000);
    }
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
            match rustix::fs::open(
                c"/dev/kmsg",
                OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => sys::set_log_fd(fd),
                Err(e) => error!("cannot open /dev/kmsg: {}; logging to the console", E(e)),
            }
        }
    }
}

/// `/dev/kmsg` drops a writer's lines beyond 10 per 5 s by default; a boot
/// log must not lose lines, so lift the limit while modboot runs (the real
/// init gets the setting back). A `printk.devkmsg=` on the command line locks
/// the setting, and then this changes nothing.
struct DevKmsg {
    restore: bool,
}

const DEVKMSG_SYSCTL: &[u8] = b"/proc/sys/kernel/printk_devkmsg";

#[inline(never)]
fn kmsg_unlimited() -> DevKmsg {
    let mut buf = [0u8; 16];
    let old = read_file(DEVKMSG_SYSCTL, &mut buf).unwrap_or(&[]);
    let restore = old.starts_with(b"ratelimit") && write_file(DEVKMSG_SYSCTL, b"on\n").is_ok();
    DevKmsg { restore }
}

impl DevKmsg {
    fn restore(&self) {
        if self.restore {
            let _ = write_file(DEVKMSG_SYSCTL, b"ratelimit\n");
        }
    }
}

/// Read `/proc/cmdline`; a command line too long for the buffer is cut, and
/// said so.
#[inline(never)]
fn read_cmdline(buf: &mut [u8; CMDLINE_MAX]) -> &[u8] {
    match read_file(b"/proc/cmdline", buf) {
        Ok(s) => {
            if s.len() == CMDLINE_MAX {
                warn!("kernel command line cut at {} bytes", CMDLINE_MAX);
            }
            // Safe to re-borrow: read_file returned a prefix of buf.
            let n = s.len();
            buf.get(..n).unwrap_or(&[])
        }
        Err(e) => {
            error!("cannot read /proc/cmdline: {}; using defaults", E(e));
            &[]
        }
    }
}

/// Read a small file into `buf` (up to its size).
pub fn read_file<'b>(path: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, buf.get_mut(len..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(buf.get(..len).unwrap_or(&[]))
}

/// Write `data` to an existing file (a sysctl) in one write.
pub fn write_file(path: &[u8], data: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, data).map(|_| ())
}

enum BlobError {
    Open(Errno),
    Bad(&'static str, modboot::blob::Error),
}

/// The blob: embedded in this binary, or mapped from [`BLOB_PATH`]; its
/// payload inflated into scratch memory when it is stored deflated.
#[inline(never)]
fn load_blob() -> Result<(Blob<'static>, &'static str), BlobError> {
    let (stored, source): (&'static [u8], _) = if !EMBEDDED_BLOB.is_empty() {
        (EMBEDDED_BLOB, "embedded")
    } else {
        let fd = rustix::fs::open(BLOB_PATH, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(BlobError::Open)?;
        let len = rustix::fs::fstat(&fd).map_err(BlobError::Open)?.st_size as usize;
        (
            sys::Mapping::file(&fd, len)
                .map_err(BlobError::Open)?
                .leak(),
            "/etc/modboot.blob",
        )
    };
    let bad = |e| BlobError::Bad(source, e);
    let stored = Stored::new_checked(stored).map_err(bad)?;
    let buf = if stored.is_deflated() {
        sys::scratch(stored.payload_len()).map_err(BlobError::Open)?
    } else {
        &mut []
    };
    Blob::new_checked(stored.payload(buf).map_err(bad)?)
        .map(|b| (b, source))
        .map_err(bad)
}
