//! Idempotent creation (`idempotent_creation(true)`): every creation POST and the final
//! concatenation POST carry an `Idempotency-Key`, the same for every repeat of one creation,
//! stored in the record before a final POST is sent; a POST whose answer was lost is repeated
//! with its key, and a server that honours keys answers the repeat with the first upload.
//!
//! The server side is [`honour_idempotency_keys`], a model mounted over the mock; answers are
//! lost by the client's [`Tap`] after the server made the upload.

use std::path::Path;
use std::sync::{Arc, Mutex};

use http::Method;
use tusky::transport::TransportErrorKind;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};
use tusky_storage::JsonFileStorage;

use crate::common::{
    data, data_file, finals, honour_idempotency_keys, parallel_upload_of, partials,
    patch_upload_of, stored, upload_error, upload_exactly, upload_of, Exchange, Fault, Tap, QUICK,
};

/// A mock server honouring idempotency keys and a tap over which the client reaches it.
async fn keyed_server() -> (TusMockServer, Tap) {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    honour_idempotency_keys(&server, &tap).await;
    (server, tap)
}

fn keys(posts: &[Exchange]) -> Vec<String> {
    posts
        .iter()
        .map(|post| {
            let key = post.idempotency_key.clone();
            key.unwrap_or_else(|| panic!("a POST without Idempotency-Key: {post:?}"))
        })
        .collect()
}

fn is_final_post(exchange: &Exchange) -> bool {
    exchange.method == Method::POST
        && exchange
            .concat
            .as_deref()
            .is_some_and(|c| c.starts_with("final;"))
}

/// The answer to the creation POST is lost after the server made the upload (with the first
/// chunk in it): the repeat carries the same key and gets that upload, not a second one.
#[tokio::test]
async fn a_creation_post_whose_answer_is_lost_is_repeated_with_its_key() {
    let (server, tap) = keyed_server().await;
    tap.on(
        Method::POST,
        1,
        Fault::LoseAnswer(TransportErrorKind::Connection),
    );
    let client = tap.client(&server.endpoint());
    let bytes = data(30_000);

    upload_exactly(
        &server,
        upload_of(&client, &bytes, 10_000)
            .idempotent_creation(true)
            .retry_delay(3, QUICK),
        &bytes,
    )
    .await;

    assert_eq!(server.uploads().len(), 1, "the repeat got the first upload");
    let keys = keys(&tap.of(&Method::POST));
    assert_eq!(keys.len(), 2, "{}", tap.transcript());
    assert_eq!(keys[0], keys[1], "the repeat carries the same key");
    assert_eq!(keys[0].len(), 32);
    assert!(
        keys[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        keys[0]
    );
}

/// An upload found gone starts over with a new creation, and a new creation has a new key
/// (with the old one, the server would answer with the gone upload).
#[tokio::test]
async fn a_creation_after_a_start_over_has_a_new_key() {
    let (server, tap) = keyed_server().await;
    server.set_patch_hook(|ctx: &PatchContext| match ctx.number {
        1 => PatchAction::Fail(404),
        _ => PatchAction::Accept,
    });
    let client = tap.client(&server.endpoint());
    let bytes = data(30_000);

    let (_, summary) = upload_exactly(
        &server,
        patch_upload_of(&client, &bytes, 10_000)
            .idempotent_creation(true)
            .retry_delay(3, QUICK),
        &bytes,
    )
    .await;

    let keys = keys(&tap.of(&Method::POST));
    assert_eq!(keys.len(), 2, "{}", tap.transcript());
    assert_ne!(keys[0], keys[1]);
    assert_eq!(
        server.uploads().len(),
        2,
        "the gone one and its replacement"
    );
    assert!(server.upload(summary.url.as_str()).is_some());
}

/// Each part's creation POST has its own key, and so does the final POST.
#[tokio::test]
async fn every_part_and_the_final_post_have_keys_of_their_own() {
    let (server, tap) = keyed_server().await;
    let client = tap.client(&server.endpoint());
    let (bytes, _dir, path) = data_file(40_000);

    upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 2, 5_000)
            .parts(3)
            .idempotent_creation(true),
        &bytes,
    )
    .await;

    let mut keys = keys(&tap.of(&Method::POST));
    assert_eq!(keys.len(), 4, "three parts and the final");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4, "no key used twice");
}

