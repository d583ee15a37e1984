//! Completion records: a finished upload's record kept (instead of removed) and marked
//! complete, so that a batch run again skips the file. The record lives under the source's own
//! key (fingerprint @ server @ file), so a file has one record per server: unfinished or
//! complete. [`judge`] is the one decision of whether a stored completion still holds.

use std::time::{Duration, SystemTime};

use url::Url;

use super::records::{unix_seconds, without_credentials};
use super::{UploadSummary, Uploader};
use crate::fingerprint::Fingerprint;
use crate::storage::{FileIdentity, Storage, UploadRecord};
use crate::transport::Transport;
use crate::Result;

/// A completion record of a file: it was uploaded completely to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completion {
    /// The finished upload.
    pub url: Url,
    /// When its last byte was acknowledged (to the second).
    pub completed: SystemTime,
    /// When the completion record stops counting (then the file is uploaded again).
    pub expires: Option<SystemTime>,
    /// The file's size.
    pub size: Option<u64>,
}

/// What the store says about a source, for a batch deciding whether to upload it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    /// No completion record: nothing, or an unfinished upload (the uploader resumes it).
    Unfinished,
    /// Uploaded completely, and the file is still the one that was.
    Complete(Completion),
    /// A completion record that no longer holds (why): the file must be uploaded again.
    Stale(String),
}

fn from_unix(seconds: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// What `record` (the stored record of a source of `size` bytes whose identity is now `file`)
/// means at `now` (seconds since the Unix epoch).
pub(crate) fn judge(
    record: Option<&UploadRecord>,
    size: Option<u64>,
    file: Option<&FileIdentity>,
    now: u64,
) -> Stored {
    let Some((record, completed)) =
        record.and_then(|record| Some((record, record.completed_unix?)))
    else {
        return Stored::Unfinished;
    };
    if record.expires_unix.is_some_and(|expires| expires <= now) {
        return Stored::Stale("its completion record has expired".to_owned());
    }
    if let (Some(then), Some(now)) = (record.size, size) {
        if then != now {
            return Stored::Stale(format!(
                "its size changed since it was uploaded ({then} → {now} bytes)"
            ));
        }
    }
    if let Some(difference) = record
        .file
        .as_ref()
        .zip(file)
        .and_then(|(then, now)| then.difference(now))
    {
        return Stored::Stale(format!("it changed since it was uploaded: {difference}"));
    }
    match (Url::parse(&record.url), from_unix(completed)) {
        (Ok(url), Some(completed)) => Stored::Complete(Completion {
            url,
            completed,
            expires: record.expires_unix.and_then(from_unix),
            size: record.size,
        }),
        _ => Stored::Stale(format!(
            "its completion record is not usable (URL {:?})",
            record.url
        )),
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    /// Removes this source's stored record for this endpoint (an unfinished upload's URL, or a
    /// completion record), so that the next [`upload`](Uploader::upload) starts a new upload.
    /// Opens the source to compute its key; sends nothing to the server, and leaves the
    /// server's upload as it is. Nothing to do without a storage.
    pub async fn forget_record(&mut self) -> Result<()> {
        self.prepare().await?;
        self.records.forget().await
    }

    /// Opens the source and reads what the store holds for it: a completion record that still
    /// holds, one that does not, or none.
    pub(crate) async fn stored_completion(&mut self) -> Result<Stored> {
        self.prepare().await?;
        let found = self.records.get().await?;
        let now = unix_seconds(SystemTime::now());
        let file = self.upload.file_identity();
        Ok(judge(
            found.as_ref().map(|(_, record)| record),
            self.size(),
            file.as_ref(),
            now,
        ))
    }

    /// Records the upload `summary` reports as complete, for `keep` from now (the record
    /// replaces the upload's record).
    pub(crate) async fn record_completion(
        &mut self,
        summary: &UploadSummary,
        keep: Duration,
    ) -> Result<()> {
        let now = SystemTime::now();
        let mut record = UploadRecord::new(without_credentials(&summary.url).as_str())
            .with_completed_unix(unix_seconds(now));
        record.size = self.size();
        record.file = self.upload.file_identity();
        record.expires_unix = now.checked_add(keep).map(unix_seconds);
        self.records.write(record).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn completed(url: &str) -> UploadRecord {
        UploadRecord::new(url)
            .with_size(10)
            .with_completed_unix(NOW - 60)
            .with_expires_unix(NOW + 60)
            .with_file(
                FileIdentity::default()
                    .with_modified_nanos(5)
                    .with_inode(1, 2),
            )
    }

    fn same_file() -> FileIdentity {
        FileIdentity::default()
            .with_modified_nanos(5)
            .with_inode(1, 2)
    }

    #[test]
    fn no_record_or_an_unfinished_one_is_for_the_uploader() {
        assert_eq!(judge(None, Some(10), None, NOW), Stored::Unfinished);
        let unfinished = UploadRecord::new("https://t/files/1").with_size(10);
        assert_eq!(
            judge(Some(&unfinished), Some(10), Some(&same_file()), NOW),
            Stored::Unfinished
        );
    }

    #[test]
    fn a_completion_of_the_same_file_holds_until_it_expires() {
        let record = completed("https://t/files/1");
        let Stored::Complete(completion) = judge(Some(&record), Some(10), Some(&same_file()), NOW)
        else {
            panic!("not complete");
        };
        assert_eq!(completion.url.as_str(), "https://t/files/1");
        assert_eq!(completion.completed, from_unix(NOW - 60).unwrap());
        assert_eq!(completion.expires, from_unix(NOW + 60));
        assert!(matches!(
            judge(Some(&record), Some(10), Some(&same_file()), NOW + 60),
            Stored::Stale(reason) if reason.contains("expired")
        ));
    }

    #[test]
    fn a_changed_file_is_uploaded_again() {
        let record = completed("https://t/files/1");
        let edited = FileIdentity::default()
            .with_modified_nanos(6)
            .with_inode(1, 2);
        assert!(matches!(
            judge(Some(&record), Some(10), Some(&edited), NOW),
            Stored::Stale(reason) if reason.contains("modification time")
        ));
        let replaced = FileIdentity::default()
            .with_modified_nanos(5)
            .with_inode(1, 3);
        assert!(matches!(
            judge(Some(&record), Some(10), Some(&replaced), NOW),
            Stored::Stale(reason) if reason.contains("inode")
        ));
        assert!(matches!(
            judge(Some(&record), Some(11), Some(&same_file()), NOW),
            Stored::Stale(reason) if reason.contains("size")
        ));
    }

    #[test]
    fn a_completion_without_a_usable_url_is_stale() {
        let record = completed("not a url");
        assert!(matches!(
            judge(Some(&record), Some(10), Some(&same_file()), NOW),
            Stored::Stale(_)
        ));
    }
}
