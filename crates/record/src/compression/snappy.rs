//! Snappy as Kafka clients write it.
//!
//! Kafka's Java client wraps snappy in xerial's `SnappyOutputStream`
//! framing; librdkafka writes either that or one raw snappy block. Readers
//! tell them apart by the xerial magic, as Kafka's and librdkafka's do:
//!
//! ```text
//! xerial:  | 0x82 "SNAPPY" 0x00 | version i32 | compatible i32 |  (16 bytes, big-endian)
//!          | block length i32 | raw snappy block | block length i32 | block | ...
//! raw:     | uncompressed length varint | snappy elements ... |
//! ```
//!
//! Each xerial block is an independent raw snappy block; the output is their
//! concatenation.

use std::io;

use crate::attributes::Compression;
use crate::error::RecordError;

/// The first 8 bytes of a xerial stream.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic, version and compatible version.
const XERIAL_HEADER_LEN: usize = 16;
/// The version fields xerial (and so Kafka's Java client) writes.
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPATIBLE_VERSION: i32 = 1;
/// Uncompressed bytes per xerial block (`SnappyOutputStream`'s default).
const XERIAL_BLOCK: usize = 32 * 1024;

const CODEC: Compression = Compression::Snappy;

fn corrupt(reason: impl Into<String>) -> RecordError {
    RecordError::Decompress {
        codec: CODEC,
        reason: reason.into(),
    }
}

/// Compresses in xerial framing, as Kafka's Java client does; every Kafka
/// client reads it.
pub(super) fn compress_xerial(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + data.len() / 2 + 64);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_COMPATIBLE_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    for chunk in data.chunks(XERIAL_BLOCK) {
        let block = encoder.compress_vec(chunk).map_err(io::Error::other)?;
        let len = i32::try_from(block.len()).map_err(io::Error::other)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

/// Decompresses xerial-framed or raw snappy, at most `max_bytes`.
pub(super) fn decompress(payload: &[u8], max_bytes: usize) -> Result<Vec<u8>, RecordError> {
    match payload.strip_prefix(&XERIAL_MAGIC) {
        Some(_) => decompress_xerial(payload, max_bytes),
        None => {
            let mut out = Vec::new();
            append_block(payload, &mut out, max_bytes)?;
            Ok(out)
        }
    }
}

fn decompress_xerial(payload: &[u8], max_bytes: usize) -> Result<Vec<u8>, RecordError> {
    let mut rest = payload
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| corrupt("xerial header cut short"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("xerial block length cut short"))?;
        let raw = i32::from_be_bytes(*len);
        let len =
            usize::try_from(raw).map_err(|e| corrupt(format!("xerial block length {raw}: {e}")))?;
        if len > after.len() {
            return Err(corrupt(format!(
                "xerial block of {len} bytes, only {} left",
                after.len()
            )));
        }
        let (block, after) = after.split_at(len);
        append_block(block, &mut out, max_bytes)?;
        rest = after;
    }
    Ok(out)
}

/// Decompresses one raw snappy block onto the end of `out`. The block
/// states its uncompressed length first, so the bound is checked before
/// anything is allocated.
fn append_block(block: &[u8], out: &mut Vec<u8>, max_bytes: usize) -> Result<(), RecordError> {
    let len = snap::raw::decompress_len(block).map_err(|e| corrupt(e.to_string()))?;
    let start = out.len();
    if len > max_bytes.saturating_sub(start) {
        return Err(RecordError::DecompressedTooLarge {
            codec: CODEC,
            limit: max_bytes,
        });
    }
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| corrupt(e.to_string()))?;
    // The decoder checks the stated length against what it produced; keep
    // exactly what it wrote regardless.
    out.truncate(start + written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xerial_header_is_what_java_writes() {
        let out = compress_xerial(b"hello").unwrap();
        assert_eq!(&out[..8], &XERIAL_MAGIC);
        assert_eq!(&out[8..16], &[0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(decompress(&out, 5).unwrap(), b"hello");
    }

    #[test]
    fn raw_blocks_are_read_too() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"raw snappy")
            .unwrap();
        assert_eq!(decompress(&raw, 100).unwrap(), b"raw snappy");
    }

    #[test]
    fn cut_xerial_streams_are_errors() {
        let out = compress_xerial(&[7u8; 100_000]).unwrap();
        for cut in [3, 10, 17, 19, 25, out.len() - 1] {
            let err = decompress(&out[..cut], 1 << 20).unwrap_err();
            assert!(
                matches!(err, RecordError::Decompress { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn a_negative_block_length_is_an_error() {
        let mut out = compress_xerial(b"x").unwrap();
        out[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decompress(&out, 100),
            Err(RecordError::Decompress { .. })
        ));
    }

    #[test]
    fn the_bound_counts_every_block() {
        let data = vec![1u8; 3 * XERIAL_BLOCK];
        let out = compress_xerial(&data).unwrap();
        assert_eq!(decompress(&out, data.len()).unwrap(), data);
        assert_eq!(
            decompress(&out, data.len() - 1),
            Err(RecordError::DecompressedTooLarge {
                codec: CODEC,
                limit: data.len() - 1
            })
        );
    }
}
