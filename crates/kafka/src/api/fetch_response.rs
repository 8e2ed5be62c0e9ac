//! Fetch response (api key 1), versions 4-11.
//!
//! The broker sends record data straight from segment files with sendfile,
//! so the response is generic over the record source `R`: decoded responses
//! hold `Bytes`; the broker builds one holding its own file-slice type and
//! calls [`FetchResponse::encode_parts`], which encodes everything except the
//! record bytes and says where each slice goes.

use bytes::{BufMut, Bytes, BytesMut};

use crate::wire::{Message, Reader, Writer};
use crate::{ApiKey, DecodeError, ResponseHeader, response_header_version};

/// Something whose byte length is known before its bytes are sent: the
/// records of one partition. The length must not change between encoding
/// and sending (data below the high watermark is immutable).
pub trait RecordsLen {
    /// Length in bytes.
    fn records_len(&self) -> usize;
}

impl RecordsLen for Bytes {
    fn records_len(&self) -> usize {
        self.len()
    }
}

/// Fetch response. `R` is the record source, `Bytes` unless the broker
/// defers the record bytes (see [`FetchResponse::encode_parts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse<R = Bytes> {
    /// Quota throttle (v1+).
    pub throttle_time_ms: i32,
    /// Top-level error (v7+).
    pub error_code: i16,
    /// Fetch session id, 0 for sessionless (v7+).
    pub session_id: i32,
    /// Data per topic.
    pub responses: Vec<FetchTopicResponse<R>>,
}

impl<R> Default for FetchResponse<R> {
    fn default() -> Self {
        Self {
            throttle_time_ms: 0,
            error_code: 0,
            session_id: 0,
            responses: Vec::new(),
        }
    }
}

/// One topic in a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchTopicResponse<R = Bytes> {
    /// Topic name.
    pub topic: String,
    /// Data per partition.
    pub partitions: Vec<FetchPartitionResponse<R>>,
}

/// One partition in a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartitionResponse<R = Bytes> {
    /// Partition index.
    pub partition_index: i32,
    /// See [`crate::ErrorCode`].
    pub error_code: i16,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset (v4+, default -1).
    pub last_stable_offset: i64,
    /// Log start offset (v5+, default -1).
    pub log_start_offset: i64,
    /// Aborted transactions in the returned range, or null (v4+).
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// Replica to read from next, -1 for this broker (v11+).
    pub preferred_read_replica: i32,
    /// Record batches; may start before the fetch offset and end mid-batch.
    pub records: Option<R>,
}

impl<R> FetchPartitionResponse<R> {
    /// A partition answer with Kafka's defaults and no records.
    pub fn new(partition_index: i32) -> Self {
        Self {
            partition_index,
            error_code: 0,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            aborted_transactions: None,
            preferred_read_replica: -1,
            records: None,
        }
    }
}

/// An aborted transaction in a fetch response (v4+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AbortedTransaction {
    /// Producer of the aborted transaction.
    pub producer_id: i64,
    /// Its first offset.
    pub first_offset: i64,
}

/// A piece of an encoded fetch response: bytes to write, or the records of
/// one partition to send in their place (with sendfile).
#[derive(Debug, PartialEq, Eq)]
pub enum FetchPart<'a, R> {
    /// Encoded protocol bytes.
    Encoded(Bytes),
    /// The records of one partition, exactly `records_len()` bytes; their
    /// length prefix is already in the preceding `Encoded` part.
    Records(&'a R),
}

