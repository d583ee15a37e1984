//! [`UploadInfo`]: everything a server knows about an upload except its bytes.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::idempotency::IdempotencyRecord;
use super::metadata::{self, Metadata};

/// How an upload takes part in concatenation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Concat {
    None,
    Partial,
    /// The partials' ids, in order. Its bytes are its partials', copied in after the answer
    /// to its POST on the streaming server: until the copy ends, its offset is short of its
    /// length ([`UploadInfo::is_concatenating`]); no request ever appends to it.
    Final(Vec<String>),
}

/// One upload resource, without its bytes (the mock keeps those in memory, the streaming
/// server in a file beside a copy of this info).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadInfo {
    pub(crate) id: String,
    /// `Upload-Length`; `None` while deferred.
    pub(crate) length: Option<u64>,
    /// How many bytes are stored.
    pub(crate) offset: u64,
    /// `Upload-Metadata` exactly as received (validated at creation), echoed on HEAD.
    pub(crate) metadata_header: Option<String>,
    pub(crate) concat: Concat,
    /// `Upload-Concat` exactly as received, echoed on HEAD.
    pub(crate) concat_header: Option<String>,
    /// When the upload expires; `None` when it never does (no expiry, or finished).
    pub(crate) expires: Option<SystemTime>,
    pub(crate) terminated: bool,
    /// The `Idempotency-Key` of the creating request, and what that request asked for.
    #[serde(default)]
    pub(crate) idempotency: Option<IdempotencyRecord>,
}

impl UploadInfo {
    pub(crate) fn is_complete(&self) -> bool {
        self.length == Some(self.offset)
    }

    /// A final upload whose partials' bytes are still being copied into it.
    pub(crate) fn is_concatenating(&self) -> bool {
        matches!(self.concat, Concat::Final(_)) && !self.is_complete()
    }

    pub(crate) fn is_expired(&self, now: SystemTime) -> bool {
        !self.is_complete() && self.expires.is_some_and(|e| e <= now)
    }

    /// Neither terminated nor expired.
    pub(crate) fn is_live(&self, now: SystemTime) -> bool {
        !self.terminated && !self.is_expired(now)
    }

    /// The decoded `Upload-Metadata` (validated when the upload was created).
    pub(crate) fn metadata(&self) -> Metadata {
        self.metadata_header
            .as_deref()
            .and_then(|h| metadata::parse(h).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) fn blank(length: Option<u64>) -> UploadInfo {
    UploadInfo {
        id: String::new(),
        length,
        offset: 0,
        metadata_header: None,
        concat: Concat::None,
        concat_header: None,
        expires: None,
        terminated: false,
        idempotency: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn finished_uploads_never_expire() {
        let now = SystemTime::now();
        let mut info = blank(Some(3));
        info.expires = Some(now - Duration::from_secs(1));
        assert!(info.is_expired(now) && !info.is_live(now));
        info.offset = 3;
        assert!(!info.is_expired(now) && info.is_live(now));
        info.terminated = true;
        assert!(!info.is_live(now));
    }

    #[test]
    fn info_round_trips_through_json() {
        let mut info = blank(None);
        info.metadata_header = Some("filename YS50eHQ=".into());
        info.concat = Concat::Final(vec!["a".into(), "b".into()]);
        info.expires = Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        let text = serde_json::to_string(&info).unwrap();
        assert_eq!(serde_json::from_str::<UploadInfo>(&text).unwrap(), info);
        assert_eq!(info.metadata()[0].1.as_deref(), Some(&b"a.txt"[..]));
    }
}
