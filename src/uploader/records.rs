//! An upload's record in the storage: found by the source's fingerprint *and* the server it
//! belongs to, written before any data is sent, forgotten when the upload is done or gone.
//! Single and parallel uploads both keep their records here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use super::idempotency::IdempotencyKey;
use super::single::RecordFacts;
use super::state::RemoteUpload;
use crate::fingerprint::Fingerprint;
use crate::source::Source;
use crate::storage::{file_key, scoped_key, FileIdentity, Storage, StorageError, UploadRecord};
use crate::{Error, Result};

pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A stored expiry as a time; one too far in the future to represent is taken as none.
fn from_unix_seconds(seconds: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The server a record belongs to: the creation endpoint (without credentials), or the
/// upload URL's origin when there is no endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    endpoint: Option<Url>,
    origin: url::Origin,
    text: String,
}

impl Scope {
    pub(crate) fn new(endpoint: Option<&Url>, url: Option<&Url>) -> Option<Self> {
        let endpoint = endpoint.map(without_credentials);
        let (origin, text) = match (&endpoint, url) {
            (Some(endpoint), _) => (endpoint.origin(), endpoint.to_string()),
            (None, Some(url)) => (url.origin(), url.origin().ascii_serialization()),
            (None, None) => return None,
        };
        Some(Self {
            endpoint,
            origin,
            text,
        })
    }

    /// Whether `record` (found under the bare fingerprint: written before keys were scoped,
    /// or by tuspy) belongs to this server: its endpoint is this one, or, without an endpoint,
    /// its URL is on this origin.
    fn owns(&self, record: &UploadRecord) -> bool {
        match (&record.endpoint, &self.endpoint) {
            (Some(theirs), Some(ours)) => {
                Url::parse(theirs).is_ok_and(|theirs| without_credentials(&theirs) == *ours)
            }
            _ => {
                // A parallel record's first slot is empty while its part is not created yet.
                let first = if record.url.is_empty() {
                    record
                        .partial_urls
                        .iter()
                        .map(String::as_str)
                        .find(|u| !u.is_empty())
                } else {
                    Some(record.url.as_str())
                };
                first
                    .and_then(|u| Url::parse(u).ok())
                    .is_some_and(|u| u.origin() == self.origin)
            }
        }
    }
}

/// `url` without user name and password (they never go into a store).
pub(crate) fn without_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Found {
    /// An upload to continue (for a finished parallel upload, its final upload).
    Upload {
        url: Url,
        expires: Option<SystemTime>,
        file: Option<FileIdentity>,
        prefix: Option<crate::storage::PrefixDigest>,
    },
    /// An unfinished parallel upload of the same size.
    Parallel {
        parts: StoredParts,
        file: Option<FileIdentity>,
    },
    /// A record that cannot be used (it was removed): why.
    Unusable(String),
}

/// An unfinished parallel upload, as its record names it.
#[derive(Debug, Clone)]
pub(crate) struct StoredParts {
    /// Its partial uploads in file order (`None` for a part not created before the run
    /// stopped).
    pub partials: Vec<Option<Url>>,
    pub expires: Option<SystemTime>,
    /// The final POST's `Idempotency-Key`, when one was stored before that POST was sent.
    pub final_key: Option<IdempotencyKey>,
}

#[derive(Debug, Clone)]
struct Keys {
    /// Where this uploader's record is written (a record found under another key — another
    /// machine's — is adopted: its key is used from then on).
    key: String,
    /// What a record of this file on another machine's key starts with.
    file_prefix: Option<String>,
    /// This file's identity.
    file: Option<FileIdentity>,
    /// The bare fingerprint, where records were kept before keys were scoped (and where a
    /// tuspy store keeps them).
    bare: String,
    scope: Scope,
}

/// The storage, the fingerprint, and the key of this uploader's source.
pub(crate) struct Records<S, F> {
    storage: Option<S>,
    fingerprint: F,
    source_name: Option<String>,
    keys: Option<Keys>,
}

impl<S: Storage, F: Fingerprint> Records<S, F> {
    /// `storage` is `None` when the uploader does not resume.
    pub(crate) fn new(storage: Option<S>, fingerprint: F, source_name: Option<String>) -> Self {
        Self {
            storage,
            fingerprint,
            source_name,
            keys: None,
        }
    }

    /// The record's key, once computed.
    pub(crate) fn key(&self) -> Option<&str> {
        self.keys.as_ref().map(|k| k.key.as_str())
    }

