//! Property tests of the retry engine: whatever the file size, the chunk size, the parallelism
//! (workers, and parts: as many or more), and the schedule of faults (status answers 500/503/423/409/460, partial acceptance, stalls,
//! answers held back after the bytes were stored), the server ends up holding exactly the
//! source's bytes; and so it does when a first uploader is cancelled at a random acknowledged
//! offset and a new uploader with the same storage finishes the job.
//!
//! Each case drives real uploaders over loopback HTTP against a fresh mock server, so case
//! counts are modest (`PROPTEST_CASES` runs more) and files stay under 256 KiB. Faults are
//! keyed by the server-wide PATCH number, so with `parallel(n)` they land on whichever partial
//! upload sends that PATCH.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::collection::btree_map;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use tusky::storage::{MemoryStorage, Storage};
use tusky::{
    CancellationToken, ChecksumAlgorithm, Client, Error, ExponentialBackoff, ProgressEvent,
};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer, UploadConcat};

use super::{check, check_progress, check_started_and_finished, holds_exactly, upload_all};
use crate::common::{cancel_when_acknowledged, client_for, noise, temp_file, Events};

const MAX_SIZE: u64 = 256 * 1024;
/// Chunk sizes are raised so that no upload needs more than about this many PATCHes.
const MAX_CHUNKS: u64 = 48;
/// The stall timeout of every uploader: short, so that stall faults cost little.
const STALL: Duration = Duration::from_millis(150);
/// How long a stalled or held-back answer would take: far longer than any case.
const NEVER: Duration = Duration::from_secs(20);
/// At most this many faults per case, and more retries than that in a row are allowed, so
/// every schedule can be ridden out.
const MAX_FAULTS: usize = 6;
const RETRIES: u32 = 8;

// ---------------------------------------------------------------------------------------------
// Strategies

/// What the server does to one PATCH.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Answers this status and stores nothing.
    Status(u16),
    /// Stores this many thousandths of the body (at least one byte) and says so.
    Partial(u64),
    /// Stores nothing and does not answer: the client's stall detection must give up on it.
    Stall,
    /// Stores the bytes but holds the answer back: the client gives up on it, and must find
    /// out from the server what arrived.
    LateAnswer,
}

impl Fault {
    fn action(self, body_len: u64) -> PatchAction {
        match self {
            Fault::Status(status) => PatchAction::Fail(status),
            Fault::Partial(per_mille) => {
                PatchAction::AcceptPartial((body_len * per_mille / 1000).max(1))
            }
            Fault::Stall => PatchAction::Stall(NEVER),
            Fault::LateAnswer => PatchAction::Delay(NEVER),
        }
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => prop::sample::select(vec![500u16, 503, 423, 409, 460]).prop_map(Fault::Status),
        2 => (1u64..1000).prop_map(Fault::Partial),
        1 => Just(Fault::Stall),
        1 => Just(Fault::LateAnswer),
    ]
}

/// Faults by server-wide PATCH number.
fn schedule() -> impl Strategy<Value = BTreeMap<u64, Fault>> {
    btree_map(1u64..=40, fault(), 0..=MAX_FAULTS)
}

/// `(size, chunk)`: sizes biased to small files and to a few bytes, chunks raised so that no
/// upload needs more than about [`MAX_CHUNKS`] PATCHes.
fn size_and_chunk() -> impl Strategy<Value = (u64, u64)> {
    let size = prop_oneof![
        1 => 1u64..=16,
        3 => 1u64..=16 * 1024,
        3 => 1u64..=MAX_SIZE,
    ];
    let chunk = prop_oneof![1u64..=64, 64u64..=64 * 1024];
    (size, chunk).prop_map(|(size, chunk)| (size, chunk.max(size.div_ceil(MAX_CHUNKS))))
}

