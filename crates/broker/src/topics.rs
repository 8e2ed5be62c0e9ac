//! The topic registry: create, delete, look up, and recover at startup.
//!
//! On disk, under `<data_dir>/topics/`:
//!
//! ```text
//! <name>/topic.json     name, partition count and effective settings
//! <name>/<partition>/   one PartitionLog directory per partition
//! ```
//!
//! `topic.json` is the commit point of a creation: it is written (atomically,
//! see `persist`) only after every partition log exists, and a directory
//! without it is a creation that crashed half-way and is removed at startup.
//! Deletion renames the topic directory into `<data_dir>/trash/` (one atomic
//! step) and then removes it; leftovers in the trash are removed at startup.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sluice_storage::{FileCache, LogConfig, PartitionLog, WriteMode};
use tracing::{info, warn};

use crate::errors::{BrokerError, error_chain};
use crate::partition::Partition;
use crate::persist::{sync_dir, write_atomic};
pub use crate::service::TopicSettings;
use crate::service::{ServiceError, TopicOverrides};

/// Longest topic name, as in Kafka.
pub const MAX_TOPIC_NAME: usize = 249;
/// Most partitions one topic may have.
pub const MAX_PARTITIONS: u32 = 10_000;

/// Kafka's rule: 1 to 249 characters from `[a-zA-Z0-9._-]`, not `.` or `..`; names starting
/// `__` belong to internal topics (`__consumer_offsets`), which clients cannot create.
pub fn validate_topic_name(name: &str) -> Result<(), ServiceError> {
    let invalid = |why: String| Err(ServiceError::InvalidTopic(why));
    if name.is_empty() || name.len() > MAX_TOPIC_NAME {
        return invalid(format!(
            "topic name must be 1 to {MAX_TOPIC_NAME} characters"
        ));
    }
    if name == "." || name == ".." {
        return invalid(format!("topic name {name:?} is reserved"));
    }
    if name.starts_with("__") {
        return invalid(format!(
            "topic name {name:?} is reserved: names starting with \"__\" are for internal topics"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return invalid(format!(
            "topic name contains {bad:?}; allowed: [a-zA-Z0-9._-]"
        ));
    }
    Ok(())
}

/// What `topic.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct TopicFile {
    name: String,
    settings: TopicSettings,
}

/// A topic and its open partitions.
#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub settings: TopicSettings,
    /// The partitions whose logs opened, in index order.
    pub partitions: Vec<Arc<Partition>>,
    /// Partitions whose logs could not be opened (damaged or unreadable files, kept as they
    /// are), by index, with the reason. They refuse every request until an operator repairs
    /// the files and restarts the broker; the topic's other partitions are served.
    pub offline: BTreeMap<u32, String>,
}

impl Topic {
    /// The partition with `index`, or why there is none.
    pub fn partition(&self, index: u32) -> Result<&Arc<Partition>, ServiceError> {
        if let Ok(at) = self.partitions.binary_search_by_key(&index, |p| p.index) {
            return Ok(&self.partitions[at]);
        }
        match self.offline.get(&index) {
            Some(reason) => Err(ServiceError::PartitionOffline {
                topic: self.name.clone(),
                partition: index,
                reason: reason.clone(),
            }),
            None => Err(ServiceError::unknown_partition(&self.name, index)),
        }
    }
}

/// The partitions of one topic as opening them went.
#[derive(Debug, Default)]
struct Loaded {
    online: Vec<Arc<Partition>>,
    offline: BTreeMap<u32, String>,
}

/// Every topic of the broker.
#[derive(Debug)]
pub struct Topics {
    root: PathBuf,
    trash: PathBuf,
    map: RwLock<HashMap<String, Arc<Topic>>>,
    /// Topics whose creation or deletion is doing its file work, with the partitions a
    /// creation will add (0 for a deletion). Held only to check and reserve a name, so creations
    /// and deletions of different topics run side by side while one name sees one at a time.
    admin: Mutex<HashMap<String, u32>>,
    /// Makes trash directory names unique among concurrent deletions.
    trash_sequence: AtomicU64,
    pub defaults: TopicSettings,
    /// What every partition log gets from the broker rather than from its topic.
    logs: LogSettings,
    /// Most partitions over all topics (`BrokerConfig::max_partitions`).
    max_partitions: u32,
}

/// The log settings that are the broker's, not a topic's.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// How partition logs write their active segment.
    pub write_mode: WriteMode,
    /// Whether partition logs recycle removed segment files (`LogConfig::recycle_segments`): on
    /// only when the transfer mode copies, see `BrokerConfig::recycle_segments`.
    pub recycle_segments: bool,
    /// The one cache of sealed segment files every partition shares (`--max-open-files`).
    pub file_cache: FileCache,
}

