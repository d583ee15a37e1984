use std::sync::Arc;

use async_trait::async_trait;

use crate::{StorageError, UploadRecord};

/// Where upload records are kept, by fingerprint key.
///
/// Object-safe: `Box<dyn Storage>` and `Arc<dyn Storage>` work, and `Arc<T>`/`Box<T>`/`&T`
/// forward to `T`, so one store can be shared by several uploaders.
///
/// A custom backend implements the four methods and checks itself with the `conformance`
/// suite (feature `conformance`), which also shows a complete implementation.
///
/// ```
/// use tusky_storage::{MemoryStorage, Storage, UploadRecord};
///
/// async fn forget_finished(store: &dyn Storage, key: &str) -> Result<(), tusky_storage::StorageError> {
///     if store.get(key).await?.is_some() {
///         store.remove(key).await?;
///     }
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tusky_storage::StorageError> {
/// let store = MemoryStorage::new();
/// store.set("key", UploadRecord::new("https://tus.example/files/1")).await?;
/// forget_finished(&store, "key").await?;
/// assert_eq!(store.get("key").await?, None);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait Storage: Send + Sync {
    /// The record stored under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError>;
    /// Stores `record` under `key`, replacing any earlier record.
    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError>;
    /// Removes the record under `key`; removing a missing key is not an error.
    async fn remove(&self, key: &str) -> Result<(), StorageError>;
    /// Every stored record with its key, sorted by key.
    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError>;

    /// The stored records whose key starts with `prefix`, with their keys, sorted by key:
    /// what tusky asks when it looks for one file's records (under every server and machine)
    /// without reading the whole store. The default lists every record and keeps those; a
    /// backend that can look a prefix up (Redis, redb) does so.
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        let mut records = self.list().await?;
        records.retain(|(key, _)| key.starts_with(prefix));
        Ok(records)
    }

    /// Whether records are kept under keys scoped to their server ([`crate::scoped_key`]; the
    /// default), or under the bare fingerprint (tuspy's file format, which another client
    /// reads by fingerprint alone: one record per file, whatever the server).
    fn keys_include_server(&self) -> bool {
        true
    }
}

macro_rules! forward_storage {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<T: Storage + ?Sized> Storage for $ty {
            async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
                (**self).get(key).await
            }
            async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
                (**self).set(key, record).await
            }
            async fn remove(&self, key: &str) -> Result<(), StorageError> {
                (**self).remove(key).await
            }
            async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
                (**self).list().await
            }
            async fn list_prefix(
                &self,
                prefix: &str,
            ) -> Result<Vec<(String, UploadRecord)>, StorageError> {
                (**self).list_prefix(prefix).await
            }
            fn keys_include_server(&self) -> bool {
                (**self).keys_include_server()
            }
        }
    )*};
}

forward_storage!(Arc<T>, Box<T>, &T);
