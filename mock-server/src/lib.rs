//! A strict, stateful tus 1.0 server for tests, on [wiremock](https://docs.rs/wiremock/0.6).
//!
//! Start it, point your tus client at [`TusMockServer::endpoint`], then inspect what
//! it received ([`TusMockServer::received_requests`]) and what it stored
//! ([`TusMockServer::uploads`], [`TusMockServer::upload_bytes`]). Faults (a failing,
//! partial, delayed or locked `PATCH`, a failing `POST`…) can be injected at any
//! time, and your own wiremock mocks mounted on [`TusMockServer::wiremock`] take
//! precedence over the tus behaviour. tusky re-exports this crate as `tusky::mock`
//! (feature `mock-server`).
//!
//! ```
//! # #[tokio::main] async fn main() {
//! use tusky_mock_server::TusMockServer;
//!
//! let server = TusMockServer::start().await;
//! let http = reqwest::Client::new();
//!
//! // Create an upload of 11 bytes…
//! let created = http
//!     .post(server.endpoint())
//!     .header("Tus-Resumable", "1.0.0")
//!     .header("Upload-Length", "11")
//!     .header("Upload-Metadata", "filename aGVsbG8udHh0")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(created.status(), 201);
//! let url = created.headers()["location"].to_str().unwrap().to_owned();
//!
//! // …and send them.
//! let patched = http
//!     .patch(&url)
//!     .header("Tus-Resumable", "1.0.0")
//!     .header("Content-Type", "application/offset+octet-stream")
//!     .header("Upload-Offset", "0")
//!     .body("hello world")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(patched.status(), 204);
//! assert_eq!(patched.headers()["upload-offset"], "11");
//!
//! // What the server holds.
//! assert_eq!(server.upload_bytes(&url).unwrap(), b"hello world");
//! let upload = &server.uploads()[0];
//! assert_eq!(upload.metadata_value("filename"), Some("hello.txt"));
//! assert!(upload.is_complete());
//! assert_eq!(server.requests_by_method("PATCH").await.len(), 1);
//! # }
//! ```
//!
//! # What it answers
//!
//! Every response carries `Tus-Resumable: 1.0.0`; error responses carry a short
//! text body saying why (handy when a test fails).
//!
//! | request | answer |
//! |---|---|
//! | any but `OPTIONS` without `Tus-Resumable: 1.0.0` | 412 with `Tus-Version: 1.0.0` |
//! | `OPTIONS` | 204, `Tus-Version`, `Tus-Extension`, `Tus-Max-Size` (if set), `Tus-Checksum-Algorithm` (if checksum is on) |
//! | `POST` on the endpoint | 201, absolute `Location` (see [`TusMockServerBuilder::relative_locations`]), `Upload-Offset` when it carried `application/offset+octet-stream`, `Upload-Expires` when expiring |
//! | `POST` without `Upload-Length`/`Upload-Defer-Length: 1`, both, a bad number, bad `Upload-Metadata`, bad `Upload-Concat` | 400 |
//! | `POST` over `Tus-Max-Size`, or whose body exceeds `Upload-Length` | 413, nothing created |
//! | `POST` with a body and a bad checksum | 400 (algorithm) / 460 (mismatch), nothing created |
//! | `Upload-Concat: final;…` naming anything but live, complete partial uploads, or with `Upload-Length` or a body | 400 |
//! | `POST` repeating the `Idempotency-Key` of a live upload | 201 with that upload's `Location` (and its `Upload-Offset` when the request carried upload data, which is not read again) |
//! | `POST` repeating an `Idempotency-Key` with another `Upload-Length`, `Upload-Defer-Length` or `Upload-Concat` | 422, nothing created |
//! | `POST` with an empty `Idempotency-Key` or one over 255 characters | 400 |
//! | `HEAD` | 200, `Upload-Offset` (on the streaming server, not while a final upload's bytes are being copied in), `Upload-Length` or `Upload-Defer-Length: 1`, `Upload-Metadata` and `Upload-Concat` as received, `Upload-Expires`, `Cache-Control: no-store` |
//! | `PATCH` without `Content-Type: application/offset+octet-stream` | 415 |
//! | `PATCH` with a missing/bad `Upload-Offset` | 400 |
//! | `PATCH` at the wrong offset | 409 carrying the right `Upload-Offset` |
//! | `PATCH` past `Upload-Length` (or `Tus-Max-Size` while deferred) | 413, nothing stored |
//! | `PATCH` changing a known `Upload-Length`, or setting it below offset + body | 400 |
//! | `PATCH` on a final upload | 403 |
//! | `PATCH` with an unsupported/malformed `Upload-Checksum` / a mismatch | 400 / 460, nothing stored |
//! | `PATCH` accepted | 204 with the new `Upload-Offset` (and `Upload-Expires` while unfinished and expiring) |
//! | `DELETE` | 204 (on the streaming server, 423 while a request writes the upload or a final upload's bytes are being copied in) |
//! | unknown or terminated upload | 404 (no `Upload-Offset`) |
//! | expired upload (`HEAD`, `PATCH`, `DELETE`) | 410 Gone |
//! | [`TusMockServer::lock_uploads`] on (`HEAD`, `PATCH`, `DELETE`) | 423 Locked |
//! | a method the resource does not take | 405 with `Allow` |
//! | a path outside the base path | 404 |
//! | `X-HTTP-Method-Override` on a `POST` | handled as that method (`PATCH`, `DELETE`, `HEAD`, `POST`; others → 400) |
//!
//! Disabled extensions behave like a server without them: see
//! [`TusMockServerBuilder::extensions`].
//!
//! # Faults
//!
//! See [`TusMockServer::set_patch_hook`], [`PatchAction`],
//! [`TusMockServer::fail_patch`], [`TusMockServer::fail_request`] and
//! [`TusMockServer::lock_uploads`].
//!
//! # A streaming, disk-backed server
//!
//! [`StreamingTusServer`] speaks the same tus rules as the mock (one implementation of them,
//! shared), over hyper, for `tusky serve`, local uploads, benchmarks and tests with large
//! files:
//!
//! - **Bodies go to disk as they arrive**, through 256 KiB buffers (from a pool the requests
//!   share) that a blocking thread digests, when `Upload-Checksum` is sent, and writes while
//!   the next ones fill: at most 1 MiB of a body is in memory per request, whatever its size.
//! - **Uploads survive a restart** on the same directory: `DIR/<id>` holds the bytes and
//!   `DIR/<id>.info` the upload's state (JSON in two checksummed slots that take turns: each
//!   request's save is one write that leaves the previous state whole, so a server killed
//!   mid-save comes back with the state before that request). At start, bytes past the saved
//!   offset (a request cut short by a crash) are dropped and expired uploads removed.
//! - Every extension the mock has: creation, creation-with-upload, creation-defer-length,
//!   checksum (verified: a mismatch is 460 and nothing of that body is kept), termination
//!   (the files are removed), expiration, concatenation, and idempotent creation (below).
//! - **A final upload is answered before its bytes are copied**: its file becomes a copy of
//!   its partials' (which are kept) on a blocking thread after the answer to its POST, so the
//!   answer does not take time in proportion to the size. Until the copy ends, `HEAD` answers
//!   without `Upload-Offset` (as the concatenation extension asks), `DELETE` of it or of one of
//!   its partial uploads gets `423`, and
//!   [`StreamingTusServer::concatenated`] (or [`upload_path`](StreamingTusServer::upload_path),
//!   blocking) waits for it; a server stopped mid-copy copies again at its next start.
//! - **One request writes an upload at a time**: a second `PATCH` or a `DELETE` while one is
//!   in progress gets `423 Locked` at once (tus clients retry it); `HEAD` still answers.
//! - **A body cut short keeps the bytes that arrived** (the client went away, or sent nothing
//!   for the idle timeout, 60 s by default), as tus allows — none when the request carried
//!   `Upload-Checksum`, which a part cannot match. The client resumes from `HEAD`.
//! - `Tus-Max-Size` is 1 TiB unless set; upload ids are 128 random bits; it binds 127.0.0.1
//!   by default and, on a loopback address, answers only requests whose `Host` is
//!   `localhost`, `127.0.0.1` or `[::1]` (403 otherwise: a guard against DNS rebinding;
//!   [`proxy_port`](StreamingTusServerBuilder::proxy_port) lets a proxy in front of it in).
//! - [`StreamingTusServer::shutdown`] stops accepting, lets requests in progress finish
//!   within a grace period, then closes the connections.
//!
//! ```
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! use tusky_mock_server::StreamingTusServer;
//!
//! let dir = tempfile::tempdir()?;
//! let server = StreamingTusServer::builder(dir.path()).start().await?;
//! let http = reqwest::Client::new();
//! let created = http
//!     .post(server.endpoint())
//!     .header("Tus-Resumable", "1.0.0")
//!     .header("Upload-Length", "11")
//!     .header("Content-Type", "application/offset+octet-stream")
//!     .body("hello world")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(created.status(), 201);
//! let url = created.headers()["location"].to_str().unwrap();
//! let file = server.upload_path(url).unwrap();
//! assert_eq!(std::fs::read(file)?, b"hello world");
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Idempotent creation
//!
//! Both servers honour `Idempotency-Key` on a creation `POST`: a request that repeats a key
//! the server already saw answers `201` with the **same** `Location` (and the upload's
//! current `Upload-Offset` when it carried upload data, whose bytes are then not read again)
//! instead of creating a second upload — so a client whose answer was lost can send the
//! `POST` again. A key reused with another `Upload-Length`, `Upload-Defer-Length` or
//! `Upload-Concat` gets `422`; a repeat while the first request's body is still arriving
//! (the streaming server) gets `409`. Keys are remembered as long as their upload lives (not
//! terminated, not expired; across restarts of the streaming server). On the mock,
//! [`TusMockServer::schedule_request`]`("POST", n, `[`PatchAction::StoreThenFail`]`(503))`
//! makes "created, but the answer was lost".
//!
//! # A fault proxy for any server
//!
//! [`FaultProxy`] is a TCP proxy on 127.0.0.1 that can sit in front of this mock or of any
//! real server: it cuts a connection after N bytes (once, on every connection, or on the n-th
//! one, see [`Cut`]), throttles to a rate, delays, or drops every connection at once, while the
//! test runs, and counts connections and bytes ([`ProxyStats`]). Unlike the `PATCH` faults
//! above it breaks the transport itself, mid-body, the way a network does.
//!
//! # Limits
//!
//! wiremock reads whole request bodies before answering, so the server cannot take
//! part of a body *while* it streams, nor read HTTP trailers (no
//! `checksum-trailer`); [`PatchAction::AcceptPartial`] stores a prefix of a body
//! received in full.
#![warn(missing_docs)]

mod fault_proxy;
mod forward_proxy;
mod mock;
mod sample;
mod snapshot;
mod streaming;
mod tus;

pub use fault_proxy::{Cut, CutSchedule, Direction, FaultProxy, ProxyStats};
pub use forward_proxy::{ForwardProxy, ProxiedRequest};
pub use mock::{
    PatchAction, PatchContext, PatchHook, TusMockServer, TusMockServerBuilder,
    STATEFUL_MOCK_PRIORITY,
};
pub use sample::sample_bytes;
pub use snapshot::{UploadConcat, UploadSnapshot};
pub use streaming::{StreamingTusServer, StreamingTusServerBuilder};
pub use tus::extension::Extension;
pub use wiremock;
