//! tusky's integration tests: one test binary, one module per feature area. Every test runs a
//! real uploader over HTTP, against the mock tus server (or, in `interop`, real servers) and
//! checks the bytes the server ends up holding, not only what tusky reports.
//!
//! - `batch`: many files at once (`tusky::batch`): the jobs limit, failures, completion
//!   records, cancellation and a second run, progress.
//! - `smoke`: the basic shapes every other test builds on.
//! - `parity`: the 32 tuspy-parity behaviours of `docs/tuspy-parity.md`.
//! - `extensions`: each tus extension, end to end (and the blocking front).
//! - `retry`: the retry engine: what each failure means, attempts, stalls, progress events,
//!   cancellation.
//! - `resume`: resuming from stored URLs, across uploaders, parallel runs and processes.
//! - `properties`: proptest invariants of the upload loop and the retry engine.
//! - `interop`: real servers (@tus/server, tuspyserver, tuspy), skipped when they do not run.
//! - `fuzz_corpus`: the fuzz corpora replayed on stable.
//! - `engine`: the engine's shape (state, parallel, retry path, scoped records, layers).
//! - `trust`: origins, redirects, credentials in URLs, deadlines, changed files.
//! - `hooks`: request hooks, request ids, auth headers refreshed after a 401.
//! - `network`: the rate limit and proxies.
//! - `streaming_server`: the uploader against the streaming, disk-backed server.
//! - `parallel`: parallel uploads on workers: concurrent creation, more parts than workers.
//! - `chunk_size`: the automatic chunk size (growth, ceilings, backing off, parallel parts).
//!
//! What the areas share lives in `common`. One area: `cargo test --all-features --test it
//! retry::`.

mod common;

mod batch;
mod chunk_size;
mod engine;
mod extensions;
mod fuzz_corpus;
mod hooks;
mod interop;
mod maintenance;
mod network;
mod parallel;
mod parity;
mod properties;
mod resume;
mod retry;
mod smoke;
mod streaming_server;
mod trust;
