//! The server-wide budget for request memory (Kafka's
//! `queued.max.request.bytes`, Redpanda's per-shard memory semaphore).
//!
//! A connection reads a frame's length prefix, reserves that many bytes
//! here and only then sizes a buffer for the body and reads it; while the
//! budget is spent it waits, and since it reads nothing meanwhile, TCP flow
//! control pushes back on the client. The [`Reservation`] is attached to the
//! request's bytes ([`Reservation::attach`]), so it is given back when the
//! last slice of them is dropped, however long the handler keeps them, and
//! never before. What is reserved is therefore never less than what frames
//! hold in memory, apart from the 64 KiB read buffer of each connection:
//! frames that arrive whole in it are cut from it rather than copied, and
//! while their bytes live, so does that buffer.
//!
//! One budget is shared by every listener it is handed to; clones are
//! handles on the same budget.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// The default budget: 256 MiB, four frames of the default 64 MiB limit.
pub const DEFAULT_MAX_REQUEST_MEMORY: usize = 256 << 20;

/// Why a frame can never be reserved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// Waiting would never end: the frame needs more than the whole budget.
    #[error(
        "request frame of {len} bytes is larger than the whole request memory budget of {limit} bytes"
    )]
    FrameTooLarge { len: usize, limit: usize },
    /// The budget's semaphore was closed. Nothing closes it; kept so that
    /// impossible state is an error, not a panic.
    #[error("the request memory budget is closed")]
    Closed(#[from] AcquireError),
}

/// A handle on one budget of request bytes; see the module documentation.
#[derive(Clone)]
pub struct RequestBudget {
    inner: Arc<Inner>,
}

struct Inner {
    /// One permit per byte. Never closed. Fair (first come, first served),
    /// so a large frame waiting for room is not starved by small ones.
    bytes: Arc<Semaphore>,
    capacity: usize,
    /// Bytes reserved now. Raised after a permit is acquired and lowered
    /// before it is released, so it never exceeds what the semaphore has
    /// handed out: a reading of it is a lower bound of the real use.
    reserved: AtomicUsize,
    /// The most `reserved` has ever been.
    high_water: AtomicUsize,
    /// Reservations that had to wait for room.
    waits: AtomicU64,
}

impl RequestBudget {
    /// A budget of `capacity` bytes (at most [`Semaphore::MAX_PERMITS`]).
    pub fn new(capacity: usize) -> RequestBudget {
        let capacity = capacity.min(Semaphore::MAX_PERMITS);
        RequestBudget {
            inner: Arc::new(Inner {
                bytes: Arc::new(Semaphore::new(capacity)),
                capacity,
                reserved: AtomicUsize::new(0),
                high_water: AtomicUsize::new(0),
                waits: AtomicU64::new(0),
            }),
        }
    }

    /// The whole budget in bytes.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Bytes reserved right now.
    pub fn reserved(&self) -> usize {
        self.inner.reserved.load(Ordering::Acquire)
    }

    /// The most bytes ever reserved at once; never above [`Self::capacity`].
    pub fn high_water(&self) -> usize {
        self.inner.high_water.load(Ordering::Acquire)
    }

    /// How many reservations had to wait for others to be released.
    pub fn waits(&self) -> u64 {
        self.inner.waits.load(Ordering::Relaxed)
    }

    /// The largest single reservation: the budget, or what one semaphore
    /// acquisition can take if that is less.
    fn limit(&self) -> usize {
        self.inner.capacity.min(u32::MAX as usize)
    }

    /// Reserves `len` bytes, waiting until they are free. Fails at once,
    /// without waiting, only when `len` is more than the whole budget.
    ///
    /// Cancel safe: dropping the future gives up the place in the queue
    /// and reserves nothing.
    pub async fn reserve(&self, len: usize) -> Result<Reservation, BudgetError> {
        let limit = self.limit();
        let permits = match u32::try_from(len) {
            Ok(permits) if len <= limit => permits,
            _ => return Err(BudgetError::FrameTooLarge { len, limit }),
        };
        let bytes = &self.inner.bytes;
        let permit = match bytes.clone().try_acquire_many_owned(permits) {
            Ok(permit) => permit,
            Err(error) => {
                if matches!(error, TryAcquireError::NoPermits) {
                    self.inner.waits.fetch_add(1, Ordering::Relaxed);
                }
                bytes.clone().acquire_many_owned(permits).await?
            }
        };
        let now = self.inner.reserved.fetch_add(len, Ordering::AcqRel) + len;
        self.inner.high_water.fetch_max(now, Ordering::AcqRel);
        Ok(Reservation {
            budget: self.inner.clone(),
            len,
            _permit: permit,
        })
    }
}

