//! Bounds-checked reads from the front of a `Bytes` body.

use bytes::{Buf, Bytes};

use super::varint::get_unsigned_varint;
use crate::DecodeError;

/// Reads Kafka primitives from the front of a borrowed `Bytes`, advancing it.
///
/// Every read checks the remaining length first, so no input can panic.
/// Array counts are checked against the remaining bytes before any
/// allocation (every element of every array here takes at least one byte),
/// and the initial capacity is capped, so an untrusted count cannot make a
/// large allocation.
pub(crate) struct Reader<'a> {
    buf: &'a mut Bytes,
    flexible: bool,
}

/// Initial capacity cap for decoded arrays; they grow as elements decode.
const MAX_PREALLOC: usize = 64;

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a mut Bytes, flexible: bool) -> Self {
        Self { buf, flexible }
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.remaining() < n {
            return Err(DecodeError::Truncated {
                needed: n,
                remaining: self.buf.remaining(),
            });
        }
        Ok(())
    }

    pub(crate) fn i8(&mut self) -> Result<i8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_i8())
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.i8()? != 0)
    }

    pub(crate) fn i16(&mut self) -> Result<i16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self) -> Result<i32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    pub(crate) fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let (v, n) = get_unsigned_varint(self.buf.chunk())?;
        self.buf.advance(n);
        Ok(v)
    }

    /// A length prefix: `None` for null. Non-flexible uses `fixed` (the int16
    /// or int32 already read); flexible reads a varint holding length + 1.
    fn length(
        &mut self,
        fixed: impl FnOnce(&mut Self) -> Result<i64, DecodeError>,
    ) -> Result<Option<usize>, DecodeError> {
        let len = if self.flexible {
            i64::from(self.uvarint()?) - 1
        } else {
            fixed(self)?
        };
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::InvalidLength { length: n }),
            n => {
                let n = usize::try_from(n).map_err(|_| DecodeError::InvalidLength { length: n })?;
                if n > self.buf.remaining() {
                    return Err(DecodeError::Truncated {
                        needed: n,
                        remaining: self.buf.remaining(),
                    });
                }
                Ok(Some(n))
            }
        }
    }

    fn take(&mut self, n: usize) -> Bytes {
        // `length` checked n <= remaining.
        self.buf.split_to(n)
    }

    pub(crate) fn nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        // The request header's client_id is always non-compact; it uses
        // `legacy_nullable_string` instead.
        match self.length(|r| r.i16().map(i64::from))? {
            None => Ok(None),
            Some(n) => {
                let raw = self.take(n);
                let s = std::str::from_utf8(&raw).map_err(DecodeError::InvalidString)?;
                Ok(Some(s.to_owned()))
            }
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        self.nullable_string()?
            .ok_or(DecodeError::InvalidLength { length: -1 })
    }

    /// An int16-length nullable string even in flexible versions (the
    /// request header's client_id).
    pub(crate) fn legacy_nullable_string(&mut self) -> Result<Option<String>, DecodeError> {
        let flexible = std::mem::replace(&mut self.flexible, false);
        let s = self.nullable_string();
        self.flexible = flexible;
        s
    }

    pub(crate) fn nullable_bytes(&mut self) -> Result<Option<Bytes>, DecodeError> {
        Ok(self
            .length(|r| r.i32().map(i64::from))?
            .map(|n| self.take(n)))
    }

    pub(crate) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        self.nullable_bytes()?
            .ok_or(DecodeError::InvalidLength { length: -1 })
    }

    pub(crate) fn nullable_array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        let Some(count) = self.length(|r| r.i32().map(i64::from))? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(count.min(MAX_PREALLOC));
        for _ in 0..count {
            out.push(element(self)?);
        }
        Ok(Some(out))
    }

    pub(crate) fn array<T>(
        &mut self,
        element: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        self.nullable_array(element)?
            .ok_or(DecodeError::InvalidLength { length: -1 })
    }

    pub(crate) fn i32_array(&mut self) -> Result<Vec<i32>, DecodeError> {
        self.array(Self::i32)
    }

    pub(crate) fn string_array(&mut self) -> Result<Vec<String>, DecodeError> {
        self.array(Self::string)
    }

    /// Skips the tagged-field section that ends every struct in flexible
    /// versions. Sluice knows no tags in the versions it supports, so all
    /// are skipped. A no-op in non-flexible versions.
    pub(crate) fn tags(&mut self) -> Result<(), DecodeError> {
        if !self.flexible {
            return Ok(());
        }
        let count = self.uvarint()?;
        for _ in 0..count {
            let _tag = self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).map_err(|_| DecodeError::InvalidVarint)?;
            self.need(size)?;
            self.buf.advance(size);
        }
        Ok(())
    }
}