impl LogSettings {
    /// A topic's log configuration with the broker's settings applied.
    fn apply(&self, topic: LogConfig) -> LogConfig {
        LogConfig {
            write_mode: self.write_mode,
            recycle_segments: self.recycle_segments,
            file_cache: self.file_cache.clone(),
            ..topic
        }
    }
}

impl Topics {
    /// Opens every committed topic under `data_dir`, removing half-created
    /// and half-deleted leftovers.
    pub fn open(
        data_dir: &Path,
        defaults: TopicSettings,
        logs: LogSettings,
        max_partitions: u32,
    ) -> Result<Topics, BrokerError> {
        let root = data_dir.join("topics");
        let trash = data_dir.join("trash");
        for dir in [&root, &trash] {
            fs::create_dir_all(dir).map_err(|e| BrokerError::io(dir, e))?;
        }
        for entry in read_dir(&trash)? {
            fs::remove_dir_all(&entry).map_err(|e| BrokerError::io(&entry, e))?;
        }
        let mut found = Vec::new();
        for dir in read_dir(&root)? {
            let meta_path = dir.join("topic.json");
            // An error telling (EIO) is not "no topic.json": it must not delete the topic.
            if !meta_path
                .try_exists()
                .map_err(|e| BrokerError::io(&meta_path, e))?
            {
                warn!(dir = %dir.display(), "removing a topic directory without topic.json (interrupted creation)");
                fs::remove_dir_all(&dir).map_err(|e| BrokerError::io(&dir, e))?;
                continue;
            }
            let text = fs::read(&meta_path).map_err(|e| BrokerError::io(&meta_path, e))?;
            let file: TopicFile =
                serde_json::from_slice(&text).map_err(|e| BrokerError::Metadata {
                    path: meta_path.clone(),
                    reason: e.to_string(),
                })?;
            let log_config = file
                .settings
                .log_config()
                .map_err(|e| BrokerError::Metadata {
                    path: meta_path.clone(),
                    reason: e.message(),
                })?;
            let log_config = logs.apply(log_config);
            found.push((dir, file, log_config));
        }
        // Every partition of every topic, opened side by side (see `parallel`).
        let slots: Vec<(usize, u32)> = found
            .iter()
            .enumerate()
            .flat_map(|(t, (_, file, _))| (0..file.settings.partitions).map(move |p| (t, p)))
            .collect();
        let opened = crate::parallel::map(&slots, crate::parallel::IO_THREADS, |&(t, index)| {
            let (dir, file, config) = &found[t];
            open_partition(dir, &file.name, index, config)
        });
        let mut loaded: Vec<Loaded> = found.iter().map(|_| Loaded::default()).collect();
        for (&(t, index), result) in slots.iter().zip(opened) {
            match result {
                Ok(partition) => loaded[t].online.push(partition),
                Err(reason) => {
                    loaded[t].offline.insert(index, reason);
                }
            }
        }
        let mut map = HashMap::new();
        for ((_, file, _), Loaded { online, offline }) in found.into_iter().zip(loaded) {
            let partitions = online;
            info!(topic = %file.name, partitions = partitions.len(), offline = offline.len(), "topic loaded");
            map.insert(
                file.name.clone(),
                Arc::new(Topic {
                    name: file.name,
                    settings: file.settings,
                    partitions,
                    offline,
                }),
            );
        }
        Ok(Topics {
            root,
            trash,
            map: RwLock::new(map),
            admin: Mutex::new(HashMap::new()),
            trash_sequence: AtomicU64::new(0),
            defaults,
            logs,
            max_partitions,
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.read().get(name).cloned()
    }

    /// Every topic, sorted by name.
    pub fn all(&self) -> Vec<Arc<Topic>> {
        let mut topics: Vec<_> = self.read().values().cloned().collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        topics
    }

    /// Every partition of every topic.
    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.read()
            .values()
            .flat_map(|t| t.partitions.iter().cloned())
            .collect()
    }

    pub fn partition(&self, topic: &str, partition: u32) -> Result<Arc<Partition>, ServiceError> {
        let Some(found) = self.get(topic) else {
            return Err(ServiceError::unknown_partition(topic, partition));
        };
        found.partition(partition).cloned()
    }

    /// Creates a topic; blocking file work (directories, preallocation,
    /// fsyncs).
    pub fn create(
        &self,
        name: &str,
        partitions: u32,
        overrides: &TopicOverrides,
    ) -> Result<Arc<Topic>, ServiceError> {
        validate_topic_name(name)?;
        crate::service::topics::check_partitions(partitions)?;
        let settings = self.defaults.with_overrides(partitions, overrides);
        let log_config = self.logs.apply(settings.log_config()?);
        let _reserved = {
            let mut busy = self.lock_admin();
            if self.read().contains_key(name) || busy.contains_key(name) {
                return Err(ServiceError::TopicExists {
                    topic: name.to_owned(),
                });
            }
            let held: u64 = self
                .read()
                .values()
                .map(|t| u64::from(t.settings.partitions))
                .chain(busy.values().map(|p| u64::from(*p)))
                .sum();
            if held + u64::from(partitions) > u64::from(self.max_partitions) {
                return Err(ServiceError::InvalidPartitions(format!(
                    "the broker holds {held} partitions; {partitions} more would pass its limit of {} (--max-partitions)",
                    self.max_partitions
                )));
            }
            busy.insert(name.to_owned(), partitions);
            Reserved { topics: self, name }
        };
        let dir = self.root.join(name);
        let result = (|| {
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(|e| BrokerError::io(&dir, e))?;
            }
            fs::create_dir_all(&dir).map_err(|e| BrokerError::io(&dir, e))?;
            let opened = open_partitions(&dir, name, partitions, &log_config)?;
            let file = TopicFile {
                name: name.to_owned(),
                settings: settings.clone(),
            };
            let json = serde_json::to_vec_pretty(&file).map_err(|e| BrokerError::Metadata {
                path: dir.clone(),
                reason: e.to_string(),
            })?;
            write_atomic(&dir.join("topic.json"), &json)?;
            sync_dir(&self.root)?;
            Ok::<_, BrokerError>(opened)
        })();
        let partitions = match result {
            Ok(p) => p,
            Err(error) => {
                warn!(topic = name, error = %error_chain(&error), "topic creation failed");
                let _ = fs::remove_dir_all(&dir);
                return Err(error.into());
            }
        };
        let topic = Arc::new(Topic {
            name: name.to_owned(),
            settings,
            partitions,
            offline: BTreeMap::new(),
        });
        self.write().insert(name.to_owned(), topic.clone());
        info!(
            topic = name,
            partitions = topic.partitions.len(),
            "topic created"
        );
        Ok(topic)
    }

