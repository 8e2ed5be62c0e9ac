//! Committed consumer group offsets.
//!
//! Durable form: an internal partition log, `<data_dir>/__consumer_offsets/`,
//! of ordinary record batches. Each commit request is one batch; each
//! record's key is the JSON array `[group, topic, partition]` and its value
//! the JSON object `{"offset": .., "metadata": ..}`, or no value (a
//! tombstone) when the commit was deleted with its topic. At startup the log
//! is replayed in order into a map, so the last record of a key wins. A
//! commit is acknowledged once its batch is flushed (acks=all semantics), by
//! the log's flusher (a [`Partition`], as the topics' logs).
//!
//! The log is not compacted yet: it grows by one small batch per commit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sluice_record::{BatchBuilder, RecordBatch};
use sluice_storage::{LogConfig, PartitionLog};
use tracing::{info, warn};

use crate::errors::BrokerError;
use crate::partition::Partition;
use crate::service::ServiceError;
use crate::service::produce::wait_durable;

/// The name of the committed offsets log (and its directory).
const OFFSETS_LOG: &str = "__consumer_offsets";

/// The key of one committed position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetKey {
    pub group: String,
    pub topic: String,
    pub partition: u32,
}

/// A committed position: the next offset the group will consume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub offset: i64,
    pub metadata: String,
}

#[derive(Debug)]
pub struct OffsetStore {
    /// The log, with its flusher.
    partition: Arc<Partition>,
    /// The replayed state. Updated under this lock in the same order the
    /// batches enter the log, so memory and log agree on "last one wins".
    map: Mutex<HashMap<OffsetKey, Committed>>,
}

impl OffsetStore {
    pub fn open(data_dir: &Path) -> Result<OffsetStore, BrokerError> {
        let path = data_dir.join(OFFSETS_LOG);
        let config = LogConfig {
            segment_bytes: 16 << 20,
            max_message_bytes: 8 << 20,
            max_index_bytes: 1 << 20,
            retention_ms: None,
            retention_bytes: None,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(&path, config).map_err(|source| BrokerError::Storage {
            path: path.clone(),
            source,
        })?;
        let mut map = HashMap::new();
        let mut records = 0u64;
        for batch in log.batches(log.log_start_offset()) {
            let batch = batch.map_err(|source| BrokerError::Storage {
                path: path.clone(),
                source,
            })?;
            let Ok(parsed) = RecordBatch::parse(&batch) else {
                warn!("skipping an unparseable consumer offsets batch");
                continue;
            };
            let Ok(iter) = parsed.records() else { continue };
            for record in iter.flatten() {
                let Some(key) = record.key.and_then(decode_key) else {
                    warn!("skipping a consumer offsets record without a valid key");
                    continue;
                };
                records += 1;
                let Some(value) = record.value else {
                    map.remove(&key);
                    continue;
                };
                match serde_json::from_slice::<Committed>(value) {
                    Ok(value) => {
                        map.insert(key, value);
                    }
                    Err(_) => warn!("skipping an undecodable consumer offsets record"),
                }
            }
        }
        info!(records, keys = map.len(), "consumer offsets replayed");
        Ok(OffsetStore {
            partition: Arc::new(Partition::internal(OFFSETS_LOG.to_owned(), log)),
            map: Mutex::new(map),
        })
    }

    pub fn log(&self) -> &PartitionLog {
        &self.partition.log
    }

    /// Appends the commits as one batch and applies them. Returns the wait
    /// for the batch to be on disk, which must end before the commit is
    /// acknowledged.
    pub fn commit(
        &self,
        entries: &[(OffsetKey, Committed)],
    ) -> Result<impl Future<Output = Result<(), ServiceError>> + Send + 'static, ServiceError> {
        let now = now_ms();
        let mut builder = BatchBuilder::new();
        for (key, value) in entries {
            let key_bytes = encode_key(key);
            let value_bytes = serde_json::to_vec(value)
                .map_err(|e| ServiceError::Internal(format!("encoding a commit: {e}")))?;
            builder.append(now, Some(&key_bytes), Some(&value_bytes), &[]);
        }
        let batch = builder.build();
        let mut map = self.lock();
        let info = self.partition.log.append(&batch)?;
        for (key, value) in entries {
            map.insert(key.clone(), value.clone());
        }
        drop(map);
        Ok(wait_durable(
            self.partition.clone(),
            info.last_offset + 1,
            None,
        ))
    }

    /// Deletes every group's commits for `topic` (the topic was deleted: a topic created later
    /// under the same name starts with no committed positions, as in Kafka). Durable when it
    /// returns.
    pub fn forget_topic(&self, topic: &str) -> Result<usize, ServiceError> {
        self.forget(|key| key.topic == topic)
    }

