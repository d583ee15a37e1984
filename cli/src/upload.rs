//! `tusky upload`.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};
use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::ReqwestTransport;
use tusky::{
    CancellationToken, ChecksumAlgorithm, ChunkSize, Client, Error, UploadSummary, Uploader,
    UploaderBuilder,
};
use url::Url;

use crate::args::UploadArgs;
use crate::connection::{self, UserUrl};
use crate::failure::{classify, Exit, Failure};
use crate::local_upload::{file_sha256, same_files, Local};
use crate::report::{Mode, Reporter, Tell};
use crate::size::{human, rate};
use crate::store;
use crate::terminal_text::escape;
use crate::upload_store::UploadStore;

/// Where the bytes come from.
enum Input {
    File {
        path: PathBuf,
    },
    /// Standard input, with the SHA-256 of what was read from it (to verify a LOCAL upload).
    Stdin {
        digest: Arc<Mutex<Sha256>>,
    },
}

impl Input {
    fn describe(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin { .. } => "stdin".to_owned(),
        }
    }
}

/// Runs `tusky upload`: one file (or stdin), or several files and directories ([`many`]);
/// `cancel` is cancelled on Ctrl-C/SIGTERM. With `--json`, a failure before any file's result
/// is also reported on stdout as `{"error": "...", "exit_code": N}`.
///
/// [`many`]: crate::many
pub async fn run(args: UploadArgs, cancel: CancellationToken) -> Result<(), Failure> {
    let result = match What::of(&args) {
        Ok(What::One { file, endpoint }) => upload(&args, &file, endpoint.as_deref(), cancel).await,
        Ok(What::Many { paths, endpoint }) => {
            return crate::many::run(&args, &paths, &endpoint, cancel).await
        }
        Err(failure) => Err(failure),
    };
    if let Err(failure) = &result {
        report_json_failure(&args, failure);
    }
    result
}

/// With `--json`, `failure` as `{"error": "...", "exit_code": N}` on stdout.
pub fn report_json_failure(args: &UploadArgs, failure: &Failure) {
    if args.json {
        let object = serde_json::json!({
            "error": failure.to_string(),
            "exit_code": failure.exit.code(),
        });
        println!("{object}");
    }
}

/// What `tusky upload` was asked to upload.
enum What {
    /// One file or stdin, to the endpoint or (without one) the bundled server.
    One {
        file: String,
        endpoint: Option<String>,
    },
    /// Several files and directories, to the endpoint.
    Many {
        paths: Vec<String>,
        endpoint: String,
    },
}

impl What {
    fn of(args: &UploadArgs) -> Result<What, Failure> {
        let (paths, endpoint) = args.split_endpoint();
        let endpoint = endpoint.map(str::to_owned);
        if let [file] = paths {
            if !std::path::Path::new(file).is_dir() {
                let file = file.clone();
                return Ok(What::One { file, endpoint });
            }
        }
        if paths.iter().any(|path| path == "-") {
            return Err(Failure::usage(
                "- (stdin) is uploaded alone: give it without other files or directories",
            ));
        }
        let Some(endpoint) = endpoint else {
            return Err(Failure::usage(
                "several files or a directory need an ENDPOINT as the last argument (a LOCAL upload takes one file; run `tusky serve` for a local server)",
            ));
        };
        let paths = paths.to_vec();
        Ok(What::Many { paths, endpoint })
    }
}

/// How PATCHes are checksummed.
#[derive(Debug, Clone, Copy)]
enum Checksum {
    Off,
    /// The strongest algorithm the server lists (`auto`).
    Negotiated,
    Fixed(ChecksumAlgorithm),
}

impl Checksum {
    fn from_args(args: &UploadArgs) -> Result<Self, Failure> {
        match args.checksum.as_deref() {
            None => Ok(Checksum::Off),
            Some(name) if name.eq_ignore_ascii_case("auto") => Ok(Checksum::Negotiated),
            Some(name) => ChecksumAlgorithm::from_name(name)
                .map(Checksum::Fixed)
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "--checksum {name:?}: unknown algorithm (use sha1, sha256, sha512, md5, crc32 or auto)"
                    ))
                }),
        }
    }
}