impl Default for RequestBudget {
    fn default() -> Self {
        RequestBudget::new(DEFAULT_MAX_REQUEST_MEMORY)
    }
}

impl fmt::Debug for RequestBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBudget")
            .field("capacity", &self.capacity())
            .field("reserved", &self.reserved())
            .field("high_water", &self.high_water())
            .field("waits", &self.waits())
            .finish()
    }
}

impl fmt::Display for RequestBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request memory budget={} reserved={} high_water={} waits={}",
            self.capacity(),
            self.reserved(),
            self.high_water(),
            self.waits()
        )
    }
}

/// Bytes of the budget held for one frame; given back on drop.
pub struct Reservation {
    budget: Arc<Inner>,
    len: usize,
    /// Dropped after `Drop::drop` has lowered `reserved`.
    _permit: OwnedSemaphorePermit,
}

impl Reservation {
    /// Bytes reserved.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a reservation of nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `bytes`, carrying this reservation: it is released when the last
    /// clone or slice of what is returned is dropped. `bytes` should be (a
    /// slice of) the buffer that was reserved for, so the two go together.
    pub fn attach(self, bytes: Bytes) -> Bytes {
        Bytes::from_owner(Reserved {
            bytes,
            _reservation: self,
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.reserved.fetch_sub(self.len, Ordering::AcqRel);
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("len", &self.len)
            .finish()
    }
}

/// The owner behind [`Reservation::attach`]'s bytes.
struct Reserved {
    bytes: Bytes,
    _reservation: Reservation,
}

impl AsRef<[u8]> for Reserved {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_are_counted_until_dropped() {
        let budget = RequestBudget::new(100);
        let a = budget.reserve(60).await.unwrap();
        let b = budget.reserve(40).await.unwrap();
        assert_eq!((budget.reserved(), budget.high_water()), (100, 100));
        drop(a);
        assert_eq!((budget.reserved(), budget.high_water()), (40, 100));
        drop(b);
        assert_eq!(budget.reserved(), 0);
        assert_eq!(budget.waits(), 0);
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_budget_fails_without_waiting() {
        let budget = RequestBudget::new(100);
        let held = budget.reserve(100).await.unwrap();
        let error = budget.reserve(101).await.unwrap_err();
        assert!(matches!(
            error,
            BudgetError::FrameTooLarge {
                len: 101,
                limit: 100
            }
        ));
        drop(held);
        assert_eq!(budget.waits(), 0);
    }

    /// Current-thread runtime: `yield_now` lets the spawned task run until
    /// it blocks, so "it is waiting" is a fact, not a guess about timing.
    #[tokio::test(flavor = "current_thread")]
    async fn a_reservation_waits_for_room_then_gets_it() {
        let budget = RequestBudget::new(100);
        let first = budget.reserve(70).await.unwrap();
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(50).await.map(|r| r.len()) }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!((budget.waits(), budget.reserved()), (1, 70));
        drop(first);
        assert_eq!(waiter.await.unwrap().unwrap(), 50);
        assert_eq!(budget.high_water(), 70);
        assert_eq!(budget.reserved(), 0);
    }

    #[tokio::test]
    async fn attached_bytes_hold_the_reservation_until_the_last_slice_goes() {
        let budget = RequestBudget::new(1000);
        let reservation = budget.reserve(500).await.unwrap();
        let bytes = reservation.attach(Bytes::from(vec![7u8; 500]));
        let slice = bytes.slice(100..200);
        drop(bytes);
        assert_eq!(budget.reserved(), 500, "a slice still holds the bytes");
        assert_eq!(&slice[..3], &[7, 7, 7]);
        drop(slice);
        assert_eq!(budget.reserved(), 0);
    }
}
