//! Who makes room when a listener is full: the oldest connection that has
//! not completed a request yet.
//!
//! A flood of connections that never send a whole request (idle, trickling
//! a byte now and then, half-open) would otherwise keep every slot until a
//! timeout and lock well-behaved clients out. Such a connection has had
//! nothing from the server; closing it costs its peer nothing it was
//! getting, while closing one that has been served would break a working
//! client. So at the limit the accept loop takes the new client and closes
//! the oldest newcomer for it; only when every open connection has completed
//! a request do new clients wait in the backlog. Oldest first because the
//! oldest silent connection has had the most time to speak and not used it.
//!
//! [`Newcomers`] is the decision, plain and synchronous; [`Newcomer`] is a
//! connection's handle on its entry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Connections that have not completed a request, by accept order (ids
/// grow), each with what is needed to tell it to close.
#[derive(Debug)]
pub(crate) struct Newcomers<T> {
    by_age: BTreeMap<u64, T>,
}

impl<T> Newcomers<T> {
    pub(crate) fn new() -> Newcomers<T> {
        Newcomers {
            by_age: BTreeMap::new(),
        }
    }

    /// Adds a connection just accepted. Ids must grow with accept order.
    pub(crate) fn admit(&mut self, id: u64, closer: T) {
        self.by_age.insert(id, closer);
    }

    /// Removes a connection that completed a request or closed. False if it
    /// was not there (already chosen for eviction, or never admitted).
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        self.by_age.remove(&id).is_some()
    }

    /// Chooses the connection to close for a new one: the oldest newcomer.
    /// It leaves the set, so it is never chosen twice.
    pub(crate) fn evict_oldest(&mut self) -> Option<(u64, T)> {
        self.by_age.pop_first()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_age.is_empty()
    }
}

/// The newcomers of one listener, shared by its accept loop and its
/// connections. The lock is held only for a map operation, never across an
/// `.await`.
pub(crate) type Registry = Arc<Mutex<Newcomers<Arc<Notify>>>>;

pub(crate) fn registry() -> Registry {
    Arc::new(Mutex::new(Newcomers::new()))
}

/// The set stays consistent even if a holder panicked (every operation is
/// one map call), so a poisoned lock is used as it is.
fn lock(registry: &Registry) -> MutexGuard<'_, Newcomers<Arc<Notify>>> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Chooses and signals the connection to close for a new one. Returns its
/// id, or `None` when every connection has completed a request.
pub(crate) fn evict_oldest(registry: &Registry) -> Option<u64> {
    let (id, evicted) = lock(registry).evict_oldest()?;
    // `notify_one` stores a permit if the connection is not waiting yet, so
    // the signal is not lost.
    evicted.notify_one();
    Some(id)
}

/// Whether some connection could be closed to admit a new one.
pub(crate) fn any_newcomer(registry: &Registry) -> bool {
    !lock(registry).is_empty()
}

/// One connection's entry among the newcomers, from accept until it
/// completes its first request ([`Self::spoke`]) or ends (drop).
#[derive(Debug)]
pub(crate) struct Newcomer {
    id: u64,
    registry: Registry,
    /// Notified once if this connection is chosen to make room.
    evicted: Arc<Notify>,
}

impl Newcomer {
    pub(crate) fn admit(registry: &Registry, id: u64) -> Newcomer {
        let evicted = Arc::new(Notify::new());
        lock(registry).admit(id, evicted.clone());
        Newcomer {
            id,
            registry: registry.clone(),
            evicted,
        }
    }

    /// The connection completed a request: it can no longer be chosen.
    /// (If it was chosen a moment before, [`Self::evicted`] still fires and
    /// the connection must close: the accept loop is waiting for its slot.)
    pub(crate) fn spoke(&self) {
        lock(&self.registry).remove(self.id);
    }

    /// Completes when this connection was chosen to make room.
    pub(crate) async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

impl Drop for Newcomer {
    fn drop(&mut self) {
        lock(&self.registry).remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_newcomer_goes_first_and_only_once() {
        let mut set = Newcomers::new();
        for id in [3, 1, 2] {
            set.admit(id, format!("c{id}"));
        }
        assert_eq!(set.evict_oldest(), Some((1, "c1".to_owned())));
        assert_eq!(set.evict_oldest(), Some((2, "c2".to_owned())));
        assert!(!set.remove(2), "an evicted connection is gone");
        assert_eq!(set.evict_oldest(), Some((3, "c3".to_owned())));
        assert_eq!(set.evict_oldest(), None);
    }

    #[test]
    fn connections_that_spoke_or_closed_are_never_chosen() {
        let mut set = Newcomers::new();
        for id in 1..=4 {
            set.admit(id, ());
        }
        assert!(set.remove(1), "spoke");
        assert!(set.remove(3), "closed");
        assert_eq!(set.evict_oldest().map(|(id, ())| id), Some(2));
        assert_eq!(set.evict_oldest().map(|(id, ())| id), Some(4));
        assert_eq!(set.evict_oldest(), None, "all have spoken: nobody to evict");
        assert!(set.is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_evicted_newcomer_is_told_even_before_it_waits() {
        let registry = registry();
        let old = Newcomer::admit(&registry, 1);
        let young = Newcomer::admit(&registry, 2);
        young.spoke();
        assert!(any_newcomer(&registry));
        assert_eq!(evict_oldest(&registry), Some(1));
        assert!(!any_newcomer(&registry));
        assert_eq!(evict_oldest(&registry), None);
        // The permit was stored: this completes at once.
        old.evicted().await;
        drop(old);
        drop(young);
        assert!(lock(&registry).is_empty());
    }

    #[test]
    fn a_newcomer_leaves_the_set_when_dropped() {
        let registry = registry();
        drop(Newcomer::admit(&registry, 1));
        assert!(!any_newcomer(&registry));
    }
}