async fn upload(
    args: &UploadArgs,
    file: &str,
    endpoint: Option<&str>,
    cancel: CancellationToken,
) -> Result<(), Failure> {
    let reporter = Arc::new(Reporter::new(Mode::detect(args.json)));
    let settings = UploadSettings::from_args(args)?;
    warn_about_options(args, file == "-", &*reporter);
    let input = Input::open(file)?;

    // The endpoint: the one given, or the bundled server for a LOCAL upload. Only its bare
    // form (no user name or password) is ever shown.
    let local = match endpoint {
        Some(_) => None,
        None => Some(start_local(args, &reporter).await?),
    };
    let endpoint = match &local {
        Some(local) => UserUrl::parse("the bundled server's endpoint", &local.endpoint())?,
        None => UserUrl::parse("ENDPOINT", endpoint.unwrap_or_default())?,
    };
    let client = client_for(args, &endpoint)?;

    // The URL store: only for a file going to a real server.
    let resumable = matches!(input, Input::File { .. }) && local.is_none() && !args.no_resume;
    let store = resumable
        .then(|| open_store(args, Arc::clone(&reporter) as Arc<dyn Tell>, &cancel))
        .transpose()?;
    let storage = store
        .as_ref()
        .map(|(_, watched)| Arc::clone(watched) as Arc<dyn Storage>);
    let is_file = matches!(input, Input::File { .. });
    warn_without_concatenation(&client, args, is_file, &*reporter).await;
    let mut uploader =
        build_uploader(&client, args, &input, settings, storage, &cancel, &reporter)?;

    let started = Instant::now();
    let result = fresh_or_resumed(&mut uploader, args.fresh && resumable).await;
    let seconds = started.elapsed().as_secs_f64();
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            reporter.abandon();
            let url = uploader.url().map(|url| url.as_str());
            let kept = store
                .as_ref()
                .map(|(path, watched)| (path.as_path(), watched.keeps(url)));
            let hint = resume_hint(kept, local.is_some(), url);
            return Err(upload_failure(
                &error,
                &input,
                endpoint.bare().as_str(),
                uploader.offset(),
                uploader.size(),
                &hint,
            ));
        }
    };
    reporter.finish();

    let local_path = match local {
        Some(local) => Some(finish_local(local, &input, &summary, &reporter).await?),
        None => {
            report_done(&reporter, &summary, seconds);
            None
        }
    };
    print_result(
        args,
        &summary,
        seconds,
        uploader.chunk_size(),
        endpoint.bare(),
        local_path.as_deref(),
    );
    refused_after_storing(&summary)
}

/// Runs the upload; `fresh`: first forgets this file's record for this endpoint, so that it
/// starts anew.
async fn fresh_or_resumed(
    uploader: &mut Uploader<ReqwestTransport, Arc<dyn Storage>>,
    fresh: bool,
) -> Result<UploadSummary, Error> {
    if fresh {
        uploader.forget_record().await?;
    }
    uploader.upload().await
}

/// Every byte stored but the server's last answer an error: its own outcome (exit 6), not a
/// plain success.
fn refused_after_storing(summary: &UploadSummary) -> Result<(), Failure> {
    match summary.final_answer.as_ref() {
        Some(answer) if !answer.status.is_success() => Err(Failure::new(
            Exit::StoredButRefused,
            format!(
                "all {} bytes are stored at {}, but the server's final answer was {}: {}",
                summary.offset,
                summary.url,
                answer.status,
                crate::failure::one_line(&answer.body)
            ),
        )),
        _ => Ok(()),
    }
}

/// The last line of an upload to a server: how much, how fast, from where.
fn report_done(reporter: &Reporter, summary: &UploadSummary, seconds: f64) {
    let resumed = summary
        .resumed_from
        .map(|from| format!(", resumed at {}", human(from)))
        .unwrap_or_default();
    reporter.info(&format!(
        "done: {} of {} in {seconds:.1} s ({}){resumed}",
        human(summary.bytes_uploaded),
        human(summary.offset),
        rate(summary.bytes_uploaded, seconds)
    ));
}

/// Warnings about options that do less than they seem to, or are dangerous.
pub fn warn_about_options(args: &UploadArgs, stdin: bool, tell: &dyn Tell) {
    if args.parallel.is_some_and(|n| n > 1) && stdin {
        tell.warn("--parallel needs a file: stdin is uploaded in one stream");
    }
    if args.connection.insecure {
        tell.warn(connection::INSECURE_WARNING);
    }
}

