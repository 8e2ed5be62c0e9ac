//! Walking concatenated batches: segment scans and fetch responses.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

mod common;

use common::sample;
use proptest::prelude::*;
use sluice_record::{BatchIter, RecordError};

fn log_of(sizes: &[usize]) -> (Vec<u8>, Vec<usize>) {
    let mut log = Vec::new();
    let mut ends = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        log.extend_from_slice(&sample(n, u8::try_from(i).unwrap()));
        ends.push(log.len());
    }
    (log, ends)
}

#[test]
fn empty_buffer_is_a_clean_end() {
    let mut iter = BatchIter::new(&[]);
    assert!(iter.next().is_none());
    assert!(!iter.has_partial_tail());
    assert_eq!(iter.position(), 0);
}

#[test]
fn yields_every_batch_then_ends() {
    let (log, ends) = log_of(&[1, 3, 0, 2]);
    let mut iter = BatchIter::new(&log);
    let mut starts = Vec::new();
    for batch in iter.by_ref() {
        starts.push(batch.unwrap().as_bytes().as_ptr() as usize - log.as_ptr() as usize);
    }
    assert_eq!(starts, [0, ends[0], ends[1], ends[2]]);
    assert_eq!(iter.position(), log.len());
    assert!(!iter.has_partial_tail());
    assert!(iter.next().is_none());
}

#[test]
fn every_cut_of_a_log_stops_at_the_last_whole_batch() {
    let (log, ends) = log_of(&[2, 1, 3]);
    for n in 0..=log.len() {
        let mut iter = BatchIter::new(&log[..n]);
        let whole = iter.by_ref().inspect(|b| assert!(b.is_ok())).count();
        let boundary = ends.iter().copied().filter(|&e| e <= n).max().unwrap_or(0);
        assert_eq!(whole, ends.iter().filter(|&&e| e <= n).count(), "cut {n}");
        assert_eq!(iter.position(), boundary, "cut {n}");
        assert_eq!(iter.has_partial_tail(), n != boundary, "cut {n}");
        assert_eq!(iter.remaining(), &log[boundary..n]);
    }
}

#[test]
fn a_corrupt_batch_stops_iteration_for_good() {
    let (mut log, ends) = log_of(&[1, 1, 1]);
    log[ends[1] - 1] ^= 0x40; // last byte of the second batch
    let mut iter = BatchIter::new(&log);
    assert!(iter.next().unwrap().is_ok());
    assert!(matches!(
        iter.next(),
        Some(Err(RecordError::CrcMismatch { .. }))
    ));
    assert_eq!(iter.position(), ends[0]);
    assert!(!iter.has_partial_tail());
    assert!(iter.next().is_none());
    assert!(iter.next().is_none());
}

#[test]
fn debug_does_not_dump_the_buffer() {
    let log = vec![0u8; 10_000];
    let shown = format!("{:?}", BatchIter::new(&log));
    assert!(shown.len() < 200, "{shown}");
}

proptest! {
    #[test]
    fn partial_tail_position_is_the_last_boundary(
        sizes in proptest::collection::vec(0usize..4, 1..6),
        cut_seed: usize,
    ) {
        let (log, ends) = log_of(&sizes);
        let n = cut_seed % (log.len() + 1);
        let mut iter = BatchIter::new(&log[..n]);
        let mut count = 0;
        for b in iter.by_ref() {
            prop_assert!(b.is_ok());
            count += 1;
        }
        let boundary = ends.iter().copied().filter(|&e| e <= n).max().unwrap_or(0);
        prop_assert_eq!(count, ends.iter().filter(|&&e| e <= n).count());
        prop_assert_eq!(iter.position(), boundary);
        prop_assert_eq!(iter.has_partial_tail(), n != boundary);
    }
}
