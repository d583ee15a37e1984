//! Where most tests start: a mock tus server and a client for it, and an upload of bytes held
//! in memory, in chunks of a given size.

use std::io::Cursor;
use std::path::Path;

use tusky::fingerprint::{DefaultFingerprint, Fingerprint};
use tusky::storage::{NoStorage, Storage};
use tusky::transport::Transport;
use tusky::{Client, Error, UploadSummary, Uploader, UploaderBuilder};
use tusky_mock_server::{TusMockServer, TusMockServerBuilder};

use super::events::cancel_when_acknowledged;
use super::requests::stored;

/// The builder [`upload_of`], [`patch_upload_of`] and [`parallel_upload_of`] return.
pub type Builder<T> = UploaderBuilder<T, NoStorage, DefaultFingerprint>;

/// A mock tus server with every extension on, and a client for it.
pub async fn server_and_client() -> (TusMockServer, Client) {
    server_and_client_with(TusMockServer::builder()).await
}

/// The mock tus server `builder` configures, started, and a client for it.
pub async fn server_and_client_with(builder: TusMockServerBuilder) -> (TusMockServer, Client) {
    let server = builder.start().await;
    let client = client_for(&server);
    (server, client)
}

/// A client for `server`'s endpoint.
pub fn client_for(server: &TusMockServer) -> Client {
    Client::new(server.endpoint()).unwrap()
}

/// An upload of `bytes` (read from memory) through `client`, with the default chunk size.
pub fn reader_of<T: Transport>(client: &Client<T>, bytes: &[u8]) -> Builder<T> {
    client.uploader().reader(Cursor::new(bytes.to_vec()))
}

/// An upload of `bytes` (read from memory) through `client`, in chunks of `chunk` bytes.
pub fn upload_of<T: Transport>(client: &Client<T>, bytes: &[u8], chunk: u64) -> Builder<T> {
    reader_of(client, bytes).chunk_size(chunk)
}

/// The same with every chunk in a PATCH (no data in the creation POST), for tests that count
/// PATCHes or fail the n-th one.
pub fn patch_upload_of<T: Transport>(client: &Client<T>, bytes: &[u8], chunk: u64) -> Builder<T> {
    upload_of(client, bytes, chunk).creation_with_upload(false)
}

/// An upload of the file at `path` through `client` as `parts` partial uploads joined by a
/// final one (concatenation), each sent in chunks of `chunk` bytes.
pub fn parallel_upload_of<T: Transport>(
    client: &Client<T>,
    path: &Path,
    parts: usize,
    chunk: u64,
) -> Builder<T> {
    client
        .uploader()
        .path(path)
        .parallel(parts)
        .chunk_size(chunk)
}

/// Creates an upload of `bytes` through `client`, as another uploader would have (the POST
/// alone, no data sent), and returns its URL.
pub async fn created_upload<T: Transport>(client: &Client<T>, bytes: &[u8]) -> url::Url {
    let mut creator = reader_of(client, bytes)
        .creation_with_upload(false)
        .build()
        .unwrap();
    creator.create().await.unwrap()
}

/// Builds the uploader, runs it to the end and checks that the server holds exactly `bytes`;
/// returns the uploader (for what it reports afterwards) and its summary.
pub async fn upload_exactly<T: Transport, S: Storage, F: Fingerprint>(
    server: &TusMockServer,
    builder: UploaderBuilder<T, S, F>,
    bytes: &[u8],
) -> (Uploader<T, S, F>, UploadSummary) {
    let mut uploader = builder.build().unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(server, &summary.url), bytes);
    (uploader, summary)
}

/// The keys `store` holds, in its (sorted) order.
pub async fn stored_keys(store: &impl Storage) -> Vec<String> {
    store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// `store` holds no record (`why` says what that shows).
pub async fn assert_no_records(store: &impl Storage, why: &str) {
    let records = store.list().await.unwrap();
    assert!(records.is_empty(), "{why}: {records:?}");
}

/// Builds the uploader and runs it to the end, panicking with `what` and the error if it fails;
/// returns its summary.
pub async fn upload_ok<T: Transport, S: Storage, F: Fingerprint>(
    builder: UploaderBuilder<T, S, F>,
    what: &str,
) -> UploadSummary {
    let mut uploader = builder.build().unwrap();
    uploader
        .upload()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Builds the uploader, runs it and returns the error it stops with (panics if it succeeds).
pub async fn upload_error<T: Transport, S: Storage, F: Fingerprint>(
    builder: UploaderBuilder<T, S, F>,
) -> Error {
    let mut uploader = builder.build().unwrap();
    match uploader.upload().await {
        Ok(summary) => panic!("the upload succeeded: {summary:?}"),
        Err(error) => error,
    }
}

/// Builds the uploader with a token that its own progress cancels once `at` bytes are
/// acknowledged, runs it and checks that it stopped, cancelled; returns it (stopped mid-way,
/// with its stored record kept).
pub async fn upload_cancelled_at<T: Transport, S: Storage, F: Fingerprint>(
    builder: UploaderBuilder<T, S, F>,
    at: u64,
) -> Uploader<T, S, F> {
    let (token, cancel_mid_way) = cancel_when_acknowledged(at);
    let mut uploader = builder
        .cancellation_token(token)
        .on_progress(cancel_mid_way)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    uploader
}