/// The client of an upload to `endpoint`: the connection options, and `--limit-rate` (one
/// client: one limit for everything the command sends).
pub fn client_for(args: &UploadArgs, endpoint: &UserUrl) -> Result<Client, Failure> {
    let mut client = connection::builder(&args.connection)?.endpoint(endpoint.full());
    if let Some(rate) = args.limit_rate {
        client = client.limit_rate(rate);
    }
    client
        .build()
        .map_err(|e| Failure::tus("setting up the client", &e))
}

/// The options every upload of the command shares: chunk size, retries, parallel workers and
/// parts, idempotent creation and checksums.
#[derive(Debug, Clone, Copy)]
pub struct UploadSettings {
    chunk_size: ChunkSize,
    retries: u32,
    parallel: usize,
    parts: Option<usize>,
    idempotent_creation: bool,
    checksum: Checksum,
}

impl UploadSettings {
    /// The settings `args` give.
    pub fn from_args(args: &UploadArgs) -> Result<Self, Failure> {
        Ok(Self {
            chunk_size: args.chunk_size,
            retries: args.retries,
            parallel: args.parallel.unwrap_or(1) as usize,
            parts: args.parts.map(|parts| parts as usize),
            idempotent_creation: args.idempotent_creation,
            checksum: Checksum::from_args(args)?,
        })
    }

    /// `builder` with these settings.
    pub fn apply<T, S, F>(&self, builder: UploaderBuilder<T, S, F>) -> UploaderBuilder<T, S, F>
    where
        T: tusky::transport::Transport,
        S: Storage,
        F: tusky::fingerprint::Fingerprint,
    {
        let mut builder = builder
            .chunk_sizing(self.chunk_size)
            .retries(self.retries)
            .parallel(self.parallel)
            .idempotent_creation(self.idempotent_creation);
        if let Some(parts) = self.parts {
            builder = builder.parts(parts);
        }
        match self.checksum {
            Checksum::Off => builder,
            Checksum::Negotiated => builder.checksum_negotiated(&ChecksumAlgorithm::ALL),
            Checksum::Fixed(algorithm) => builder.checksum(algorithm),
        }
    }
}

impl Input {
    /// What `file` names: `-` for stdin, else a regular file.
    fn open(file: &str) -> Result<Input, Failure> {
        if file == "-" {
            return Ok(Input::Stdin {
                digest: Arc::new(Mutex::new(Sha256::new())),
            });
        }
        let path = PathBuf::from(file);
        let meta = std::fs::metadata(&path)
            .map_err(|e| Failure::local(format!("reading {}: {e}", path.display())))?;
        if !meta.is_file() {
            return Err(Failure::local(format!(
                "reading {}: not a regular file",
                path.display()
            )));
        }
        Ok(Input::File { path })
    }
}

/// Starts the bundled server for a LOCAL upload (no ENDPOINT given).
async fn start_local(args: &UploadArgs, reporter: &Reporter) -> Result<Local, Failure> {
    let dir = match &args.local_dir {
        Some(dir) => dir.clone(),
        None => store::data_dir()?.join("local"),
    };
    let local = Local::start(dir).await?;
    reporter.info(&format!(
        "no ENDPOINT given: this is a LOCAL upload to tusky's bundled tus server at {} (nothing leaves this machine)",
        local.endpoint()
    ));
    Ok(local)
}

/// With `--parallel`, says so when the server cannot join parts: the library then uploads in
/// one stream (the answer is cached, so this costs no extra request). `files`: whether the
/// uploads read files.
pub async fn warn_without_concatenation(
    client: &Client,
    args: &UploadArgs,
    files: bool,
    tell: &dyn Tell,
) {
    let parallel = args.parallel.unwrap_or(1);
    if parallel <= 1 || !files {
        return;
    }
    if let Ok(capabilities) = client.capabilities().await {
        if !capabilities.supports(tusky::protocol::Extension::Concatenation) {
            tell.warn(&format!(
                "--parallel {parallel}: the server does not offer the concatenation extension; uploading in one stream"
            ));
        }
    }
}

