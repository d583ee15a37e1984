//! Tests of the real `tusky` binary (`CARGO_BIN_EXE_tusky`) against a `TusMockServer` started
//! in the test, in a sandboxed data directory. One test binary, so it links once.

mod support;

mod certificates;
mod chunk_size;
mod credentials;
mod deadline;
mod exit_codes;
mod file_changes;
mod help;
mod listening;
mod manage;
mod many;
mod network;
mod origins;
mod parallel;
mod pty;
mod redirects;
mod redis_fleet;
mod serve;
mod serve_ids;
mod server_text;
mod status_checks;
mod store_lock;
mod store_permissions;
mod tls_front;
mod upload;