/// Loses the answer to the first final POST (after the server made the final upload); the
/// store file at `store_path`, as it is when that POST goes out, is put into the returned slot.
fn lose_the_first_final_answer(tap: &Tap, store_path: &Path) -> Arc<Mutex<Option<String>>> {
    let record_then = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&record_then);
    let file = store_path.to_owned();
    tap.on_matching(
        move |request, log| {
            let first = request.method == Method::POST
                && request
                    .headers
                    .get("upload-concat")
                    .is_some_and(|c| c.as_bytes().starts_with(b"final;"))
                && !log.iter().any(is_final_post);
            if first {
                *seen.lock().unwrap() = std::fs::read_to_string(&file).ok();
            }
            first
        },
        Fault::LoseAnswer(TransportErrorKind::Connection),
    );
    record_then
}

/// The keys of the final POSTs sent through `tap`.
fn final_keys(tap: &Tap) -> Vec<String> {
    let final_posts: Vec<Exchange> = tap.log().into_iter().filter(is_final_post).collect();
    keys(&final_posts)
}

/// The final POST's answer is lost after the server joined the parts: with its key in the
/// record (written before the POST went out), it is repeated with the same key and gets that
/// final upload; there is exactly one.
#[tokio::test]
async fn a_final_post_whose_answer_is_lost_is_repeated_with_its_key() {
    let (server, tap) = keyed_server().await;
    let (bytes, dir, path) = data_file(50_000);
    let store_path = dir.path().join("uploads.json");
    let record_then = lose_the_first_final_answer(&tap, &store_path);
    let client = tap.client(&server.endpoint());

    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 2, 5_000)
            .idempotent_creation(true)
            .storage(JsonFileStorage::open(&store_path).unwrap())
            .retry_delay(3, QUICK),
        &bytes,
    )
    .await;

    let keys = final_keys(&tap);
    assert_eq!(keys.len(), 2, "{}", tap.transcript());
    assert_eq!(keys[0], keys[1], "the repeat carries the same key");
    let record_then = record_then.lock().unwrap().clone().expect("a store file");
    assert!(
        record_then.contains("final_idempotency_key") && record_then.contains(&keys[0]),
        "the key was not in the record before the POST: {record_then}"
    );
    assert_eq!(finals(&server).len(), 1);
    assert_eq!(finals(&server)[0].url, summary.url.as_str());
}

/// A run whose final POST's answer is lost gives up (no retries allowed); the record keeps
/// the parts and the key, so the next run sends the final POST again with the same key and
/// gets the final upload the first made: one final upload, holding exactly the file.
#[tokio::test]
async fn a_rerun_after_a_lost_final_answer_sends_the_same_key() {
    let (server, tap) = keyed_server().await;
    let (bytes, dir, path) = data_file(50_000);
    let store_path = dir.path().join("uploads.json");
    lose_the_first_final_answer(&tap, &store_path);
    let client = tap.client(&server.endpoint());
    let build = || {
        parallel_upload_of(&client, &path, 2, 5_000)
            .idempotent_creation(true)
            .storage(JsonFileStorage::open(&store_path).unwrap())
    };
    let error = upload_error(build().retries(0)).await;
    assert_eq!(
        error.context().map(|c| c.operation),
        Some(tusky::error::Operation::Concatenate),
        "{error}"
    );
    assert_eq!(finals(&server).len(), 1, "the server made the final upload");
    let parts_before = partials(&server).len();

    let (_, summary) = upload_exactly(&server, build(), &bytes).await;

    let keys = final_keys(&tap);
    assert_eq!(keys.len(), 2, "{}", tap.transcript());
    assert_eq!(keys[0], keys[1], "the rerun repeats the stored key");
    assert_eq!(finals(&server).len(), 1, "no second final upload");
    assert_eq!(finals(&server)[0].url, summary.url.as_str());
    assert_eq!(partials(&server).len(), parts_before, "no part made again");
    assert_eq!(stored(&server, &summary.url), bytes);
}
