//! Group membership: join and sync wait for the group's rebalance, which
//! the coordinator (`crate::group`) answers through a channel; here that
//! wait becomes a [`Deferred`] answer, the same for both protocols.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::Deferred;
use crate::group::GroupError;
use crate::group::state::{JoinOutcome, JoinParams, JoinRefused, SyncOutcome};
use crate::state::BrokerState;

/// JoinGroup: the member's place in the next generation.
pub(crate) fn join(state: &BrokerState, group: &str, params: JoinParams) -> Deferred<JoinOutcome> {
    let fallback = Err(JoinRefused::new(
        GroupError::CoordinatorNotAvailable,
        &params.member_id,
    ));
    when_answered(state.groups.join(group, params), fallback)
}

/// SyncGroup: the member's assignment (the leader sends everyone's).
pub(crate) fn sync(
    state: &BrokerState,
    group: &str,
    member_id: &str,
    generation: i32,
    assignments: Vec<(String, Bytes)>,
) -> Deferred<SyncOutcome> {
    let answer = state.groups.sync(group, member_id, generation, assignments);
    when_answered(answer, Err(GroupError::CoordinatorNotAvailable))
}

/// The coordinator's answer, now if it already came; `fallback` if the
/// coordinator went away (shutdown) without answering.
fn when_answered<T: Send + 'static>(mut answer: oneshot::Receiver<T>, fallback: T) -> Deferred<T> {
    match answer.try_recv() {
        Ok(outcome) => Deferred::Ready(outcome),
        Err(_) => Deferred::Later(Box::pin(async move { answer.await.unwrap_or(fallback) })),
    }
}
