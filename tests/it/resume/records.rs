//! What gets recorded for a later run: the URL of an upload, whether the uploader created it or
//! was given it.

use std::sync::Arc;

use tusky::storage::MemoryStorage;

use crate::common::{created_upload, data, reader_of, server_and_client, stored, upload_of};

/// An upload continued from an explicit URL is recorded under the file's key, so that a later
/// run, given no URL, finds it and resumes it.
#[tokio::test]
async fn an_explicit_url_is_recorded_so_a_later_run_resumes_it_from_the_store() {
    let (server, client) = server_and_client().await;
    let bytes = data(30_000);
    let url = created_upload(&client, &bytes).await;
    let store = Arc::new(MemoryStorage::new());
    let mut first = reader_of(&client, &bytes)
        .url(url.as_str())
        .chunk_size(10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    first.upload_until(10_000).await.unwrap();
    let mut second = upload_of(&client, &bytes, 10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.url, url);
    assert_eq!(summary.resumed_from, Some(10_000));
    assert_eq!(stored(&server, &url), bytes);
    assert_eq!(server.uploads().len(), 1);
}
