//! Everything architecture-specific in the init, one file per architecture:
//! - `_start`, which takes the stack pointer the kernel left (argc, argv,
//!   envp, auxv) and calls `sys::start` with it;
//! - `execve`, the one syscall rustix offers no public wrapper for.

#![allow(unsafe_code)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::execve;
#[cfg(target_arch = "riscv64")]
pub use riscv64::execve;
#[cfg(target_arch = "x86_64")]
pub use x86_64::execve;
