//! Tests of the real `tusky` binary (`CARGO_BIN_EXE_tusky`) against a `TusMockServer` started
//! in the test, in a sandboxed data directory. One test binary, so it links once.

mod support;

mod exit_codes;
mod help;
mod manage;
mod parallel;
mod pty;
mod redis_fleet;
mod serve;
mod serve_ids;
mod server_text;
mod status_checks;
mod store_lock;
mod store_permissions;
mod upload;