impl<R: RecordsLen> FetchPart<'_, R> {
    /// Bytes this part puts on the wire.
    pub fn len(&self) -> usize {
        match self {
            FetchPart::Encoded(b) => b.len(),
            FetchPart::Records(r) => r.records_len(),
        }
    }

    /// True when the part puts no bytes on the wire.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<R: RecordsLen> FetchResponse<R> {
    /// Encodes the body as `version`, calling `records` at the point where
    /// each partition's record bytes belong (after their length prefix).
    fn encode_with<'s>(
        &'s self,
        buf: &mut BytesMut,
        version: i16,
        mut records: impl FnMut(&mut BytesMut, &'s R),
    ) {
        let w = &mut Writer::new(buf, ApiKey::Fetch.is_flexible(version));
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if version >= 7 {
            w.i16(self.error_code);
            w.i32(self.session_id);
        }
        w.array(&self.responses, |w, t| {
            w.string(&t.topic);
            w.array(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code);
                w.i64(p.high_watermark);
                if version >= 4 {
                    w.i64(p.last_stable_offset);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 4 {
                    w.nullable_array(p.aborted_transactions.as_deref(), |w, a| {
                        w.i64(a.producer_id);
                        w.i64(a.first_offset);
                        w.tags();
                    });
                }
                if version >= 11 {
                    w.i32(p.preferred_read_replica);
                }
                w.bytes_len(p.records.as_ref().map(R::records_len));
                if let Some(r) = &p.records {
                    records(w.buf, r);
                }
                w.tags();
            });
            w.tags();
        });
        w.tags();
    }

    /// Encodes the body as `version` with every partition's records left
    /// out: `Encoded` parts alternate with `Records` parts in wire order,
    /// and writing them in order (sendfile for `Records`) produces exactly
    /// the body. Partitions with empty or null records get no `Records` part.
    pub fn encode_parts(&self, version: i16) -> Vec<FetchPart<'_, R>> {
        let mut parts = Vec::new();
        let mut buf = BytesMut::new();
        self.encode_with(&mut buf, version, |buf, r| {
            if r.records_len() > 0 {
                parts.push(FetchPart::Encoded(buf.split().freeze()));
                parts.push(FetchPart::Records(r));
            }
        });
        if !buf.is_empty() {
            parts.push(FetchPart::Encoded(buf.freeze()));
        }
        parts
    }

    /// [`Self::encode_parts`] for a whole response frame: the first part
    /// starts with the int32 size prefix and the response header, so the
    /// connection writes the parts in order and nothing else.
    pub fn encode_frame_parts(&self, correlation_id: i32, version: i16) -> Vec<FetchPart<'_, R>> {
        let body = self.encode_parts(version);
        let mut head = BytesMut::new();
        let header_version = response_header_version(ApiKey::Fetch.as_i16(), version);
        ResponseHeader { correlation_id }.encode(&mut head, header_version);
        let size = head.len() + body.iter().map(FetchPart::len).sum::<usize>();
        let mut first = BytesMut::with_capacity(4 + head.len());
        first.put_i32(i32::try_from(size).unwrap_or(i32::MAX));
        first.put_slice(&head);
        let mut parts = Vec::with_capacity(body.len() + 1);
        // Merge the prefix into the body's first encoded part: one fewer write.
        let mut body = body.into_iter();
        match body.next() {
            Some(FetchPart::Encoded(b)) => {
                first.put_slice(&b);
                parts.push(FetchPart::Encoded(first.freeze()));
            }
            Some(records) => {
                parts.push(FetchPart::Encoded(first.freeze()));
                parts.push(records);
            }
            None => parts.push(FetchPart::Encoded(first.freeze())),
        }
        parts.extend(body);
        parts
    }
}

impl Message for FetchResponse<Bytes> {
    const API_KEY: ApiKey = ApiKey::Fetch;

    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        let r = &mut Reader::new(buf, Self::API_KEY.is_flexible(version));
        let mut resp = FetchResponse::default();
        if version >= 1 {
            resp.throttle_time_ms = r.i32()?;
        }
        if version >= 7 {
            resp.error_code = r.i16()?;
            resp.session_id = r.i32()?;
        }
        resp.responses = r.array(|r| {
            let topic = r.string()?;
            let partitions = r.array(|r| decode_partition(r, version))?;
            r.tags()?;
            Ok(FetchTopicResponse { topic, partitions })
        })?;
        r.tags()?;
        Ok(resp)
    }

    fn encode(&self, buf: &mut BytesMut, version: i16) {
        self.encode_with(buf, version, |buf, r| buf.put_slice(r));
    }
}

fn decode_partition(
    r: &mut Reader<'_>,
    version: i16,
) -> Result<FetchPartitionResponse, DecodeError> {
    let mut p = FetchPartitionResponse::new(r.i32()?);
    p.error_code = r.i16()?;
    p.high_watermark = r.i64()?;
    if version >= 4 {
        p.last_stable_offset = r.i64()?;
    }
    if version >= 5 {
        p.log_start_offset = r.i64()?;
    }
    if version >= 4 {
        p.aborted_transactions = r.nullable_array(|r| {
            let producer_id = r.i64()?;
            let first_offset = r.i64()?;
            r.tags()?;
            Ok(AbortedTransaction {
                producer_id,
                first_offset,
            })
        })?;
    }
    if version >= 11 {
        p.preferred_read_replica = r.i32()?;
    }
    p.records = r.nullable_bytes()?;
    r.tags()?;
    Ok(p)
}
