//! One file failing does not stop the others: each ends on its own, the failed ones with the
//! error that stopped them.

use std::sync::Arc;

use tusky::batch::{BatchItem, Outcome, OutcomeKind};
use tusky::mock::PatchAction;
use tusky::storage::MemoryStorage;
use tusky::Error;

use super::{batch_of, finished_url, records_by_file, run_batch, stored_batch_of, Tree, CHUNK};
use crate::common::{server_and_client, stored};

#[tokio::test]
async fn a_refused_file_and_a_missing_one_do_not_stop_the_others() {
    let (server, client) = server_and_client().await;
    let tree = Tree::new(&[3 * CHUNK, 2 * CHUNK + 5, 4 * CHUNK]);
    // The first creation is refused (403: not retried); one item does not exist.
    server.fail_request("POST", 1, 403);
    let missing = tree.files[0].with_file_name("missing.bin");
    let batch = batch_of(&client, &tree, 1).item(BatchItem::new(&missing));
    let (results, summary) = run_batch(batch).await;

    assert_eq!(results.len(), 4);
    let Outcome::Failed { error, url, .. } = &results[0].outcome else {
        panic!("the refused file: {:?}", results[0].outcome);
    };
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403), "{error}");
    assert!(url.is_none());
    assert!(
        matches!(results[3].outcome.error(), Some(Error::Source { .. })),
        "{:?}",
        results[3].outcome
    );
    for i in [1, 2] {
        assert_eq!(stored(&server, &finished_url(&results[i])), tree.bytes(i));
    }
    assert_eq!(summary.count(OutcomeKind::Uploaded), 2);
    assert_eq!(summary.count(OutcomeKind::Failed), 2);
    assert_eq!(summary.files, 4);
    assert!(!summary.all_uploaded());
}

/// A file the server stores and then refuses is its own outcome, and is not recorded as
/// complete: running the batch again uploads it again (and only it).
#[tokio::test]
async fn a_file_refused_after_storing_is_not_recorded_as_complete() {
    let (server, client) = server_and_client().await;
    let tree = Tree::new(&[2 * CHUNK, 2 * CHUNK]);
    let store = Arc::new(MemoryStorage::new());
    // Jobs of 1: the second PATCH is the first file's last.
    server.schedule_patch(2, PatchAction::StoreThenFail(500));
    let (results, summary) = run_batch(stored_batch_of(&client, &tree, 1, &store)).await;
    let Outcome::StoredButRefused(refused) = &results[0].outcome else {
        panic!("{:?}", results[0].outcome);
    };
    assert_eq!(stored(&server, &refused.url), tree.bytes(0));
    assert_eq!(summary.count(OutcomeKind::StoredButRefused), 1);
    let records = records_by_file(&*store).await;
    assert_eq!(
        records.len(),
        1,
        "only the second file is recorded: {records:?}"
    );

    let posts = server.request_count("POST");
    let (again, _) = run_batch(stored_batch_of(&client, &tree, 1, &store)).await;
    assert!(
        matches!(again[0].outcome, Outcome::Uploaded(_)),
        "{:?}",
        again[0].outcome
    );
    assert!(
        matches!(again[1].outcome, Outcome::AlreadyUploaded(_)),
        "{:?}",
        again[1].outcome
    );
    assert_eq!(server.request_count("POST") - posts, 1);
}