#[derive(Debug, Clone)]
struct Case {
    size: u64,
    chunk: u64,
    parallel: usize,
    /// `parts(n)`, or the automatic count (one part per worker for files this small).
    parts: Option<usize>,
    creation_with_upload: bool,
    /// `idempotent_creation(true)`: keyed creation POSTs change nothing about the bytes.
    idempotent: bool,
    checksum: bool,
    faults: BTreeMap<u64, Fault>,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        size_and_chunk(),
        (1usize..=4, prop::option::of(1usize..=8)),
        (any::<bool>(), any::<bool>()),
        any::<bool>(),
        schedule(),
        any::<u64>(),
    )
        .prop_map(
            |((size, chunk), (parallel, parts), creation, checksum, faults, seed)| {
                let (creation_with_upload, idempotent) = creation;
                Case {
                    size,
                    chunk,
                    parallel,
                    parts,
                    creation_with_upload,
                    idempotent,
                    checksum,
                    faults,
                    seed,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn install(server: &TusMockServer, faults: BTreeMap<u64, Fault>) {
    server.set_patch_hook(move |ctx: &PatchContext| {
        faults
            .get(&ctx.number)
            .map_or(PatchAction::Accept, |fault| fault.action(ctx.body_len))
    });
}

/// An uploader of the file at `path` with the case's settings.
fn uploader(
    client: &Client,
    path: &Path,
    case: &Case,
    store: &Arc<MemoryStorage>,
    token: CancellationToken,
    on_progress: impl Fn(&ProgressEvent) + Send + Sync + 'static,
) -> tusky::Uploader<tusky::transport::ReqwestTransport, Arc<MemoryStorage>> {
    let mut builder = client
        .uploader()
        .path(path)
        .chunk_size(case.chunk)
        .parallel(case.parallel)
        .creation_with_upload(case.creation_with_upload)
        .idempotent_creation(case.idempotent)
        .storage(Arc::clone(store))
        .stall_timeout(Some(STALL))
        .retry_policy(ExponentialBackoff::fixed(RETRIES, Duration::from_millis(1)))
        .cancellation_token(token)
        .on_progress(on_progress);
    if case.checksum {
        builder = builder.checksum(ChecksumAlgorithm::Sha1);
    }
    if let Some(parts) = case.parts {
        builder = builder.parts(parts);
    }
    builder.build().unwrap()
}

/// How many parts the file is split into (at most one per byte).
fn part_count(case: &Case) -> usize {
    let parts = case.parts.unwrap_or(case.parallel) as u64;
    parts.min(case.size) as usize
}

/// Whether this case really splits the file (otherwise tusky falls back to one upload).
fn splits(case: &Case) -> bool {
    case.parallel > 1 && case.size >= case.parallel as u64 && part_count(case) > 1
}

/// The server holds exactly `bytes` at `url`; a parallel upload made `finals` final uploads
/// in all (never a duplicate), each of [`part_count`] partial uploads.
fn check_server(
    server: &TusMockServer,
    url: &url::Url,
    bytes: &[u8],
    case: &Case,
    finals: usize,
) -> Result<(), TestCaseError> {
    holds_exactly(server, url, bytes)?;
    let upload = server.upload(url.as_str()).unwrap();
    prop_assert!(upload.is_complete());
    if splits(case) {
        let expected = finals;
        let finals: Vec<_> = server
            .uploads()
            .into_iter()
            .filter_map(|u| match u.concat {
                UploadConcat::Final(parts) => Some(parts),
                _ => None,
            })
            .collect();
        prop_assert_eq!(finals.len(), expected, "final uploads");
        let parts = part_count(case);
        prop_assert!(finals.iter().all(|joined| joined.len() == parts));
    } else {
        prop_assert_eq!(upload.concat, UploadConcat::None);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties

#[test]
fn faults_never_change_the_bytes_the_server_ends_with() {
    check(file!(), 32, case(), |case| async move {
        let server = TusMockServer::start().await;
        install(&server, case.faults.clone());
        let bytes = noise(case.size, case.seed);
        let (_dir, path) = temp_file(&bytes);
        let client = client_for(&server);
        let store = Arc::new(MemoryStorage::new());
        let events = Events::default();
        let mut uploader = uploader(
            &client,
            &path,
            &case,
            &store,
            CancellationToken::new(),
            events.callback(),
        );
        let summary = upload_all("the upload", &server, &mut uploader, &bytes).await?;
        check_server(&server, &summary.url, &bytes, &case, 1)?;
        let start = check_started_and_finished(&events)?;
        check_progress(&events, start, case.size, true)?;
        prop_assert!(
            store.list().await.unwrap().is_empty(),
            "the record was kept"
        );
        Ok(())
    });
}

#[test]
fn a_new_uploader_finishes_what_a_cancelled_one_started() {
    let strategy = (case(), 0.0f64..1.0);
    check(file!(), 32, strategy, |(case, cut)| async move {
        let server = TusMockServer::start().await;
        install(&server, case.faults.clone());
        let bytes = noise(case.size, case.seed);
        let (_dir, path) = temp_file(&bytes);
        let client = client_for(&server);
        let store = Arc::new(MemoryStorage::new());

        // The first uploader is cancelled once the acknowledged offset reaches `cut`.
        let cut = ((case.size as f64 * cut) as u64).max(1);
        let (token, cancel_at_cut) = cancel_when_acknowledged(cut);
        let mut first = uploader(&client, &path, &case, &store, token, cancel_at_cut);
        let cancelled = match first.upload().await {
            Err(Error::Cancelled { .. }) => true,
            Ok(_) => false,
            Err(e) => return Err(TestCaseError::fail(format!("first upload failed: {e}"))),
        };
        drop(first);
        if cancelled {
            prop_assert_eq!(store.list().await.unwrap().len(), 1, "the record is gone");
        }

        // A new uploader over the same store finishes.
        let events = Events::default();
        let mut second = uploader(
            &client,
            &path,
            &case,
            &store,
            CancellationToken::new(),
            events.callback(),
        );
        let summary = upload_all("the second upload", &server, &mut second, &bytes).await?;
        if cancelled {
            prop_assert!(
                summary.resumed_from.is_some(),
                "the second uploader did not resume"
            );
        }
        // A first uploader that finished before it noticed the cancellation removed its
        // record: the second one then made a new upload.
        let finals = if cancelled { 1 } else { 2 };
        check_server(&server, &summary.url, &bytes, &case, finals)?;
        let start = check_started_and_finished(&events)?;
        check_progress(&events, start, case.size, true)?;
        prop_assert!(
            store.list().await.unwrap().is_empty(),
            "the record was kept"
        );
        Ok(())
    });
}
