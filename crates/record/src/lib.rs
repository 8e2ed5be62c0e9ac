//! Kafka RecordBatch v2 (magic 2): build, parse, validate and iterate
//! batches and their records, byte for byte as Kafka lays them out.
//!
//! This crate does no I/O and never copies record data when reading: every
//! view borrows the caller's bytes. Storage uses it to check batches on
//! append and recovery, the network layer to check produced batches and to
//! walk fetch responses, clients to build batches.
//!
//! # Layout
//!
//! | module | idea |
//! |---|---|
//! | `layout` | byte offsets of the header fields and the size constants |
//! | `error` | [`RecordError`], the one error type |
//! | `attributes` | [`Compression`], [`TimestampType`] and the attribute bits |
//! | `header` | [`BatchHeader`]: parse/encode the fixed 61-byte header, [`batch_total_size`] |
//! | `validate` | [`validate_batch`] (CRC-32C and counts), in-place offset/epoch rewrites |
//! | `batch` | [`RecordBatch`]: a validated view of one batch |
//! | `batch_iter` | [`BatchIter`]: concatenated batches, stopping cleanly at a partial tail |
//! | `record`, `record_iter` | [`Record`], [`Header`] and their iterators |
//! | `cursor` | (private) bounds-checked reader used by record decoding |
//! | `builder` | [`BatchBuilder`]: encode records into an uncompressed batch |
//! | `parts` | [`build_batch_from_parts`]: seal a header around a given (e.g. compressed) payload |
//! | [`varint`] | zigzag varint/varlong and unsigned varint |
//! | `compression` | (feature `compression`) gzip, snappy, lz4, zstd as Kafka writes them: `compress`, bounded `decompress`, `RecordBatch::decompress`, `BatchBuilder::build_compressed` |
//!
//! Compressed batches (attribute bits 0-2 set) are carried as-is: their
//! header parses and their CRC validates, but [`RecordBatch::records`]
//! returns [`RecordError::Compressed`]. With the `compression` feature,
//! `RecordBatch::decompress` gives their records (bounded in size, against
//! decompression bombs); without it this crate pulls in no codec library,
//! which is what the broker and storage want.
//!
//! Nothing here panics on input bytes: every malformed input is a
//! [`RecordError`].
//!
//! # Example
//!
//! ```
//! use sluice_record::{BatchBuilder, BatchIter, RecordBatch, set_base_offset};
//!
//! let mut builder = BatchBuilder::new();
//! builder.append(1_700_000_000_000, Some(b"k"), Some(b"hello"), &[(b"h", Some(b"v"))]);
//! builder.append(1_700_000_000_005, None, Some(b"world"), &[]);
//! let mut bytes = builder.build().to_vec();
//!
//! // The broker assigns offsets by rewriting baseOffset; the CRC stays valid.
//! set_base_offset(&mut bytes, 42)?;
//! let batch = RecordBatch::parse(&bytes)?;
//! assert_eq!(batch.header().last_offset(), 43);
//!
//! let values: Vec<_> = batch
//!     .records()?
//!     .map(|r| r.map(|r| r.value))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(values, [Some(&b"hello"[..]), Some(&b"world"[..])]);
//!
//! // A fetch response may end mid-batch: iteration stops cleanly there.
//! let mut iter = BatchIter::new(&bytes[..bytes.len() - 1]);
//! assert!(iter.next().is_none());
//! assert!(iter.has_partial_tail());
//! assert_eq!(iter.position(), 0);
//! # Ok::<(), sluice_record::RecordError>(())
//! ```

mod attributes;
mod batch;
mod batch_iter;
mod builder;
#[cfg(feature = "compression")]
mod compression;
mod cursor;
mod error;
mod header;
mod layout;
mod parts;
mod record;
mod record_iter;
mod validate;
pub mod varint;

pub use attributes::{
    COMPRESSION_MASK, CONTROL_FLAG, Compression, TIMESTAMP_TYPE_FLAG, TRANSACTIONAL_FLAG,
    TimestampType,
};
pub use batch::RecordBatch;
pub use batch_iter::BatchIter;
pub use builder::BatchBuilder;
#[cfg(feature = "compression")]
pub use compression::{DEFAULT_MAX_DECOMPRESSED_BYTES, DecompressedRecords, compress, decompress};
pub use error::RecordError;
pub use header::{BatchHeader, batch_total_size};
pub use layout::{BATCH_HEADER_LEN, CRC_START, LOG_OVERHEAD, MAGIC_V2, MIN_BATCH_LENGTH, offsets};
pub use parts::{BatchFields, build_batch_from_parts};
pub use record::{Header, HeaderIter, Record};
pub use record_iter::RecordIter;
pub use validate::{
    compute_crc, set_base_offset, set_partition_leader_epoch, update_crc, validate_batch,
};
