/// How many bytes from the start of a source the built-in fingerprints look at (64 KiB, as tuspy).
pub const DEFAULT_HEAD_LEN: usize = 64 * 1024;

/// Turns a source into a stable key for URL storage.
///
/// The uploader reads the first [`head_len`](Fingerprint::head_len) bytes of the source (fewer
/// when the source is shorter) and passes them with the source's total size. Implementations are
/// pure: the same bytes and size always give the same key.
///
/// A custom fingerprint needs one method:
///
/// ```
/// use tusky_fingerprint::Fingerprint;
///
/// /// Keys a source by its size alone (too weak for real use; an illustration).
/// struct SizeOnly;
///
/// impl Fingerprint for SizeOnly {
///     fn head_len(&self) -> usize {
///         0
///     }
///     fn fingerprint(&self, _head: &[u8], size: u64) -> String {
///         format!("size:{size}")
///     }
/// }
///
/// let fp: Box<dyn Fingerprint> = Box::new(SizeOnly);
/// assert_eq!(fp.fingerprint(b"", 42), "size:42");
/// ```
pub trait Fingerprint: Send + Sync {
    /// How many leading bytes of the source this fingerprint wants to see.
    fn head_len(&self) -> usize {
        DEFAULT_HEAD_LEN
    }

    /// The key for a source whose first bytes are `head` and whose size is `size`.
    fn fingerprint(&self, head: &[u8], size: u64) -> String;

    /// The key of the file at `path`, exactly as an uploader of that file computes it: to look
    /// up or remove a file's stored record without uploading it. Blocking file I/O.
    fn fingerprint_file(&self, path: &std::path::Path) -> std::io::Result<String> {
        use std::io::Read;
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        let mut head = Vec::with_capacity(self.head_len().min(1 << 20));
        file.take(self.head_len() as u64).read_to_end(&mut head)?;
        Ok(self.fingerprint(&head, size))
    }
}

impl<T: Fingerprint + ?Sized> Fingerprint for std::sync::Arc<T> {
    fn head_len(&self) -> usize {
        (**self).head_len()
    }
    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        (**self).fingerprint(head, size)
    }
}

impl<T: Fingerprint + ?Sized> Fingerprint for Box<T> {
    fn head_len(&self) -> usize {
        (**self).head_len()
    }
    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        (**self).fingerprint(head, size)
    }
}
