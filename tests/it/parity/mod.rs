//! The 32 behaviours of tuspy (the Python tus client) that tusky matches or betters, listed in
//! `docs/tuspy-parity.md`: one or more tests each, whose doc comment names the number
//! (`/// parity 14`). That document's last table says which file holds which behaviours.
//!
//! Where the exact request sequence or headers matter the server is plain wiremock; where
//! state matters it is the stateful tus mock server, and the bytes it holds are checked.

mod checksums;
mod client;
mod creation;
mod failures;
mod metadata;
mod offsets;
mod resume;
mod sources;
mod tls;

use std::io::Cursor;

use tusky::fingerprint::{Fingerprint, Md5Fingerprint};
use tusky::mock::TusMockServer;
use tusky::transport::Transport;
use tusky::{Client, Error, NoRetry, Uploader};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::common::{data, tus_response};

/// Mounts on plain wiremock: POST /files/ → 201 Location /files/{id}.
async fn mount_create(server: &MockServer, id: &str) {
    Mock::given(method("POST"))
        .and(path("/files/"))
        .respond_with(tus_response(201).insert_header("Location", format!("/files/{id}").as_str()))
        .mount(server)
        .await;
}

/// The creation endpoint of a plain wiremock server.
fn endpoint_of(server: &MockServer) -> String {
    format!("{}/files/", server.uri())
}

/// The key tuspy's default fingerprint gives `bytes`.
fn md5_key(bytes: &[u8]) -> String {
    Md5Fingerprint.fingerprint(bytes, bytes.len() as u64)
}

/// The store key of `bytes` (a reader, not a file) uploaded to `server`: the tuspy-compatible
/// fingerprint, scoped to the endpoint.
fn record_key(bytes: &[u8], server: &TusMockServer) -> String {
    tusky::storage::scoped_key(&md5_key(bytes), &server.endpoint())
}

/// An upload of 10 bytes through `client` that may not retry, and the error it ends with.
async fn error_without_retries<T: Transport>(client: &Client<T>) -> (Uploader<T>, Error) {
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    (uploader, error)
}
