//! This architecture's entry point and raw system call.
//!
//! `_start`: aarch64 entry: clear the frame and link registers, pass the initial stack
//! pointer (16-byte aligned by the kernel) in `x0`.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "bl {entry}",
    "brk #0",
    entry = sym crate::sys::start,
);

/// Syscall numbers used through [`syscall3`].
/// Whether the kernel's `struct sigaction` has `sa_restorer` (and wants
/// `SA_RESTORER`).
pub const SA_RESTORER: bool = true;

pub mod nr {
    pub const EXECVE: usize = 221;
    pub const EXIT_GROUP: usize = 94;
    pub const CLOCK_GETTIME: usize = 113;
    /// With only `SIGCHLD` in the flags, `clone` is `fork`.
    pub const CLONE: usize = 220;
    pub const IOCTL: usize = 29;
    pub const RT_SIGACTION: usize = 134;
}

/// A raw system call with up to four arguments; returns the kernel's value
/// (`-errno` on failure).
///
/// # Safety
/// The arguments must be what system call `nr` expects: pointers valid for
/// the accesses it makes.
pub unsafe fn syscall4(nr: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    // SAFETY: per the contract above; the number goes in x8.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a as isize => ret,
            in("x1") b,
            in("x2") c,
            in("x3") d,
            options(nostack),
        );
    }
    ret
}

/// `getauxval(3)` for compiler-builtins' CPU-feature detection (LSE atomics,
/// function multi-versioning), which a libc would provide. Answers the
/// hardware-capability words from the auxv rustix read at start; 0 (unknown)
/// for anything else. Without a libc no constructor runs it before `_start`
/// hands over, so detection falls back to the baseline paths either way.
#[unsafe(no_mangle)]
pub extern "C" fn getauxval(kind: core::ffi::c_ulong) -> core::ffi::c_ulong {
    const AT_HWCAP: core::ffi::c_ulong = 16;
    const AT_HWCAP2: core::ffi::c_ulong = 26;
    let (hwcap, hwcap2) = rustix::param::linux_hwcap();
    match kind {
        AT_HWCAP => hwcap as _,
        AT_HWCAP2 => hwcap2 as _,
        _ => 0,
    }
}
