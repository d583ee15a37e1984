use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::client::{parse_url, Client};
use crate::fingerprint::Fingerprint;
use crate::progress::{CancellationToken, ProgressEvent};
use crate::protocol::{encode_metadata, ChecksumAlgorithm};
use crate::retry::{ExponentialBackoff, RetryPolicy};
use crate::source::{SeekableReader, SourceSpec, StreamReader};
use crate::storage::Storage;
use crate::transport::Transport;
use crate::{Error, Result};

use super::chunk_size::ChunkSize;
use super::options::{ChecksumMode, DigestTiming, Options, Recreate};
use super::Uploader;

/// What the builder was told that is checked and turned into [`Options`] by `build`.
#[derive(Default)]
struct Inputs {
    source: Option<SourceSpec>,
    source_name: Option<String>,
    url: Option<String>,
    metadata: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    resume: Option<bool>,
}

/// Builds an [`Uploader`]; everything is validated in [`build`](UploaderBuilder::build),
/// before any request is made.
#[must_use]
pub struct UploaderBuilder<T: Transport, S: Storage, F: Fingerprint> {
    client: Client<T>,
    inputs: Inputs,
    options: Options,
    storage: Option<S>,
    fingerprint: F,
}

impl<T: Transport, S: Storage, F: Fingerprint> std::fmt::Debug for UploaderBuilder<T, S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploaderBuilder")
            .field("source", &self.inputs.source)
            .field("url", &self.inputs.url)
            .field("chunk_size", &self.options.chunk_size)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, S: Storage, F: Fingerprint + Default> UploaderBuilder<T, S, F> {
    pub(crate) fn new(client: Client<T>) -> Self {
        Self {
            client,
            inputs: Inputs::default(),
            options: Options::default(),
            storage: None,
            fingerprint: F::default(),
        }
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> UploaderBuilder<T, S, F> {
    pub(crate) fn client(&self) -> &Client<T> {
        &self.client
    }

    /// Uploads the file at `path` (opened when the upload starts).
    pub fn path(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        self.inputs.source_name = Some(path.display().to_string());
        self.inputs.source = Some(SourceSpec::Path(path));
        self
    }

    /// Uploads from a seekable reader (a file, a `std::io::Cursor`). tusky never closes it:
    /// get it back with [`Uploader::into_reader`].
    pub fn reader(mut self, reader: impl SeekableReader + 'static) -> Self {
        self.inputs.source = Some(SourceSpec::Reader(Box::new(reader)));
        self
    }

    /// Uploads a stream of unknown length (stdin, a pipe) with `Upload-Defer-Length`. At most
    /// one chunk is held in memory, until the server acknowledges it. Not resumable across runs.
    pub fn stream(mut self, reader: impl StreamReader + 'static) -> Self {
        self.inputs.source = Some(SourceSpec::Stream(Box::new(reader)));
        self
    }

    /// A name for the source in stored records and listings (default: the path).
    pub fn source_name(mut self, name: impl Into<String>) -> Self {
        self.inputs.source_name = Some(name.into());
        self
    }

    /// Continues the upload at this URL instead of creating one.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.inputs.url = Some(url.into());
        self
    }

    /// Bytes per PATCH (default [`DEFAULT_CHUNK_SIZE`](super::DEFAULT_CHUNK_SIZE)); the last chunk may be shorter.
    /// The same as `chunk_sizing(ChunkSize::Fixed(bytes))`.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.options.chunk_size = ChunkSize::Fixed(bytes);
        self
    }

    /// An adaptive chunk size of at most [`DEFAULT_MAX_AUTO_CHUNK_SIZE`](super::DEFAULT_MAX_AUTO_CHUNK_SIZE):
    /// the same as `chunk_sizing(ChunkSize::auto())`.
    pub fn chunk_size_auto(self) -> Self {
        self.chunk_sizing(ChunkSize::auto())
    }

    /// How chunks are sized: [`ChunkSize::Fixed`] (the default, 8 MiB) or [`ChunkSize::Auto`]
    /// (measured on every PATCH and adapted to the server; each part of a
    /// [`parallel`](UploaderBuilder::parallel) upload adapts on its own).
    ///
    /// ```
    /// # fn main() -> Result<(), tusky::Error> {
    /// use tusky::ChunkSize;
    ///
    /// let client = tusky::Client::new("https://tus.example/files/")?;
    /// let uploader = client
    ///     .uploader()
    ///     .path("video.mp4")
    ///     .chunk_sizing(ChunkSize::Auto { max: 64 << 20 })
    ///     .build()?;
    /// assert_eq!(uploader.chunk_size(), 4 << 20); // where auto starts
    /// # Ok(()) }
    /// ```
    pub fn chunk_sizing(mut self, chunk_size: ChunkSize) -> Self {
        self.options.chunk_size = chunk_size;
        self
    }

    /// Adds an `Upload-Metadata` pair; values are sent as base64 of their UTF-8 bytes.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inputs.metadata.push((key.into(), value.into()));
        self
    }

    /// Adds a header sent with this uploader's requests (beside the client's).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inputs.headers.push((name.into(), value.into()));
        self
    }

    /// Remembers upload URLs in `storage`, so that a later uploader (or process) for the same
    /// source resumes. Turns resuming on.
    pub fn storage<S2: Storage>(self, storage: S2) -> UploaderBuilder<T, S2, F> {
        UploaderBuilder {
            client: self.client,
            inputs: self.inputs,
            options: self.options,
            storage: Some(storage),
            fingerprint: self.fingerprint,
        }
    }

    /// The fingerprint that keys stored records.
    pub fn fingerprint<F2: Fingerprint>(self, fingerprint: F2) -> UploaderBuilder<T, S, F2> {
        UploaderBuilder {
            client: self.client,
            inputs: self.inputs,
            options: self.options,
            storage: self.storage,
            fingerprint,
        }
    }

    /// Whether to look up and record URLs in the storage (default: on when a storage is set).
    pub fn resume(mut self, resume: bool) -> Self {
        self.inputs.resume = Some(resume);
        self
    }

    /// Whether a finished upload's record is removed from the storage (default: yes).
    pub fn remove_record_on_success(mut self, remove: bool) -> Self {
        self.options.remove_record_on_success = remove;
        self
    }

    /// Sends `Upload-Checksum` with this algorithm on every PATCH, whatever the server lists.
    pub fn checksum(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.options.checksum = ChecksumMode::Always(algorithm);
        self
    }

    /// Sends `Upload-Checksum` with the first algorithm of `preference` that the server lists in
    /// `Tus-Checksum-Algorithm`; none when it lists none of them.
    pub fn checksum_negotiated(mut self, preference: &[ChecksumAlgorithm]) -> Self {
        self.options.checksum = ChecksumMode::Negotiate(preference.to_vec());
        self
    }

    /// For benchmarks only (`benches/checksum.rs`), not part of the supported API: with
    /// `false`, each chunk of a file is digested when it is planned, in a read of its own
    /// before its request, instead of while the chunk before it is sent (the look-ahead, on
    /// by default). It exists to measure what the look-ahead saves.
    #[doc(hidden)]
    pub fn checksum_look_ahead(mut self, enabled: bool) -> Self {
        self.options.digest_timing = if enabled {
            DigestTiming::Ahead
        } else {
            DigestTiming::WhenPlanned
        };
        self
    }

    /// Retries allowed in a row without progress, with the default backoff (tuspy's `retries`).
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retry = Arc::new(ExponentialBackoff::default().with_max_retries(retries));
        self
    }

    /// A fixed delay between retries and no jitter (tuspy's `retry_delay`).
    pub fn retry_delay(self, retries: u32, delay: Duration) -> Self {
        self.retry_policy(ExponentialBackoff::fixed(retries, delay))
    }

    /// A custom retry policy.
    pub fn retry_policy(mut self, policy: impl RetryPolicy + 'static) -> Self {
        self.options.retry = Arc::new(policy);
        self
    }

    /// Calls `callback` for every [`ProgressEvent`].
    pub fn on_progress(
        mut self,
        callback: impl Fn(&ProgressEvent) + Send + Sync + 'static,
    ) -> Self {
        self.options.progress = Some(Arc::new(callback));
        self
    }

    /// Stops the upload promptly when `token` is cancelled; the stored record is kept.
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.options.cancel = token;
        self
    }

    /// A request that makes no progress for this long is dropped and retried (default 60 s;
    /// `None` turns stall detection off).
    pub fn stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.stall_timeout = timeout;
        self
    }

    /// Whether an upload the server no longer has (404/410/403) is started over. Default: yes
    /// for stored and created URLs, no for an explicit [`url`](UploaderBuilder::url).
    pub fn recreate_if_gone(mut self, recreate: bool) -> Self {
        self.options.recreate = if recreate {
            Recreate::Always
        } else {
            Recreate::Never
        };
        self
    }

    /// Whether to put the first chunk in the creation POST when the server advertises
    /// `creation-with-upload` (default: yes).
    pub fn creation_with_upload(mut self, enabled: bool) -> Self {
        self.options.creation_with_upload = enabled;
        self
    }

    /// Sends an `Idempotency-Key` (128 random bits in hex) with every creation POST and with a
    /// parallel upload's final concatenation POST, the same key for every repeat of one
    /// creation, and repeats such a POST when its answer was lost (a broken connection, a
    /// timeout, a 5xx) — without the option a lost answer to the final POST fails the upload,
    /// since a repeat could make a second final upload. The final POST's key is stored in the
    /// record before the POST is sent, so a later run (after a crash or a lost answer) sends it
    /// again with the same key. Default: off.
    ///
    /// **The server must honour the header**: a POST that repeats a key it has seen is answered
    /// with the upload the first request created (`201` with the same `Location`), not a new
    /// one; a `409` (the first request with the key is still being received) is waited out and
    /// the POST repeated with the same key, within the retry policy; a `422` (the key was used
    /// for another request) is final. tus 1.0 does not define it (the repo's mock and streaming
    /// servers honour it; @tus/server, tuspyserver and rustus do not); a server that ignores it
    /// makes a new upload for each repeat (for a creation POST that is an unused upload, as
    /// without the option; for the final POST, a second final upload of the same parts).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tusky::Error> {
    /// let client = tusky::Client::new("https://tus.example/files/")?;
    /// let mut uploader = client
    ///     .uploader()
    ///     .path("video.mp4")
    ///     .parallel(4)
    ///     .idempotent_creation(true)
    ///     .build()?;
    /// uploader.upload().await?;
    /// # Ok(()) }
    /// ```
    pub fn idempotent_creation(mut self, enabled: bool) -> Self {
        self.options.idempotent_creation = enabled;
        self
    }

    /// Verifies content before resuming, trusting no metadata (default: off): the record keeps
    /// a SHA-256 of the bytes the server acknowledged, updated after every chunk, and a resume
    /// first hashes the file's start again and starts over if it differs. Its cost: every
    /// acknowledged byte is read from the file a second time and hashed, and the record is
    /// written after every chunk. For single uploads of seekable sources (not the parts of a
    /// parallel upload). Bytes acknowledged after the last record write (at most one chunk,
    /// when a run dies between the answer and the write) are taken on the server's word.
    pub fn verify_resumed_content(mut self, verify: bool) -> Self {
        self.options.verify_content = verify;
        self
    }

    /// Uploads a file as partial uploads, `n` at a time, then joins them with a final
    /// `Upload-Concat` POST (the concatenation extension). Falls back to one upload, with a log
    /// line, when the server does not advertise concatenation, when the source is not a
    /// [`path`](UploaderBuilder::path), or when the file is smaller than `n` bytes.
    ///
    /// The file is split into `n` equal parts; a file bigger than `n × 64 MiB` into `k × n`
    /// (`k = ceil(size / (n × 64 MiB))`, at most 4), so that a worker done with its part takes
    /// the next one and a slow part does not hold the others back;
    /// [`parts`](UploaderBuilder::parts) sets the count. The parts are created as workers take
    /// them (`n` creation POSTs at once), and each part's URL is in the stored record before
    /// any byte of it is sent after its creation POST.
    pub fn parallel(mut self, n: usize) -> Self {
        self.options.parallel = n;
        self
    }

    /// With [`parallel`](UploaderBuilder::parallel)`(n)`: splits the file into `count` equal
    /// partial uploads (at most one per byte) instead of the automatic count; the `n` workers
    /// take them in file order, each the next one as soon as it is done with its last. More
    /// parts than workers let fast workers take over from a slow one; each part costs a
    /// creation POST, a short last chunk, and its URL in the final POST's `Upload-Concat`
    /// header (servers limit header sizes: keep it to a few hundred). A resumed upload keeps
    /// the count its record was made with.
    pub fn parts(mut self, count: usize) -> Self {
        self.options.parts = super::parallel::PartCount::Exactly(count);
        self
    }

    /// Checks the settings and builds the uploader. No request is made.
    pub fn build(self) -> Result<Uploader<T, S, F>> {
        let Self {
            client,
            inputs,
            mut options,
            storage,
            fingerprint,
        } = self;
        let source = inputs.source.ok_or_else(|| {
            Error::Config("no source: call path(), reader() or stream()".to_owned())
        })?;
        check_options(&options)?;
        options.metadata = encode_metadata(&inputs.metadata)?;
        options.headers = header_map(&inputs.headers)?;
        let url = inputs
            .url
            .as_deref()
            .map(|u| parse_url("the upload URL", u))
            .transpose()?
            .map(|url| {
                // Credentials in the URL become this uploader's Authorization header.
                let (bare, auth) = crate::origin::split_credentials(&url);
                if let Some(auth) = auth {
                    options
                        .headers
                        .entry(http::header::AUTHORIZATION)
                        .or_insert(auth);
                }
                bare
            });
        if url.is_none() && client.endpoint().is_none() {
            return Err(Error::Config(
                "neither an endpoint (on the client) nor an upload URL was given".to_owned(),
            ));
        }
        let resume = inputs.resume.unwrap_or(storage.is_some());
        if resume && storage.is_none() {
            return Err(Error::Config(
                "resume(true) needs a storage: call storage()".to_owned(),
            ));
        }
        let storage = storage.filter(|_| resume);
        Ok(Uploader::new(
            client,
            options,
            storage,
            fingerprint,
            source,
            inputs.source_name,
            url,
        ))
    }
}

fn check_options(options: &Options) -> Result<()> {
    if options.parallel == 0 {
        return Err(Error::Config(
            "parallel(n) needs n of at least 1".to_owned(),
        ));
    }
    if options.parts == super::parallel::PartCount::Exactly(0) {
        return Err(Error::Config("parts(n) needs n of at least 1".to_owned()));
    }
    if options.stall_timeout.is_some_and(|t| t.is_zero()) {
        return Err(Error::Config(
            "a stall timeout of zero would stall every request; use None to turn stall detection off".to_owned(),
        ));
    }
    if options.chunk_size.bytes() == 0 {
        return Err(Error::Config(
            "the chunk size must be at least 1 byte".to_owned(),
        ));
    }
    Ok(())
}

fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::Config(format!("{name:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::Config(format!("the value of header {name} is not valid")))?;
        headers.insert(name, value);
    }
    Ok(headers)
}
