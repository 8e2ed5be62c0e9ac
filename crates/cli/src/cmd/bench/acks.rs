//! The ack collector of `bench produce`: times each delivery when it
//! resolves.
//!
//! A producer's deliveries resolve in order within a partition (one
//! partition's requests complete in order, and a request's records resolve
//! in order), but not across partitions. So the collector keeps one FIFO
//! per partition and polls only their heads: each wake-up costs one poll
//! per partition plus one per resolved delivery, and every delivery is
//! timed when it resolves, not when an earlier one in another partition
//! does.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use indicatif::ProgressBar;
use sluice_client::DeliveryFuture;
use tokio::sync::mpsc;

use super::report::Latencies;

/// A record handed to the producer, awaiting its delivery.
#[derive(Debug)]
pub(super) struct InFlight {
    pub sent: Instant,
    pub delivery: DeliveryFuture,
}

/// What one producer saw.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub acked: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latencies: Latencies,
}

/// Times each delivery as it resolves, until the sender is done and every
/// delivery has resolved.
pub(super) async fn collect(
    mut rx: mpsc::Receiver<(u32, InFlight)>,
    partitions: u32,
    bar: ProgressBar,
) -> Outcome {
    let mut queues: Vec<VecDeque<InFlight>> = (0..partitions).map(|_| VecDeque::new()).collect();
    let mut outcome = Outcome::default();
    let mut queued = 0u64;
    let mut open = true;
    while open || queued > 0 {
        tokio::select! {
            item = rx.recv(), if open => match item {
                Some((partition, in_flight)) => {
                    if let Some(q) = queues.get_mut(partition as usize) {
                        q.push_back(in_flight);
                        queued += 1;
                    }
                }
                None => open = false,
            },
            done = resolved(&mut queues, &mut outcome), if queued > 0 => {
                queued -= done;
                bar.inc(done);
            }
        }
    }
    outcome
}

/// Waits until at least one queue head resolves; records every resolved
/// head and returns how many there were.
fn resolved<'a>(
    queues: &'a mut [VecDeque<InFlight>],
    outcome: &'a mut Outcome,
) -> impl Future<Output = u64> + 'a {
    poll_fn(move |cx| {
        let now = Instant::now();
        let mut done = 0;
        for queue in queues.iter_mut() {
            while let Some(head) = queue.front_mut() {
                let Poll::Ready(result) = Pin::new(&mut head.delivery).poll(cx) else {
                    break;
                };
                match result {
                    Ok(_) => {
                        outcome.acked += 1;
                        outcome.latencies.record(now - head.sent);
                    }
                    Err(e) => {
                        outcome.errors += 1;
                        outcome
                            .first_error
                            .get_or_insert_with(|| format!("{:#}", anyhow::Error::new(e)));
                    }
                }
                queue.pop_front();
                done += 1;
            }
        }
        if done > 0 {
            Poll::Ready(done)
        } else {
            Poll::Pending
        }
    })
}
