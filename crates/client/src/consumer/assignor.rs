//! Partition assignment, as the group leader computes it: plain functions
//! from the members' subscriptions and the topics' partition counts to
//! each member's partitions, the same answers Kafka's `RangeAssignor` and
//! `RoundRobinAssignor` give, so a group led by a native consumer assigns
//! as a Kafka-led one would.

use std::collections::{BTreeMap, BTreeSet};

use crate::types::TopicPartition;

/// An assignment strategy, named as Kafka consumers name it in JoinGroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentStrategy {
    /// Kafka's default: per topic, consecutive ranges of partitions to the
    /// members subscribed to it, in member id order; the first
    /// `partitions % members` members get one more.
    Range,
    /// Every subscribed partition (sorted by topic, then partition) in
    /// turn to the next member (in member id order) subscribed to its
    /// topic.
    RoundRobin,
}

impl AssignmentStrategy {
    /// The protocol name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            AssignmentStrategy::Range => "range",
            AssignmentStrategy::RoundRobin => "roundrobin",
        }
    }

    pub fn from_name(name: &str) -> Option<AssignmentStrategy> {
        match name {
            "range" => Some(AssignmentStrategy::Range),
            "roundrobin" => Some(AssignmentStrategy::RoundRobin),
            _ => None,
        }
    }

    /// Each member's partitions, every member present (possibly with
    /// none). `subscriptions` maps member id to its topics; `partitions`
    /// maps topic to its partition count (a subscribed topic missing from
    /// it is not assigned).
    pub fn assign(
        self,
        subscriptions: &BTreeMap<String, Vec<String>>,
        partitions: &BTreeMap<String, u32>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        match self {
            AssignmentStrategy::Range => range(subscriptions, partitions),
            AssignmentStrategy::RoundRobin => round_robin(subscriptions, partitions),
        }
    }
}

