//! Unsigned varints (LEB128, 7 bits a byte, low bits first) as used for
//! flexible-version lengths and tags. Kept here rather than borrowed from
//! `sluice-record` so this crate depends on nothing else in the workspace.

use bytes::BufMut;

use crate::DecodeError;

/// Appends `v` as an unsigned varint (1 to 5 bytes).
pub fn put_unsigned_varint(buf: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        // Truncation to the low 7 bits is the encoding.
        buf.put_u8((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Reads an unsigned varint from the front of `buf`; returns the value and
/// the number of bytes it took.
pub fn get_unsigned_varint(buf: &[u8]) -> Result<(u32, usize), DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().enumerate().take(5) {
        let bits = u32::from(byte & 0x7f);
        // The fifth byte may only carry the top 4 bits of a u32.
        if i == 4 && bits > 0x0f {
            return Err(DecodeError::InvalidVarint);
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= 5 {
        Err(DecodeError::InvalidVarint)
    } else {
        Err(DecodeError::Truncated {
            needed: buf.len() + 1,
            remaining: buf.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edges() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut buf = Vec::new();
            put_unsigned_varint(&mut buf, v);
            assert_eq!(get_unsigned_varint(&buf).unwrap(), (v, buf.len()));
        }
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        assert!(matches!(
            get_unsigned_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecodeError::InvalidVarint)
        ));
        assert!(matches!(
            get_unsigned_varint(&[0x80, 0x80]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            get_unsigned_varint(&[]),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
