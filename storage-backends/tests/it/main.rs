//! tusky-storage's integration tests, one binary: a module per backend (each against the
//! conformance suite, plus what only that backend promises) and `model`, random operations on
//! the file backends checked against a `BTreeMap`. What they share lives in `common`. The
//! modules of optional backends compile with their feature (`cargo test --all-features`).

mod common;

mod json_store;
mod memory_store;
mod model;
mod redb_store;
mod redis_store;
mod tuspy_store;
