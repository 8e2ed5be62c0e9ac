//! Appends Kafka primitives to a `BytesMut`.

use bytes::{BufMut, BytesMut};

use super::varint::put_unsigned_varint;

/// Writes Kafka primitives; `flexible` selects compact lengths and tagged
/// fields.
pub(crate) struct Writer<'a> {
    pub(crate) buf: &'a mut BytesMut,
    flexible: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut BytesMut, flexible: bool) -> Self {
        Self { buf, flexible }
    }

    pub(crate) fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.put_i8(i8::from(v));
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    /// Writes a length prefix: `None` is null. Non-flexible uses int16 when
    /// `short`, else int32; flexible writes varint length + 1.
    fn length(&mut self, len: Option<usize>, short: bool) {
        if self.flexible {
            let v = len.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX - 1) + 1);
            put_unsigned_varint(self.buf, v);
        } else if short {
            let v = len.map_or(-1, |n| i16::try_from(n).unwrap_or(i16::MAX));
            self.buf.put_i16(v);
        } else {
            let v = len.map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX));
            self.buf.put_i32(v);
        }
    }

    pub(crate) fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            None => self.length(None, true),
            Some(s) => {
                let s = clamp_str(s);
                self.length(Some(s.len()), true);
                self.buf.put_slice(s.as_bytes());
            }
        }
    }

    pub(crate) fn string(&mut self, s: &str) {
        self.nullable_string(Some(s));
    }

    /// An int16-length nullable string even in flexible versions.
    pub(crate) fn legacy_nullable_string(&mut self, s: Option<&str>) {
        let flexible = std::mem::replace(&mut self.flexible, false);
        self.nullable_string(s);
        self.flexible = flexible;
    }

    /// Only the length prefix of a bytes/records field; the caller supplies
    /// the bytes (or sends them separately, as the fetch parts encoder does).
    pub(crate) fn bytes_len(&mut self, len: Option<usize>) {
        self.length(len, false);
    }

    pub(crate) fn nullable_bytes(&mut self, b: Option<&[u8]>) {
        self.bytes_len(b.map(<[u8]>::len));
        if let Some(b) = b {
            self.buf.put_slice(b);
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.nullable_bytes(Some(b));
    }

    pub(crate) fn nullable_array<'t, T>(
        &mut self,
        items: Option<&'t [T]>,
        mut element: impl FnMut(&mut Self, &'t T),
    ) {
        self.length(items.map(<[T]>::len), false);
        for item in items.unwrap_or_default() {
            element(self, item);
        }
    }

    pub(crate) fn array<'t, T>(&mut self, items: &'t [T], element: impl FnMut(&mut Self, &'t T)) {
        self.nullable_array(Some(items), element);
    }

    pub(crate) fn i32_array(&mut self, items: &[i32]) {
        self.array(items, |w, v| w.i32(*v));
    }

    pub(crate) fn string_array(&mut self, items: &[String]) {
        self.array(items, |w, s| w.string(s));
    }

    /// An empty tagged-field section in flexible versions; nothing otherwise.
    pub(crate) fn tags(&mut self) {
        if self.flexible {
            put_unsigned_varint(self.buf, 0);
        }
    }
}

/// Cuts `s` to at most `i16::MAX` bytes at a character boundary.
fn clamp_str(s: &str) -> &str {
    const MAX: usize = i16::MAX as usize;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
