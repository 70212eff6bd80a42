//! Everything in the init that needs `unsafe`: the entry point's view of the
//! initial stack, the `mem*` functions a libc would provide, the fault
//! handler, file mappings, `fork` and `execve`, and the log file descriptor.
//!
//! The init links no libc, so this module is its runtime, at the bottom:
//! it uses nothing of the init but `arch`. Each unsafe block says why it is
//! sound.

#![allow(unsafe_code)]

use core::ffi::{CStr, c_void};
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::io::{self, Errno};

/// The arguments and environment the kernel gave PID 1.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
}

impl Args {
    /// Number of arguments, `argv[0]` included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Argument `i`.
    pub fn get(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: the kernel placed `argc` valid pointers to NUL-terminated
        // strings at `argv`; they live as long as the process and are never
        // written to.
        unsafe {
            let p = *self.argv.add(i);
            (!p.is_null()).then(|| CStr::from_ptr(p.cast()))
        }
    }

    /// The NULL-terminated environment, to pass on to the real init unchanged.
    pub fn envp(&self) -> *const *const u8 {
        self.envp
    }
}

/// Called by `_start` (see `arch/`) with the initial stack pointer.
///
/// # Safety
/// `sp` must point at the initial process stack laid out by the kernel:
/// `argc`, `argv[argc]`, NULL, `envp[]`, NULL, auxv.
pub(crate) unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: per the contract above.
    let args = unsafe {
        let argc = *sp;
        let argv = sp.add(1).cast::<*const u8>();
        let envp = argv.add(argc + 1);
        // rustix finds the vDSO and page size through auxv, which follows envp.
        rustix::param::init(envp as *mut *mut u8);
        Args { argc, argv, envp }
    };
    crate::main(args)
}

// The mem* functions the compiler emits calls to. Without a libc someone must
// define them. Volatile accesses keep LLVM from turning these loops back into
// calls to themselves.

/// # Safety
/// As C's `memcpy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid and disjoint.
    unsafe {
        for i in 0..n {
            dst.add(i).write_volatile(src.add(i).read_volatile());
        }
    }
    dst
}

/// # Safety
/// As C's `memmove`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid; copying backwards
    // when dst is above src keeps overlapping ranges correct.
    unsafe {
        if (dst as usize) <= (src as usize) {
            for i in 0..n {
                dst.add(i).write_volatile(src.add(i).read_volatile());
            }
        } else {
            for i in (0..n).rev() {
                dst.add(i).write_volatile(src.add(i).read_volatile());
            }
        }
    }
    dst
}

/// # Safety
/// As C's `memset`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range is valid.
    unsafe {
        for i in 0..n {
            dst.add(i).write_volatile(c as u8);
        }
    }
    dst
}

/// # Safety
/// As C's `memcmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the caller guarantees both ranges are valid.
    unsafe {
        for i in 0..n {
            let (x, y) = (a.add(i).read_volatile(), b.add(i).read_volatile());
            if x != y {
                return x as i32 - y as i32;
            }
        }
    }
    0
}

/// # Safety
/// As `bcmp`: zero if equal.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
/// As C's `strlen`: `s` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a NUL within the allocation.
    unsafe {
        while s.add(n).read_volatile() != 0 {
            n += 1;
        }
    }
    n
}

/// What to call on a fault: set by [`catch_faults`], a `fn(signal,
/// address) -> !` stored as an address.
static ON_FAULT: AtomicUsize = AtomicUsize::new(0);

/// Catch what would otherwise kill PID 1 with a kernel panic: an aborted
/// panic (an illegal instruction), a bad memory access, a bus error (a
/// mapped file that shrank). `report` gets the signal and the address (the
/// faulting instruction, or the address touched) and must not return; it
/// belongs to a module above this one (the log and the halt are there).
pub fn catch_faults(report: fn(usize, usize) -> !) {
    ON_FAULT.store(report as usize, Ordering::Relaxed);
    const SA_SIGINFO: usize = 4;
    const SA_RESTORER: usize = 0x0400_0000;
    const SIGNALS: [usize; 5] = [4, 5, 7, 8, 11]; // ILL, TRAP, BUS, FPE, SEGV
    let handler = on_fault as unsafe extern "C" fn(core::ffi::c_int, *const usize, *const u8);
    // The kernel's struct sigaction: handler, flags, [restorer,] mask.
    let action: [usize; 4] = if crate::arch::SA_RESTORER {
        // A restorer is needed to deliver a signal at all; the handler
        // never returns, so it is never called.
        let restorer = never_restored as unsafe extern "C" fn();
        [
            handler as usize,
            SA_SIGINFO | SA_RESTORER,
            restorer as usize,
            0,
        ]
    } else {
        [handler as usize, SA_SIGINFO, 0, 0]
    };
    for sig in SIGNALS {
        // SAFETY: `action` is a valid kernel struct sigaction for this
        // architecture, read during the call; `on_fault` never returns and
        // only calls `report`, which writes one line and sleeps
        // (async-signal-safe).
        unsafe {
            crate::arch::syscall4(
                crate::arch::nr::RT_SIGACTION,
                sig,
                action.as_ptr() as usize,
                0,
                8,
            )
        };
    }
}

