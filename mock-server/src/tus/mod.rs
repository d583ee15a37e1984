//! The tus 1.0 protocol rules, in one place for both servers: the wiremock mock
//! ([`TusMockServer`](crate::TusMockServer)) and the streaming, disk-backed server
//! ([`StreamingTusServer`](crate::StreamingTusServer)).
//!
//! A request goes through three steps, and only the middle one differs between the servers:
//!
//! 1. **Decide on the head** (pure): [`route::effective_method`], [`route::route`] and
//!    [`route::operation`] say what is asked; [`creation::plan_creation`],
//!    [`append::plan_append`] and [`resource::live`] look at the headers and the upload's
//!    [`info::UploadInfo`] (no bytes) and answer a [`reply::Reply`] or a plan: "append at most
//!    N bytes at offset O, declare length L, verify this checksum", "create this upload,
//!    taking a first body of at most N bytes", "concatenate these partial uploads".
//! 2. **Take the body** (the server's own): [`body::BodySink`] counts, digests and stores it
//!    in an [`body::UploadBytes`] — the mock's buffered body into a `Vec<u8>`, the streaming
//!    server's body as it arrives into a file, one buffer at a time — and says what
//!    became of it ([`body::Received`]: bytes stored, digest, complete / too long / cut short).
//! 3. **Commit** (pure): [`creation::commit_creation`] and [`append::commit_append`] turn the
//!    plan and the [`body::Received`] into the upload's new info and the answer; the server
//!    keeps exactly `info.offset` bytes.

pub(crate) mod append;
pub(crate) mod body;
pub(crate) mod checksum;
pub(crate) mod concat;
pub(crate) mod config;
pub(crate) mod creation;
pub(crate) mod extension;
pub(crate) mod idempotency;
pub(crate) mod info;
pub(crate) mod metadata;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod resource;
pub(crate) mod route;
pub(crate) mod upload_id;
pub(crate) mod uploads;
