//! Build -> parse round trips: everything appended comes back exactly.

// Tests may unwrap (workspace lint exception for test code); proptest bodies
// and helpers are not #[test] fns, so clippy needs telling.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Spec, build, specs};
use proptest::prelude::*;
use sluice_record::{
    BatchBuilder, BatchFields, BatchHeader, Header, RecordBatch, build_batch_from_parts,
    set_base_offset, set_partition_leader_epoch, validate_batch,
};

fn check_round_trip(specs: &[Spec], bytes: &[u8]) -> Result<(), TestCaseError> {
    let batch = RecordBatch::parse(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let h = *batch.header();
    prop_assert_eq!(h.total_size(), bytes.len());
    prop_assert_eq!(usize::try_from(h.records_count).unwrap(), specs.len());
    prop_assert_eq!(
        i64::from(h.last_offset_delta),
        i64::try_from(specs.len()).unwrap() - 1
    );
    if let Some(first) = specs.first() {
        prop_assert_eq!(h.base_timestamp, first.0);
        prop_assert_eq!(h.max_timestamp, specs.iter().map(|s| s.0).max().unwrap());
    }
    let records: Vec<_> = batch.records().unwrap().collect::<Result<_, _>>().unwrap();
    prop_assert_eq!(records.len(), specs.len());
    for (i, (r, (ts, key, value, headers))) in records.iter().zip(specs).enumerate() {
        prop_assert_eq!(r.offset_delta, i32::try_from(i).unwrap());
        prop_assert_eq!(r.offset(&h), h.base_offset + i64::try_from(i).unwrap());
        prop_assert_eq!(r.timestamp(&h), *ts);
        prop_assert_eq!(r.attributes, 0);
        prop_assert_eq!(r.key, key.as_deref());
        prop_assert_eq!(r.value, value.as_deref());
        prop_assert_eq!(r.header_count(), headers.len());
        let got: Vec<Header<'_>> = r.headers().collect::<Result<_, _>>().unwrap();
        let want: Vec<Header<'_>> = headers
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect();
        prop_assert_eq!(got, want);
    }
    Ok(())
}

proptest! {
    #[test]
    fn build_then_parse(specs in specs()) {
        let bytes = build(&specs);
        check_round_trip(&specs, &bytes)?;
    }

    #[test]
    fn size_in_bytes_predicts_build(specs in specs()) {
        let mut b = BatchBuilder::with_capacity(64);
        for (ts, k, v, hs) in &specs {
            let hs: Vec<(&[u8], Option<&[u8]>)> =
                hs.iter().map(|(k, v)| (k.as_slice(), v.as_deref())).collect();
            b.append(*ts, k.as_deref(), v.as_deref(), &hs);
        }
        prop_assert_eq!(b.record_count(), specs.len());
        prop_assert_eq!(b.is_empty(), specs.is_empty());
        let predicted = b.size_in_bytes();
        prop_assert_eq!(b.build().len(), predicted);
    }

    #[test]
    fn producer_fields_and_rewrites_survive(
        specs in specs(),
        pid: i64, epoch: i16, seq: i32, base_offset: i64, leader_epoch: i32,
    ) {
        let mut b = BatchBuilder::new().producer(pid, epoch, seq);
        for (ts, k, v, _) in &specs {
            b.append(*ts, k.as_deref(), v.as_deref(), &[]);
        }
        let mut bytes = b.build().to_vec();
        set_base_offset(&mut bytes, base_offset).unwrap();
        set_partition_leader_epoch(&mut bytes, leader_epoch).unwrap();
        let h = validate_batch(&bytes).unwrap();
        prop_assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (pid, epoch, seq));
        prop_assert_eq!((h.base_offset, h.partition_leader_epoch), (base_offset, leader_epoch));
        let specs_no_headers: Vec<Spec> =
            specs.into_iter().map(|(t, k, v, _)| (t, k, v, Vec::new())).collect();
        check_round_trip(&specs_no_headers, &bytes)?;
    }

    /// The lower-level path produces the same bytes as the builder, so a
    /// compressing client that uses it differs only in the payload.
    #[test]
    fn parts_path_matches_builder(specs in specs()) {
        let mut b = BatchBuilder::new();
        for (ts, k, v, _) in &specs {
            b.append(*ts, k.as_deref(), v.as_deref(), &[]);
        }
        let fields = b.fields();
        let via_parts = build_batch_from_parts(&fields, b.records_payload()).unwrap();
        prop_assert_eq!(&via_parts[..], &b.build()[..]);
        let h = BatchHeader::parse(&via_parts).unwrap();
        prop_assert_eq!(BatchFields::from(&h), fields);
    }
}
