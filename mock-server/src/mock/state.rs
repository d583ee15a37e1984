//! The uploads the mock holds: each one's info and its bytes in memory.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::SystemTime;

use crate::tus::idempotency::KeyLookup;
use crate::tus::info::UploadInfo;
use crate::tus::upload_id::random_id;
use crate::tus::uploads::Uploads;

/// One upload resource.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) info: UploadInfo,
    /// Exactly `info.offset` bytes.
    pub(crate) data: Vec<u8>,
}

/// Every upload, in creation order, with an index by id and by `Idempotency-Key`.
#[derive(Debug)]
pub(crate) struct State {
    uploads: Vec<Upload>,
    index: HashMap<String, usize>,
    keys: HashMap<String, usize>,
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
            keys: HashMap::new(),
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

    /// Stores a new upload under a fresh id (remembering its `Idempotency-Key`) and returns
    /// that id.
    pub(crate) fn insert(&mut self, mut info: UploadInfo, data: Vec<u8>) -> String {
        let id = self.fresh_id();
        info.id = id.clone();
        let at = self.uploads.len();
        self.index.insert(id.clone(), at);
        if let Some(record) = &info.idempotency {
            self.keys.insert(record.key.clone(), at);
        }
        self.uploads.push(Upload { info, data });
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

impl Uploads for State {
    fn info(&self, id: &str) -> Option<UploadInfo> {
        self.get(id).map(|u| u.info.clone())
    }

    fn by_key(&self, key: &str) -> KeyLookup {
        match self.keys.get(key) {
            Some(&i) => KeyLookup::Created(Box::new(self.uploads[i].info.clone())),
            None => KeyLookup::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tus::info::blank;

    #[test]
    fn ids_are_unique_and_indexed() {
        let mut s = State::default();
        let a = s.insert(blank(Some(1)), vec![]);
        let b = s.insert(blank(Some(1)), vec![]);
        assert_ne!(a, b);
        assert_eq!(s.get(&b).unwrap().info.id, b);
        assert_eq!(s.all().len(), 2);
    }

    #[test]
    fn random_ids_reveal_nothing_about_each_other() {
        let mut s = State::new(true);
        let ids: Vec<String> = (0..64).map(|_| s.insert(blank(Some(1)), vec![])).collect();
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
}