    /// Deletes a topic and its data; `forget` runs once the deletion is durable and before the
    /// name is free again (so a topic recreated under the name cannot have its state, such as
    /// committed offsets, forgotten by mistake).
    pub fn delete(
        &self,
        name: &str,
        forget: impl FnOnce() -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        let (topic, _reserved) = {
            let mut busy = self.lock_admin();
            if busy.contains_key(name) {
                return Err(ServiceError::UnknownTopic {
                    topic: name.to_owned(),
                });
            }
            let Some(topic) = self.write().remove(name) else {
                return Err(ServiceError::UnknownTopic {
                    topic: name.to_owned(),
                });
            };
            busy.insert(name.to_owned(), 0);
            (topic, Reserved { topics: self, name })
        };
        for partition in &topic.partitions {
            if let Err(error) = partition.log.close() {
                warn!(topic = name, partition = partition.index, error = %error_chain(&error), "close before delete failed");
            }
            partition.notify_append();
        }
        let dir = self.root.join(name);
        // Not named after the topic: a 249-character name plus a suffix would pass the file
        // system's 255-byte limit.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let sequence = self.trash_sequence.fetch_add(1, Ordering::Relaxed);
        let doomed = self.trash.join(format!("{nanos:032x}-{sequence}"));
        let result = fs::rename(&dir, &doomed)
            .map_err(|e| BrokerError::io(&dir, e))
            .and_then(|()| sync_dir(&self.root));
        if let Err(error) = result {
            warn!(topic = name, error = %error_chain(&error), "removing topic files failed");
            return Err(error.into());
        }
        // The topic is gone for good once its directory is in the trash (a restart empties the
        // trash), so a failure to remove the files now only delays freeing their space.
        if let Err(error) = fs::remove_dir_all(&doomed) {
            warn!(topic = name, %error, path = %doomed.display(), "cannot remove a deleted topic's files; the next start removes them");
        }
        forget()?;
        info!(topic = name, "topic deleted");
        Ok(())
    }

