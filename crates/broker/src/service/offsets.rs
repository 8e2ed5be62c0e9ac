//! Committed group offsets: commit (checked against the group's membership,
//! durable before it is answered) and fetch.
//!
//! A commit is one batch in the `__consumer_offsets` log; it is answered
//! once the log's flusher covers it (the same flusher acks=all produces wait
//! on: no thread is held per commit).

use std::sync::Arc;

use tracing::{debug, warn};

use super::{Deferred, ServiceError};
use crate::offsets::{Committed, OffsetKey};
use crate::state::BrokerState;

/// Largest metadata string stored with an offset (Kafka's default).
pub(crate) const MAX_METADATA: usize = 4096;

/// A commit as a client sends it.
#[derive(Debug, Clone)]
pub(crate) struct CommitRequest {
    pub group: String,
    /// Empty, with `generation` -1, for a consumer outside any generation
    /// (Kafka's `assign()`, or a native consumer without membership).
    pub member_id: String,
    pub generation: i32,
    pub partitions: Vec<CommitPartition>,
    /// Refuse negative offsets (`InvalidOffset`): the native protocol's
    /// rule. Kafka stores what it is given, and Java clients take
    /// INVALID_REQUEST as fatal.
    pub refuse_negative: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CommitPartition {
    pub topic: String,
    pub partition: i64,
    pub offset: i64,
    pub metadata: String,
}

/// Each partition's outcome, in request order.
pub(crate) type CommitResults = Vec<Result<(), ServiceError>>;

/// Validates and appends a commit, answered now (nothing to write) or once
/// it is durable. A refusal of the whole request (an empty
/// group id, a member or generation the group does not accept) is the
/// `Err`; partitions are refused one by one in the results.
pub(crate) fn commit(
    state: &Arc<BrokerState>,
    request: CommitRequest,
) -> Result<Deferred<CommitResults>, ServiceError> {
    let group = &request.group;
    // The coordinator refuses an empty group id too (InvalidGroupId).
    state
        .groups
        .check_commit(group, &request.member_id, request.generation)
        .map_err(|error| {
            debug!(%group, member = %request.member_id, generation = request.generation, %error, "offset commit refused");
            ServiceError::group(group, error)
        })?;
    let mut results: CommitResults = Vec::with_capacity(request.partitions.len());
    let mut entries = Vec::new();
    // Index into `results` of each entry.
    let mut places = Vec::new();
    for p in request.partitions {
        let checked = if request.refuse_negative && p.offset < 0 {
            Err(ServiceError::InvalidOffset(p.offset))
        } else if p.metadata.len() > MAX_METADATA {
            Err(ServiceError::MetadataTooLarge {
                len: p.metadata.len(),
                max: MAX_METADATA,
            })
        } else {
            super::topics::partition(state, &p.topic, p.partition).map(|_| ())
        };
        if checked.is_ok()
            && let Ok(partition) = u32::try_from(p.partition)
        {
            places.push(results.len());
            entries.push((
                OffsetKey {
                    group: group.clone(),
                    topic: p.topic,
                    partition,
                },
                Committed {
                    offset: p.offset,
                    metadata: p.metadata,
                },
            ));
        }
        results.push(checked);
    }
    if entries.is_empty() {
        return Ok(Deferred::Ready(results));
    }
    let written = match state.offsets.commit(&entries) {
        Ok(written) => written,
        Err(error) => {
            warn!(%group, error = %error.message(), "offset commit append failed");
            fail(&mut results, &places, &error);
            return Ok(Deferred::Ready(results));
        }
    };
    debug!(%group, partitions = entries.len(), "offsets committed");
    Ok(Deferred::Later(Box::pin(async move {
        if let Err(error) = written.await {
            warn!(error = %error.message(), "flushing committed offsets failed");
            fail(&mut results, &places, &error);
        }
        results
    })))
}

fn fail(results: &mut CommitResults, places: &[usize], error: &ServiceError) {
    for &i in places {
        if let Some(slot) = results.get_mut(i) {
            *slot = Err(error.clone());
        }
    }
}

/// The committed position of each requested partition (`None`: nothing
/// committed), or with `partitions` of `None` every partition the group
/// committed, sorted.
pub(crate) fn fetch(
    state: &BrokerState,
    group: &str,
    partitions: Option<Vec<(String, i64)>>,
) -> Vec<(String, i64, Option<Committed>)> {
    match partitions {
        None => state
            .offsets
            .group(group)
            .into_iter()
            .map(|(key, committed)| (key.topic, i64::from(key.partition), Some(committed)))
            .collect(),
        Some(requested) => requested
            .into_iter()
            .map(|(topic, partition)| {
                let committed = u32::try_from(partition).ok().and_then(|index| {
                    state.offsets.get(&OffsetKey {
                        group: group.to_owned(),
                        topic: topic.clone(),
                        partition: index,
                    })
                });
                (topic, partition, committed)
            })
            .collect(),
    }
}
