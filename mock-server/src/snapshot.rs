//! [`UploadSnapshot`]: a copy of one upload's state, for assertions in tests.

use std::time::SystemTime;

use crate::tus::info::{Concat, UploadInfo};

/// How an upload takes part in the concatenation extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadConcat {
    /// An ordinary upload.
    None,
    /// Created with `Upload-Concat: partial`.
    Partial,
    /// A final upload made of these partial uploads (absolute URLs, in order).
    Final(Vec<String>),
}

/// The state of one upload at the moment [`TusMockServer::uploads`] (or
/// [`TusMockServer::upload`]) was called.
///
/// [`TusMockServer::uploads`]: crate::TusMockServer::uploads
/// [`TusMockServer::upload`]: crate::TusMockServer::upload
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadSnapshot {
    /// The upload id (the last segment of its URL).
    pub id: String,
    /// The absolute upload URL, `{endpoint}{id}`.
    pub url: String,
    /// `Upload-Length`, `None` while deferred.
    pub length: Option<u64>,
    /// How many bytes are stored.
    pub offset: u64,
    /// `Upload-Metadata`, decoded, in the order received; a value is `None` when the
    /// key had no value, and is decoded lossily when it is not UTF-8.
    pub metadata: Vec<(String, Option<String>)>,
    /// The `Upload-Metadata` header exactly as received, if any.
    pub metadata_header: Option<String>,
    /// Partial, final, or neither.
    pub concat: UploadConcat,
    /// When the unfinished upload expires (`None`: it never does).
    pub expires: Option<SystemTime>,
    /// Whether it had expired when the snapshot was taken.
    pub expired: bool,
    /// Whether it was terminated with `DELETE`.
    pub terminated: bool,
}

impl UploadSnapshot {
    pub(crate) fn new(upload: &UploadInfo, endpoint: &str, now: SystemTime) -> Self {
        UploadSnapshot {
            id: upload.id.clone(),
            url: format!("{endpoint}{}", upload.id),
            length: upload.length,
            offset: upload.offset,
            metadata: upload
                .metadata()
                .into_iter()
                .map(|(k, v)| (k, v.map(|v| String::from_utf8_lossy(&v).into_owned())))
                .collect(),
            metadata_header: upload.metadata_header.clone(),
            concat: match &upload.concat {
                Concat::None => UploadConcat::None,
                Concat::Partial => UploadConcat::Partial,
                Concat::Final(ids) => {
                    UploadConcat::Final(ids.iter().map(|id| format!("{endpoint}{id}")).collect())
                }
            },
            expires: upload.expires,
            expired: upload.is_expired(now),
            terminated: upload.terminated,
        }
    }

    /// The decoded value of metadata `key`: `None` if the key is absent, `Some("")`
    /// if it had no value.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Whether every byte has arrived (`offset == length`).
    pub fn is_complete(&self) -> bool {
        self.length == Some(self.offset)
    }
}
