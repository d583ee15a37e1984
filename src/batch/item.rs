//! [`BatchItem`]: one file of a batch, with the metadata its upload carries.

use std::path::{Path, PathBuf};

/// The metadata key of a file's path inside the directory it was found in, as tus-js-client
/// and Uppy send it: `relativePath`.
pub const RELATIVE_PATH: &str = "relativePath";

/// One file of a [`Batch`](super::Batch): its path, and the `Upload-Metadata` its upload
/// carries.
///
/// The upload's metadata is the item's own pairs, then `filename` (the file's name) and
/// [`relativePath`](RELATIVE_PATH) (when the item has a relative path) unless the item already
/// has those keys.
///
/// ```
/// use tusky::batch::BatchItem;
///
/// let item = BatchItem::new("photos/2024/a.jpg")
///     .relative_path("photos/2024/a.jpg")
///     .metadata("filetype", "image/jpeg");
/// assert_eq!(
///     item.upload_metadata(),
///     [
///         ("filetype".to_owned(), "image/jpeg".to_owned()),
///         ("filename".to_owned(), "a.jpg".to_owned()),
///         ("relativePath".to_owned(), "photos/2024/a.jpg".to_owned()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    path: PathBuf,
    relative_path: Option<String>,
    metadata: Vec<(String, String)>,
}

impl BatchItem {
    /// The file at `path`, with no metadata of its own yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            relative_path: None,
            metadata: Vec::new(),
        }
    }

    /// The file's path inside the directory it was found in (with `/` between components),
    /// sent as [`relativePath`](RELATIVE_PATH).
    #[must_use]
    pub fn relative_path(mut self, relative: impl Into<String>) -> Self {
        self.relative_path = Some(relative.into());
        self
    }

    /// Adds (or replaces) an `Upload-Metadata` pair of this file's upload.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => self.metadata.push((key, value)),
        }
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's path inside the directory it was found in, if it was found in one.
    pub fn relative(&self) -> Option<&str> {
        self.relative_path.as_deref()
    }

    /// The `Upload-Metadata` pairs of this file's upload, in order.
    pub fn upload_metadata(&self) -> Vec<(String, String)> {
        let mut pairs = self.metadata.clone();
        let has = |pairs: &[(String, String)], key: &str| pairs.iter().any(|(k, _)| k == key);
        if !has(&pairs, "filename") {
            if let Some(name) = self.path.file_name() {
                pairs.push(("filename".to_owned(), name.to_string_lossy().into_owned()));
            }
        }
        if let Some(relative) = self
            .relative_path
            .as_ref()
            .filter(|_| !has(&pairs, RELATIVE_PATH))
        {
            pairs.push((RELATIVE_PATH.to_owned(), relative.clone()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pairs_win_over_the_defaults() {
        let item = BatchItem::new("dir/a.txt")
            .relative_path("dir/a.txt")
            .metadata("filename", "renamed.txt")
            .metadata("relativePath", "elsewhere/a.txt")
            .metadata("filename", "again.txt");
        assert_eq!(
            item.upload_metadata(),
            [
                ("filename".to_owned(), "again.txt".to_owned()),
                ("relativePath".to_owned(), "elsewhere/a.txt".to_owned()),
            ]
        );
    }

    #[test]
    fn a_file_given_alone_has_no_relative_path() {
        assert_eq!(
            BatchItem::new("a.txt").upload_metadata(),
            [("filename".to_owned(), "a.txt".to_owned())]
        );
    }
}
