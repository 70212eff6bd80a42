//! Everything architecture-specific in the init, one file per architecture:
//! - `_start`, which takes the stack pointer the kernel left (argc, argv,
//!   envp, auxv) and calls `sys::start` with it;
//! - `syscall3` and the numbers of the system calls made without rustix:
//!   `execve`, `exit_group`, `clone` and `rt_sigaction` (rustix has no
//!   public wrapper) and
//!   `clock_gettime` (rustix's goes through a vDSO parser that costs
//!   kilobytes; the init reads the clock a few dozen times).

#![allow(unsafe_code)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::{SA_RESTORER, nr, syscall4};
#[cfg(target_arch = "riscv64")]
pub use riscv64::{SA_RESTORER, nr, syscall4};
#[cfg(target_arch = "x86_64")]
pub use x86_64::{SA_RESTORER, nr, syscall4};

/// [`syscall4`] for system calls of up to three arguments.
///
/// # Safety
/// As for [`syscall4`].
pub unsafe fn syscall3(nr: usize, a: usize, b: usize, c: usize) -> isize {
    // SAFETY: the same contract; the fourth argument is unused.
    unsafe { syscall4(nr, a, b, c, 0) }
}