    /// Deletes the commits of topics that `exists` denies (left by a deletion that a crash
    /// interrupted before its tombstones were written).
    pub fn forget_missing_topics(
        &self,
        exists: impl Fn(&str) -> bool,
    ) -> Result<usize, ServiceError> {
        self.forget(|key| !exists(&key.topic))
    }

    fn forget(&self, doomed: impl Fn(&OffsetKey) -> bool) -> Result<usize, ServiceError> {
        let (end, forgotten) = {
            let mut map = self.lock();
            let keys: Vec<OffsetKey> = map.keys().filter(|k| doomed(k)).cloned().collect();
            if keys.is_empty() {
                return Ok(0);
            }
            let mut builder = BatchBuilder::new();
            for key in &keys {
                builder.append(now_ms(), Some(&encode_key(key)), None, &[]);
            }
            let info = self.partition.log.append(&builder.build())?;
            for key in &keys {
                map.remove(key);
            }
            (info.last_offset + 1, keys.len())
        };
        self.partition.log.flush_to(end)?;
        info!(
            keys = forgotten,
            "deleted committed offsets of deleted topics"
        );
        Ok(forgotten)
    }

    pub fn get(&self, key: &OffsetKey) -> Option<Committed> {
        self.lock().get(key).cloned()
    }

    /// Every commit of `group`, sorted by topic and partition.
    pub fn group(&self, group: &str) -> Vec<(OffsetKey, Committed)> {
        let mut out: Vec<_> = self
            .lock()
            .iter()
            .filter(|(k, _)| k.group == group)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by(|a, b| (&a.0.topic, a.0.partition).cmp(&(&b.0.topic, b.0.partition)));
        out
    }

    /// Every group with at least one commit, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.lock().keys().map(|k| k.group.clone()).collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// Whether `group` has any commit.
    pub fn has_group(&self, group: &str) -> bool {
        self.lock().keys().any(|k| k.group == group)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OffsetKey, Committed>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn encode_key(key: &OffsetKey) -> Vec<u8> {
    // A tuple serialises as a JSON array; it cannot fail for these types.
    serde_json::to_vec(&(&key.group, &key.topic, key.partition)).unwrap_or_default()
}

fn decode_key(bytes: &[u8]) -> Option<OffsetKey> {
    let (group, topic, partition): (String, String, u32) = serde_json::from_slice(bytes).ok()?;
    Some(OffsetKey {
        group,
        topic,
        partition,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commits_replay_last_wins() {
        let dir = tempfile::tempdir().unwrap();
        let key = OffsetKey {
            group: "g".into(),
            topic: "t".into(),
            partition: 2,
        };
        {
            let store = OffsetStore::open(dir.path()).unwrap();
            for offset in [5, 9] {
                let durable = store
                    .commit(&[(
                        key.clone(),
                        Committed {
                            offset,
                            metadata: "m".into(),
                        },
                    )])
                    .unwrap();
                durable.await.unwrap();
            }
            // Dropped without close: a crash as far as the log is concerned.
        }
        let store = OffsetStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&key).unwrap().offset, 9);
        assert_eq!(store.group("g").len(), 1);
        assert!(store.group("other").is_empty());
    }

    #[tokio::test]
    async fn commits_of_a_deleted_topic_are_gone_and_stay_gone() {
        let dir = tempfile::tempdir().unwrap();
        let key = |group: &str, topic: &str| OffsetKey {
            group: group.into(),
            topic: topic.into(),
            partition: 0,
        };
        let committed = Committed {
            offset: 7,
            metadata: String::new(),
        };
        {
            let store = OffsetStore::open(dir.path()).unwrap();
            let entries = [
                (key("g1", "orders"), committed.clone()),
                (key("g2", "orders"), committed.clone()),
                (key("g1", "kept"), committed.clone()),
            ];
            store.commit(&entries).unwrap().await.unwrap();
            assert_eq!(store.forget_topic("orders").unwrap(), 2);
            assert_eq!(store.get(&key("g1", "orders")), None);
            assert_eq!(store.forget_topic("orders").unwrap(), 0);
        }
        let store = OffsetStore::open(dir.path()).unwrap();
        assert_eq!(store.get(&key("g1", "orders")), None);
        assert_eq!(store.get(&key("g2", "orders")), None);
        assert_eq!(store.get(&key("g1", "kept")), Some(committed));
        assert_eq!(store.forget_missing_topics(|t| t == "orders").unwrap(), 1);
        assert!(store.groups().is_empty());
    }
}
