//! Monotonic time for the init's step timings and waits.

use rustix::thread::{Timespec, nanosleep};

/// Nanoseconds on the monotonic clock.
pub fn now() -> u64 {
    crate::sys::monotonic_ns()
}

/// Nanoseconds since `start`.
pub fn since(start: u64) -> u64 {
    now().saturating_sub(start)
}

/// Sleep for `ms` milliseconds (restarting after signals).
pub fn sleep_ms(ms: u64) {
    let mut req = Timespec {
        tv_sec: (ms / 1000) as _,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    };
    while let rustix::thread::NanosleepRelativeResult::Interrupted(rem) = nanosleep(&req) {
        req = rem;
    }
}
