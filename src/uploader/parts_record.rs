//! [`PartsRecord`]: the stored record of a parallel upload while its parts run.
//!
//! Parts are created concurrently, as workers take them, so the record is kept part by part:
//! a part's URL goes into the record as soon as its creation POST is answered (before any
//! PATCH of it), and out of it when the part starts over (its upload was gone), to come back
//! with the new URL. Writes are serialised and each writes the whole list, so the stored record
//! always names every part known to exist, in file order, with an empty slot for a part not
//! created yet — a run that dies between two creations leaves a record a later run resumes:
//! it continues the listed parts and creates the missing ones.
//!
//! With idempotent creation the final POST's key joins the record before that POST is sent
//! ([`PartsRecord::before_final_post`]).

use std::time::SystemTime;

use async_trait::async_trait;
use url::Url;

use super::idempotency::IdempotencyKey;
use super::records::Records;
use super::single::{RecordFacts, Recorder};
use super::state::RemoteUpload;
use crate::fingerprint::Fingerprint;
use crate::storage::{FileIdentity, Storage};
use crate::Result;

/// What the record says of one part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Slot {
    url: Option<Url>,
    expires: Option<SystemTime>,
}

/// What the record holds besides the source: a slot per part, and the final POST's key.
#[derive(Debug, Default)]
struct Held {
    slots: Vec<Slot>,
    final_key: Option<IdempotencyKey>,
}

/// The record of a parallel upload of a source of `size` bytes, kept as its parts change.
pub(crate) struct PartsRecord<'a, S, F> {
    records: &'a Records<S, F>,
    size: u64,
    file: Option<&'a FileIdentity>,
    held: tokio::sync::Mutex<Held>,
}

impl<'a, S: Storage, F: Fingerprint> PartsRecord<'a, S, F> {
    /// The record as it stands: `parts` are each part's remote upload, if it has one.
    pub(crate) fn new<'p>(
        records: &'a Records<S, F>,
        (size, file): (u64, Option<&'a FileIdentity>),
        parts: impl Iterator<Item = Option<&'p RemoteUpload>>,
    ) -> Self {
        let slots = parts
            .map(|remote| Slot {
                url: remote.map(|r| r.url.clone()),
                expires: remote.and_then(|r| r.expires),
            })
            .collect();
        Self {
            records,
            size,
            file,
            held: tokio::sync::Mutex::new(Held {
                slots,
                final_key: None,
            }),
        }
    }

    /// Writes `key` into the record, with every part, before the final POST that carries it
    /// is sent.
    pub(crate) async fn before_final_post(&self, key: &IdempotencyKey) -> Result<()> {
        let mut held = self.held.lock().await;
        held.final_key = Some(key.clone());
        self.write(&held).await
    }

    /// The recorder part `index` runs with.
    pub(crate) fn part(&self, index: usize) -> PartRecorder<'_, 'a, S, F> {
        PartRecorder {
            record: self,
            index,
        }
    }

    /// Sets part `index`'s slot and writes the record, unless nothing changed. The lock is held
    /// through the write, so writes land in the order the slots changed. A record with no part
    /// left is removed.
    async fn update(&self, index: usize, slot: Slot) -> Result<()> {
        let mut held = self.held.lock().await;
        match held.slots.get_mut(index) {
            Some(current) if *current != slot => *current = slot,
            _ => return Ok(()),
        }
        self.write(&held).await
    }

    /// Writes what is `held` (with the lock held by the caller).
    async fn write(&self, held: &Held) -> Result<()> {
        let urls: Vec<Option<Url>> = held.slots.iter().map(|s| s.url.clone()).collect();
        if urls.iter().all(Option::is_none) {
            return self.records.forget().await;
        }
        let expires = held.slots.iter().filter_map(|s| s.expires).min();
        self.records
            .remember_parallel(
                (self.size, self.file),
                &urls,
                expires,
                held.final_key.as_ref(),
            )
            .await
    }
}

/// The [`Recorder`] of one part: its upload is one slot of the parallel upload's record.
pub(crate) struct PartRecorder<'r, 'a, S, F> {
    record: &'r PartsRecord<'a, S, F>,
    index: usize,
}

#[async_trait]
impl<S: Storage, F: Fingerprint> Recorder for PartRecorder<'_, '_, S, F> {
    async fn remember(&self, remote: &RemoteUpload, _: &RecordFacts) -> Result<()> {
        let slot = Slot {
            url: Some(remote.url.clone()),
            expires: remote.expires,
        };
        self.record.update(self.index, slot).await
    }

    /// The part started over: its old URL leaves the record.
    async fn forget(&self) -> Result<()> {
        self.record.update(self.index, Slot::default()).await
    }
}
