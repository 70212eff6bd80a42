//! Entry and raw syscalls for this architecture.
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

/// Raw `execve(2)`: returns only on failure, with `-errno`.
///
/// # Safety
/// `path` is a NUL-terminated string; `argv` and `envp` are NULL-terminated
/// arrays of NUL-terminated strings, all valid for the call.
pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> isize {
    let ret: isize;
    // SAFETY: per the contract above; the syscall clobbers rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") 59isize => ret,
            in("rdi") path,
            in("rsi") argv,
            in("rdx") envp,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}
