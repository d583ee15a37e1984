//! Progress: every uploader event comes tagged with its file, and the totals over all files
//! count what the server acknowledged (in this run, and before it).

use std::sync::{Arc, Mutex};

use tusky::batch::{BatchEvent, FileEvent, OutcomeKind};
use tusky::storage::MemoryStorage;
use tusky::ProgressEvent;

use super::{run_batch, stored_batch_of, Tree, CHUNK};
use crate::common::server_and_client;

#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<BatchEvent>>>);

impl Recorded {
    fn callback(&self) -> impl Fn(&BatchEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &BatchEvent| events.lock().unwrap().push(event.clone())
    }

    fn take(&self) -> Vec<BatchEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn events_are_tagged_with_their_file_and_the_totals_add_up() {
    let (_server, client) = server_and_client().await;
    let sizes = [3 * CHUNK, CHUNK + 7, 2 * CHUNK];
    let total: u64 = sizes.iter().sum();
    let tree = Tree::new(&sizes);
    let store = Arc::new(MemoryStorage::new());
    let recorded = Recorded::default();
    let batch = || stored_batch_of(&client, &tree, 2, &store).on_progress(recorded.callback());
    run_batch(batch()).await;

    let events = recorded.take();
    for (i, size) in sizes.iter().enumerate() {
        let mine: Vec<&BatchEvent> = events.iter().filter(|e| e.index == i).collect();
        assert!(mine.iter().all(|e| e.item.path() == tree.files[i]));
        assert!(matches!(mine[0].event, FileEvent::Started { size: Some(s) } if s == *size));
        assert!(matches!(
            mine.last().unwrap().event,
            FileEvent::Finished(OutcomeKind::Uploaded)
        ));
        let acknowledged: Vec<u64> = mine
            .iter()
            .filter_map(|e| match &e.event {
                FileEvent::Progress(ProgressEvent::Acknowledged { offset, .. }) => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(
            acknowledged.last(),
            Some(size),
            "file {i}: {acknowledged:?}"
        );
    }
    let totals: Vec<_> = events.iter().map(|e| e.totals).collect();
    assert!(totals
        .windows(2)
        .all(|w| w[0].acknowledged <= w[1].acknowledged));
    let last = totals.last().unwrap();
    assert_eq!((last.files, last.files_finished), (3, 3));
    assert_eq!(
        (last.bytes, last.acknowledged, last.uploaded),
        (total, total, total)
    );

    // Again: every file is already uploaded; the totals count them whole, this run sent nothing.
    run_batch(batch()).await;
    let events = recorded.take();
    assert_eq!(events.len(), 6, "Started and Finished per file");
    let last = events.last().unwrap().totals;
    assert_eq!(
        (last.acknowledged, last.uploaded, last.files_finished),
        (total, 0, 3)
    );
}