    /// Computes the key of `source` for `scope`, once (nothing without a storage, or for a
    /// source that cannot be fingerprinted, like a stream).
    pub(crate) async fn prepare(
        &mut self,
        source: &mut Source,
        scope: Option<Scope>,
    ) -> Result<()> {
        let (Some(storage), None, Some(scope)) = (&self.storage, &self.keys, scope) else {
            return Ok(());
        };
        let Some(size) = source.size().filter(|_| source.is_seekable()) else {
            return Ok(());
        };
        let head = source
            .head(self.fingerprint.head_len())
            .await
            .map_err(|source| Error::Source {
                context: crate::error::Context::new(
                    crate::error::Operation::ReadSource,
                    None,
                    Some(0),
                ),
                source,
            })?
            .unwrap_or_default();
        let bare = self.fingerprint.fingerprint(&head, size);
        let file = source.file_identity().cloned();
        let on_file = file.as_ref().and_then(|f| Some((f.device?, f.inode?)));
        let (key, file_prefix) = match on_file {
            _ if !storage.keys_include_server() => (bare.clone(), None),
            Some((device, inode)) => (
                file_key(&bare, &scope.text, device, inode),
                Some(file_key(&bare, &scope.text, 0, 0).replace(" file 0:0", " file ")),
            ),
            None => (scoped_key(&bare, &scope.text), None),
        };
        self.keys = Some(Keys {
            key,
            file_prefix,
            file,
            bare,
            scope,
        });
        Ok(())
    }

    fn store(&self) -> Option<(&S, &Keys)> {
        Some((self.storage.as_ref()?, self.keys.as_ref()?))
    }

    /// The record for this source on this server: under its key, else under the bare
    /// fingerprint if it belongs to this server.
    pub(super) async fn get(&self) -> Result<Option<(String, UploadRecord)>> {
        let Some((storage, keys)) = self.store() else {
            return Ok(None);
        };
        if let Some(record) = storage.get(&keys.key).await.map_err(failed(&keys.key))? {
            if keys.key != keys.bare || keys.scope.owns(&record) {
                return Ok(Some((keys.key.clone(), record)));
            }
            return Ok(None);
        }
        if keys.key == keys.bare {
            return Ok(None);
        }
        let legacy = storage.get(&keys.bare).await.map_err(failed(&keys.bare))?;
        if let Some(record) = legacy.filter(|record| keys.scope.owns(record)) {
            return Ok(Some((keys.bare.clone(), record)));
        }
        self.on_another_machine(storage, keys).await
    }

    /// A record of this file (same fingerprint, same server) made on another machine that
    /// shares the store: the upload can continue here.
    async fn on_another_machine(
        &self,
        storage: &S,
        keys: &Keys,
    ) -> Result<Option<(String, UploadRecord)>> {
        let (Some(prefix), Some(ours)) = (&keys.file_prefix, &keys.file) else {
            return Ok(None);
        };
        // This file's records only: a store shared by a fleet holds everyone's.
        let records = storage.list_prefix(prefix).await.map_err(failed(prefix))?;
        Ok(records.into_iter().find(|(key, record)| {
            key.starts_with(prefix.as_str())
                && record
                    .file
                    .as_ref()
                    .is_some_and(|theirs| theirs.other_machine(ours))
        }))
    }

    /// Looks the source up. An expired or malformed record is removed and reported as
    /// [`Found::Unusable`]; a parallel record of another size is too.
    pub(crate) async fn lookup(&mut self, size: Option<u64>) -> Result<Option<Found>> {
        let Some((key, record)) = self.get().await? else {
            return Ok(None);
        };
        if let Some(keys) = self.keys.as_mut().filter(|k| k.key != key && key != k.bare) {
            tracing::info!(%key, "continuing an upload another machine started");
            keys.key = key.clone();
        }
        let found = classify_record(&record, size);
        if let Found::Unusable(reason) = &found {
            tracing::warn!(%reason, "not resuming");
            if let Some((storage, _)) = self.store() {
                storage.remove(&key).await.map_err(failed(&key))?;
            }
        } else if self.keys.as_ref().is_some_and(|keys| keys.key != key) {
            // Found under the bare fingerprint: from now on it lives under the scoped key.
            self.write(record).await?;
        }
        Ok(Some(found))
    }

    /// Writes `record` under this source's key (and retires a record of this server kept under
    /// the bare fingerprint).
    pub(super) async fn write(&self, mut record: UploadRecord) -> Result<()> {
        let Some((storage, keys)) = self.store() else {
            return Ok(());
        };
        record.source = self.source_name.clone();
        record.endpoint = keys.scope.endpoint.as_ref().map(Url::to_string);
        record.created_unix = self.created_unix(storage, keys, &record).await?;
        storage
            .set(&keys.key, record)
            .await
            .map_err(failed(&keys.key))?;
        self.retire_bare(storage, keys).await
    }

