//! The long poll of a fetch: wait on the
//! append signals of the fetched partitions (no polling) until enough bytes
//! are there, the wait ends, or the broker shuts down.
//!
//! Callers subscribe to the signals *before* their first look at the logs,
//! so an append that lands between that look and the wait still wakes them.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Longest wait honoured.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(300);

/// Sleeps until an append, the deadline (`wait`, capped at [`MAX_WAIT`]) or
/// shutdown, then calls `build`; returns its value as soon as it reports
/// enough data, or the value built when the wait is over.
pub(crate) async fn long_poll<T>(
    mut signals: Vec<watch::Receiver<i64>>,
    wait: Duration,
    mut stopping: watch::Receiver<bool>,
    mut build: impl FnMut() -> (T, bool),
) -> T {
    let deadline = Instant::now() + wait.min(MAX_WAIT);
    loop {
        tokio::select! {
            () = any_changed(&mut signals) => {}
            () = tokio::time::sleep_until(deadline) => break,
            _ = stopping.wait_for(|stop| *stop) => break,
        }
        let (built, enough) = build();
        if enough {
            return built;
        }
    }
    build().0
}

/// Completes when any receiver sees a new value (or its sender is gone, in
/// which case it is dropped from the list so it cannot spin).
async fn any_changed(signals: &mut Vec<watch::Receiver<i64>>) {
    if signals.is_empty() {
        return std::future::pending().await;
    }
    {
        let mut waits: Vec<Pin<Box<dyn Future<Output = bool> + Send + '_>>> = signals
            .iter_mut()
            .map(|rx| {
                Box::pin(async move { rx.changed().await.is_ok() })
                    as Pin<Box<dyn Future<Output = bool> + Send>>
            })
            .collect();
        std::future::poll_fn(|cx| {
            for wait in &mut waits {
                if wait.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
            }
            Poll::Pending
        })
        .await;
    }
    signals.retain(|rx| rx.has_changed().is_ok());
}
