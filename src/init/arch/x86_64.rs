//! This architecture's entry point and raw system call.
//!
//! `_start`: x86_64 entry: clear the frame pointer, pass the initial stack pointer in
//! `rdi`, align the stack to 16 bytes as the ABI wants at a call.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym crate::sys::start,
);

/// Syscall numbers used through [`syscall3`].
/// Whether the kernel's `struct sigaction` has `sa_restorer` (and wants
/// `SA_RESTORER`).
pub const SA_RESTORER: bool = true;

pub mod nr {
    pub const EXECVE: usize = 59;
    pub const EXIT_GROUP: usize = 231;
    pub const CLOCK_GETTIME: usize = 228;
    /// With only `SIGCHLD` in the flags, `clone` is `fork`.
    pub const CLONE: usize = 56;
    pub const IOCTL: usize = 16;
    pub const RT_SIGACTION: usize = 13;
}

/// A raw system call with up to four arguments; returns the kernel's value
/// (`-errno` on failure).
///
/// # Safety
/// The arguments must be what system call `nr` expects: pointers valid for
/// the accesses it makes.
pub unsafe fn syscall4(nr: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    // SAFETY: per the contract above; `syscall` clobbers rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}
