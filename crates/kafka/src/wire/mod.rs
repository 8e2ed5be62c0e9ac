//! Primitive wire types shared by every message.
//!
//! All integers are big-endian. Non-flexible versions use int16 string
//! lengths, int32 byte lengths and int32 array counts, with -1 for null.
//! Flexible versions use unsigned varints holding length + 1 (0 = null)
//! and end every struct with a tagged-field section.

mod reader;
mod varint;
mod writer;

pub(crate) use reader::Reader;
pub use varint::{get_unsigned_varint, put_unsigned_varint};
pub(crate) use writer::Writer;

use bytes::{Bytes, BytesMut};

use crate::{ApiKey, DecodeError};

/// A request or response body with a versioned codec.
///
/// `decode` consumes the fields it knows from the front of `buf` and leaves
/// anything after them in `buf`: Kafka tolerates trailing bytes, so callers
/// ignore what is left. Byte fields (records, group metadata, assignments)
/// are zero-copy slices of `buf`.
///
/// `encode` appends the body for `version`. Fields that do not exist in
/// `version` are skipped; on decode they take Kafka's default value.
/// Encoders never fail: strings longer than `i16::MAX` bytes are cut at a
/// character boundary so the frame stays well formed.
pub trait Message: Sized {
    /// The api this body belongs to.
    const API_KEY: ApiKey;

    /// Decodes one body of `version` from the front of `buf`.
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError>;

    /// Appends this body encoded as `version`.
    fn encode(&self, buf: &mut BytesMut, version: i16);

    /// Convenience: the body as one buffer.
    fn to_bytes(&self, version: i16) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf, version);
        buf.freeze()
    }
}
