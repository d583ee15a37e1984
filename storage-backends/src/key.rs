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
