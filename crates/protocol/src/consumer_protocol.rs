//! Kafka's "consumer" group protocol: the bytes a consumer puts in its
//! JoinGroup metadata ([`Subscription`]) and the bytes the group leader
//! sends each member in SyncGroup ([`Assignment`]).
//!
//! The group coordinator passes both through untouched; only members read
//! them. Native members write exactly what Kafka consumers write, so a
//! native consumer and a Kafka consumer (Java, librdkafka, kafka-python)
//! can be members of one group, whichever of them leads. The layouts are
//! Kafka's `ConsumerProtocolSubscription.json` and
//! `ConsumerProtocolAssignment.json`, never flexible, big-endian:
//!
//! ```text
//! Subscription                          Assignment
//!   version          int16                version          int16
//!   topics           [string]             assigned         [topic string,
//!   user_data        nullable bytes                          partitions [int32]]
//!   owned_partitions [topic string,       user_data        nullable bytes
//!                     partitions [int32]]   (v1+)
//!   generation_id    int32 (v2+)
//!   rack_id          nullable string (v3+)
//! ```
//!
//! Arrays are an `int32` count, strings an `int16` length (-1 = null) and
//! UTF-8, bytes an `int32` length (-1 = null). The assignment's versions
//! 0-3 are alike on the wire. As Kafka does, a version newer than this code
//! knows is read as the newest known one and anything after the known
//! fields is ignored.
//!
//! Decoding never panics and never allocates from an unchecked count: a
//! count larger than the bytes left is [`ConsumerProtocolError::Truncated`].

use bytes::Bytes;

/// The newest subscription version this code knows (and writes by
/// default, as librdkafka 2.x and the Java client 3.x do).
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// The assignment version written; every version 0-3 is read alike.
pub const ASSIGNMENT_VERSION: i16 = 0;

/// What does not parse (or cannot be written) as consumer protocol bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerProtocolError {
    #[error("consumer protocol bytes cut short at byte {at}")]
    Truncated { at: usize },
    #[error("negative consumer protocol version {version}")]
    NegativeVersion { version: i16 },
    #[error("negative {what} length at byte {at}")]
    NegativeLength { what: &'static str, at: usize },
    #[error("{what} is not UTF-8 at byte {at}")]
    InvalidUtf8 { what: &'static str, at: usize },
    #[error("negative partition number at byte {at}")]
    NegativePartition { at: usize },
    /// Encoding: a string, byte string or array longer than its length
    /// field can say, or a partition number above `i32::MAX`.
    #[error("{what} does not fit the consumer protocol")]
    TooLong { what: &'static str },
}

/// A topic and some of its partitions (sorted as given).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitions {
    pub topic: String,
    pub partitions: Vec<u32>,
}

impl TopicPartitions {
    pub fn new(topic: impl Into<String>, partitions: impl Into<Vec<u32>>) -> Self {
        TopicPartitions {
            topic: topic.into(),
            partitions: partitions.into(),
        }
    }
}

/// A member's JoinGroup metadata: the topics it subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The version read, or to write. Fields newer than it are not written
    /// (and read as their defaults).
    pub version: i16,
    pub topics: Vec<String>,
    /// Opaque data of the assignor (`None` is Kafka's null).
    pub user_data: Option<Bytes>,
    /// The partitions the member holds (v1+; cooperative assignors).
    pub owned_partitions: Vec<TopicPartitions>,
    /// The generation the member last had (v2+), -1 for none.
    pub generation_id: i32,
    /// The member's rack (v3+).
    pub rack_id: Option<String>,
}