/// The uploader for this command: `storage` is the URL store of a resumable upload.
fn build_uploader(
    client: &Client,
    args: &UploadArgs,
    input: &Input,
    settings: UploadSettings,
    storage: Option<Arc<dyn Storage>>,
    cancel: &CancellationToken,
    reporter: &Arc<Reporter>,
) -> Result<Uploader<ReqwestTransport, Arc<dyn Storage>>, Failure> {
    let resumable = storage.is_some();
    let storage = storage.unwrap_or_else(|| Arc::new(MemoryStorage::new()));
    let mut builder = settings
        .apply(client.uploader())
        .cancellation_token(cancel.clone())
        .storage(storage)
        .resume(resumable);
    builder = match input {
        Input::File { path, .. } => {
            let name = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            builder
                .path(path.clone())
                .source_name(name.display().to_string())
        }
        Input::Stdin { digest } => builder
            .stream(Hashing::new(tokio::io::stdin(), Arc::clone(digest)))
            .source_name("stdin"),
    };
    let path = match input {
        Input::File { path, .. } => Some(path.as_path()),
        Input::Stdin { .. } => None,
    };
    for (key, value) in metadata(&args.metadata, path) {
        builder = builder.metadata(key, value);
    }
    let progress = Arc::clone(reporter);
    builder
        .on_progress(move |event| progress.event(event))
        .build()
        .map_err(|e| Failure::tus("setting up the upload", &e))
}

/// The metadata to send for the file at `path` (`None`: stdin): the user's, with `filename`
/// (the file's name) and `filetype` added unless given.
pub fn metadata(given: &[(String, String)], path: Option<&Path>) -> Vec<(String, String)> {
    let mut metadata = given.to_vec();
    if let Some(path) = path {
        if !metadata.iter().any(|(k, _)| k == "filename") {
            if let Some(name) = path.file_name() {
                metadata.push(("filename".to_owned(), name.to_string_lossy().into_owned()));
            }
        }
    }
    if !metadata.iter().any(|(k, _)| k == "filetype" || k == "type") {
        let guessed = path.and_then(guess_filetype);
        let filetype = guessed.unwrap_or_else(|| "application/octet-stream".to_owned());
        metadata.push(("filetype".to_owned(), filetype));
    }
    metadata
}

/// The MIME type a file's name suggests (`photo.jpg` → `image/jpeg`), if its extension is known.
fn guess_filetype(path: &std::path::Path) -> Option<String> {
    mime_guess::from_path(path)
        .first()
        .map(|mime| mime.essence_str().to_owned())
}

/// Checks what the bundled server received against the input, keeps it in the local data
/// directory and says where; returns the kept file's path.
async fn finish_local(
    local: Local,
    input: &Input,
    summary: &UploadSummary,
    reporter: &Reporter,
) -> Result<PathBuf, Failure> {
    let (snapshot, received) = local.received(summary.url.as_str()).await?;
    let same = match input {
        Input::File { path, .. } => same_files(path, &received).await?,
        Input::Stdin { digest } => {
            let read = std::mem::take(&mut *digest.lock().unwrap_or_else(|p| p.into_inner()));
            snapshot.offset == summary.offset
                && read.finalize().to_vec() == file_sha256(&received).await?
        }
    };
    if !same {
        return Err(Failure::new(
            Exit::Other,
            format!(
                "verifying the LOCAL upload: the bundled server holds {} bytes that differ from {}",
                snapshot.offset,
                input.describe()
            ),
        ));
    }
    let (source, how) = match input {
        Input::File { path, .. } => (
            std::fs::canonicalize(path)
                .ok()
                .map(|p| p.display().to_string()),
            "byte for byte",
        ),
        Input::Stdin { .. } => (
            Some("stdin".to_owned()),
            "by SHA-256 of what was read from stdin",
        ),
    };
    let path = local.keep(&snapshot, source.as_deref()).await?;
    reporter.info(&format!(
        "LOCAL upload done: the bundled server received all {} of {} and it matches {how}.",
        human(summary.offset),
        input.describe()
    ));
    reporter.info(&format!(
        "the data is in {} (metadata in {}.json)",
        path.display(),
        path.display()
    ));
    reporter.info("to upload to a real tus server: tusky upload FILE https://your.server/files/ (or run `tusky serve` and use its endpoint)");
    Ok(path)
}

