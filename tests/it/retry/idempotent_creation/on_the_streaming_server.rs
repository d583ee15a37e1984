//! On the streaming server (`StreamingTusServer`, what `tusky serve` runs), answers lost on the
//! wire by a `FaultProxy`: the scenarios, and its own answer to a repeat that comes while the
//! first creation's body is still arriving (409).

use std::time::Duration;

use http::Method;
use tusky::error::Operation;
use tusky::transport::TransportErrorKind;

use super::rig::{Post, Rig};
use super::scenarios::{self, assert_one_key, file, single};
use crate::common::{finals, stored, upload_ok, Condition, Exchange, Fault};

/// Without the option, a final POST whose answer was lost is not repeated (a repeat could make
/// a second final upload): the upload fails, although the server made the final upload.
#[tokio::test]
async fn without_the_option_a_lost_final_answer_fails_the_upload() {
    let rig = Rig::streaming().await;
    let (result, _) = scenarios::without_the_option_lose_the_final_answer(&rig).await;
    let error = result.expect_err("a lost final answer without a key");
    let operation = error.context().map(|c| c.operation);
    assert_eq!(operation, Some(Operation::Concatenate), "{error}");
    assert_eq!(
        finals(&rig.server).len(),
        1,
        "made, but the client never learned where"
    );
}

/// The condition "`what`", checked on the exchanges so far.
fn when(
    what: &'static str,
    holds: impl Fn(&[Exchange]) -> bool + Send + Sync + 'static,
) -> Condition {
    Condition {
        what,
        within: Duration::from_secs(30),
        holds: std::sync::Arc::new(holds),
    }
}

/// The first creation POST's answer is lost while its body is still on the way (the rest of
/// it held back); the repeat, with the same key, reaches the server while it still receives
/// the first and is answered 409; tusky waits and repeats again (the same key) once the first
/// is done, and gets the upload the first made, holding its first chunk.
#[tokio::test]
async fn a_repeat_while_the_first_creation_is_received_is_answered_409_and_waited_out() {
    let rig = Rig::streaming().await;
    let (bytes, _dir, path) = file();
    let answered_409 = when("a repeat answered 409", |log| {
        log.iter().any(|e| e.status() == Some(409))
    });
    rig.tap.on(
        Method::POST,
        1,
        Fault::Detach {
            kind: TransportErrorKind::Connection,
            release: answered_409,
        },
    );
    let receiving = rig.receiving_a_creation();
    rig.tap.on(
        Method::POST,
        2,
        Fault::HoldUntil(when("the first creation being received", move |_| {
            receiving()
        })),
    );
    let first_done = when("the first creation answered by the server", |log| {
        let first = log.iter().find(|e| e.method == Method::POST);
        first.is_some_and(|e| e.server_status.is_some())
    });
    rig.tap.on(Method::POST, 3, Fault::HoldUntil(first_done));

    // A first chunk of more than one piece (128 KiB), so that some of it can be held back.
    let builder = single(&rig, &path, true).chunk_size(200_000);
    let summary = upload_ok(builder, "a keyed upload").await;

    let posts = rig.tap.of(&Method::POST);
    assert_one_key(&rig.keys_of(Post::Creation), 3, &rig.tap.transcript());
    assert_eq!(
        posts[0].server_status,
        Some(201),
        "the first made the upload"
    );
    assert_eq!(posts[1].status(), Some(409));
    assert_eq!(posts[2].status(), Some(201));
    assert_eq!(rig.server.uploads().len(), 1);
    assert_eq!(stored(&rig.server, &summary.url), bytes);
}
