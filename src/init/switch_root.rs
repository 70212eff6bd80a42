//! Handing the machine to the real init, as `switch_root` does:
//!
//! 1. choose the init: `init=`, else the kernel's list (`/sbin/init`,
//!    `/etc/init`, `/bin/init`, `/bin/sh`), checked inside the new root
//!    (symlinks resolved there, not in the initramfs);
//! 2. move `/dev`, `/proc`, `/sys`, `/run` into the new root;
//! 3. fork the *finisher* (below), only if `/` really is a ramfs/tmpfs;
//! 4. move the new root onto `/`, `chroot` into it;
//! 5. `execve` the init with the arguments and environment the kernel gave
//!    PID 1 (`argv[0]` becomes the init's path).
//!
//! The finisher outlives the hand-over: at the lowest CPU priority (nice 19,
//! and so are the workers still running), so that the real init starts
//! first, it waits for the loads still running
//! or queued (each worker says its own outcome in the log), says the
//! summary, gives `/dev/kmsg` its rate limit back, and once PID 1 has
//! exec'd (a close-on-exec pipe reaches end of file) deletes the
//! initramfs's files to free its memory, never crossing into another
//! filesystem. Its root stays the initramfs: the real root is mounted over
//! PID 1's. It and the workers are the real init's children; the real init
//! reaps them as any init reaps orphans. Without a process to spare, the
//! init does the same itself before the switch.
//!
//! Without `root=` there is no switch: every load finishes first, then the
//! program `init=` names (default `/sbin/init`) is exec'd in the initramfs
//! as it is, the API mounts in place, with the same arguments and
//! environment; an image that packs no such program cannot boot without
//! `root=`.
//!
//! Returns only if the hand-over failed; the reason is logged.

use crate::clock;
use crate::files::{DevKmsg, cstr};
use crate::kmsg::{B, E, Ms};
use crate::modload::Loader;
use crate::root::NEW_ROOT;
use crate::sys::{self, Args};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use modboot::cmdline::BootParams;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, ResolveFlags};
use rustix::io::Errno;
use rustix::mount::UnmountFlags;

/// The kernel's own fallbacks when `init=` is not given (init/main.c).
const DEFAULT_INITS: [&[u8]; 4] = [b"/sbin/init", b"/etc/init", b"/bin/init", b"/bin/sh"];
const API_MOUNTS: [(&CStr, &CStr); 4] = [
    (c"/dev", c"/root/dev"),
    (c"/proc", c"/root/proc"),
    (c"/sys", c"/root/sys"),
    (c"/run", c"/root/run"),
];
const RAMFS_MAGIC: u64 = 0x8584_58f6;
const TMPFS_MAGIC: u64 = 0x0102_1994;
/// The kernel passes init at most 32 arguments (MAX_INIT_ARGS): all of them fit.
const MAX_ARGS: usize = 40;
const MAX_DEPTH: u32 = 64;

/// Timestamps of the boot steps, in monotonic nanoseconds, for the line
/// before the exec.
pub struct Timings {
    pub start: u64,
    /// Until the root device was found (drivers loading meanwhile).
    pub found: u64,
    /// Mounting it, with its filesystem's module and the boot's own list.
    pub mount: u64,
}

#[inline(never)]
pub fn switch_root(
    bp: &BootParams<'_>,
    args: &Args,
    t: &Timings,
    loader: Option<&mut Loader<'_>>,
    devkmsg: &DevKmsg,
) {
    if bp.root.is_none() {
        finish_loads(loader, devkmsg, t.start, false);
        let init = bp.init.unwrap_or(DEFAULT_INITS[0]);
        info!(
            "starting {} in the initramfs after {}",
            B(init),
            Ms(clock::since(t.start))
        );
        let e = exec(init, args);
        return error!(
            "no root=, and cannot run {} in the initramfs: {}",
            B(init),
            E(e)
        );
    }
    let root = match rustix::fs::open(
        NEW_ROOT,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return error!("cannot open /root: {}", E(e)),
    };
    let Some(init) = choose_init(&root, bp.init) else {
        return;
    };

    let (dev, on_ramfs) = match (rustix::fs::stat(c"/"), rustix::fs::statfs(c"/")) {
        (Ok(st), Ok(fs)) => (
            st.st_dev,
            matches!(fs.f_type as u64, RAMFS_MAGIC | TMPFS_MAGIC),
        ),
        _ => (0, false),
    };
    if !on_ramfs {
        return error!("/ is not an initramfs (ramfs/tmpfs): not switching root");
    }

    for (from, to) in API_MOUNTS {
        match rustix::mount::mount_move(from, to) {
            Ok(()) => {}
            // No such directory in the root (or not a directory there).
            Err(Errno::NOENT | Errno::NOTDIR) => {
                warn!("the root has no {}; unmounting it", from);
                let _ = rustix::mount::unmount(from, UnmountFlags::DETACH);
            }
            Err(e) => warn!("cannot move {} to {}: {}", from, to, E(e)),
        }
    }

    // The finisher reads its end of the pipe until PID 1's end, held here,
    // closes on exec.
    let _exec_done = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map(|(r, w)| (sys::fork(), r, w))
    {
        Ok((Ok(None), r, w)) => {
            drop(w);
            wind_up(loader, devkmsg, dev, Some(r), t.start);
            None
        }
        Ok((Ok(Some(_)), _, w)) => Some(w),
        _ => {
            wind_up(loader, devkmsg, dev, None, t.start);
            None
        }
    };

    let moved = rustix::process::chdir(NEW_ROOT)
        .and_then(|()| rustix::mount::mount_move(c".", c"/"))
        .and_then(|()| rustix::process::chroot(c"."))
        .and_then(|()| rustix::process::chdir(c"/"));
    if let Err(e) = moved {
        return error!("cannot make /root the root: {}", E(e));
    }

    info!(
        "starting {} after {} (root device found in {}, mounted in {})",
        B(init),
        Ms(clock::since(t.start)),
        Ms(t.found),
        Ms(t.mount)
    );
    // The chosen init first; if exec fails, the kernel's list, as it would.
    for path in core::iter::once(init).chain(DEFAULT_INITS.into_iter().filter(|&p| p != init)) {
        let e = exec(path, args);
        error!("cannot run {}: {}", B(path), E(e));
    }
}

