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
//! | `HEAD` | 200, `Upload-Offset`, `Upload-Length` or `Upload-Defer-Length: 1`, `Upload-Metadata` and `Upload-Concat` as received, `Upload-Expires`, `Cache-Control: no-store` |
//! | `PATCH` without `Content-Type: application/offset+octet-stream` | 415 |
//! | `PATCH` with a missing/bad `Upload-Offset` | 400 |
//! | `PATCH` at the wrong offset | 409 carrying the right `Upload-Offset` |
//! | `PATCH` past `Upload-Length` (or `Tus-Max-Size` while deferred) | 413, nothing stored |
//! | `PATCH` changing a known `Upload-Length`, or setting it below offset + body | 400 |
//! | `PATCH` on a final upload | 403 |
//! | `PATCH` with an unsupported/malformed `Upload-Checksum` / a mismatch | 400 / 460, nothing stored |
//! | `PATCH` accepted | 204 with the new `Upload-Offset` (and `Upload-Expires` while unfinished and expiring) |
//! | `DELETE` | 204 |
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
mod tus;

pub use fault_proxy::{Cut, CutSchedule, Direction, FaultProxy, ProxyStats};
pub use forward_proxy::{ForwardProxy, ProxiedRequest};
pub use mock::{
    PatchAction, PatchContext, PatchHook, TusMockServer, TusMockServerBuilder,
    STATEFUL_MOCK_PRIORITY,
};
pub use sample::sample_bytes;
pub use snapshot::{UploadConcat, UploadSnapshot};
pub use tus::extension::Extension;
pub use wiremock;
