//! # tusky — resumable uploads over tus 1.0
//!
//! tusky uploads files over networks that fail: when a connection drops, a process dies or a
//! laptop sleeps, the next attempt continues where the server stopped, and never loses or
//! corrupts a byte. It speaks [tus 1.0](https://tus.io/protocols/resumable-upload).
//!
//! ```
//! # #[cfg(feature = "mock-server")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tusky::mock::TusMockServer;
//!
//! let server = TusMockServer::start().await; // a tus server on 127.0.0.1, for tests
//! let client = tusky::Client::new(server.endpoint())?;
//! let mut uploader = client
//!     .uploader()
//!     .reader(std::io::Cursor::new(b"hello, tus".to_vec()))
//!     .metadata("filename", "hello.txt")
//!     .chunk_size(4)
//!     .build()?;
//! let summary = uploader.upload().await?;
//! assert_eq!(server.upload_bytes(summary.url.as_str()).as_deref(), Some(&b"hello, tus"[..]));
//! # Ok(()) }
//! # #[cfg(not(feature = "mock-server"))]
//! # fn main() {}
//! ```
//!
//! ## Features
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls-tls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |
//! | `fingerprint-md5` | yes | [`fingerprint::Md5Fingerprint`], tuspy-compatible keys |
//! | `fingerprint-sha256` | no | `fingerprint::Sha256Fingerprint` |
//! | `storage-json` | no | `storage::JsonFileStorage`, `storage::TuspyFileStorage` |
//! | `storage-redb` | no | `storage::RedbStorage` |
//! | `storage-redis` | no | `storage::RedisStorage`: resume state in Redis, shared between machines |
//! | `mock-server` | no | `mock::TusMockServer`, a strict, stateful tus server for tests; `mock::StreamingTusServer`, the same tus rules streaming every body to disk, uploads kept across restarts; and `mock::FaultProxy`, a TCP proxy that cuts, throttles and delays |
#![warn(missing_docs)]

pub mod batch;
pub mod blocking;
mod client;
pub mod error;
mod file_watch;
pub mod maintenance;
mod origin;
pub mod progress;
pub mod protocol;
pub mod retry;
mod source;
pub mod transport;
mod upload_status;
mod uploader;
/// Waiting for a condition with a deadline, in unit tests (the integration tests' helper).
#[cfg(test)]
#[path = "../tests/shared/wait_until.rs"]
mod wait_until;

pub use client::{Client, ClientBuilder, DEFAULT_REQUEST_TIMEOUT};
pub use error::{Error, Result};
pub use progress::{CancellationToken, ProgressEvent};
pub use protocol::ChecksumAlgorithm;
pub use retry::{ExponentialBackoff, NoRetry, RetryPolicy};
pub use source::{SeekableReader, StreamReader};
pub use upload_status::{Concatenation, UploadStatus};
pub use uploader::{
    ChunkSize, FinalAnswer, UploadSummary, Uploader, UploaderBuilder, DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_AUTO_CHUNK_SIZE, FINAL_ANSWER_BODY,
};

/// URL storage: where upload URLs are remembered between runs (crate `tusky-storage`).
pub mod storage {
    pub use tusky_storage::*;
}

/// Fingerprints: stable keys for sources (crate `tusky-fingerprint`).
pub mod fingerprint {
    pub use tusky_fingerprint::*;

    /// The fingerprint uploaders use unless told otherwise: MD5 (tuspy-compatible) with
    /// `fingerprint-md5`, else SHA-256 with `fingerprint-sha256`, else the weak head-bytes key.
    #[cfg(feature = "fingerprint-md5")]
    pub type DefaultFingerprint = tusky_fingerprint::Md5Fingerprint;
    /// The fingerprint uploaders use unless told otherwise.
    #[cfg(all(not(feature = "fingerprint-md5"), feature = "fingerprint-sha256"))]
    pub type DefaultFingerprint = tusky_fingerprint::Sha256Fingerprint;
    /// The fingerprint uploaders use unless told otherwise.
    #[cfg(not(any(feature = "fingerprint-md5", feature = "fingerprint-sha256")))]
    pub type DefaultFingerprint = tusky_fingerprint::HeadBytesFingerprint;
}

/// Tus servers for tests and local development (crate `tusky-mock-server`): the strict,
/// stateful `TusMockServer` on wiremock and the streaming, disk-backed `StreamingTusServer`.
#[cfg(feature = "mock-server")]
pub mod mock {
    pub use tusky_mock_server::*;
}

/// Every public type that crosses tasks is `Send` (and `Sync` where it is shared), checked at
/// compile time. An uploader owns its source, which need not be `Sync`, so it is `Send` only.
#[allow(dead_code)]
fn _assert_public_types_are_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Client>();
    is::<ClientBuilder>();
    is::<Error>();
    is::<UploadSummary>();
    is::<UploadStatus>();
    is::<ProgressEvent>();
    is::<CancellationToken>();
    is::<ExponentialBackoff>();
    is::<transport::ReqwestTransport>();
    is::<transport::Response>();
    is::<transport::TransportError>();
    is::<transport::layers::Recording>();
    is::<transport::layers::Recorded>();
    is::<storage::UploadRecord>();
    is::<storage::NoStorage>();
    is::<batch::BatchItem>();
    is::<batch::BatchEvent>();
    is::<batch::BatchResult>();
    is::<batch::BatchSummary>();
    is::<batch::Batch>();
    is::<batch::BatchRun>();
    fn send<T: Send>(_: T) {}
    send::<Option<transport::Request>>(None);
    send::<Option<Uploader>>(None);
    send::<
        Option<
            UploaderBuilder<
                transport::ReqwestTransport,
                storage::NoStorage,
                fingerprint::DefaultFingerprint,
            >,
        >,
    >(None);
    send::<
        Option<
            blocking::Uploader<
                transport::ReqwestTransport,
                storage::NoStorage,
                fingerprint::DefaultFingerprint,
            >,
        >,
    >(None);
    let _ = |uploader: &'static mut Uploader| send(uploader.upload());
    let _ = |client: &'static Client| send(client.upload_status("http://127.0.0.1/files/1"));
}

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(all(doctest, feature = "storage-json", feature = "mock-server"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