/// Every load to its end (at the lowest CPU priority once `handed_over`),
/// the summary, and `/dev/kmsg`'s rate limit given back.
fn finish_loads(loader: Option<&mut Loader<'_>>, devkmsg: &DevKmsg, start: u64, handed_over: bool) {
    if let Some(l) = loader {
        if handed_over {
            l.yield_cpu();
        }
        l.finish_all();
        l.summarise(start);
    }
    devkmsg.restore();
}

/// The finisher's work (see the module's documentation); returns, when
/// `exec_done` is `None`, for the init to switch root itself.
fn wind_up(
    loader: Option<&mut Loader<'_>>,
    devkmsg: &DevKmsg,
    dev: u64,
    exec_done: Option<OwnedFd>,
    start: u64,
) {
    finish_loads(loader, devkmsg, start, exec_done.is_some());
    if let Some(fd) = &exec_done {
        let _ = rustix::io::read(fd, &mut [0u8; 1]);
    }
    let mut left = 0u32;
    match rustix::fs::open(
        c"/",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => delete_contents(&fd, dev, 0, &mut left),
        Err(e) => warn!("cannot open / to free the initramfs: {}", E(e)),
    }
    if left > 0 {
        warn!("{} initramfs entries could not be deleted", left);
    }
    if exec_done.is_some() {
        sys::exit(0);
    }
}

/// The first usable init: `init=` if it is one (else say why and fall back),
/// then the defaults.
fn choose_init<'a>(root: &OwnedFd, requested: Option<&'a [u8]>) -> Option<&'a [u8]> {
    if let Some(path) = requested {
        match check_executable(root, path) {
            Ok(()) => return Some(path),
            Err(e) => error!(
                "init={} is not an executable file in the root: {}; trying the defaults",
                B(path),
                E(e)
            ),
        }
    }
    let found = DEFAULT_INITS
        .into_iter()
        .find(|p| check_executable(root, p).is_ok());
    if found.is_none() {
        error!("no init in the root (/sbin/init /etc/init /bin/init /bin/sh)");
    }
    found
}

/// Whether `path`, resolved inside the new root, is an executable file.
fn check_executable(root: &OwnedFd, path: &[u8]) -> Result<(), Errno> {
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    let st = match rustix::fs::openat2(root, path, flags, Mode::empty(), ResolveFlags::IN_ROOT) {
        Ok(fd) => rustix::fs::fstat(&fd)?,
        // Kernels before 5.6: resolve relative to the new root, symlinks as
        // they fall.
        Err(Errno::NOSYS) => {
            let rel = path.strip_prefix(b"/").unwrap_or(path);
            rustix::fs::statat(root, rel, AtFlags::empty())?
        }
        Err(e) => return Err(e),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Errno::ACCESS);
    }
    if st.st_mode & 0o111 == 0 {
        return Err(Errno::ACCESS);
    }
    Ok(())
}

/// Delete everything under `dir` that lives on device `dev`; count what could
/// not be deleted in `left`.
fn delete_contents(dir: &impl AsFd, dev: u64, depth: u32, left: &mut u32) {
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut entries = RawDir::new(dir, &mut buf);
    while let Some(entry) = entries.next() {
        let Ok(entry) = entry else {
            *left += 1;
            return;
        };
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let Ok(st) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            *left += 1;
            continue;
        };
        if st.st_dev != dev {
            continue; // a mount point: another filesystem, not ours to empty
        }
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if is_dir {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(dir, name, flags, Mode::empty()) {
                Ok(sub) if depth < MAX_DEPTH => delete_contents(&sub, dev, depth + 1, left),
                _ => {}
            }
        }
        let flags = if is_dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        if rustix::fs::unlinkat(dir, name, flags).is_err() {
            *left += 1;
        }
    }
}

/// Exec `path` with the kernel's arguments after `argv[0]` and its environment.
fn exec(path: &[u8], args: &Args) -> Errno {
    let mut path_buf = [0u8; 512];
    let Some(path) = cstr(path, &mut path_buf) else {
        return Errno::NAMETOOLONG;
    };
    let mut argv = [core::ptr::null::<u8>(); MAX_ARGS];
    let mut n = 0;
    for (i, slot) in argv.iter_mut().take(MAX_ARGS - 1).enumerate() {
        let arg = if i == 0 { Some(path) } else { args.get(i) };
        match arg {
            Some(a) => {
                *slot = a.as_ptr().cast();
                n += 1;
            }
            None => break,
        }
    }
    sys::execve(path, argv.get(..=n).unwrap_or(&[]), args.envp())
}