/// # Safety
/// Called by the kernel only, with `info` pointing at a `siginfo_t`.
unsafe extern "C" fn on_fault(sig: core::ffi::c_int, info: *const usize, _: *const u8) {
    // siginfo_t on 64-bit Linux: si_signo, si_errno, si_code (three ints,
    // padded to 16 bytes), then si_addr: the faulting instruction for
    // SIGILL/SIGTRAP/SIGFPE, the address touched for SIGSEGV/SIGBUS.
    // SAFETY: per the contract, `info` is a valid siginfo_t; `ON_FAULT`
    // holds a `fn(usize, usize) -> !`, stored before any handler was
    // installed (only `catch_faults` stores it).
    unsafe {
        let addr = info.add(2).read();
        let report: fn(usize, usize) -> ! = core::mem::transmute(ON_FAULT.load(Ordering::Relaxed));
        report(sig as usize, addr)
    }
}

unsafe extern "C" fn never_restored() {
    // Never called: the handler does not return.
    #[allow(clippy::empty_loop)]
    loop {}
}

static KMSG_FD: AtomicI32 = AtomicI32::new(-1);

/// Make `fd` the log: it stays open (close-on-exec) for the init's life.
/// Only the first call takes effect.
pub fn set_log_fd(fd: OwnedFd) {
    let raw = fd.into_raw_fd();
    if KMSG_FD
        .compare_exchange(-1, raw, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        // SAFETY: `raw` came from `into_raw_fd` just above; nothing else owns it.
        unsafe { rustix::io::close(raw) };
    }
}

/// The log file descriptor: `/dev/kmsg` once opened, else standard error
/// (the console the kernel opened for PID 1). `true` when it is kmsg.
pub fn log_fd() -> (BorrowedFd<'static>, bool) {
    let fd = KMSG_FD.load(Ordering::Relaxed);
    // SAFETY: a non-negative value is an fd leaked by `set_log_fd` and never
    // closed while it is stored; fd 2 may be closed, and then writes fail
    // with EBADF, which is harmless.
    unsafe {
        if fd >= 0 {
            (BorrowedFd::borrow_raw(fd), true)
        } else {
            (BorrowedFd::borrow_raw(2), false)
        }
    }
}

/// The console the kernel opened as PID 1's standard input, output and
/// error (standard output here); writes fail harmlessly with `EBADF` if
/// there is none.
pub fn console() -> BorrowedFd<'static> {
    // SAFETY: fd 1 is never closed by the init; if the kernel found no
    // console it is not open, and calls on it fail with EBADF.
    unsafe { BorrowedFd::borrow_raw(1) }
}

/// The console as the init's standard input (fd 0), for reading a
/// passphrase; reads fail harmlessly with `EBADF` if there is none.
pub fn console_in() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is never closed by the init (see `console`).
    unsafe { BorrowedFd::borrow_raw(0) }
}

/// Turn the console's echo on or off: `TCGETS`, the `ECHO` bit of
/// `c_lflag`, `TCSETS` on fd 0 (the same numbers and layout on every
/// target). False if it is no terminal. (rustix's termios decodes every
/// field, the speeds too: 600 bytes more.)
pub fn console_echo(on: bool) -> bool {
    const TCGETS: usize = 0x5401;
    const TCSETS: usize = 0x5402;
    const ECHO: u32 = 0o10;
    // struct termios: c_iflag, c_oflag, c_cflag, c_lflag, c_line, c_cc[19].
    let mut t = [0u32; 9];
    let fd = console_in().as_raw_fd() as usize;
    // SAFETY: `t` is a writable struct termios (36 bytes) for the call.
    if unsafe { crate::arch::syscall3(crate::arch::nr::IOCTL, fd, TCGETS, t.as_mut_ptr() as usize) } != 0 {
        return false;
    }
    t[3] = if on { t[3] | ECHO } else { t[3] & !ECHO };
    // SAFETY: as above, read-only for the kernel.
    unsafe { crate::arch::syscall3(crate::arch::nr::IOCTL, fd, TCSETS, t.as_ptr() as usize) == 0 }
}

/// Make `fd` this process's standard input (in a child, before an exec).
pub fn dup_to_stdin(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fd 0 is wrapped only for `dup2`, which replaces it in place,
    // and is forgotten afterwards: nothing closes it.
    let mut stdin = unsafe { OwnedFd::from_raw_fd(0) };
    let r = rustix::io::dup2(fd, &mut stdin);
    core::mem::forget(stdin);
    r
}

/// A read-only private mapping of a whole file.
pub struct Mapping {
    ptr: *mut c_void,
    len: usize,
}

