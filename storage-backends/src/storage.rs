use std::sync::Arc;

use async_trait::async_trait;

use crate::{StorageError, UploadRecord};

/// Where upload records are kept, by fingerprint key.
///
/// Object-safe: `Box<dyn Storage>` and `Arc<dyn Storage>` work, and `Arc<T>`/`Box<T>`/`&T`
/// forward to `T`, so one store can be shared by several uploaders.
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
        }
    )*};
}

forward_storage!(Arc<T>, Box<T>, &T);
