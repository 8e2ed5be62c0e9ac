//! The fetch-response parts encoder, with a record source that is not
//! `Bytes` (as the broker's file slices are not).
// Helpers outside #[test] fns unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::{Bytes, BytesMut};
use sluice_kafka::api::fetch_response::{FetchPartitionResponse, FetchTopicResponse};
use sluice_kafka::{FetchPart, FetchResponse, Message, RecordsLen, ResponseHeader};

/// Stands in for a segment file slice: only its length is known when the
/// response is encoded.
#[derive(Debug, PartialEq, Eq)]
struct FileSlice {
    id: u8,
    len: usize,
}

impl RecordsLen for FileSlice {
    fn records_len(&self) -> usize {
        self.len
    }
}

impl FileSlice {
    fn contents(&self) -> Vec<u8> {
        vec![self.id; self.len]
    }
}

/// The same response with file slices, and with the bytes they stand for.
fn both(v: i16) -> (FetchResponse<FileSlice>, FetchResponse) {
    let sample = common::responses::fetch_sample(v);
    let mut id = 0;
    let deferred = FetchResponse {
        throttle_time_ms: sample.throttle_time_ms,
        error_code: sample.error_code,
        session_id: sample.session_id,
        responses: sample
            .responses
            .iter()
            .map(|t| FetchTopicResponse {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        id += 1;
                        FetchPartitionResponse {
                            partition_index: p.partition_index,
                            error_code: p.error_code,
                            high_watermark: p.high_watermark,
                            last_stable_offset: p.last_stable_offset,
                            log_start_offset: p.log_start_offset,
                            aborted_transactions: p.aborted_transactions.clone(),
                            preferred_read_replica: p.preferred_read_replica,
                            records: p.records.as_ref().map(|r| FileSlice { id, len: r.len() }),
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut inline = sample;
    let slices = deferred.responses.iter().flat_map(|t| &t.partitions);
    for (p, d) in inline
        .responses
        .iter_mut()
        .flat_map(|t| &mut t.partitions)
        .zip(slices)
    {
        p.records = d.records.as_ref().map(|s| Bytes::from(s.contents()));
    }
    (deferred, inline)
}

#[test]
fn parts_concatenate_to_the_plain_encoding_every_version() {
    for v in 4..=11 {
        let (deferred, inline) = both(v);
        let parts = deferred.encode_parts(v);
        let mut wire = Vec::new();
        let mut records_parts = 0;
        for part in &parts {
            match part {
                FetchPart::Encoded(b) => wire.extend_from_slice(b),
                FetchPart::Records(slice) => {
                    records_parts += 1;
                    assert!(slice.len > 0, "empty records get no part");
                    wire.extend_from_slice(&slice.contents());
                }
            }
        }
        // Two partitions have non-empty records; empty and null ones are inline.
        assert_eq!(records_parts, 2, "v{v}");
        let mut plain = BytesMut::new();
        inline.encode(&mut plain, v);
        assert_eq!(wire, plain.to_vec(), "v{v}");
        // Encoded and Records parts alternate: never two Encoded in a row.
        for pair in parts.windows(2) {
            assert!(!matches!(
                pair,
                [FetchPart::Encoded(_), FetchPart::Encoded(_)]
            ));
        }
    }
}

#[test]
fn frame_parts_carry_size_and_correlation_id() {
    let (deferred, inline) = both(11);
    let parts = deferred.encode_frame_parts(1234, 11);
    let total: usize = parts.iter().map(FetchPart::len).sum();
    let FetchPart::Encoded(first) = &parts[0] else {
        panic!("frame starts with encoded bytes");
    };
    let size = usize::try_from(i32::from_be_bytes(first[..4].try_into().unwrap())).unwrap();
    assert_eq!(size + 4, total);
    let mut rest = first.slice(4..);
    assert_eq!(
        ResponseHeader::decode(&mut rest, 0).unwrap().correlation_id,
        1234
    );
    assert_eq!(total, 8 + inline.to_bytes(11).len());
}

#[test]
fn response_without_records_is_one_part() {
    let resp: FetchResponse<FileSlice> = FetchResponse {
        responses: vec![FetchTopicResponse {
            topic: "t".into(),
            partitions: vec![FetchPartitionResponse::new(0)],
        }],
        ..FetchResponse::default()
    };
    assert_eq!(resp.encode_frame_parts(1, 11).len(), 1);
}
