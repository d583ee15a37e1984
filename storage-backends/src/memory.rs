use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{Storage, StorageError, UploadRecord};

/// Records kept in this process's memory: lost when it exits.
///
/// ```
/// use std::sync::Arc;
/// use tusky_storage::{MemoryStorage, Storage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tusky_storage::StorageError> {
/// // Share one store between uploaders through an `Arc`.
/// let store = Arc::new(MemoryStorage::new());
/// let other = Arc::clone(&store);
/// other.set("key", UploadRecord::new("https://tus.example/files/1")).await?;
/// assert_eq!(store.list().await?.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryStorage {
    records: Mutex<BTreeMap<String, UploadRecord>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, UploadRecord>> {
        // A panic elsewhere while holding the lock cannot leave a map half-written.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        Ok(self.records().get(key).cloned())
    }
    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        self.records().insert(key.to_owned(), record);
        Ok(())
    }
    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        self.records().remove(key);
        Ok(())
    }
    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.list_prefix("").await
    }

    async fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        Ok(self
            .records()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
