//! The crate's one error type: why a request or response could not be decoded.

/// A decode failure. Decoders return this instead of panicking on any input.
///
/// The listener maps these at the network edge: `UnsupportedVersion` and
/// `UnknownApiKey` get an error response (or the ApiVersions fallback), the
/// rest are malformed frames that close the connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer ended before a field was complete.
    #[error("truncated: needed {needed} more bytes, {remaining} remaining")]
    Truncated {
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A string field was not valid UTF-8.
    #[error("string field is not valid UTF-8")]
    InvalidString(#[source] std::str::Utf8Error),
    /// A length or count that is negative (other than the null marker where
    /// null is allowed) or larger than the remaining buffer.
    #[error("invalid length or count {length}")]
    InvalidLength {
        /// The length as read from the wire.
        length: i64,
    },
    /// An unsigned varint longer than 5 bytes.
    #[error("unsigned varint is longer than 5 bytes")]
    InvalidVarint,
    /// The api key is known but this version is not one Sluice advertises.
    #[error("api key {api_key} version {version} is not supported")]
    UnsupportedVersion {
        /// Api key from the request header.
        api_key: i16,
        /// Version from the request header.
        version: i16,
    },
    /// The api key is not one Sluice implements.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
}
