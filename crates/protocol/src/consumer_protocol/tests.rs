//! The consumer protocol codec against bytes as Kafka clients write them,
//! round trips, and malformed input.

use proptest::prelude::*;

use super::*;

/// Builds expected bytes field by field, big-endian.
#[derive(Default)]
struct Bytes_(Vec<u8>);

impl Bytes_ {
    fn i16(mut self, n: i16) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn i32(mut self, n: i32) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn str(self, s: &str) -> Self {
        let mut b = self.i16(i16::try_from(s.len()).unwrap());
        b.0.extend_from_slice(s.as_bytes());
        b
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
}

/// librdkafka 2.x (`rd_kafka_consumer_protocol_member_metadata_new`):
/// version 3, empty (not null) user data, an empty owned-partitions array,
/// generation -1, null rack. What [`Subscription::new`] writes.
#[test]
fn librdkafka_subscription_bytes() {
    let wire = Bytes_::default()
        .i16(3)
        .i32(2)
        .str("orders")
        .str("payments")
        .i32(0)
        .i32(0)
        .i32(-1)
        .i16(-1)
        .0;
    let decoded = Subscription::decode(&wire).unwrap();
    assert_eq!(decoded, Subscription::new(["orders", "payments"]));
    assert_eq!(decoded.encode().unwrap(), wire);
    assert_eq!(
        Subscription::new(["orders", "payments"]).encode().unwrap(),
        wire
    );
}

/// The Java client 3.x: version 3, null user data, owned partitions, a
/// generation and a rack.
#[test]
fn java_subscription_bytes() {
    let wire = Bytes_::default()
        .i16(3)
        .i32(1)
        .str("orders")
        .i32(-1)
        .i32(1)
        .str("orders")
        .i32(2)
        .i32(0)
        .i32(2)
        .i32(5)
        .str("rack-a")
        .0;
    let decoded = Subscription::decode(&wire).unwrap();
    assert_eq!(
        decoded,
        Subscription {
            version: 3,
            topics: vec!["orders".into()],
            user_data: None,
            owned_partitions: vec![TopicPartitions::new("orders", [0, 2])],
            generation_id: 5,
            rack_id: Some("rack-a".into()),
        }
    );
    assert_eq!(decoded.encode().unwrap(), wire);
}

/// kafka-python's ConsumerProtocolMemberMetadata v0: version, topics, user
/// data, nothing more.
#[test]
fn kafka_python_v0_subscription_bytes() {
    let wire = Bytes_::default().i16(0).i32(1).str("t").i32(0).0;
    let decoded = Subscription::decode(&wire).unwrap();
    assert_eq!(decoded.version, 0);
    assert_eq!(decoded.topics, ["t"]);
    assert_eq!(decoded.user_data.as_deref(), Some(&b""[..]));
    assert_eq!(decoded.generation_id, -1);
    assert_eq!(decoded.encode().unwrap(), wire);
}

/// A newer version than known: its known fields are read, the rest ignored.
#[test]
fn newer_subscription_versions_read_the_known_fields() {
    let wire = Bytes_::default()
        .i16(9)
        .i32(1)
        .str("t")
        .i32(-1)
        .i32(0)
        .i32(7)
        .i16(-1)
        .raw(&[1, 2, 3])
        .0;
    let decoded = Subscription::decode(&wire).unwrap();
    assert_eq!((decoded.version, decoded.generation_id), (9, 7));
    assert_eq!(decoded.topics, ["t"]);
}

/// A Java leader's assignment (version 3, null user data) and librdkafka's
/// (version 0, empty user data); trailing bytes of a newer version ignored.
#[test]
fn assignment_bytes_as_clients_write_them() {
    let java = Bytes_::default()
        .i16(3)
        .i32(2)
        .str("a")
        .i32(1)
        .i32(2)
        .str("b")
        .i32(2)
        .i32(1)
        .i32(0)
        .i32(-1)
        .0;
    let decoded = Assignment::decode(&java).unwrap();
    assert_eq!(decoded.version, 3);
    assert_eq!(decoded.user_data, None);
    assert_eq!(
        decoded.pairs(),
        vec![("a".into(), 2), ("b".into(), 0), ("b".into(), 1)]
    );
    assert_eq!(decoded.encode().unwrap(), java);

    let rdkafka = Bytes_::default()
        .i16(0)
        .i32(1)
        .str("t")
        .i32(2)
        .i32(0)
        .i32(5)
        .i32(2)
        .raw(b"ud")
        .raw(&[9, 9])
        .0;
    let decoded = Assignment::decode(&rdkafka).unwrap();
    assert_eq!(decoded.pairs(), vec![("t".into(), 0), ("t".into(), 5)]);
    assert_eq!(decoded.user_data.as_deref(), Some(&b"ud"[..]));

    // What this crate writes: version 0, null user data.
    let ours = Assignment::new(vec![TopicPartitions::new("t", [1])])
        .encode()
        .unwrap();
    assert_eq!(
        ours,
        Bytes_::default()
            .i16(0)
            .i32(1)
            .str("t")
            .i32(1)
            .i32(1)
            .i32(-1)
            .0
    );
}

#[test]
fn every_cut_is_an_error() {
    let subscription = Subscription {
        owned_partitions: vec![TopicPartitions::new("x", [3])],
        rack_id: Some("r".into()),
        ..Subscription::new(["orders"])
    }
    .encode()
    .unwrap();
    for cut in 0..subscription.len() {
        assert!(
            Subscription::decode(&subscription[..cut]).is_err(),
            "cut {cut}"
        );
    }
    let assignment = Assignment::new(vec![TopicPartitions::new("orders", [0, 1, 2])])
        .encode()
        .unwrap();
    for cut in 0..assignment.len() {
        assert!(Assignment::decode(&assignment[..cut]).is_err(), "cut {cut}");
    }
}

#[test]
fn malformed_input_is_refused_before_looping() {
    // A topic count of i32::MAX in six bytes.
    assert_eq!(
        Assignment::decode(&[0, 0, 0x7f, 0xff, 0xff, 0xff]),
        Err(ConsumerProtocolError::Truncated { at: 2 })
    );
    assert!(matches!(
        Assignment::decode(&[0, 0, 0xff, 0xff, 0xff, 0xfe]),
        Err(ConsumerProtocolError::NegativeLength { .. })
    ));
    assert!(matches!(
        Subscription::decode(&[0xff, 0xff]),
        Err(ConsumerProtocolError::NegativeVersion { version: -1 })
    ));
    // A null topic name.
    let null_topic = Bytes_::default().i16(0).i32(1).i16(-1).i32(0).0;
    assert!(matches!(
        Subscription::decode(&null_topic),
        Err(ConsumerProtocolError::NegativeLength { .. })
    ));
    let negative_partition = Bytes_::default()
        .i16(0)
        .i32(1)
        .str("t")
        .i32(1)
        .i32(-3)
        .i32(-1)
        .0;
    assert_eq!(
        Assignment::decode(&negative_partition),
        Err(ConsumerProtocolError::NegativePartition { at: 13 })
    );
    let bad_utf8 = Bytes_::default().i16(0).i32(1).i16(1).raw(&[0xff]).i32(0).0;
    assert!(matches!(
        Subscription::decode(&bad_utf8),
        Err(ConsumerProtocolError::InvalidUtf8 { at: 8, .. })
    ));
    assert!(Assignment::decode(b"not an assignment at all").is_err());
}

#[test]
fn what_does_not_fit_is_not_written() {
    let long = "x".repeat(usize::from(u16::MAX));
    assert_eq!(
        Subscription::new([long.as_str()]).encode(),
        Err(ConsumerProtocolError::TooLong { what: "topic name" })
    );
    let huge_partition = Assignment::new(vec![TopicPartitions::new("t", [u32::MAX])]);
    assert!(matches!(
        huge_partition.encode(),
        Err(ConsumerProtocolError::TooLong { .. })
    ));
}

fn topic_partitions() -> impl Strategy<Value = Vec<TopicPartitions>> {
    prop::collection::vec(
        ("[a-z]{0,8}", prop::collection::vec(0u32..1 << 31, 0..5))
            .prop_map(|(topic, partitions)| TopicPartitions { topic, partitions }),
        0..4,
    )
}

fn user_data() -> impl Strategy<Value = Option<Bytes>> {
    prop::option::of(prop::collection::vec(any::<u8>(), 0..8).prop_map(Bytes::from))
}

proptest! {
    #[test]
    fn subscriptions_round_trip(
        version in 0i16..=3,
        topics in prop::collection::vec("[a-z.-]{0,12}", 0..5),
        user_data in user_data(),
        owned in topic_partitions(),
        generation_id in any::<i32>(),
        rack_id in prop::option::of("[a-z]{0,4}"),
    ) {
        // Fields newer than the version are not on the wire.
        let subscription = Subscription {
            version,
            topics,
            user_data,
            owned_partitions: if version >= 1 { owned } else { Vec::new() },
            generation_id: if version >= 2 { generation_id } else { -1 },
            rack_id: if version >= 3 { rack_id } else { None },
        };
        let wire = subscription.encode().unwrap();
        prop_assert_eq!(Subscription::decode(&wire).unwrap(), subscription);
    }

    #[test]
    fn assignments_round_trip(
        version in 0i16..=3,
        partitions in topic_partitions(),
        user_data in user_data(),
    ) {
        let assignment = Assignment { version, partitions, user_data };
        let wire = assignment.encode().unwrap();
        prop_assert_eq!(Assignment::decode(&wire).unwrap(), assignment);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Subscription::decode(&bytes);
        let _ = Assignment::decode(&bytes);
    }
}