    /// Flushes and closes every log (clean shutdown), the batched way (see
    /// `sluice_storage::log` close): every log sealed without a sync, one file-system sync, every
    /// clean marker, one more sync. A fsync per file would take longer than docker's 10 s stop
    /// timeout for a few thousand partitions.
    pub fn close_all(&self) {
        let partitions = self.all_partitions();
        let failed = |partition: &Partition, error: &sluice_storage::StorageError| {
            warn!(topic = %partition.topic, partition = partition.index, error = %error_chain(error), "close failed; the next start recovers this partition");
        };
        crate::parallel::map(&partitions, crate::parallel::IO_THREADS, |partition| {
            if let Err(error) = partition.log.close_deferred() {
                failed(partition, &error);
            }
        });
        // One sync per file system the partitions live on (a partition directory may be a
        // mount of its own). A partition whose file system cannot be told is not synced this
        // way, so it is not marked clean either: the next start recovers it.
        let devices = devices(&partitions);
        let file_systems = one_per_device(&partitions, &devices);
        let sync_all = || {
            file_systems
                .iter()
                .try_for_each(|partition| partition.log.sync_file_system())
        };
        if let Err(error) = sync_all() {
            // Without a durable image no log may be marked clean: the next start recovers all.
            warn!(error = %error_chain(&error), "syncing the data directory failed; no partition is marked clean");
            return;
        }
        let known: Vec<Arc<Partition>> = partitions
            .iter()
            .zip(&devices)
            .filter(|(_, dev)| dev.is_some())
            .map(|(p, _)| p.clone())
            .collect();
        crate::parallel::map(&known, crate::parallel::IO_THREADS, |partition| {
            if let Err(error) = partition.log.commit_close() {
                failed(partition, &error);
            }
        });
        if let Err(error) = sync_all() {
            warn!(error = %error_chain(&error), "syncing the clean-shutdown markers failed");
        }
        info!(partitions = partitions.len(), "partition logs closed");
    }

    fn lock_admin(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.admin.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Topic>>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Topic>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The device (file system) each partition's directory is on; `None` when it cannot be told.
fn devices(partitions: &[Arc<Partition>]) -> Vec<Option<u64>> {
    use std::os::unix::fs::MetadataExt;
    partitions
        .iter()
        .map(|p| fs::metadata(p.log.dir()).ok().map(|meta| meta.dev()))
        .collect()
}

/// The first partition on each device, to sync that file system through.
fn one_per_device<'a>(
    partitions: &'a [Arc<Partition>],
    devices: &[Option<u64>],
) -> Vec<&'a Arc<Partition>> {
    let mut seen = std::collections::HashSet::new();
    partitions
        .iter()
        .zip(devices)
        .filter(|(_, dev)| dev.is_some_and(|dev| seen.insert(dev)))
        .map(|(p, _)| p)
        .collect()
}

/// A name reserved in `Topics::admin` while its creation or deletion works; released on drop,
/// whichever way the work ends.
struct Reserved<'a> {
    topics: &'a Topics,
    name: &'a str,
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.topics.lock_admin().remove(self.name);
    }
}

fn open_partitions(
    dir: &Path,
    topic: &str,
    count: u32,
    config: &LogConfig,
) -> Result<Vec<Arc<Partition>>, BrokerError> {
    let indexes: Vec<u32> = (0..count).collect();
    crate::parallel::map(&indexes, crate::parallel::IO_THREADS, |&index| {
        let path = dir.join(index.to_string());
        let log = PartitionLog::open(&path, config.clone())
            .map_err(|source| BrokerError::Storage { path, source })?;
        Ok(Arc::new(Partition::new(topic.to_owned(), index, log)))
    })
    .into_iter()
    .collect()
}

/// Opens one partition of a topic found on disk. A partition whose log cannot be opened is
/// reported offline rather than failing the broker: its files stay as they are, and every other
/// partition is served (Kafka takes a failed log directory offline the same way).
fn open_partition(
    dir: &Path,
    topic: &str,
    index: u32,
    config: &LogConfig,
) -> Result<Arc<Partition>, String> {
    let path = dir.join(index.to_string());
    match PartitionLog::open(&path, config.clone()) {
        Ok(log) => Ok(Arc::new(Partition::new(topic.to_owned(), index, log))),
        Err(error) => {
            let reason = error_chain(&error);
            tracing::error!(topic, partition = index, error = %reason, "partition offline: its log cannot be opened; files kept");
            Err(reason)
        }
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, BrokerError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| BrokerError::io(dir, e))? {
        let entry = entry.map_err(|e| BrokerError::io(dir, e))?;
        if entry
            .file_type()
            .map_err(|e| BrokerError::io(dir, e))?
            .is_dir()
        {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        for good in [
            "a",
            "orders.v1",
            "A-b_c",
            "_private",
            "a__b",
            &"x".repeat(249),
        ] {
            assert!(validate_topic_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "ü",
            "__consumer_offsets",
            "__x",
            &"x".repeat(250),
        ] {
            assert_eq!(
                validate_topic_name(bad).unwrap_err().kind(),
                crate::service::ErrorKind::InvalidTopic,
                "{bad}"
            );
        }
    }
}
