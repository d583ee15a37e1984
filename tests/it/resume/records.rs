//! What gets recorded for a later run: the URL of an upload, whether the uploader created it or
//! was given it.

use std::sync::Arc;

use tusky::storage::{MemoryStorage, Storage, StorageError, UploadRecord};

use crate::common::{
    created_upload, data, data_file, reader_of, server_and_client, stored, upload_of,
};

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

/// A store that refuses to list every record (a fleet's store holds every machine's): a
/// lookup must ask for its file's records only.
struct NoFullListing(MemoryStorage);

#[async_trait::async_trait]
impl Storage for NoFullListing {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        self.0.get(key).await
    }
    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        self.0.set(key, record).await
    }
    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        self.0.remove(key).await
    }
    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        Err(StorageError::Backend("the whole store was listed".into()))
    }
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.0.list_prefix(prefix).await
    }
}

/// A file's first upload looks for its records under every server and machine, and a second
/// run finds its record: both through the file's own key prefix, never a listing of the whole
/// store (which, shared by a fleet, costs every record of every machine per file).
#[tokio::test]
async fn a_file_is_looked_up_by_its_own_keys_not_by_listing_the_store() {
    let (server, client) = server_and_client().await;
    let (bytes, _dir, path) = data_file(30_000);
    let store = Arc::new(NoFullListing(MemoryStorage::new()));
    let builder = || {
        client
            .uploader()
            .path(&path)
            .chunk_size(10_000)
            .storage(store.clone())
    };
    let mut first = builder().build().unwrap();
    first.upload_until(10_000).await.unwrap();
    let summary = builder().build().unwrap().upload().await.unwrap();
    assert_eq!(summary.resumed_from, Some(10_000));
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(server.uploads().len(), 1);
}
