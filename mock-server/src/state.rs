//! The uploads the server holds.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::SystemTime;

use crate::metadata::Metadata;

/// How an upload takes part in concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Concat {
    None,
    Partial,
    /// The partials' ids, in order.
    Final(Vec<String>),
}

/// One upload resource.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) id: String,
    pub(crate) length: Option<u64>,
    pub(crate) data: Vec<u8>,
    /// `Upload-Metadata` exactly as received, echoed on HEAD.
    pub(crate) metadata_header: Option<String>,
    pub(crate) metadata: Metadata,
    pub(crate) concat: Concat,
    /// `Upload-Concat` exactly as received, echoed on HEAD.
    pub(crate) concat_header: Option<String>,
    /// When the upload expires; `None` when it never does (no expiry, or finished).
    pub(crate) expires: Option<SystemTime>,
    pub(crate) terminated: bool,
}

impl Upload {
    pub(crate) fn offset(&self) -> u64 {
        self.data.len() as u64
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.length == Some(self.offset())
    }

    pub(crate) fn is_expired(&self, now: SystemTime) -> bool {
        !self.is_complete() && self.expires.is_some_and(|e| e <= now)
    }
}

/// Every upload, in creation order, with an index by id.
#[derive(Debug)]
pub(crate) struct State {
    uploads: Vec<Upload>,
    index: HashMap<String, usize>,
    id_prefix: u64,
    next: u64,
}

impl Default for State {
    fn default() -> Self {
        // A random prefix (std's RandomState is randomly keyed) so upload URLs from
        // two servers never look alike; a counter makes ids unique within one.
        let id_prefix = RandomState::new().hash_one(SystemTime::now());
        State {
            uploads: Vec::new(),
            index: HashMap::new(),
            id_prefix,
            next: 0,
        }
    }
}

impl State {
    /// Stores `upload` under a fresh id and returns that id.
    pub(crate) fn insert(&mut self, mut upload: Upload) -> String {
        self.next += 1;
        let id = format!("{:016x}{:08x}", self.id_prefix, self.next);
        upload.id = id.clone();
        self.index.insert(id.clone(), self.uploads.len());
        self.uploads.push(upload);
        id
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Upload> {
        self.index.get(id).map(|&i| &self.uploads[i])
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Upload> {
        match self.index.get(id) {
            Some(&i) => Some(&mut self.uploads[i]),
            None => None,
        }
    }

    pub(crate) fn all(&self) -> &[Upload] {
        &self.uploads
    }
}

/// The upload id in a URL, a path or a bare id: the last non-empty path segment,
/// without query or fragment.
pub(crate) fn id_from(url_or_id: &str) -> &str {
    let s = url_or_id.trim();
    let s = s.split(['?', '#']).next().unwrap_or(s);
    let s = s.trim_end_matches('/');
    s.rsplit('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_urls_paths_and_ids() {
        assert_eq!(id_from("http://127.0.0.1:1/files/abc"), "abc");
        assert_eq!(id_from("/files/abc?x=1"), "abc");
        assert_eq!(id_from("/files/abc/"), "abc");
        assert_eq!(id_from("abc"), "abc");
        assert_eq!(id_from(""), "");
    }

    #[test]
    fn ids_are_unique_and_indexed() {
        let mut s = State::default();
        let blank = Upload {
            id: String::new(),
            length: Some(1),
            data: vec![],
            metadata_header: None,
            metadata: vec![],
            concat: Concat::None,
            concat_header: None,
            expires: None,
            terminated: false,
        };
        let a = s.insert(blank.clone());
        let b = s.insert(blank);
        assert_ne!(a, b);
        assert_eq!(s.get(&b).unwrap().id, b);
        assert_eq!(s.all().len(), 2);
    }
}