impl Subscription {
    /// The subscription a consumer without assignor state sends: the
    /// newest version, empty (not null) user data as librdkafka writes it,
    /// nothing owned, generation -1, no rack.
    pub fn new(topics: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Subscription {
            version: SUBSCRIPTION_VERSION,
            topics: topics.into_iter().map(Into::into).collect(),
            user_data: Some(Bytes::new()),
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, ConsumerProtocolError> {
        let mut w = Writer::default();
        w.version(self.version)?;
        w.count(self.topics.len(), "topic list")?;
        for topic in &self.topics {
            w.string(topic, "topic name")?;
        }
        w.bytes(self.user_data.as_deref(), "user data")?;
        if self.version >= 1 {
            w.topic_partitions(&self.owned_partitions)?;
        }
        if self.version >= 2 {
            w.i32(self.generation_id);
        }
        if self.version >= 3 {
            w.nullable_string(self.rack_id.as_deref(), "rack id")?;
        }
        Ok(w.out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Subscription, ConsumerProtocolError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.version()?;
        let n = r.count("topic list", 2)?;
        let mut topics = Vec::with_capacity(n);
        for _ in 0..n {
            topics.push(r.string("topic name")?);
        }
        let user_data = r.bytes("user data")?;
        let mut subscription = Subscription {
            version,
            topics,
            user_data,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        };
        if version >= 1 {
            subscription.owned_partitions = r.topic_partitions()?;
        }
        if version >= 2 {
            subscription.generation_id = r.i32()?;
        }
        if version >= 3 {
            subscription.rack_id = r.nullable_string("rack id")?;
        }
        Ok(subscription)
    }
}

/// What the leader assigned one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub version: i16,
    pub partitions: Vec<TopicPartitions>,
    pub user_data: Option<Bytes>,
}

impl Assignment {
    /// Version 0, no user data (null), as Kafka's range and roundrobin
    /// assignors leave it.
    pub fn new(partitions: Vec<TopicPartitions>) -> Self {
        Assignment {
            version: ASSIGNMENT_VERSION,
            partitions,
            user_data: None,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, ConsumerProtocolError> {
        let mut w = Writer::default();
        w.version(self.version)?;
        w.topic_partitions(&self.partitions)?;
        w.bytes(self.user_data.as_deref(), "user data")?;
        Ok(w.out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Assignment, ConsumerProtocolError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.version()?;
        let partitions = r.topic_partitions()?;
        let user_data = r.bytes("user data")?;
        Ok(Assignment {
            version,
            partitions,
            user_data,
        })
    }

    /// Every (topic, partition) pair, sorted, without duplicates.
    pub fn pairs(&self) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = self
            .partitions
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| (t.topic.clone(), *p)))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Debug, Default)]
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn version(&mut self, version: i16) -> Result<(), ConsumerProtocolError> {
        if version < 0 {
            return Err(ConsumerProtocolError::NegativeVersion { version });
        }
        self.out.extend_from_slice(&version.to_be_bytes());
        Ok(())
    }

    fn i32(&mut self, n: i32) {
        self.out.extend_from_slice(&n.to_be_bytes());
    }

    fn count(&mut self, n: usize, what: &'static str) -> Result<(), ConsumerProtocolError> {
        let n = i32::try_from(n).map_err(|_| ConsumerProtocolError::TooLong { what })?;
        self.i32(n);
        Ok(())
    }

    fn string(&mut self, s: &str, what: &'static str) -> Result<(), ConsumerProtocolError> {
        let len = i16::try_from(s.len()).map_err(|_| ConsumerProtocolError::TooLong { what })?;
        self.out.extend_from_slice(&len.to_be_bytes());
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn nullable_string(
        &mut self,
        s: Option<&str>,
        what: &'static str,
    ) -> Result<(), ConsumerProtocolError> {
        match s {
            Some(s) => self.string(s, what),
            None => {
                self.out.extend_from_slice(&(-1i16).to_be_bytes());
                Ok(())
            }
        }
    }

    fn bytes(&mut self, b: Option<&[u8]>, what: &'static str) -> Result<(), ConsumerProtocolError> {
        match b {
            Some(b) => {
                self.count(b.len(), what)?;
                self.out.extend_from_slice(b);
            }
            None => self.i32(-1),
        }
        Ok(())
    }

    fn topic_partitions(
        &mut self,
        topics: &[TopicPartitions],
    ) -> Result<(), ConsumerProtocolError> {
        self.count(topics.len(), "topic list")?;
        for t in topics {
            self.string(&t.topic, "topic name")?;
            self.count(t.partitions.len(), "partition list")?;
            for &p in &t.partitions {
                let p = i32::try_from(p).map_err(|_| ConsumerProtocolError::TooLong {
                    what: "partition number",
                })?;
                self.i32(p);
            }
        }
        Ok(())
    }
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConsumerProtocolError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(ConsumerProtocolError::Truncated { at: self.at })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, ConsumerProtocolError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, ConsumerProtocolError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn version(&mut self) -> Result<i16, ConsumerProtocolError> {
        let version = self.i16()?;
        if version < 0 {
            return Err(ConsumerProtocolError::NegativeVersion { version });
        }
        Ok(version)
    }

    /// An array count, checked against the bytes left given each element
    /// takes at least `min_element` bytes.
    fn count(
        &mut self,
        what: &'static str,
        min_element: usize,
    ) -> Result<usize, ConsumerProtocolError> {
        let at = self.at;
        let n = usize::try_from(self.i32()?)
            .map_err(|_| ConsumerProtocolError::NegativeLength { what, at })?;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_element) > left {
            return Err(ConsumerProtocolError::Truncated { at });
        }
        Ok(n)
    }

    fn nullable_string(
        &mut self,
        what: &'static str,
    ) -> Result<Option<String>, ConsumerProtocolError> {
        let at = self.at;
        let len = self.i16()?;
        if len == -1 {
            return Ok(None);
        }
        let len =
            usize::try_from(len).map_err(|_| ConsumerProtocolError::NegativeLength { what, at })?;
        let raw = self.take(len)?;
        let s = std::str::from_utf8(raw).map_err(|e| ConsumerProtocolError::InvalidUtf8 {
            what,
            at: at + 2 + e.valid_up_to(),
        })?;
        Ok(Some(s.to_owned()))
    }

    fn string(&mut self, what: &'static str) -> Result<String, ConsumerProtocolError> {
        let at = self.at;
        self.nullable_string(what)?
            .ok_or(ConsumerProtocolError::NegativeLength { what, at })
    }

    fn bytes(&mut self, what: &'static str) -> Result<Option<Bytes>, ConsumerProtocolError> {
        let at = self.at;
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len =
            usize::try_from(len).map_err(|_| ConsumerProtocolError::NegativeLength { what, at })?;
        Ok(Some(Bytes::copy_from_slice(self.take(len)?)))
    }

    fn topic_partitions(&mut self) -> Result<Vec<TopicPartitions>, ConsumerProtocolError> {
        let n = self.count("topic list", 2 + 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let topic = self.string("topic name")?;
            let count = self.count("partition list", 4)?;
            let mut partitions = Vec::with_capacity(count);
            for _ in 0..count {
                let at = self.at;
                let p = u32::try_from(self.i32()?)
                    .map_err(|_| ConsumerProtocolError::NegativePartition { at })?;
                partitions.push(p);
            }
            out.push(TopicPartitions { topic, partitions });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
