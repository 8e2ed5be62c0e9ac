//! The group state machine driven by hand, with a fake clock.

use super::*;

const DELAY: Duration = Duration::from_millis(100);

fn group() -> Group {
    Group::new(GroupConfig {
        initial_rebalance_delay: DELAY,
        ..GroupConfig::default()
    })
}

fn params(member_id: &str, metadata: &'static [u8]) -> JoinParams {
    JoinParams {
        member_id: member_id.to_owned(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(metadata))],
        require_known_member_id: false,
    }
}

fn join_answer(actions: &[Action], req: ReqId) -> JoinOutcome {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Join(r, outcome) if *r == req => Some(outcome.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no join answer for {req} in {actions:?}"))
}

/// The join answer for `req`, which must be a generation.
fn joined(actions: &[Action], req: ReqId) -> Joined {
    join_answer(actions, req).unwrap_or_else(|refused| panic!("join {req} refused: {refused:?}"))
}

/// The refusal of `req`'s join.
fn refused(actions: &[Action], req: ReqId) -> JoinRefused {
    join_answer(actions, req).expect_err("a refused join")
}

fn sync_answer(actions: &[Action], req: ReqId) -> SyncOutcome {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Sync(r, outcome) if *r == req => Some(outcome.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no sync answer for {req} in {actions:?}"))
}

/// Two members `a` (leader) and `b` joined and synced: Stable, generation 1.
fn stable_pair(now: Instant) -> Group {
    let mut g = group();
    assert!(g.join(1, params("", b"ma"), "a".into(), now).is_empty());
    assert!(g.join(2, params("", b"mb"), "b".into(), now).is_empty());
    assert_eq!(g.state(), State::PreparingRebalance);
    let actions = g.tick(now + DELAY);
    // b arrived during the initial delay: the delay is extended once.
    assert!(actions.is_empty());
    let actions = g.tick(now + DELAY * 2);
    let a = joined(&actions, 1);
    let b = joined(&actions, 2);
    assert_eq!((a.generation_id, b.generation_id), (1, 1));
    assert_eq!(a.leader, "a");
    assert_eq!(
        a.members.len(),
        2,
        "the leader gets every member's metadata"
    );
    assert!(b.members.is_empty(), "followers get none");
    assert_eq!(a.protocol_name, "range");
    assert!(
        g.sync(4, "b", 1, vec![], now).is_empty(),
        "b waits for the leader"
    );
    let actions = g.sync(
        3,
        "a",
        1,
        vec![
            ("a".into(), Bytes::from_static(b"A")),
            ("b".into(), Bytes::from_static(b"B")),
        ],
        now,
    );
    assert_eq!(&sync_answer(&actions, 3).unwrap()[..], b"A");
    assert_eq!(&sync_answer(&actions, 4).unwrap()[..], b"B");
    assert_eq!(g.state(), State::Stable);
    g
}

#[test]
fn two_members_join_sync_and_are_stable() {
    let now = Instant::now();
    let mut g = stable_pair(now);
    assert_eq!(g.heartbeat("a", 1, now), Ok(()));
    assert_eq!(g.heartbeat("b", 0, now), Err(GroupError::IllegalGeneration));
    assert_eq!(g.heartbeat("zz", 1, now), Err(GroupError::UnknownMemberId));
    assert_eq!(g.check_commit("b", 1, now), Ok(()));
    assert_eq!(
        g.check_commit("b", 0, now),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        g.check_commit("zz", 1, now),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        g.check_commit("", -1, now),
        Err(GroupError::UnknownMemberId)
    );
    let summary = g.summary();
    assert_eq!(summary.protocol, "range");
    assert_eq!(&summary.members[1].assignment[..], b"B");
}

#[test]
fn leave_triggers_a_rebalance_and_heartbeats_say_so() {
    let now = Instant::now();
    let mut g = stable_pair(now);
    let (left, actions) = g.leave("a", now);
    assert_eq!(left, Ok(()));
    assert!(actions.is_empty());
    assert_eq!(g.leave("a", now).0, Err(GroupError::UnknownMemberId));
    assert_eq!(g.state(), State::PreparingRebalance);
    assert_eq!(
        g.heartbeat("b", 1, now),
        Err(GroupError::RebalanceInProgress)
    );
    // While a rebalance is prepared, members still commit in their
    // generation (what a consumer does before it rejoins).
    assert_eq!(g.check_commit("b", 1, now), Ok(()));
    assert_eq!(
        sync_answer(&g.sync(9, "b", 1, vec![], now), 9),
        Err(GroupError::RebalanceInProgress)
    );
    // b rejoins: everyone left has joined, so the rebalance completes now.
    let actions = g.join(5, params("b", b"mb"), String::new(), now);
    let b = joined(&actions, 5);
    assert_eq!(b.generation_id, 2);
    assert_eq!(b.leader, "b");
    assert_eq!(b.members.len(), 1);
    assert_eq!(g.state(), State::CompletingRebalance);
    assert_eq!(
        g.check_commit("b", 2, now),
        Err(GroupError::RebalanceInProgress)
    );
    // The generation before is fenced off.
    assert_eq!(
        g.check_commit("b", 1, now),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        sync_answer(&g.sync(10, "b", 1, vec![], now), 10),
        Err(GroupError::IllegalGeneration)
    );
}

#[test]
fn session_expiry_removes_the_member_and_rebalances() {
    let now = Instant::now();
    let mut g = stable_pair(now);
    let later = now + Duration::from_secs(8);
    assert_eq!(g.heartbeat("a", 1, later), Ok(()));
    let expired = now + Duration::from_secs(11);
    assert!(g.next_deadline().is_some_and(|d| d <= expired));
    g.tick(expired);
    assert_eq!(g.state(), State::PreparingRebalance);
    assert_eq!(
        g.heartbeat("b", 1, expired),
        Err(GroupError::UnknownMemberId)
    );
    let actions = g.join(6, params("a", b"ma"), String::new(), expired);
    assert_eq!(joined(&actions, 6).generation_id, 2);
}

#[test]
fn a_member_that_does_not_rejoin_is_dropped_at_the_deadline() {
    let now = Instant::now();
    let mut g = stable_pair(now);
    // a changes its metadata: a rebalance that b never joins.
    let actions = g.join(7, params("a", b"new"), String::new(), now);
    assert!(actions.is_empty());
    assert_eq!(
        g.heartbeat("b", 1, now),
        Err(GroupError::RebalanceInProgress)
    );
    let actions = g.tick(now + Duration::from_secs(30));
    let a = joined(&actions, 7);
    assert_eq!(a.members.len(), 1);
    assert_eq!(&a.members[0].2[..], b"new");
}

#[test]
fn member_id_required_then_join_with_it() {
    let now = Instant::now();
    let mut g = group();
    let mut p = params("", b"m");
    p.require_known_member_id = true;
    let actions = g.join(1, p.clone(), "c-1".into(), now);
    let answer = refused(&actions, 1);
    assert_eq!(answer.error, GroupError::MemberIdRequired);
    assert_eq!(answer.member_id, "c-1");
    p.member_id = "c-1".into();
    assert!(g.join(2, p, String::new(), now).is_empty());
    let actions = g.tick(now + DELAY);
    assert_eq!(joined(&actions, 2).member_id, "c-1");
}

#[test]
fn bad_joins_are_refused() {
    let now = Instant::now();
    let mut g = group();
    let mut p = params("", b"m");
    p.session_timeout_ms = 10;
    assert_eq!(
        refused(&g.join(1, p, "x".into(), now), 1).error,
        GroupError::InvalidSessionTimeout
    );
    assert_eq!(
        refused(&g.join(2, params("ghost", b"m"), String::new(), now), 2),
        JoinRefused::new(GroupError::UnknownMemberId, "ghost")
    );
    let mut g = stable_pair(now);
    let mut other = params("", b"m");
    other.protocols = vec![("roundrobin".into(), Bytes::new())];
    assert_eq!(
        refused(&g.join(3, other.clone(), "y".into(), now), 3).error,
        GroupError::InconsistentGroupProtocol
    );
    other.protocols = vec![("range".into(), Bytes::new())];
    other.protocol_type = "connect".into();
    assert_eq!(
        refused(&g.join(4, other, "y".into(), now), 4).error,
        GroupError::InconsistentGroupProtocol
    );
    assert_eq!(
        sync_answer(&g.sync(5, "ghost", 1, vec![], now), 5),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn the_last_member_leaving_empties_the_group() {
    let now = Instant::now();
    let mut g = stable_pair(now);
    assert_eq!(g.leave("a", now).0, Ok(()));
    assert_eq!(g.leave("b", now).0, Ok(()));
    assert_eq!(g.state(), State::Empty);
    assert!(g.is_forgettable());
    assert_eq!(g.check_commit("", -1, now), Ok(()));
}

#[test]
fn the_vote_picks_the_protocol_most_members_prefer() {
    let now = Instant::now();
    let mut g = group();
    let both = |id: &str, first: &str, second: &str| JoinParams {
        protocols: vec![(first.into(), Bytes::new()), (second.into(), Bytes::new())],
        ..params(id, b"")
    };
    g.join(1, both("", "range", "sticky"), "a".into(), now);
    g.join(2, both("", "sticky", "range"), "b".into(), now);
    g.join(3, both("", "sticky", "range"), "c".into(), now);
    g.tick(now + DELAY);
    let actions = g.tick(now + DELAY * 2);
    assert_eq!(joined(&actions, 1).protocol_name, "sticky");
}

#[test]
fn waiters_are_aborted_with_the_given_error() {
    let now = Instant::now();
    let mut g = group();
    assert!(g.join(1, params("", b"m"), "a".into(), now).is_empty());
    let actions = g.abort_waiters(GroupError::NotCoordinator);
    assert_eq!(
        refused(&actions, 1),
        JoinRefused::new(GroupError::NotCoordinator, "a")
    );
}

#[test]
fn group_errors_read_as_sentences() {
    assert_eq!(
        GroupError::IllegalGeneration.to_string(),
        "not the group's current generation"
    );
}