    /// When the upload `record` describes was first recorded: the stored record's time when it
    /// is the same upload (the same URL; or a parallel upload, whose record is rewritten as its
    /// parts and then its final upload are created), else now. A record that starts over was
    /// forgotten first, so it gets a new time.
    async fn created_unix(
        &self,
        storage: &S,
        keys: &Keys,
        record: &UploadRecord,
    ) -> Result<Option<u64>> {
        let stored = storage.get(&keys.key).await.map_err(failed(&keys.key))?;
        let kept = stored
            .filter(|old| old.url.is_empty() || record.url.is_empty() || old.url == record.url)
            .and_then(|old| old.created_unix);
        let now = || unix_seconds(SystemTime::now());
        Ok(Some(kept.or(record.created_unix).unwrap_or_else(now)))
    }

    async fn retire_bare(&self, storage: &S, keys: &Keys) -> Result<()> {
        if keys.key == keys.bare {
            return Ok(());
        }
        match storage.get(&keys.bare).await.map_err(failed(&keys.bare))? {
            Some(record) if keys.scope.owns(&record) => {
                storage.remove(&keys.bare).await.map_err(failed(&keys.bare))
            }
            _ => Ok(()),
        }
    }

    /// Records a single upload (or a parallel upload's final upload) of a source of `size`
    /// bytes, from `file` when it is one.
    pub(crate) async fn remember(&self, remote: &RemoteUpload, facts: &RecordFacts) -> Result<()> {
        let mut record = UploadRecord::new(without_credentials(&remote.url).as_str());
        record.size = facts.size;
        record.expires_unix = remote.expires.map(unix_seconds);
        record.file = facts.file.clone();
        record.prefix = facts.prefix.clone();
        self.write(record).await
    }

    /// Records an unfinished parallel upload: its partial uploads, in order (an empty URL for
    /// a part not created yet), and the final POST's key once it is about to be sent.
    pub(crate) async fn remember_parallel(
        &self,
        (size, file): (u64, Option<&FileIdentity>),
        partials: &[Option<Url>],
        expires: Option<SystemTime>,
        final_key: Option<&IdempotencyKey>,
    ) -> Result<()> {
        let urls = partials
            .iter()
            .map(|u| {
                u.as_ref()
                    .map(|u| without_credentials(u).to_string())
                    .unwrap_or_default()
            })
            .collect();
        let mut record = UploadRecord::new("")
            .with_size(size)
            .with_partial_urls(urls);
        record.expires_unix = expires.map(unix_seconds);
        record.file = file.cloned();
        record.final_idempotency_key = final_key.map(|key| key.as_str().to_owned());
        self.write(record).await
    }

    /// Removes this source's record for this server, if there is one.
    pub(crate) async fn forget(&self) -> Result<()> {
        let Some((storage, keys)) = self.store() else {
            return Ok(());
        };
        storage.remove(&keys.key).await.map_err(failed(&keys.key))?;
        self.retire_bare(storage, keys).await
    }
}

fn failed(key: &str) -> impl Fn(StorageError) -> Error + '_ {
    move |source| Error::Storage {
        key: Some(key.to_owned()),
        source,
    }
}

/// What a stored record means for a source of `size` bytes.
fn classify_record(record: &UploadRecord, size: Option<u64>) -> Found {
    let now = unix_seconds(SystemTime::now());
    let expires = record.expires_unix;
    if expires.is_some_and(|expires| expires <= now) {
        return Found::Unusable(format!(
            "the stored upload {} has expired",
            if record.url.is_empty() {
                "(parallel)"
            } else {
                &record.url
            }
        ));
    }
    let expires = expires.and_then(from_unix_seconds);
    if record.url.is_empty() && !record.partial_urls.is_empty() {
        let partials: Option<Vec<Option<Url>>> = record
            .partial_urls
            .iter()
            .map(|u| match u.as_str() {
                "" => Some(None),
                u => Url::parse(u).ok().map(Some),
            })
            .collect();
        return match partials {
            Some(partials) if record.size.is_some() && record.size == size => Found::Parallel {
                parts: StoredParts {
                    partials,
                    expires,
                    final_key: record
                        .final_idempotency_key
                        .as_deref()
                        .and_then(IdempotencyKey::parse),
                },
                file: record.file.clone(),
            },
            _ => {
                Found::Unusable("the stored parallel upload is not usable for this file".to_owned())
            }
        };
    }
    match Url::parse(&record.url) {
        Ok(url) => Found::Upload {
            url,
            expires,
            file: record.file.clone(),
            prefix: record.prefix.clone(),
        },
        Err(_) => Found::Unusable(format!("the stored URL {:?} is not a URL", record.url)),
    }
}
