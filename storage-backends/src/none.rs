//! [`NoStorage`]: the storage of an uploader that was given none.

use async_trait::async_trait;

use crate::{Storage, StorageError, UploadRecord};

/// Keeps nothing: `get` finds nothing and `set` forgets at once. The type an uploader has
/// before a storage is chosen; an uploader without a storage never calls it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStorage;

#[async_trait]
impl Storage for NoStorage {
    async fn get(&self, _key: &str) -> Result<Option<UploadRecord>, StorageError> {
        Ok(None)
    }
    async fn set(&self, _key: &str, _record: UploadRecord) -> Result<(), StorageError> {
        Ok(())
    }
    async fn remove(&self, _key: &str) -> Result<(), StorageError> {
        Ok(())
    }
    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        Ok(Vec::new())
    }
}
