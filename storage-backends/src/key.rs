//! Record keys: a source's fingerprint scoped to the server its upload belongs to, so that
//! uploads of one file to two servers keep two records.

/// What separates the fingerprint from the server in a scoped key.
const SEPARATOR: &str = " @ ";

/// The key of the record for the source with `fingerprint` uploaded to `scope` (the creation
/// endpoint, or the upload URL's origin when there is no endpoint), e.g.
/// `size:11--md5:5eb6… @ https://tus.example/files/`.
///
/// ```
/// let key = tusky_storage::scoped_key("size:11--md5:5eb6", "https://tus.example/files/");
/// assert_eq!(key, "size:11--md5:5eb6 @ https://tus.example/files/");
/// assert_eq!(tusky_storage::key_fingerprint(&key), "size:11--md5:5eb6");
/// assert_eq!(tusky_storage::key_fingerprint("size:11--md5:5eb6"), "size:11--md5:5eb6");
/// ```
pub fn scoped_key(fingerprint: &str, scope: &str) -> String {
    format!("{fingerprint}{SEPARATOR}{scope}")
}

/// The fingerprint part of a key: the whole key when it is not scoped (a record written before
/// keys were scoped, or by tuspy).
pub fn key_fingerprint(key: &str) -> &str {
    key.split_once(SEPARATOR)
        .map_or(key, |(fingerprint, _)| fingerprint)
}

/// The key of the record for the file with `fingerprint`, `device` and `inode` uploaded to
/// `scope`: two files with the same fingerprint (same size, same first bytes) never share a
/// record, while a file renamed on its file system keeps its own.
///
/// ```
/// let key = tusky_storage::file_key("size:11--md5:5eb6", "https://tus.example/files/", 2049, 77);
/// assert_eq!(key, "size:11--md5:5eb6 @ https://tus.example/files/ @ file 2049:77");
/// assert_eq!(tusky_storage::key_fingerprint(&key), "size:11--md5:5eb6");
/// ```
pub fn file_key(fingerprint: &str, scope: &str, device: u64, inode: u64) -> String {
    format!(
        "{}{SEPARATOR}file {device}:{inode}",
        scoped_key(fingerprint, scope)
    )
}

/// Every record of the source with `fingerprint` in `store` (on any server, from any file with
/// that fingerprint), with its key: how to find a file's records now that keys are scoped.
///
/// ```
/// use tusky_storage::{records_with_fingerprint, scoped_key, MemoryStorage, Storage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tusky_storage::StorageError> {
/// let store = MemoryStorage::new();
/// let key = scoped_key("size:11--md5:5eb6", "https://tus.example/files/");
/// store.set(&key, UploadRecord::new("https://tus.example/files/1")).await?;
/// let found = records_with_fingerprint(&store, "size:11--md5:5eb6").await?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].0, key);
/// # Ok(()) }
/// ```
pub async fn records_with_fingerprint<S: crate::Storage + ?Sized>(
    store: &S,
    fingerprint: &str,
) -> Result<Vec<(String, crate::UploadRecord)>, crate::StorageError> {
    let mut records = store.list().await?;
    records.retain(|(key, _)| key_fingerprint(key) == fingerprint);
    Ok(records)
}
