//! [`Registry`]: the uploads the streaming server holds (their info, in memory, mirrored by
//! the `.info` files), which of them a request is writing, and the `Idempotency-Key`s.
//!
//! One request at a time writes an upload: a `PATCH` or `DELETE` that finds the upload busy
//! gets **423 Locked** at once (as tusd answers; tus clients retry it, tusky included) rather
//! than waiting behind a body that may never end. `HEAD` is never locked out: it answers the
//! offset of the last finished request.
//!
//! A final upload is claimed by the copy of its partials' bytes (`concatenation.rs`) until
//! the copy ends; [`Registry::wait_concatenated`] waits for that.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::tus::creation::Creation;
use crate::tus::idempotency::KeyLookup;
use crate::tus::info::{Concat, UploadInfo};
use crate::tus::reply::Reply;
use crate::tus::upload_id::random_id;
use crate::tus::uploads::Uploads;

/// What the server knows about a key.
#[derive(Debug, Clone)]
enum Key {
    /// A creation with this key is receiving its body.
    Pending,
    /// The upload it created.
    Created(String),
}

#[derive(Debug)]
struct Entry {
    info: UploadInfo,
    /// A request is writing this upload.
    busy: bool,
}

/// The uploads, under one lock that is never held across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    /// Notified when a final upload's copy ends ([`Claim::release_with`]) or an upload goes.
    updated: Condvar,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    uploads: HashMap<String, Entry>,
    keys: HashMap<String, Key>,
}

impl Registry {
    /// A registry holding `uploads` (read back from the directory).
    pub(crate) fn new(uploads: Vec<UploadInfo>) -> Self {
        let mut inner = Inner::default();
        for info in uploads {
            inner.insert(info);
        }
        Registry {
            inner: Mutex::new(inner),
            updated: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the uploads as the protocol rules see them.
    #[cfg(test)]
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.lock())
    }

    /// Upload `id`'s info.
    pub(crate) fn info(&self, id: &str) -> Option<UploadInfo> {
        self.lock().uploads.get(id).map(|e| e.info.clone())
    }

    /// Upload `id`'s info once it is not a final upload being concatenated, waiting (blocking
    /// the thread) at most `timeout` for that; `None` for an unknown upload. After the timeout
    /// the info is returned as it stands.
    pub(crate) fn wait_concatenated(&self, id: &str, timeout: Duration) -> Option<UploadInfo> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        loop {
            let info = inner.uploads.get(id).map(|e| e.info.clone());
            let left = deadline.saturating_duration_since(Instant::now());
            match info {
                Some(info) if info.is_concatenating() && !left.is_zero() => {
                    inner = self
                        .updated
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                other => return other,
            }
        }
    }

    /// Whether a final upload whose copy has not ended is made from upload `id` (a partial
    /// upload: its file must stay until then, a restart copies from it again).
    pub(crate) fn feeds_a_concatenation(&self, id: &str) -> bool {
        self.lock().uploads.values().any(|e| {
            e.info.is_concatenating()
                && matches!(&e.info.concat, Concat::Final(ids) if ids.iter().any(|p| p == id))
        })
    }

    /// Every upload's info.
    pub(crate) fn all(&self) -> Vec<UploadInfo> {
        self.lock()
            .uploads
            .values()
            .map(|e| e.info.clone())
            .collect()
    }

    /// Upload `id`'s info, and the right to write it when no other request has it (`None`
    /// when busy: answer 423).
    pub(crate) fn claim(self: &Arc<Self>, id: &str) -> (Option<UploadInfo>, Option<Claim>) {
        let mut inner = self.lock();
        let Some(entry) = inner.uploads.get_mut(id) else {
            return (None, None);
        };
        let claim = if entry.busy {
            None
        } else {
            entry.busy = true;
            Some(Claim {
                registry: Arc::clone(self),
                id: id.to_owned(),
                held: true,
            })
        };
        (Some(entry.info.clone()), claim)
    }

