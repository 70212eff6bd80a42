//! Entry and raw syscalls for this architecture.
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

/// Raw `execve(2)`: returns only on failure, with `-errno`.
///
/// # Safety
/// `path` is a NUL-terminated string; `argv` and `envp` are NULL-terminated
/// arrays of NUL-terminated strings, all valid for the call.
pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> isize {
    let ret: isize;
    // SAFETY: per the contract above; syscall number 221 in a7.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("a7") 221usize,
            inlateout("a0") path => ret,
            in("a1") argv,
            in("a2") envp,
            options(nostack),
        );
    }
    ret
}
