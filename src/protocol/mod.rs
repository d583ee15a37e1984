//! Pure functions for the tus 1.0 wire format: header names, parsing of what servers send,
//! the metadata codec, checksums and `Location` resolution. No I/O, so they are fuzzed and
//! property-tested directly.

mod capabilities;
mod checksum;
mod headers;
mod location;
mod metadata;

pub use capabilities::{Extension, ServerCapabilities};
pub use checksum::{ChecksumAlgorithm, Digest};
pub use headers::{
    parse_expires, parse_retry_after, parse_upload_concat, parse_upload_length,
    parse_upload_offset, required, ConcatRole, HeaderError, TUS_VERSION,
};
pub use location::resolve_location;
pub use metadata::{decode_metadata, encode_metadata, validate_metadata_key, MetadataError};

/// Header names used by tus 1.0 (lower-case, as `http` stores them).
pub mod names {
    /// `Tus-Resumable`: the protocol version of a request or response.
    pub const TUS_RESUMABLE: &str = "tus-resumable";
    /// `Tus-Version`: the versions a server supports (OPTIONS, 412).
    pub const TUS_VERSION: &str = "tus-version";
    /// `Tus-Extension`: the extensions a server supports.
    pub const TUS_EXTENSION: &str = "tus-extension";
    /// `Tus-Max-Size`: the largest upload a server accepts.
    pub const TUS_MAX_SIZE: &str = "tus-max-size";
    /// `Tus-Checksum-Algorithm`: the checksum algorithms a server supports.
    pub const TUS_CHECKSUM_ALGORITHM: &str = "tus-checksum-algorithm";
    /// `Upload-Offset`: how many bytes the server holds.
    pub const UPLOAD_OFFSET: &str = "upload-offset";
    /// `Upload-Length`: the upload's total size.
    pub const UPLOAD_LENGTH: &str = "upload-length";
    /// `Upload-Defer-Length: 1`: the size is not known yet.
    pub const UPLOAD_DEFER_LENGTH: &str = "upload-defer-length";
    /// `Upload-Metadata`: key/base64-value pairs.
    pub const UPLOAD_METADATA: &str = "upload-metadata";
    /// `Upload-Checksum`: `<algorithm> <base64 digest>` of a request body.
    pub const UPLOAD_CHECKSUM: &str = "upload-checksum";
    /// `Upload-Expires`: when an unfinished upload will be removed (HTTP date).
    pub const UPLOAD_EXPIRES: &str = "upload-expires";
    /// `Upload-Concat`: `partial` or `final;<urls>`.
    pub const UPLOAD_CONCAT: &str = "upload-concat";
    /// `X-HTTP-Method-Override`: the real method of a request sent as POST.
    pub const METHOD_OVERRIDE: &str = "x-http-method-override";
    /// `Retry-After`: how long to wait before asking again (429, 503).
    pub const RETRY_AFTER: &str = "retry-after";
    /// The content type of PATCH bodies.
    pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
}
