//! On the mock server (`TusMockServer`): the scenarios, and the answers it can be told to give
//! at a chosen moment (a 409 or a 422 to a repeat, a gone upload), each asked of a real keyed
//! exchange.

use http::Method;
use tusky::error::Operation;
use tusky::Error;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use super::rig::{Post, Rig};
use super::scenarios::{self, assert_one_key, file, id_of, single};
use crate::common::{finals, parallel_upload_of, stored, upload_error, upload_ok, Events};

/// Without the option, a final POST is repeated only after an answer that says the server made
/// nothing: the mock's 503 says so (wrongly: it made the final upload), so tusky repeats it, and
/// the server makes a second final upload of the same parts.
#[tokio::test]
async fn without_the_option_a_final_post_answered_503_after_it_was_made_is_made_twice() {
    let rig = Rig::mock().await;
    let (result, bytes) = scenarios::without_the_option_lose_the_final_answer(&rig).await;
    let summary = result.expect("repeated after the 503");
    assert_eq!(finals(&rig.server).len(), 2, "{}", rig.tap.transcript());
    assert_eq!(stored(&rig.server, &summary.url), bytes);
}

/// The answer to the first creation POST is lost; the server answers the repeat 409 (as the
/// streaming server does while the first request's body still arrives); tusky waits and
/// repeats once more, with the same key, and gets the first upload.
#[tokio::test]
async fn a_409_to_a_keyed_creation_post_is_waited_out_with_the_same_key() {
    let rig = Rig::mock().await;
    let (bytes, _dir, path) = file();
    rig.lose_answer_to(Post::Creation);
    rig.server.fail_request("POST", 2, 409);
    let events = Events::default();

    let builder = single(&rig, &path, true).on_progress(events.callback());
    let summary = upload_ok(builder, "a keyed upload").await;

    assert_eq!(rig.server.uploads().len(), 1);
    assert_eq!(stored(&rig.server, &summary.url), bytes);
    assert_one_key(&rig.keys_of(Post::Creation), 3, &rig.tap.transcript());
    assert_eq!(events.retries().len(), 2, "after the 503 and after the 409");
}

/// A server that keeps answering 409 is waited out only as long as the retry policy allows.
#[tokio::test]
async fn a_409_to_a_keyed_creation_post_is_repeated_within_the_retry_policy() {
    let rig = Rig::mock().await;
    let (_, _dir, path) = file();
    for n in 1..=10 {
        rig.server.fail_request("POST", n, 409);
    }

    let error = upload_error(single(&rig, &path, true)).await;

    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(409));
    assert_one_key(&rig.keys_of(Post::Creation), 4, &rig.tap.transcript());
    assert!(rig.server.uploads().is_empty());
}

/// Without a key, a 409 to a creation POST is the server's refusal: not repeated.
#[tokio::test]
async fn without_a_key_a_409_to_a_creation_post_is_final() {
    let rig = Rig::mock().await;
    let (_, _dir, path) = file();
    rig.server.fail_request("POST", 1, 409);

    let error = upload_error(single(&rig, &path, false)).await;

    assert_eq!(error.status().map(|s| s.as_u16()), Some(409), "{error}");
    assert_eq!(
        error.context().map(|c| c.operation),
        Some(Operation::Create)
    );
    assert_eq!(rig.server.request_count("POST"), 1, "not repeated");
}

/// 422 to a keyed repeat (the key was used for another creation): final, not repeated.
#[tokio::test]
async fn a_422_to_a_keyed_repeat_is_final() {
    let rig = Rig::mock().await;
    let (_, _dir, path) = file();
    rig.lose_answer_to(Post::Creation);
    rig.server.fail_request("POST", 2, 422);

    let error = upload_error(single(&rig, &path, true)).await;

    assert_eq!(error.status().map(|s| s.as_u16()), Some(422), "{error}");
    assert_one_key(&rig.keys_of(Post::Creation), 2, &rig.tap.transcript());
}

/// An upload found gone starts over with a new creation, and a new creation has a new key
/// (with the old one, the server would answer with the gone upload).
#[tokio::test]
async fn a_creation_after_a_start_over_has_a_new_key() {
    let rig = Rig::mock().await;
    let (bytes, _dir, path) = file();
    rig.server
        .set_patch_hook(|ctx: &PatchContext| match ctx.number {
            1 => PatchAction::Fail(404),
            _ => PatchAction::Accept,
        });

    let summary = upload_ok(single(&rig, &path, true), "a keyed upload").await;

    let keys = rig.keys_of(Post::Creation);
    assert_eq!(keys.len(), 2, "{}", rig.tap.transcript());
    assert!(keys[0].is_some() && keys[1].is_some());
    assert_ne!(keys[0], keys[1]);
    let uploads = rig.server.uploads();
    assert_eq!(uploads.len(), 2, "the gone one and its replacement");
    assert_eq!(id_of(&uploads[1].url), id_of(summary.url.as_str()));
    assert_eq!(stored(&rig.server, &summary.url), bytes);
}

/// Each part's creation POST has its own key, and so does the final POST.
#[tokio::test]
async fn every_part_and_the_final_post_have_keys_of_their_own() {
    let rig = Rig::<TusMockServer>::mock().await;
    let (bytes, _dir, path) = file();

    let builder = parallel_upload_of(&rig.client, &path, 2, 50_000)
        .parts(3)
        .idempotent_creation(true);
    let summary = upload_ok(builder, "a keyed parallel upload").await;

    let mut keys: Vec<String> = rig
        .tap
        .of(&Method::POST)
        .into_iter()
        .map(|post| post.idempotency_key.expect("a POST without a key"))
        .collect();
    assert_eq!(keys.len(), 4, "three parts and the final");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4, "no key used twice");
    assert_eq!(stored(&rig.server, &summary.url), bytes);
}