    /// Runs `decide` on the uploads and, when it plans a new upload, reserves a fresh id for
    /// it, and its `Idempotency-Key` while its body arrives, under the same lock (so two
    /// requests with one key never both create).
    pub(crate) fn decide_creation(
        self: &Arc<Self>,
        decide: impl FnOnce(&Inner) -> Result<Creation, Reply>,
    ) -> Result<(Creation, Option<Reservation>), Reply> {
        let mut inner = self.lock();
        let creation = decide(&inner)?;
        let Creation::New(plan) = &creation else {
            return Ok((creation, None));
        };
        let key = plan.info.idempotency.as_ref().map(|r| r.key.clone());
        if let Some(key) = &key {
            inner.keys.insert(key.clone(), Key::Pending);
        }
        let id = loop {
            let id = random_id();
            if !inner.uploads.contains_key(&id) {
                break id;
            }
        };
        let reservation = Reservation {
            registry: Arc::clone(self),
            id,
            key,
        };
        Ok((creation, Some(reservation)))
    }
}

impl Inner {
    fn insert(&mut self, info: UploadInfo) {
        if let Some(record) = &info.idempotency {
            self.keys
                .insert(record.key.clone(), Key::Created(info.id.clone()));
        }
        self.uploads
            .insert(info.id.clone(), Entry { info, busy: false });
    }

    fn forget_key(&mut self, info: &UploadInfo) {
        if let Some(record) = &info.idempotency {
            if matches!(self.keys.get(&record.key), Some(Key::Created(id)) if *id == info.id) {
                self.keys.remove(&record.key);
            }
        }
    }
}

impl Uploads for Inner {
    fn info(&self, id: &str) -> Option<UploadInfo> {
        self.uploads.get(id).map(|e| e.info.clone())
    }

    fn by_key(&self, key: &str) -> KeyLookup {
        match self.keys.get(key) {
            None => KeyLookup::Unknown,
            Some(Key::Pending) => KeyLookup::Pending,
            Some(Key::Created(id)) => match self.uploads.get(id) {
                Some(e) => KeyLookup::Created(Box::new(e.info.clone())),
                None => KeyLookup::Unknown,
            },
        }
    }
}

/// The right to write one upload; given back when dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    registry: Arc<Registry>,
    id: String,
    /// Still to be given back when dropped (`false` once [`Claim::release_with`] did).
    held: bool,
}

impl Claim {
    /// Records the upload's new info (already saved to disk).
    pub(crate) fn update(&self, info: UploadInfo) {
        let mut inner = self.registry.lock();
        if let Some(entry) = inner.uploads.get_mut(&self.id) {
            entry.info = info;
        }
    }

    /// Records the upload's new info (already saved to disk) and gives the claim back, in one
    /// step: whoever is woken by the change (a waiter for a final upload's copy) finds the
    /// upload free, so a `DELETE` right after gets no 423.
    pub(crate) fn release_with(mut self, info: UploadInfo) {
        let mut inner = self.registry.lock();
        if let Some(entry) = inner.uploads.get_mut(&self.id) {
            entry.info = info;
            entry.busy = false;
        }
        self.held = false;
        self.registry.updated.notify_all();
    }

    /// Forgets the upload (terminated) and its key.
    pub(crate) fn remove(self) {
        let mut inner = self.registry.lock();
        if let Some(entry) = inner.uploads.remove(&self.id) {
            inner.forget_key(&entry.info);
        }
        self.registry.updated.notify_all();
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let mut inner = self.registry.lock();
        if let Some(entry) = inner.uploads.get_mut(&self.id) {
            entry.busy = false;
        }
    }
}

/// A new upload's id (and key) while its first body arrives; the key is freed when dropped
/// without [`Reservation::insert`].
#[derive(Debug)]
pub(crate) struct Reservation {
    registry: Arc<Registry>,
    pub(crate) id: String,
    key: Option<String>,
}

impl Reservation {
    /// Adds the new upload (its files already written).
    pub(crate) fn insert(mut self, info: UploadInfo) {
        self.key = None;
        self.registry.lock().insert(info);
    }

