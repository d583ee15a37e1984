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
    ids: Ids,
}

/// How upload ids are made.
#[derive(Debug)]
enum Ids {
    /// A per-server random prefix and a counter: ids from two servers never look alike, and a
    /// test can tell the creation order from an id.
    Counted { prefix: u64, next: u64 },
    /// 128 random bits each ([`random_id`]).
    Random,
}

impl Default for State {
    fn default() -> Self {
        Self::new(false)
    }
}

/// A fresh upload id: 128 random bits from a cryptographically secure generator, in hex.
///
/// An upload URL is often the only credential for the upload (on `tusky serve`, say), so one
/// URL must reveal nothing about the others: no shared prefix, no counter.
fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl State {
    /// No uploads yet; ids random when `random_ids`, else counted.
    pub(crate) fn new(random_ids: bool) -> Self {
        let ids = if random_ids {
            Ids::Random
        } else {
            // std's RandomState is randomly keyed.
            let prefix = RandomState::new().hash_one(SystemTime::now());
            Ids::Counted { prefix, next: 0 }
        };
        State {
            uploads: Vec::new(),
            index: HashMap::new(),
            ids,
        }
    }

    fn fresh_id(&mut self) -> String {
        match &mut self.ids {
            Ids::Counted { prefix, next } => {
                *next += 1;
                format!("{prefix:016x}{next:08x}")
            }
            Ids::Random => loop {
                let id = random_id();
                if !self.index.contains_key(&id) {
                    return id;
                }
            },
        }
    }

    /// Stores `upload` under a fresh id and returns that id.
    pub(crate) fn insert(&mut self, mut upload: Upload) -> String {
        let id = self.fresh_id();
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
        let a = s.insert(blank());
        let b = s.insert(blank());
        assert_ne!(a, b);
        assert_eq!(s.get(&b).unwrap().id, b);
        assert_eq!(s.all().len(), 2);
    }

    #[test]
    fn random_ids_reveal_nothing_about_each_other() {
        let mut s = State::new(true);
        let ids: Vec<String> = (0..64).map(|_| s.insert(blank())).collect();
        for id in &ids {
            assert_eq!(id.len(), 32, "128 bits: {id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
        for pair in ids.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (x, y) = (
                u128::from_str_radix(a, 16).unwrap(),
                u128::from_str_radix(b, 16).unwrap(),
            );
            assert!(y.abs_diff(x) > u128::from(u64::MAX), "close ids: {a} {b}");
            // No shared prefix (a per-server prefix plus a counter would share 16 digits).
            let common = a.bytes().zip(b.bytes()).take_while(|(p, q)| p == q).count();
            assert!(common < 8, "ids share a {common}-digit prefix: {a} {b}");
        }
    }

    fn blank() -> Upload {
        Upload {
            id: String::new(),
            length: Some(1),
            data: vec![],
            metadata_header: None,
            metadata: vec![],
            concat: Concat::None,
            concat_header: None,
            expires: None,
            terminated: false,
        }
    }
}
