//! A forward-only reader over record bytes that reports errors at their
//! absolute position in the batch.
//!
//! Records and headers are all varints and length-prefixed byte strings; one
//! small reader keeps those rules (and their bounds checks) in one place.

use crate::error::RecordError;
use crate::varint;

/// Reads from `buf`, whose first byte sits at `base` in the batch.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Cursor { buf, pos: 0, base }
    }

    /// Absolute position of the next byte, for error reports.
    pub(crate) fn position(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes consumed so far.
    pub(crate) fn consumed(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The bytes between two `consumed()` marks.
    pub(crate) fn slice(&self, from: usize, to: usize) -> &'a [u8] {
        self.buf.get(from..to).unwrap_or(&[])
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn invalid_varint(&self) -> RecordError {
        RecordError::InvalidVarint {
            position: self.position(),
        }
    }

    pub(crate) fn varint(&mut self) -> Result<i32, RecordError> {
        let (v, n) = varint::get_varint(self.rest()).map_err(|_| self.invalid_varint())?;
        self.pos += n;
        Ok(v)
    }

    pub(crate) fn varlong(&mut self) -> Result<i64, RecordError> {
        let (v, n) = varint::get_varlong(self.rest()).map_err(|_| self.invalid_varint())?;
        self.pos += n;
        Ok(v)
    }

    pub(crate) fn byte(&mut self, reason: &'static str) -> Result<u8, RecordError> {
        let b = self.bytes(1, reason)?;
        Ok(b.first().copied().unwrap_or(0))
    }

    /// The next `len` bytes, or `InvalidRecord { reason }` if fewer remain.
    pub(crate) fn bytes(
        &mut self,
        len: usize,
        reason: &'static str,
    ) -> Result<&'a [u8], RecordError> {
        let out = self.rest().get(..len).ok_or(RecordError::InvalidRecord {
            position: self.position(),
            reason,
        })?;
        self.pos += len;
        Ok(out)
    }

    /// A varint length then that many bytes; -1 means null, below -1 is an
    /// error (`negative`), too few bytes is an error (`short`).
    pub(crate) fn nullable_bytes(
        &mut self,
        negative: &'static str,
        short: &'static str,
    ) -> Result<Option<&'a [u8]>, RecordError> {
        let at = self.position();
        match self.varint()? {
            -1 => Ok(None),
            len => {
                let len = usize::try_from(len).map_err(|_| RecordError::InvalidRecord {
                    position: at,
                    reason: negative,
                })?;
                self.bytes(len, short).map(Some)
            }
        }
    }
}
