//! Monotonic time for the init's step timings and waits.

use rustix::thread::nanosleep;
use rustix::time::{ClockId, Timespec, clock_gettime};

/// Nanoseconds on the monotonic clock.
pub fn now() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Nanoseconds since `start`.
pub fn since(start: u64) -> u64 {
    now().saturating_sub(start)
}

/// Sleep for `ms` milliseconds (restarting after signals).
pub fn sleep_ms(ms: u64) {
    let mut req = Timespec { tv_sec: (ms / 1000) as _, tv_nsec: ((ms % 1000) * 1_000_000) as _ };
    while let rustix::thread::NanosleepRelativeResult::Interrupted(rem) = nanosleep(&req) {
        req = rem;
    }
}
