//! Finding, recording and forgetting upload URLs in the storage.

use std::time::{SystemTime, UNIX_EPOCH};

use url::Url;

use super::recovery::UrlOrigin;
use super::Uploader;
use crate::error::{Context, Operation};
use crate::fingerprint::Fingerprint;
use crate::progress::ProgressEvent;
use crate::storage::{Storage, UploadRecord};
use crate::transport::Transport;
use crate::{Error, Result};

pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    /// The storage key for the source, computed once (`None` when not resuming or when the
    /// source cannot be fingerprinted, like a stream).
    pub(super) async fn storage_key(&mut self) -> Result<Option<String>> {
        if !self.settings.resume || self.storage.is_none() {
            return Ok(None);
        }
        if self.key.is_some() {
            return Ok(self.key.clone());
        }
        let head_len = self.fingerprint.head_len();
        let source = self.source_mut()?;
        let Some(size) = source.size().filter(|_| source.is_seekable()) else {
            return Ok(None);
        };
        let head = source
            .head(head_len)
            .await
            .map_err(|source| Error::Source {
                context: Context::new(Operation::ReadSource, None, Some(0)),
                source,
            })?
            .unwrap_or_default();
        self.key = Some(self.fingerprint.fingerprint(&head, size));
        Ok(self.key.clone())
    }

    /// Makes sure the upload has a URL: the given one, a stored one that has not expired, or a
    /// new one (POST).
    pub(super) async fn ensure_url(&mut self) -> Result<()> {
        if self.url.is_some() {
            return Ok(());
        }
        if let (Some(key), Some(storage)) = (self.storage_key().await?, self.storage.as_ref()) {
            if let Some(record) = storage.get(&key).await? {
                let now = unix_seconds(SystemTime::now());
                let expired = record.expires_unix.is_some_and(|expires| expires <= now);
                match Url::parse(&record.url) {
                    Ok(url) if !expired => {
                        tracing::info!(%url, "found a stored upload; resuming");
                        self.url = Some(url);
                        self.origin = Some(UrlOrigin::Stored);
                        self.synced = false;
                        self.expires = record
                            .expires_unix
                            .map(|s| UNIX_EPOCH + std::time::Duration::from_secs(s));
                        return Ok(());
                    }
                    parsed => {
                        let reason = if !record.partial_urls.is_empty() && record.url.is_empty() {
                            format!(
                                "the stored record is an unfinished parallel upload of {} parts; resume it with parallel(n) (a single upload starts now)",
                                record.partial_urls.len()
                            )
                        } else if parsed.is_err() {
                            format!("the stored URL {:?} is not a URL", record.url)
                        } else {
                            format!("the stored upload {} has expired", record.url)
                        };
                        tracing::warn!(%reason, "not resuming");
                        storage.remove(&key).await?;
                        self.emit(ProgressEvent::StartedOver { reason });
                    }
                }
            }
        }
        self.create_upload().await
    }

    /// Writes the record for the current URL (after creation, or when the expiry changes).
    pub(super) async fn record(&mut self) -> Result<()> {
        let (Some(key), Some(storage), Some(url)) =
            (self.key.clone(), self.storage.as_ref(), self.url.as_ref())
        else {
            return Ok(());
        };
        let mut record = UploadRecord::new(url.as_str());
        record.size = self.source.as_ref().and_then(|s| s.size());
        record.expires_unix = self.expires.map(unix_seconds);
        record.source = self.source_name.clone();
        record.endpoint = self.client.endpoint().map(|e| e.to_string());
        storage.set(&key, record).await?;
        Ok(())
    }

    /// Removes the source's record from the storage, if there is one.
    pub(super) async fn forget(&mut self) -> Result<()> {
        if let (Some(key), Some(storage)) = (self.key.as_deref(), self.storage.as_ref()) {
            storage.remove(key).await?;
        }
        Ok(())
    }
}
