//! [`FileIdentity`]: what tells that a file is still the one an upload started from.

/// A file's identity when its upload started: a resume compares it with the file now and
/// starts over when any field present on both sides differs (an edit changes the modification
/// time; a replaced file changes the inode).
///
/// ```
/// use tusky_storage::FileIdentity;
///
/// let then = FileIdentity::default().with_modified_nanos(1_700_000_000_000_000_000);
/// let now = FileIdentity::default().with_modified_nanos(1_700_000_000_500_000_000);
/// assert_eq!(then.difference(&then), None);
/// assert!(then.difference(&now).unwrap().contains("modification time"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(
    any(feature = "json", feature = "redb", feature = "redis"),
    derive(serde::Serialize, serde::Deserialize)
)]
#[non_exhaustive]
pub struct FileIdentity {
    /// The modification time, in nanoseconds since the Unix epoch.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub modified_nanos: Option<u64>,
    /// The inode number, where the platform has one.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub inode: Option<u64>,
    /// The device the file is on, where the platform says.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub device: Option<u64>,
    /// The canonical path.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub path: Option<String>,
    /// The machine the file was on (its machine id): the other fields mean something only
    /// there.
    #[cfg_attr(
        any(feature = "json", feature = "redb", feature = "redis"),
        serde(default)
    )]
    pub machine: Option<String>,
}

impl FileIdentity {
    /// Sets the modification time.
    #[must_use]
    pub fn with_modified_nanos(mut self, nanos: u64) -> Self {
        self.modified_nanos = Some(nanos);
        self
    }

    /// Sets the inode and device.
    #[must_use]
    pub fn with_inode(mut self, device: u64, inode: u64) -> Self {
        self.device = Some(device);
        self.inode = Some(inode);
        self
    }

    /// Sets the machine.
    #[must_use]
    pub fn with_machine(mut self, machine: impl Into<String>) -> Self {
        self.machine = Some(machine.into());
        self
    }

    /// Whether `other` was taken on another machine (both say which, and they differ).
    pub fn other_machine(&self, other: &FileIdentity) -> bool {
        matches!((&self.machine, &other.machine), (Some(a), Some(b)) if a != b)
    }

    /// Sets the canonical path.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// What differs between `self` (then) and `now`, among the fields both have; `None` when
    /// nothing does, or when they were taken on different machines (a copy of the file on
    /// another machine has its own time, inode and path: only its fingerprint can be compared).
    pub fn difference(&self, now: &FileIdentity) -> Option<String> {
        if self.other_machine(now) {
            return None;
        }
        fn differs<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        if differs(&self.modified_nanos, &now.modified_nanos) {
            return Some(format!(
                "its modification time changed ({} → {} ns since the epoch)",
                self.modified_nanos.unwrap_or_default(),
                now.modified_nanos.unwrap_or_default()
            ));
        }
        if differs(&self.device, &now.device) || differs(&self.inode, &now.inode) {
            return Some("it was replaced by another file (its inode changed)".to_owned());
        }
        if differs(&self.path, &now.path) {
            return Some(format!(
                "it is another file ({} then, {} now)",
                self.path.as_deref().unwrap_or_default(),
                now.path.as_deref().unwrap_or_default()
            ));
        }
        None
    }
}

/// What the first `len` bytes of a file were when they were uploaded: their SHA-256, kept by
/// an uploader that verifies content before resuming (`verify_resumed_content`), so that a
/// resume can prove the file still starts with the bytes the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(
    any(feature = "json", feature = "redb", feature = "redis"),
    derive(serde::Serialize, serde::Deserialize)
)]
#[non_exhaustive]
pub struct PrefixDigest {
    /// How many bytes from the start.
    pub len: u64,
    /// Their SHA-256, lower-case hex.
    pub sha256: String,
}

impl PrefixDigest {
    /// The digest of the first `len` bytes.
    pub fn new(len: u64, sha256: impl Into<String>) -> Self {
        Self {
            len,
            sha256: sha256.into(),
        }
    }
}
