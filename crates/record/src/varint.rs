//! Kafka's variable-length integers: zigzag `varint` (i32) and `varlong`
//! (i64) used inside records, and the unsigned varint (u32) used by the
//! flexible versions of the wire protocol.
//!
//! Encoding is base-128, least significant group first, high bit = "more".
//! Decoding accepts non-minimal encodings (as Kafka does) but rejects input
//! that is longer than the type allows (5 bytes / 10 bytes) or whose last
//! byte sets bits beyond the type's width: Kafka would silently drop those
//! bits, and accepting them would let two different byte strings decode to
//! the same record.

use crate::error::RecordError;

/// Longest encoding of a 32-bit value.
pub const MAX_VARINT_LEN: usize = 5;
/// Longest encoding of a 64-bit value.
pub const MAX_VARLONG_LEN: usize = 10;

const INVALID: RecordError = RecordError::InvalidVarint { position: 0 };

fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag32(u: u32) -> i32 {
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

fn unzigzag64(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends `v` as an unsigned varint.
pub fn put_unsigned_varint(buf: &mut Vec<u8>, v: u32) {
    put_unsigned_varlong(buf, u64::from(v));
}

/// Appends `v` as an unsigned 64-bit varint (the body of a varlong).
pub fn put_unsigned_varlong(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` as a zigzag varint, the encoding of record lengths and deltas.
pub fn put_varint(buf: &mut Vec<u8>, v: i32) {
    put_unsigned_varint(buf, zigzag32(v));
}

/// Appends `v` as a zigzag varlong, the encoding of timestamp deltas.
pub fn put_varlong(buf: &mut Vec<u8>, v: i64) {
    put_unsigned_varlong(buf, zigzag64(v));
}

/// Decodes up to `max_len` bytes; `last_mask` is the set of bits the final
/// allowed byte may not use (continuation bit included).
fn get_unsigned(buf: &[u8], max_len: usize, last_mask: u8) -> Result<(u64, usize), RecordError> {
    let mut value: u64 = 0;
    for (i, &b) in buf.iter().take(max_len).enumerate() {
        if i + 1 == max_len && b & last_mask != 0 {
            return Err(INVALID);
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    // Ran out of input while the continuation bit was still set.
    Err(INVALID)
}

/// Decodes an unsigned varint; returns `(value, bytes consumed)`.
/// `Err(InvalidVarint { position: 0 })` on overlong or truncated input.
pub fn get_unsigned_varint(buf: &[u8]) -> Result<(u32, usize), RecordError> {
    // Fifth byte: 4 payload bits (28..32); the top 4 bits must be clear.
    let (value, len) = get_unsigned(buf, MAX_VARINT_LEN, 0xf0)?;
    let value = u32::try_from(value).map_err(|_| INVALID)?;
    Ok((value, len))
}

/// Decodes a zigzag varint; returns `(value, bytes consumed)`.
/// `Err(InvalidVarint { position: 0 })` on overlong or truncated input.
pub fn get_varint(buf: &[u8]) -> Result<(i32, usize), RecordError> {
    let (u, len) = get_unsigned_varint(buf)?;
    Ok((unzigzag32(u), len))
}

/// Decodes a zigzag varlong; returns `(value, bytes consumed)`.
/// `Err(InvalidVarint { position: 0 })` on overlong or truncated input.
pub fn get_varlong(buf: &[u8]) -> Result<(i64, usize), RecordError> {
    // Tenth byte: 1 payload bit (63); everything else must be clear.
    let (u, len) = get_unsigned(buf, MAX_VARLONG_LEN, 0xfe)?;
    Ok((unzigzag64(u), len))
}

/// Encoded length of an unsigned varint.
pub fn unsigned_varint_len(v: u32) -> usize {
    unsigned_varlong_len(u64::from(v))
}

/// Encoded length of an unsigned 64-bit varint.
pub fn unsigned_varlong_len(v: u64) -> usize {
    // One byte per started group of 7 significant bits; 0 still takes a byte.
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Encoded length of a zigzag varint; lets a builder size a record before
/// writing it.
pub fn varint_len(v: i32) -> usize {
    unsigned_varint_len(zigzag32(v))
}

/// Encoded length of a zigzag varlong.
pub fn varlong_len(v: i64) -> usize {
    unsigned_varlong_len(zigzag64(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_is_kafkas() {
        for (v, z) in [
            (0, 0u32),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (2, 4),
            (i32::MAX, u32::MAX - 1),
            (i32::MIN, u32::MAX),
        ] {
            assert_eq!(zigzag32(v), z);
            assert_eq!(unzigzag32(z), v);
        }
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
        assert_eq!(unzigzag64(u64::MAX), i64::MIN);
    }

    #[test]
    fn last_byte_overflow_bits_are_rejected() {
        // u32::MAX is ff ff ff ff 0f; 1f would claim bit 32.
        assert_eq!(
            get_unsigned_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Ok((u32::MAX, 5))
        );
        assert_eq!(
            get_unsigned_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(INVALID)
        );
        // A varlong's tenth byte may only carry bit 63.
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(get_varlong(&max), Ok((i64::MIN, 10)));
        max[9] = 0x02;
        assert_eq!(get_varlong(&max), Err(INVALID));
    }

    #[test]
    fn non_minimal_encodings_are_accepted_like_kafka() {
        assert_eq!(get_varint(&[0x80, 0x00]), Ok((0, 2)));
        assert_eq!(get_varlong(&[0x82, 0x80, 0x00]), Ok((1, 3)));
    }
}
