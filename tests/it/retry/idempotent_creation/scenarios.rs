//! The scenarios both servers run: the answer to a creation POST or to the final POST lost after
//! the server acted on it, with and without idempotent creation, in one run and across a rerun.
//! Each checks what the server ends up holding.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tusky::error::Operation;
use tusky::storage::JsonFileStorage;
use tusky::{Error, UploadSummary};

use super::rig::{Post, Rig};
use crate::common::{
    data_file, finals, parallel_upload_of, partials, stored, upload_error, upload_ok, Builder,
    HoldsUploads, Tap, QUICK,
};

/// The file's size, and its chunks (the first goes in the creation POST).
const SIZE: usize = 300_000;
const CHUNK: u64 = 100_000;

/// The last segment of an upload URL: the upload's id, whichever host names it.
pub fn id_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Checks that `keys` are `count` times one key of 32 hex digits, quoted (sent every time,
/// never changed); returns the key.
#[track_caller]
pub fn assert_one_key(keys: &[Option<String>], count: usize, transcript: &str) -> String {
    assert_eq!(keys.len(), count, "{transcript}");
    let sent = keys[0].clone().expect("a POST without Idempotency-Key");
    // A structured-field string, as the IETF draft has it: the key in quotes.
    let key = sent
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or_else(|| panic!("the key is not quoted: {sent}"));
    assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    for repeat in &keys[1..] {
        let repeat = repeat.as_deref();
        assert_eq!(repeat, Some(sent.as_str()), "a repeat changed the key");
    }
    key.to_owned()
}

/// An upload of the file at `path` in chunks of [`CHUNK`], the first in the creation POST.
pub fn single<S>(rig: &Rig<S>, path: &Path, keyed: bool) -> Builder<Tap> {
    rig.client
        .uploader()
        .path(path)
        .chunk_size(CHUNK)
        .idempotent_creation(keyed)
        .retry_delay(3, QUICK)
}

/// A file of [`SIZE`] bytes: its bytes, the directory (kept while it lives), its path.
pub fn file() -> (Vec<u8>, tempfile::TempDir, std::path::PathBuf) {
    data_file(SIZE)
}

/// The answer to the creation POST is lost after the server made the upload (with the first
/// chunk in it): the repeat carries the same key and gets that upload, not a second one.
pub async fn a_lost_creation_answer_is_repeated_with_its_key<S: HoldsUploads>(rig: &Rig<S>) {
    let (bytes, _dir, path) = file();
    rig.lose_answer_to(Post::Creation);

    let summary = upload_ok(single(rig, &path, true), "a keyed upload").await;

    let uploads = rig.server.uploads();
    assert_eq!(uploads.len(), 1, "the repeat got the first upload");
    assert_eq!(stored(&rig.server, &summary.url), bytes);
    assert_one_key(&rig.keys_of(Post::Creation), 2, &rig.tap.transcript());
}

/// Without the option (as before it) the same lost answer costs a second upload: tusky repeats
/// a creation POST without a key (its duplicate is only an unused upload), and the server,
/// having nothing to tell the repeat from a new creation, makes one. The first holds the first
/// chunk and is never used again — what the option avoids.
pub async fn without_the_option_a_lost_creation_answer_leaves_an_unused_upload<S: HoldsUploads>(
    rig: &Rig<S>,
) {
    let (bytes, _dir, path) = file();
    rig.lose_answer_to(Post::Creation);

    let summary = upload_ok(single(rig, &path, false), "an upload without keys").await;

    assert_eq!(rig.keys_of(Post::Creation), [None, None]);
    assert_eq!(stored(&rig.server, &summary.url), bytes);
    let uploads = rig.server.uploads();
    assert_eq!(uploads.len(), 2, "{}", rig.tap.transcript());
    let unused = uploads
        .iter()
        .find(|u| id_of(&u.url) != id_of(summary.url.as_str()))
        .expect("the first POST's upload");
    let held = rig.server.upload_bytes(&unused.url);
    assert_eq!(held.as_deref(), Some(&bytes[..CHUNK as usize]));
}

/// A parallel upload of the file at `path` in two parts, its record in the JSON store at
/// `store`.
pub fn parallel<S>(
    rig: &Rig<S>,
    path: &Path,
    store: &Path,
    keyed: bool,
) -> tusky::UploaderBuilder<Tap, JsonFileStorage, tusky::fingerprint::DefaultFingerprint> {
    parallel_upload_of(&rig.client, path, 2, CHUNK / 2)
        .idempotent_creation(keyed)
        .storage(JsonFileStorage::open(store).unwrap())
}

/// The store file at `store` as it is when the first final POST goes out.
fn store_when_the_final_post_goes_out(tap: &Tap, store: &Path) -> Arc<Mutex<Option<String>>> {
    let seen = Arc::new(Mutex::new(None));
    let (slot, store) = (Arc::clone(&seen), store.to_owned());
    tap.on_sending(move |request, _| {
        let is_final = request
            .headers
            .get("upload-concat")
            .is_some_and(|c| c.as_bytes().starts_with(b"final;"));
        let mut slot = slot.lock().unwrap();
        if is_final && slot.is_none() {
            *slot = std::fs::read_to_string(&store).ok();
        }
    });
    seen
}

/// The final POST's answer is lost after the server joined the parts: with its key in the
/// record (written before the POST went out), it is repeated with the same key and gets that
/// final upload; there is exactly one, holding the file.
pub async fn a_lost_final_answer_is_repeated_with_its_key<S: HoldsUploads>(rig: &Rig<S>) {
    let (bytes, dir, path) = file();
    let store = dir.path().join("uploads.json");
    let record_then = store_when_the_final_post_goes_out(&rig.tap, &store);
    rig.lose_answer_to(Post::Final);

    let builder = parallel(rig, &path, &store, true).retry_delay(3, QUICK);
    let summary = upload_ok(builder, "a keyed parallel upload").await;

    assert_one_final(&rig.server, &summary, &bytes);
    let key = assert_one_key(&rig.keys_of(Post::Final), 2, &rig.tap.transcript());
    let record_then = record_then.lock().unwrap().clone().expect("a store file");
    assert!(
        record_then.contains("final_idempotency_key") && record_then.contains(&key),
        "the key was not in the record before the POST: {record_then}"
    );
}

/// The server holds one final upload, `summary`'s, holding `bytes`, made of two parts.
#[track_caller]
fn assert_one_final(server: &impl HoldsUploads, summary: &UploadSummary, bytes: &[u8]) {
    let finals = finals(server);
    assert_eq!(finals.len(), 1, "one final upload");
    assert_eq!(id_of(&finals[0].url), id_of(summary.url.as_str()));
    assert_eq!(stored(server, &summary.url), bytes);
    assert_eq!(partials(server).len(), 2, "no part made twice");
}

/// A parallel upload without the option whose final POST's answer is lost: what it returns
/// (the servers differ: see the tests), with the file's bytes.
pub async fn without_the_option_lose_the_final_answer<S: HoldsUploads>(
    rig: &Rig<S>,
) -> (Result<UploadSummary, Error>, Vec<u8>) {
    let (bytes, dir, path) = file();
    let store = dir.path().join("uploads.json");
    rig.lose_answer_to(Post::Final);
    let mut uploader = parallel(rig, &path, &store, false)
        .retry_delay(3, QUICK)
        .build()
        .unwrap();
    let result = uploader.upload().await;
    assert!(rig.keys_of(Post::Final).iter().all(Option::is_none));
    (result, bytes)
}

/// A run whose final POST's answer is lost gives up (no retries allowed), after the server made
/// the final upload; the record keeps the parts (and, keyed, the key), and a rerun (a new
/// uploader on the same store file) sends the final POST again. Keyed, it repeats the stored
/// key and gets the final upload the first run made: one final upload. Without the option it
/// makes a second one. Either way no part is made again and the rerun's upload holds the file.
pub async fn a_rerun_after_a_lost_final_answer<S: HoldsUploads>(rig: &Rig<S>, keyed: bool) {
    let (bytes, dir, path) = file();
    let store = dir.path().join("uploads.json");
    rig.lose_answer_to(Post::Final);
    let error = upload_error(parallel(rig, &path, &store, keyed).retries(0)).await;
    let operation = error.context().map(|c| c.operation);
    assert_eq!(operation, Some(Operation::Concatenate), "{error}");
    assert_eq!(
        finals(&rig.server).len(),
        1,
        "the server made the final upload"
    );

    let rerun = parallel(rig, &path, &store, keyed);
    let summary = upload_ok(rerun, "the rerun").await;

    let keys = rig.keys_of(Post::Final);
    if keyed {
        assert_one_final(&rig.server, &summary, &bytes);
        assert_one_key(&keys, 2, &rig.tap.transcript());
    } else {
        assert_eq!(keys, [None, None]);
        assert_eq!(finals(&rig.server).len(), 2, "a second final upload");
        assert_eq!(stored(&rig.server, &summary.url), bytes);
        assert_eq!(partials(&rig.server).len(), 2, "no part made twice");
    }
}