/// The result on stdout: the JSON object with `--json` (`chunk_size`: the size in use when the
/// upload ended), else the upload URL (or, for a LOCAL upload, where its bytes were written).
fn print_result(
    args: &UploadArgs,
    summary: &UploadSummary,
    seconds: f64,
    chunk_size: u64,
    endpoint: &Url,
    local_path: Option<&Path>,
) {
    if args.json {
        let json = serde_json::json!({
            "url": summary.url.as_str(),
            "bytes": summary.offset,
            "bytes_uploaded": summary.bytes_uploaded,
            "seconds": seconds,
            "resumed_from": summary.resumed_from,
            "local": local_path.is_some(),
            "local_path": local_path.map(|p| p.display().to_string()),
            "verified": local_path.map(|_| true),
            "endpoint": endpoint.as_str(),
            "chunk_size": chunk_size,
            "chunk_size_auto": matches!(args.chunk_size, ChunkSize::Auto { .. }),
            "mib_per_s": if seconds > 0.0 { summary.bytes_uploaded as f64 / seconds / 1048576.0 } else { 0.0 },
            "final_answer": summary.final_answer.as_ref().map(|answer| serde_json::json!({
                "status": answer.status.as_u16(),
                "headers": answer.headers.iter().map(|(name, value)| {
                    (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
                }).collect::<std::collections::BTreeMap<_, _>>(),
                "body": answer.body,
            })),
        });
        println!("{json}");
    } else if let Some(path) = local_path {
        println!("{}", escape(&path.display().to_string()));
    } else {
        println!("{}", escape(summary.url.as_str()));
    }
}

/// The URL store of a resumable upload, seen through its endpoint, with its path.
pub fn open_store(
    args: &UploadArgs,
    tell: Arc<dyn Tell>,
    cancel: &CancellationToken,
) -> Result<(PathBuf, Arc<UploadStore>), Failure> {
    let told = tell;
    let opened = store::open(
        store::store_path(args.store.store.as_deref())?,
        args.store.lock_timeout,
        move |line| told.warn(line),
    )?;
    // Records are scoped to the endpoint by the library: the same file uploaded to two
    // servers keeps two records.
    let watched = UploadStore::new(opened.storage, cancel.clone());
    Ok((opened.path, Arc::new(watched)))
}

/// What to tell the user about resuming after a failure: `store` is the URL store and whether
/// it holds this upload's record (written, or found, and not removed since); `url` the upload's
/// URL, if one was created or resumed.
fn resume_hint(store: Option<(&Path, bool)>, local: bool, url: Option<&str>) -> String {
    match (store, url) {
        (Some((store, true)), _) => format!(
            "the upload URL is kept in {}: run the same command again to resume",
            store.display()
        ),
        (Some((store, false)), Some(url)) => format!(
            "the upload {url} was created on the server, but its URL is not recorded in {}: the same command starts a new upload (`tusky delete {url}` removes this one)",
            store.display()
        ),
        (Some(_), None) => "nothing was created on the server yet".to_owned(),
        (None, _) if local => {
            "a LOCAL upload cannot be resumed (the bundled server is gone)".to_owned()
        }
        (None, _) => "this upload cannot be resumed (stdin or --no-resume)".to_owned(),
    }
}

/// The failure for an upload error, with what to do next.
fn upload_failure(
    error: &Error,
    input: &Input,
    endpoint: &str,
    offset: u64,
    size: Option<u64>,
    hint: &str,
) -> Failure {
    let exit = classify(error);
    if exit == Exit::Interrupted {
        let of = size
            .map(|s| format!(" of {}", human(s)))
            .unwrap_or_default();
        return Failure::new(
            exit,
            format!("interrupted at {}{of}; {hint}", human(offset)),
        );
    }
    let mut failure = Failure::tus(
        format!("uploading {} to {endpoint}", input.describe()),
        error,
    );
    if matches!(exit, Exit::Network | Exit::LocalIo) {
        failure.message.push_str(&format!(" ({hint})"));
    }
    failure
}

/// A reader that feeds everything read through it to a SHA-256.
struct Hashing<R> {
    inner: R,
    digest: Arc<Mutex<Sha256>>,
}

impl<R> Hashing<R> {
    fn new(inner: R, digest: Arc<Mutex<Sha256>>) -> Self {
        Self { inner, digest }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Hashing<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            self.digest
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .update(&buf.filled()[before..]);
        }
        result
    }
}