    /// Adds the new upload claimed: no other request writes it until the claim is dropped
    /// (a final upload, while its partials' bytes are copied into it).
    pub(crate) fn insert_claimed(mut self, info: UploadInfo) -> Claim {
        self.key = None;
        let id = info.id.clone();
        let mut inner = self.registry.lock();
        inner.insert(info);
        if let Some(entry) = inner.uploads.get_mut(&id) {
            entry.busy = true;
        }
        Claim {
            registry: Arc::clone(&self.registry),
            id,
            held: true,
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut inner = self.registry.lock();
            if matches!(inner.keys.get(&key), Some(Key::Pending)) {
                inner.keys.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tus::creation::{CreationBody, CreationPlan};
    use crate::tus::idempotency::{CreationAsk, IdempotencyRecord};
    use crate::tus::info::blank;

    fn keyed(id: &str, key: &str) -> UploadInfo {
        let mut info = blank(Some(1));
        info.id = id.to_owned();
        info.idempotency = Some(IdempotencyRecord {
            key: key.to_owned(),
            ask: CreationAsk {
                length: Some(1),
                deferred: false,
                concat: None,
            },
        });
        info
    }

    #[test]
    fn one_writer_per_upload() {
        let registry = Arc::new(Registry::new(vec![keyed("a", "k")]));
        let (info, first) = registry.claim("a");
        assert!(info.is_some() && first.is_some());
        let (info, second) = registry.claim("a");
        assert!(info.is_some() && second.is_none(), "busy");
        drop(first);
        assert!(registry.claim("a").1.is_some(), "given back");
        assert_eq!(registry.claim("b").0, None);
    }

    fn new_upload(key: &str) -> Creation {
        Creation::New(CreationPlan {
            info: keyed("", key),
            body: CreationBody::Nothing,
            expires_at: None,
            answer_offset: false,
        })
    }

    #[test]
    fn keys_are_pending_then_created_then_forgotten() {
        let registry = Arc::new(Registry::default());
        let (_, reservation) = registry.decide_creation(|_| Ok(new_upload("k"))).unwrap();
        let reservation = reservation.unwrap();
        assert!(matches!(
            registry.with(|i| i.by_key("k")),
            KeyLookup::Pending
        ));
        let id = reservation.id.clone();
        reservation.insert(keyed(&id, "k"));
        assert!(matches!(
            registry.with(|i| i.by_key("k")),
            KeyLookup::Created(_)
        ));
        registry.claim(&id).1.unwrap().remove();
        assert!(matches!(
            registry.with(|i| i.by_key("k")),
            KeyLookup::Unknown
        ));
        assert!(registry.info(&id).is_none());

        // A creation that fails frees its key.
        let (_, reservation) = registry.decide_creation(|_| Ok(new_upload("k2"))).unwrap();
        drop(reservation);
        assert!(matches!(
            registry.with(|i| i.by_key("k2")),
            KeyLookup::Unknown
        ));
        // A refusal reserves nothing.
        let refused = registry.decide_creation(|_| Err(Reply::new(400)));
        assert_eq!(refused.unwrap_err().status, 400);
    }

    #[test]
    fn a_final_upload_is_claimed_by_its_copy_and_waited_for() {
        use std::time::Duration;

        let registry = Arc::new(Registry::default());
        let (_, reservation) = registry.decide_creation(|_| Ok(new_upload("k"))).unwrap();
        let reservation = reservation.unwrap();
        let mut info = keyed(&reservation.id, "k");
        info.concat = Concat::Final(vec!["p".into()]);
        let id = info.id.clone();
        let copy = reservation.insert_claimed(info.clone());
        assert!(registry.claim(&id).1.is_none(), "DELETE meets 423");
        assert!(registry.feeds_a_concatenation("p") && !registry.feeds_a_concatenation(&id));
        let early = registry.wait_concatenated(&id, Duration::ZERO).unwrap();
        assert!(
            early.is_concatenating(),
            "a deadline passed returns it as it stands"
        );

        // A waiter woken by the end of the copy finds the upload settled and free at once.
        let (started, woken) = (std::sync::mpsc::channel(), std::sync::mpsc::channel());
        let waiter = std::thread::spawn({
            let registry = Arc::clone(&registry);
            let id = id.clone();
            let (started, woken) = (started.0, woken.0);
            move || {
                let _ = started.send(());
                let settled = registry.wait_concatenated(&id, Duration::from_secs(3600));
                let free = registry.claim(&id).1.is_some();
                let _ = woken.send((settled, free));
            }
        });
        started.1.recv().unwrap();
        info.offset = 1;
        copy.release_with(info);
        let (settled, free) = woken.1.recv_timeout(Duration::from_secs(30)).unwrap();
        let settled = settled.unwrap();
        assert!(settled.is_complete() && !settled.is_concatenating());
        assert!(free, "the claim is given back with the last info");
        assert!(
            !registry.feeds_a_concatenation("p"),
            "the partial is free too"
        );
        waiter.join().unwrap();
    }
}
