//! This architecture's entry point and raw system call.
//!
//! `_start`: riscv64 entry: clear the frame pointer and return address, pass the initial
//! stack pointer in `a0`, align the stack to 16 bytes.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "mv fp, zero",
    "mv ra, zero",
    "mv a0, sp",
    "andi sp, sp, -16",
    "call {entry}",
    "unimp",
    entry = sym crate::sys::start,
);

/// Syscall numbers used through [`syscall3`].
/// Whether the kernel's `struct sigaction` has `sa_restorer` (and wants
/// `SA_RESTORER`).
pub const SA_RESTORER: bool = false;

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
    // SAFETY: per the contract above; the number goes in a7.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("a7") nr,
            inlateout("a0") a as isize => ret,
            in("a1") b,
            in("a2") c,
            in("a3") d,
            options(nostack),
        );
    }
    ret
}