fn empty(subscriptions: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<TopicPartition>> {
    subscriptions
        .keys()
        .map(|member| (member.clone(), Vec::new()))
        .collect()
}

fn range(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, u32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = empty(subscriptions);
    // topic -> its members, in member id order (the map's order).
    let mut members_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (member, topics) in subscriptions {
        let topics: BTreeSet<&str> = topics.iter().map(String::as_str).collect();
        for topic in topics {
            members_of.entry(topic).or_default().push(member);
        }
    }
    for (topic, members) in members_of {
        let Some(&count) = partitions.get(topic) else {
            continue;
        };
        let n = u32::try_from(members.len()).unwrap_or(u32::MAX);
        let (per, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, member) in (0u32..).zip(members) {
            let take = per + u32::from(i < extra);
            if let Some(assigned) = out.get_mut(member) {
                assigned.extend((next..next + take).map(|p| TopicPartition::new(topic, p)));
            }
            next += take;
        }
    }
    out
}

fn round_robin(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, u32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = empty(subscriptions);
    let members: Vec<(&String, BTreeSet<&str>)> = subscriptions
        .iter()
        .map(|(m, topics)| (m, topics.iter().map(String::as_str).collect()))
        .collect();
    let subscribed: BTreeSet<&str> = members
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    let mut turn = 0;
    for topic in subscribed {
        let Some(&count) = partitions.get(topic) else {
            continue;
        };
        for p in 0..count {
            // The next member, in circular order, that subscribes to the
            // topic; one does, or the topic would not be listed.
            for _ in 0..members.len() {
                let (member, topics) = &members[turn % members.len()];
                turn += 1;
                if topics.contains(topic) {
                    if let Some(assigned) = out.get_mut(*member) {
                        assigned.push(TopicPartition::new(topic, p));
                    }
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(members: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        members
            .iter()
            .map(|(m, topics)| {
                (
                    (*m).to_owned(),
                    topics.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect()
    }

    fn counts(topics: &[(&str, u32)]) -> BTreeMap<String, u32> {
        topics.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
    }

    fn names(assigned: &[TopicPartition]) -> Vec<String> {
        assigned.iter().map(ToString::to_string).collect()
    }

    /// Kafka's `RangeAssignorTest.testTwoConsumersTwoTopicsSixPartitions`.
    #[test]
    fn range_splits_each_topic_in_member_order() {
        let s = subs(&[("c1", &["t1", "t2"]), ("c0", &["t1", "t2"])]);
        let out = AssignmentStrategy::Range.assign(&s, &counts(&[("t1", 3), ("t2", 3)]));
        assert_eq!(names(&out["c0"]), ["t1/0", "t1/1", "t2/0", "t2/1"]);
        assert_eq!(names(&out["c1"]), ["t1/2", "t2/2"]);
    }

    #[test]
    fn range_with_more_members_than_partitions_and_partial_subscriptions() {
        let s = subs(&[
            ("a", &["t"]),
            ("b", &["t", "u"]),
            ("c", &["t"]),
            ("d", &["t"]),
        ]);
        let out = AssignmentStrategy::Range.assign(&s, &counts(&[("t", 3), ("u", 2)]));
        assert_eq!(names(&out["a"]), ["t/0"]);
        assert_eq!(names(&out["b"]), ["t/1", "u/0", "u/1"]);
        assert_eq!(names(&out["c"]), ["t/2"]);
        assert!(
            out["d"].is_empty(),
            "every member is listed, also without partitions"
        );
        // A topic without metadata is not assigned; duplicates count once.
        let s = subs(&[("a", &["gone", "t", "t"])]);
        let out = AssignmentStrategy::Range.assign(&s, &counts(&[("t", 2)]));
        assert_eq!(names(&out["a"]), ["t/0", "t/1"]);
    }

    /// Kafka's `RoundRobinAssignorTest.testTwoConsumersTwoTopicsSixPartitions`.
    #[test]
    fn round_robin_deals_partitions_in_turn() {
        let s = subs(&[("c0", &["t1", "t2"]), ("c1", &["t1", "t2"])]);
        let out = AssignmentStrategy::RoundRobin.assign(&s, &counts(&[("t1", 3), ("t2", 3)]));
        assert_eq!(names(&out["c0"]), ["t1/0", "t1/2", "t2/1"]);
        assert_eq!(names(&out["c1"]), ["t1/1", "t2/0", "t2/2"]);
        // Only subscribers of a topic get its partitions.
        let s = subs(&[("a", &["t"]), ("b", &["u"])]);
        let out = AssignmentStrategy::RoundRobin.assign(&s, &counts(&[("t", 2), ("u", 1)]));
        assert_eq!(names(&out["a"]), ["t/0", "t/1"]);
        assert_eq!(names(&out["b"]), ["u/0"]);
    }

    #[test]
    fn every_partition_goes_to_exactly_one_member() {
        for strategy in [AssignmentStrategy::Range, AssignmentStrategy::RoundRobin] {
            for members in 1..6 {
                let s: BTreeMap<String, Vec<String>> = (0..members)
                    .map(|m| (format!("m{m}"), vec!["t".to_owned(), "u".to_owned()]))
                    .collect();
                let c = counts(&[("t", 7), ("u", 3)]);
                let out = strategy.assign(&s, &c);
                let mut all: Vec<&TopicPartition> = out.values().flatten().collect();
                all.sort();
                let before = all.len();
                all.dedup();
                assert_eq!((before, all.len()), (10, 10), "{strategy:?} {members}");
                let sizes: Vec<usize> = out.values().map(Vec::len).collect();
                let spread = sizes.iter().max().unwrap() - sizes.iter().min().unwrap();
                assert!(spread <= 2, "{strategy:?} {members}: {sizes:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for strategy in [AssignmentStrategy::Range, AssignmentStrategy::RoundRobin] {
            assert_eq!(
                AssignmentStrategy::from_name(strategy.name()),
                Some(strategy)
            );
        }
        assert_eq!(AssignmentStrategy::from_name("sticky"), None);
    }
}
