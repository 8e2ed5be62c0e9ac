//! A bounded cache of open sealed-segment files, so a broker's descriptors grow with neither
//! partitions x segments nor index files.
//!
//! An active segment keeps its `.log` open (it is written and mapped); a sealed one holds no
//! descriptor of its own. Its first read opens the file read only through the log's backend and
//! puts the handle here; later reads take a clone under a short lock. When the cache is full the
//! least recently used file is evicted: the cache drops its reference, and the descriptor closes
//! as soon as no reader (a fetch being sent, a lookup in progress) holds a clone. Indexes hold no
//! descriptor at all (see `index::file`), so a partition costs its active segment plus its share
//! of this cache.
//!
//! Entries are keyed by a number each segment draws once ([`FileCache::next_id`]), not by path:
//! a log reopened over the same directory (or a segment recreated at the same offset after a
//! recovery cut) can never be handed a stale descriptor of the file an earlier segment had. A
//! segment removes its entry when it is dropped, before its files are deleted or recycled.
//!
//! The order of eviction is decided by [`Lru`], plain code that does no I/O.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::backend::FileHandle;

/// Files the process-wide default cache keeps open. A broker sets its own with
/// `--max-open-files`.
pub const DEFAULT_CAPACITY: usize = 4096;

/// A handle on a shared cache of open sealed-segment files; clones share the cache. Two handles
/// are equal when they are the same cache.
#[derive(Clone)]
pub struct FileCache {
    shared: Arc<Shared>,
}

struct Shared {
    lru: Mutex<Lru<u64, Arc<dyn FileHandle>>>,
    /// Files opened because a read missed the cache.
    misses: AtomicU64,
}

/// Segment keys, unique in the process (so also across caches).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl FileCache {
    /// A cache keeping at most `capacity` files open (at least one).
    pub fn new(capacity: usize) -> FileCache {
        FileCache {
            shared: Arc::new(Shared {
                lru: Mutex::new(Lru::new(capacity)),
                misses: AtomicU64::new(0),
            }),
        }
    }

    /// The process-wide cache of [`DEFAULT_CAPACITY`] files, what [`crate::LogConfig`] uses
    /// unless given another.
    pub fn shared() -> FileCache {
        static SHARED: OnceLock<FileCache> = OnceLock::new();
        SHARED
            .get_or_init(|| FileCache::new(DEFAULT_CAPACITY))
            .clone()
    }

    pub fn capacity(&self) -> usize {
        self.lock().capacity()
    }

    /// Files the cache holds open now (readers may hold a few evicted ones a moment longer).
    pub fn open_files(&self) -> usize {
        self.lock().entries()
    }

    /// How many times a read found its segment's file closed and opened it.
    pub fn misses(&self) -> u64 {
        self.shared.misses.load(Ordering::Relaxed)
    }

    /// A key for a new segment.
    pub(crate) fn next_id() -> u64 {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// The file of segment `id`, opened with `open` if the cache does not hold it. `open` runs
    /// without the lock (it is a system call); if another reader opened the same file meanwhile,
    /// its handle wins and this one is closed.
    pub(crate) fn get_or_open(
        &self,
        id: u64,
        open: impl FnOnce() -> io::Result<Arc<dyn FileHandle>>,
    ) -> io::Result<Arc<dyn FileHandle>> {
        if let Some(handle) = self.lock().get(&id) {
            return Ok(handle.clone());
        }
        let opened = open()?;
        self.shared.misses.fetch_add(1, Ordering::Relaxed);
        let (handle, evicted) = {
            let mut lru = self.lock();
            match lru.get(&id) {
                Some(existing) => (existing.clone(), vec![opened]),
                None => {
                    let evicted = lru.insert(id, opened.clone());
                    (opened, evicted)
                }
            }
        };
        drop(evicted); // closes them, outside the lock, unless a reader holds one
        Ok(handle)
    }

    /// Puts segment `id`'s open file in the cache (a segment just sealed hands its handle over).
    pub(crate) fn insert(&self, id: u64, handle: Arc<dyn FileHandle>) {
        let evicted = self.lock().insert(id, handle);
        drop(evicted);
    }

    /// Takes segment `id`'s file out of the cache.
    pub(crate) fn remove(&self, id: u64) -> Option<Arc<dyn FileHandle>> {
        self.lock().remove(&id)
    }

    fn lock(&self) -> MutexGuard<'_, Lru<u64, Arc<dyn FileHandle>>> {
        // The map is consistent between statements; a panic elsewhere cannot tear it.
        self.shared.lru.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for FileCache {
    fn default() -> Self {
        FileCache::shared()
    }
}

impl PartialEq for FileCache {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for FileCache {}

impl fmt::Debug for FileCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lru = self.lock();
        f.debug_struct("FileCache")
            .field("capacity", &lru.capacity())
            .field("open_files", &lru.entries())
            .finish()
    }
}

/// A bounded map that evicts its least recently used entries. Only decides; what an evicted
/// value means (a descriptor to close) is the caller's business.
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    capacity: usize,
    /// Bumped by every use; an entry's tick is its last use.
    tick: u64,
    entries: HashMap<K, (u64, V)>,
    /// Keys by last use, oldest first.
    order: BTreeMap<u64, K>,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn entries(&self) -> usize {
        self.entries.len()
    }

    /// The value of `key`, now the most recently used.
    pub(crate) fn get(&mut self, key: &K) -> Option<&V> {
        self.tick += 1;
        let (tick, value) = self.entries.get_mut(key)?;
        self.order.remove(tick);
        *tick = self.tick;
        self.order.insert(self.tick, key.clone());
        Some(value)
    }

    /// Adds (or replaces) `key`, most recently used; returns what left: the value it replaced
    /// and the least recently used entries beyond the capacity.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Vec<V> {
        let mut gone: Vec<V> = self.remove(&key).into_iter().collect();
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.entries.insert(key, (self.tick, value));
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, value)) = self.entries.remove(&oldest) {
                gone.push(value);
            }
        }
        gone
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let (tick, value) = self.entries.remove(key)?;
        self.order.remove(&tick);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::Lru;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        assert!(lru.insert("a", 1).is_empty());
        assert!(lru.insert("b", 2).is_empty());
        assert_eq!(lru.get(&"a"), Some(&1)); // b is now the oldest
        assert_eq!(lru.insert("c", 3), vec![2]);
        assert_eq!(lru.get(&"b"), None);
        assert_eq!(lru.insert("d", 4), vec![1]);
        assert_eq!(lru.entries(), 2);
    }

    #[test]
    fn replacing_returns_the_old_value_and_evicts_nothing_else() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.insert("a", 10), vec![1]);
        assert_eq!(lru.insert("c", 3), vec![2]); // a was refreshed by the replace
        assert_eq!(lru.remove(&"a"), Some(10));
        assert_eq!(lru.remove(&"a"), None);
        assert_eq!(lru.entries(), 1);
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut lru = Lru::new(0);
        assert_eq!(lru.capacity(), 1);
        assert!(lru.insert(1, ()).is_empty());
        assert_eq!(lru.insert(2, ()).len(), 1);
    }
}
