//! The record encoding the redb and Redis stores share: the record's JSON in a versioned
//! wrapper, `{"version": 1, "record": {...}}`, so that the encoding can change and a store
//! written by a newer tusky is refused plainly instead of misread.

use serde::{Deserialize, Serialize};

use crate::{StorageError, UploadRecord};

/// The version of the record encoding this code writes and the newest it reads.
pub(crate) const RECORD_VERSION: u64 = 1;

/// How a record is stored: versioned, so the encoding can change.
#[derive(Serialize, Deserialize)]
struct StoredRecord {
    version: u64,
    record: serde_json::Value,
}

/// `record` in the versioned encoding.
pub(crate) fn encode(record: &UploadRecord) -> Result<Vec<u8>, StorageError> {
    let record =
        serde_json::to_value(record).map_err(|err| StorageError::Backend(Box::new(err)))?;
    serde_json::to_vec(&StoredRecord {
        version: RECORD_VERSION,
        record,
    })
    .map_err(|err| StorageError::Backend(Box::new(err)))
}

/// The record in `bytes`, stored under `key` (as the store names it in messages); `Err` says
/// why the bytes are not a record this code reads, for the store's
/// [`StorageError::Corrupt`].
pub(crate) fn decode(key: &str, bytes: &[u8]) -> Result<UploadRecord, String> {
    let stored: StoredRecord = serde_json::from_slice(bytes)
        .map_err(|err| format!("the record under {key:?} is not readable: {err}"))?;
    if stored.version != RECORD_VERSION {
        let newer = if stored.version > RECORD_VERSION {
            " (written by a newer tusky)"
        } else {
            ""
        };
        return Err(format!(
            "the record under {key:?} has encoding version {}{newer}; this tusky reads \
             version {RECORD_VERSION}",
            stored.version
        ));
    }
    UploadRecord::deserialize(&stored.record)
        .map_err(|err| format!("the record under {key:?} is invalid: {err}"))
}
