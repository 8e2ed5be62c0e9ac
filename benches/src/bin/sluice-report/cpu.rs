//! CPU time of the calling thread, for the in-process measurements (the raw
//! sender and receiver, the fetch consumer).

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;

/// User + system CPU seconds of the calling thread so far.
pub fn thread_cpu_seconds() -> f64 {
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(usage) => {
            let us = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
            us as f64 / 1e6
        }
        Err(_) => f64::NAN,
    }
}

/// CPU seconds a closure's thread spends, and its result.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let before = thread_cpu_seconds();
    let value = f();
    (value, thread_cpu_seconds() - before)
}
