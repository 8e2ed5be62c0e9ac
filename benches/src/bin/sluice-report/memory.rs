//! Warming the machine's free memory before a produce run.
//!
//! These machines are virtual, and the host takes back guest memory that stays free for a few
//! seconds (free page reporting). The first store into such memory costs a fault on the host as
//! well: measured here at 0.5-0.6 GB/s, against 2-3 GB/s for memory freed a moment ago. A produce
//! run fills fresh page-cache pages, so, without this, each run would measure how fast the host
//! hands memory back rather than the broker; a broker in steady state takes its page cache from
//! pages it used before. So each produce run is preceded by touching and freeing about as much
//! memory as it will write, and the speed of that first touch is reported as a machine figure.

use std::time::Instant;

/// Bytes filled per step, small enough that the fill does not hold two copies.
const STEP: usize = 64 << 20;

/// Writes `bytes` of freshly allocated memory, frees it, and returns how fast the first touch ran,
/// in GB/s.
pub fn warm(bytes: u64) -> f64 {
    let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    let start = Instant::now();
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut filled = 0usize;
    while filled < bytes {
        let len = STEP.min(bytes - filled);
        // `vec![1; len]` stores every byte (a zeroed allocation could be left untouched).
        blocks.push(std::hint::black_box(vec![1u8; len]));
        filled += len;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(blocks);
    filled as f64 / secs.max(1e-9) / 1e9
}