impl Mapping {
    /// Map the file `fd` (of length `len`) read-only.
    pub fn file(fd: impl AsFd, len: usize) -> io::Result<Mapping> {
        if len == 0 {
            return Ok(Mapping {
                ptr: core::ptr::null_mut(),
                len: 0,
            });
        }
        use rustix::mm::{MapFlags, ProtFlags, mmap};
        // SAFETY: a fresh mapping chosen by the kernel (null hint) aliases no
        // Rust object; it is only ever read through `bytes`.
        let ptr = unsafe {
            mmap(
                core::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                fd,
                0,
            )?
        };
        Ok(Mapping { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr..ptr+len` is mapped readable until drop. A file that
        // shrinks under us would SIGBUS; initramfs files are ours alone.
        unsafe { core::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }

    /// Keep the mapping for the rest of the process.
    #[inline(never)]
    pub fn leak(self) -> &'static [u8] {
        let m = core::mem::ManuallyDrop::new(self);
        if m.ptr.is_null() {
            return &[];
        }
        // SAFETY: never unmapped from here on.
        unsafe { core::slice::from_raw_parts(m.ptr.cast::<u8>(), m.len) }
    }
}

impl Mapping {
    /// A zeroed, writable, private anonymous mapping of `len` bytes,
    /// unmapped on drop.
    pub fn anonymous(len: usize) -> io::Result<Mapping> {
        let ptr = match len {
            0 => core::ptr::null_mut(),
            _ => scratch(len)?.as_mut_ptr().cast(),
        };
        Ok(Mapping { ptr, len })
    }

    /// The bytes of an [`anonymous`](Self::anonymous) mapping, to write.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: `ptr..ptr+len` is a writable anonymous mapping (only
        // `anonymous` hands out a Mapping that this is called on) owned by
        // `self`, and the borrow of `self` keeps it unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.cast::<u8>(), self.len) }
    }
}

/// A zeroed, writable, private anonymous mapping of `len` bytes that lives as
/// long as the process: scratch memory without an allocator.
pub fn scratch(len: usize) -> io::Result<&'static mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous};
    // SAFETY: a fresh anonymous mapping chosen by the kernel aliases nothing;
    // it is never unmapped, so the 'static borrow stays valid, and it is
    // handed out exactly once.
    unsafe {
        let ptr = mmap_anonymous(
            core::ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )?;
        Ok(core::slice::from_raw_parts_mut(ptr.cast::<u8>(), len))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: unmapping what `file` mapped; no borrow of it outlives
            // `self` (`bytes` borrows `self`).
            let _ = unsafe { rustix::mm::munmap(self.ptr, self.len) };
        }
    }
}

/// Replace this process with `path`. `argv` must end with a null pointer and
/// its other entries point at NUL-terminated strings that outlive the call.
/// Returns only on failure.
pub fn execve(path: &CStr, argv: &[*const u8], envp: *const *const u8) -> Errno {
    if argv.last() != Some(&core::ptr::null()) {
        return Errno::INVAL;
    }
    // SAFETY: `argv` is NULL-terminated (checked) and its strings are valid
    // per this function's contract; `envp` is the kernel-provided environment.
    let ret = unsafe {
        crate::arch::syscall3(
            crate::arch::nr::EXECVE,
            path.as_ptr() as usize,
            argv.as_ptr() as usize,
            envp as usize,
        )
    };
    Errno::from_raw_os_error(-ret as i32)
}

/// `fork(2)`: `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
pub fn fork() -> io::Result<Option<rustix::process::Pid>> {
    const SIGCHLD: usize = 17;
    // SAFETY: clone with SIGCHLD alone and no new stack is fork: the child
    // runs on a copy of this address space, so no memory is shared and
    // nothing Rust owns is aliased. The init is single-threaded.
    let ret = unsafe { crate::arch::syscall3(crate::arch::nr::CLONE, SIGCHLD, 0, 0) };
    match ret {
        0 => Ok(None),
        r if r < 0 => Err(Errno::from_raw_os_error(-r as i32)),
        r => Ok(rustix::process::Pid::from_raw(r as i32)),
    }
}

/// End the process. Only for when modboot is not PID 1.
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes a plain integer and does not return.
        unsafe { crate::arch::syscall3(crate::arch::nr::EXIT_GROUP, code as usize, 0, 0) };
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (0 if the clock cannot be read).
pub fn monotonic_ns() -> u64 {
    const CLOCK_MONOTONIC: usize = 1;
    let mut ts = [0i64; 2]; // struct timespec on 64-bit: tv_sec, tv_nsec
    // SAFETY: `ts` is a writable struct timespec for the duration of the call.
    let ret = unsafe {
        crate::arch::syscall3(
            crate::arch::nr::CLOCK_GETTIME,
            CLOCK_MONOTONIC,
            ts.as_mut_ptr() as usize,
            0,
        )
    };
    if ret != 0 {
        return 0;
    }
    (ts[0] as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts[1] as u64)
}
