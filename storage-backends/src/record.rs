use crate::{FileIdentity, PrefixDigest};

/// What is remembered about one upload: enough to resume it safely.
///
/// The struct is `#[non_exhaustive]`: build it with [`new`](UploadRecord::new) and the
/// `with_*` methods.
///
/// ```
/// use tusky_storage::UploadRecord;
///
/// let record = UploadRecord::new("https://tus.example/files/1")
///     .with_size(11)
///     .with_expires_unix(1_700_000_000)
///     .with_source("/home/me/hello.txt")
///     .with_endpoint("https://tus.example/files/")
///     .with_created_unix(1_699_000_000);
/// assert_eq!(record.size, Some(11));
/// assert!(record.partial_urls.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(
    any(feature = "json", feature = "redb", feature = "redis"),
    derive(serde::Serialize, serde::Deserialize)
)]
#[non_exhaustive]
pub struct UploadRecord {
    /// The upload URL (for a parallel upload, the final upload's URL once it exists, else empty).
    pub url: String,
    /// The source's size in bytes, when known; resuming checks it against the server's.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub size: Option<u64>,
    /// When the server said the upload expires (`Upload-Expires`), as seconds since the Unix epoch.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub expires_unix: Option<u64>,
    /// The partial uploads of a parallel upload, in source order.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub partial_urls: Vec<String>,
    /// A human-readable name of the source (a path), for listings.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub source: Option<String>,
    /// The endpoint the upload was created at.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub endpoint: Option<String>,
    /// The file's identity when the upload started (`None` for other sources, and in records
    /// written by tuspy or before identities were kept: those resume without the check).
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub file: Option<FileIdentity>,
    /// The digest of the bytes acknowledged so far, when the uploader verifies content.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub prefix: Option<PrefixDigest>,
    /// When the upload was first recorded, as seconds since the Unix epoch (`None` in records
    /// written by tuspy or before creation times were kept): how old an upload is, for pruning.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub created_unix: Option<u64>,
    /// When every byte of the upload was acknowledged, as seconds since the Unix epoch, when
    /// the record was kept as a completion record (by a batch, so that running it again skips
    /// this file); `None` for an unfinished upload. A completion record's `url` is the finished
    /// upload and its `expires_unix` when the record stops counting.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub completed_unix: Option<u64>,
    /// The `Idempotency-Key` of a parallel upload's final concatenation POST, stored before
    /// that POST is sent, so that a run after a crash or a lost answer repeats the POST with
    /// the same key (`None` without idempotent creation, and in records written before it).
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub final_idempotency_key: Option<String>,
}

impl UploadRecord {
    /// A record for `url` with nothing else known.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Sets the source size.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the expiry (seconds since the Unix epoch).
    #[must_use]
    pub fn with_expires_unix(mut self, expires_unix: u64) -> Self {
        self.expires_unix = Some(expires_unix);
        self
    }

    /// Sets the partial upload URLs.
    #[must_use]
    pub fn with_partial_urls(mut self, partial_urls: Vec<String>) -> Self {
        self.partial_urls = partial_urls;
        self
    }

    /// Sets the source's display name.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the endpoint.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the digest of the acknowledged bytes.
    #[must_use]
    pub fn with_prefix(mut self, prefix: PrefixDigest) -> Self {
        self.prefix = Some(prefix);
        self
    }

    /// Sets the file's identity.
    #[must_use]
    pub fn with_file(mut self, file: FileIdentity) -> Self {
        self.file = Some(file);
        self
    }

    /// Sets when the upload was first recorded (seconds since the Unix epoch).
    ///
    /// ```
    /// use tusky_storage::UploadRecord;
    ///
    /// let record = UploadRecord::new("https://tus.example/files/1").with_created_unix(1_700_000_000);
    /// assert_eq!(record.created_unix, Some(1_700_000_000));
    /// ```
    #[must_use]
    pub fn with_created_unix(mut self, created_unix: u64) -> Self {
        self.created_unix = Some(created_unix);
        self
    }

    /// Marks the upload complete at `completed_unix` (seconds since the Unix epoch): a
    /// completion record.
    ///
    /// ```
    /// use tusky_storage::UploadRecord;
    ///
    /// let record = UploadRecord::new("https://tus.example/files/1").with_completed_unix(1_700_000_000);
    /// assert!(record.is_completed());
    /// assert!(!UploadRecord::new("https://tus.example/files/2").is_completed());
    /// ```
    #[must_use]
    pub fn with_completed_unix(mut self, completed_unix: u64) -> Self {
        self.completed_unix = Some(completed_unix);
        self
    }

    /// Whether this is a completion record (a finished upload kept so a batch skips it).
    pub fn is_completed(&self) -> bool {
        self.completed_unix.is_some()
    }

    /// Sets the `Idempotency-Key` of the final concatenation POST.
    ///
    /// ```
    /// use tusky_storage::UploadRecord;
    ///
    /// let record = UploadRecord::new("")
    ///     .with_partial_urls(vec!["https://tus.example/files/a".into()])
    ///     .with_final_idempotency_key("5f0c3f6e8a2b4d1c9e7a6b5c4d3e2f10");
    /// assert!(record.final_idempotency_key.is_some());
    /// ```
    #[must_use]
    pub fn with_final_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.final_idempotency_key = Some(key.into());
        self
    }
}
