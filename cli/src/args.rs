//! The command line's grammar (clap derive) and its help texts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use tusky::ChunkSize;

use crate::size::parse_size;

/// The exit codes, as shown at the end of `tusky --help` and `tusky upload --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    done
  1    the upload finished but the bytes the bundled server holds differ from the file, or an internal error
  2    usage error (bad option or value, or nothing stored for the given file)
  3    the server refused (a 4xx status, a redirect, or an answer that breaks the tus protocol),
       or tusky refused the server (its TLS certificate, or plain http for an https upload)
  4    network or server failure that persisted after the retries (no connection, timeouts, 5xx)
  5    local I/O error (reading the file, the URL store, writing the local data directory)
  6    every byte is stored, but the server's final answer was an error
  130  interrupted (Ctrl-C or SIGTERM); the upload URL stays stored, so the same command resumes
With several files, the most serious outcome of any file: 130, 1, 2, 3, 5, 4, 6, then 0.";

const MAIN_AFTER_HELP: &str = "\
Examples:
  tusky upload video.mp4                                 # no endpoint: a LOCAL upload to the bundled server
  tusky upload video.mp4 https://tus.example/files/      # resumable; run it again after a failure to resume
  tusky upload a.mp4 photos/ https://tus.example/files/  # many files: 4 at once, finished ones skipped when run again
  tar c dir | tusky upload - https://tus.example/files/  # from stdin, length unknown until the end
  tusky list --check                                     # stored (unfinished) uploads and their offsets
  tusky gc --check                                       # prune expired and gone records from the store
  tusky -v upload video.mp4 https://tus.example/files/   # one line per request on stderr
  tusky serve --port 1080 --dir ./uploads                # a tus server for local development

";

const UPLOAD_AFTER_HELP: &str = "\
Examples:
  tusky upload video.mp4
      No endpoint: starts the bundled tus server on 127.0.0.1 for this run, uploads to it,
      checks the bytes it received and writes them to the local data directory (printed).
  tusky upload video.mp4 https://tus.example/files/ --chunk-size 64MiB
  tusky upload video.mp4 https://tus.example/files/ -H 'Authorization: Bearer TOKEN' -m owner=me
  tusky upload - https://tus.example/files/ -m filename=backup.tar < backup.tar
  tusky upload video.mp4 https://tus.example/files/ --json | jq -r .url
  tusky upload video.mp4 https://tus.internal/files/ --ca-cert internal-ca.pem
  tusky upload video.mp4 https://tus.example/files/ --limit-rate 10MiB --proxy socks5h://127.0.0.1:1080
  tusky upload video.mp4 https://tus.example/files/ --header-command 'echo \"Authorization: Bearer $(get-token)\"'
      The command's output lines are headers; it runs again when the server answers 401.
  tusky upload a.mp4 b.mp4 photos/ https://tus.example/files/ --jobs 8
      Several files and directories (recursive): 8 files at once, one progress bar for all.
  tusky upload photos/ https://tus.example/files/ --json | jq -c 'select(.type == \"summary\")'
  tusky upload photos/ https://tus.example/files/ --fresh
      Uploads every file again, even those a run already finished.

Where headers go: -H headers are sent to the endpoint's origin (scheme, host and port) only. When
the server's upload URL is on another origin, only the tus protocol's headers go there, unless
--cross-origin-headers; an upload that started over https never continues over plain http.
Redirects are not followed. A user name and password in ENDPOINT (https://user:pass@host/files/)
are sent as a Basic Authorization header and never printed or stored.

Resuming: the upload URL is stored (see --store) under the file's fingerprint (size and MD5 of
its first 64 KiB, the key tuspy uses) before any byte is sent. Running the same command again
after Ctrl-C, a kill or a network failure continues at the server's offset and says so
(\"resuming at 412 MiB of 1.0 GiB\"). A record made for another endpoint is not used. The record
is removed when the upload completes. Uploads from stdin cannot be resumed by a later run.

Many files: the last argument is the ENDPOINT when it is a URL (scheme://...); every other
argument is a file or a directory, walked recursively in name order (hidden files included;
symbolic links inside a directory are not followed and, like FIFOs, sockets and devices, are
skipped and said; a link named on the command line is followed; a file named twice is uploaded
once). Several files need an ENDPOINT (no LOCAL upload; run `tusky serve` for a local server).
Each upload carries `filename`, `filetype` (guessed from the name) and, for a file found in a
directory, `relativePath`: its path from the directory given, starting with that directory's name
(photos/2024/a.jpg for photos/), as browsers and Uppy send it; -m pairs go with every file. One
file failing does not stop the others; Ctrl-C stops them all and keeps every record.
When a file is done its record is kept as a completion record (URL, size, modification time,
inode, time) for 30 days: running the same command again skips the files done and resumes the
others. A file that changed (size, modification time or inode) is uploaded again; --fresh uploads
every file again; `tusky forget FILE` forgets one. --no-resume records nothing. With a tuspy
store, only URLs are kept: a done file costs one HEAD on the next run instead.
Without --json, stdout gets `URL<TAB>PATH` for each file done. With --json, stdout gets one JSON
object per file as it ends ({\"type\":\"file\", \"path\", \"relative_path\", \"outcome\", \"url\", \"bytes\",
\"bytes_uploaded\", \"resumed_from\", \"error\", \"exit_code\"}; outcome: uploaded, already_uploaded,
stored_but_refused, failed, interrupted or skipped), then {\"type\":\"summary\", \"files\",
\"outcomes\": {outcome: count}, \"bytes\", \"bytes_uploaded\", \"seconds\", \"exit_code\"}.

Output: a progress bar on a terminal, a short line every few seconds otherwise; with --json only
one JSON object on stdout. Without --json stdout gets the upload URL (or, for a local upload,
the path of the stored copy), everything else goes to stderr.

Proxies: without --proxy, HTTP_PROXY (http URLs), HTTPS_PROXY (https URLs), ALL_PROXY (both, when
the other is unset) and NO_PROXY (hosts that go direct) are honoured, also in lower case;
--no-proxy ignores them. With --proxy, hosts in NO_PROXY still go direct.

Sizes (--chunk-size, --limit-rate): a plain number is bytes; KiB, MiB, GiB (or K, M, G) are powers of 1024;
kB, MB, GB are powers of 1000; decimals are fine (1.5MiB); case does not matter.

Chunk size: by default (`auto`) each PATCH is timed and the size adapts: 4 MiB, 16 MiB, then
the smallest size whose fixed cost per request (round trip, server work) is at most 5 % of a
request, up to 128 MiB; it halves when the server answers 413 or a PATCH times out.
`--chunk-size auto:32MiB` adapts up to 32 MiB; `--chunk-size 8MiB` always sends 8 MiB.

";

const STATUS_AFTER_HELP: &str = "\
Examples:
  tusky status https://tus.example/files/24e533e02ec3bc40c387f1a0e460e216
  tusky status video.mp4            # the URL stored for this file (by fingerprint), then HEAD it

-H headers go to the URL's origin only; for a FILE, to the origin of the endpoint it was
uploaded to (add --cross-origin-headers if its upload URL is on another origin and needs them).

";

const LIST_AFTER_HELP: &str = "\
Examples:
  tusky list                        # file, URL and expiry of every stored upload
  tusky list --check                # also ask each server for its offset (HEAD)
  tusky list --store ~/.tuspy.json  # a tuspy (TinyDB) store works too
  tusky list --check --endpoint https://tus.example/files/ -H 'Authorization: Bearer TOKEN'
                                    # the token goes only to that server's uploads

With --check, -H headers are sent only to the uploads on the origin of --endpoint (or created
through it); without --endpoint, to none (the stored uploads may be on many servers).

";

const FORGET_AFTER_HELP: &str = "\
Examples:
  tusky forget video.mp4            # the next upload of video.mp4 starts from zero
  tusky forget https://tus.example/files/24e533e02ec3bc40c387f1a0e460e216

Only the local record is removed; the server keeps the upload (see `tusky delete`).

";

const DELETE_AFTER_HELP: &str = "\
Examples:
  tusky delete https://tus.example/files/24e533e02ec3bc40c387f1a0e460e216
  tusky delete video.mp4            # the URL stored for this file

Sends DELETE (the tus termination extension) and removes any stored record of the URL.
-H headers go to the URL's origin only; for a FILE, to the origin of the endpoint it was
uploaded to.

";

const SERVE_AFTER_HELP: &str = "\
Examples:
  tusky serve                            # http://127.0.0.1:1080/files/, uploads written to the data directory
  tusky serve --port 0 --dir ./uploads   # a free port (printed on stdout)

This is the bundled tus server (tusky's streaming server: strict tus 1.0 with the creation,
creation-with-upload, creation-defer-length, checksum, termination, expiration and
concatenation extensions), for local development only. It listens on 127.0.0.1 only and
answers only requests addressed to localhost, 127.0.0.1 or [::1]. Every body is written to
DIR/<id> as it arrives (memory stays small whatever the size), with the upload's state in
DIR/<id>.info; a completed upload is described in DIR/<id>.json. Unfinished uploads survive a
restart on the same DIR and port: the client resumes them. Uploads up to 1 TiB.

";

const GC_AFTER_HELP: &str = "\
Examples:
  tusky gc                          # remove the records of expired uploads
  tusky gc --check                  # also those whose server answers 404/410 (one HEAD each)
  tusky gc --terminate-older-than 7d --dry-run
                                    # which uploads older than a week would be terminated
  tusky gc --check --endpoint https://tus.example/files/ -H 'Authorization: Bearer TOKEN'

A server that cannot be asked keeps its record (said on stderr). Without --check and
--terminate-older-than nothing is sent to any server.

";

/// `tusky`: resumable uploads over the tus 1.0 protocol.
#[derive(Debug, Parser)]
#[command(
    name = "tusky",
    version,
    about = "Resumable file uploads over the tus 1.0 protocol",
    long_about = None,
    after_help = format!("{MAIN_AFTER_HELP}{EXIT_CODES_HELP}"),
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Show what tusky does on stderr: -v one line per request (method, URL, status, offset,
    /// bytes, duration) and each decision (resume, retry, start over); -vv also trace events.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload files, directories or stdin to a tus server, resuming an earlier attempt.
    #[command(after_help = format!("{UPLOAD_AFTER_HELP}{EXIT_CODES_HELP}"))]
    Upload(UploadArgs),
    /// Show the server's offset and length for an upload (by URL, or by file via the store).
    #[command(after_help = STATUS_AFTER_HELP)]
    Status(StatusArgs),
    /// List the stored uploads: unfinished ones, and the completion records of files a
    /// many-file upload finished.
    #[command(after_help = LIST_AFTER_HELP)]
    List(ListArgs),
    /// Remove the stored record of an upload, so the next upload starts over.
    #[command(after_help = FORGET_AFTER_HELP)]
    Forget(ForgetArgs),
    /// Terminate an upload on the server (DELETE) and forget it.
    #[command(after_help = DELETE_AFTER_HELP)]
    Delete(DeleteArgs),
    /// Run the bundled tus server for local development.
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve(ServeArgs),
    /// Remove stored records that can no longer resume: expired, gone on the server, or old.
    #[command(after_help = GC_AFTER_HELP)]
    Gc(GcArgs),
}

/// Options for talking to a server, shared by the commands that do.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// A header sent with every request to the server's origin, as 'Name: value' (repeatable;
    /// see --cross-origin-headers).
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// A command (run by `sh -c`, at most 30 s) whose stdout lines are 'Name: value' headers,
    /// sent like -H headers; it runs before the first request and again after a 401 (an
    /// expired token), like a credential helper. Its stderr is shown.
    #[arg(long, value_name = "CMD")]
    pub header_command: Option<String>,
    /// Also send the -H headers to an upload URL on another origin (scheme, host, port) than
    /// the endpoint's, such as a `Location` on a storage host. Without it, only the tus
    /// protocol's headers go there. An upload that started over https never continues over
    /// plain http either way.
    #[arg(long)]
    pub cross_origin_headers: bool,
    /// Trust this CA certificate (PEM) for the server's TLS certificate, beside the system's
    /// roots (repeatable): for a server with a private or self-signed certificate.
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Do not verify the server's TLS certificate. DANGEROUS: anyone on the path can read and change the upload.
    #[arg(long)]
    pub insecure: bool,
    /// How long a request without a body (OPTIONS, HEAD, DELETE, a creation POST without data)
    /// may take for its whole answer before it fails as a timeout [default: 120]. Requests
    /// that send bytes are watched for stalls instead.
    #[arg(long, value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub request_timeout: Option<Duration>,
    /// Send every request through this proxy: http://, https://, socks5:// or socks5h:// (the
    /// proxy resolves host names), optionally with user:password@. Without it, HTTP_PROXY,
    /// HTTPS_PROXY, ALL_PROXY and NO_PROXY (or their lower-case forms) are honoured.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Connect directly, ignoring the proxy environment variables.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy: bool,
}

/// Where upload URLs are remembered.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// The URL store: a tusky JSON file, or a tuspy (TinyDB) file, detected by its content; or
    /// redis://[:PASSWORD@]HOST:PORT/DB to share resume state between machines. Also taken
    /// from $TUSKY_STORE
    /// [default: $XDG_DATA_HOME/tusky/uploads.json, else ~/.local/share/tusky/uploads.json]
    #[arg(long, value_name = "PATH|URL")]
    pub store: Option<PathBuf>,
    /// How long to wait for another process that holds the URL store's lock before giving up
    /// (exit 5, naming the holder's pid); 0: do not wait.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "30")]
    pub lock_timeout: Duration,
}

/// `tusky upload`.
#[derive(Debug, Args)]
#[command(override_usage = "tusky upload [OPTIONS] <FILE|DIR|->... [ENDPOINT]")]
pub struct UploadArgs {
    /// The files and directories to upload (`-`: stdin, alone), then the tus creation endpoint,
    /// e.g. https://tus.example/files/ (the last argument, when it is a URL). Without an
    /// endpoint, one file goes to the bundled server, started on 127.0.0.1 for this run (a
    /// LOCAL upload).
    #[arg(value_name = "FILE|DIR|- ... ENDPOINT", required = true, num_args = 1..)]
    pub targets: Vec<String>,
    /// With several files: how many are uploaded at once.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Upload every file again from its first byte, even those a run already finished or
    /// started (their records are replaced; the server's uploads are left as they are).
    #[arg(long, conflicts_with = "no_resume")]
    pub fresh: bool,
    /// Bytes per PATCH request: `auto` (measured and adapted to the server: from 4 MiB, up
    /// to 128 MiB), `auto:SIZE` (adapted, up to SIZE), or a fixed SIZE (e.g. 8MiB, 512KiB,
    /// 1048576). Memory use does not grow with it (stdin: at most 8 MiB in auto mode).
    #[arg(short = 'c', long, value_name = "auto|auto:SIZE|SIZE", value_parser = parse_chunk_size, default_value = "auto")]
    pub chunk_size: ChunkSize,
    /// Upload-Metadata as key=value (repeatable). `filename` defaults to the file's name and
    /// `filetype` to the MIME type its extension suggests (photo.jpg: image/jpeg), else
    /// application/octet-stream (tuspyserver needs both); give them to override.
    #[arg(short = 'm', long = "metadata", value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<(String, String)>,
    /// Connection options.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// At most this many bytes per second for everything the command uploads (e.g. 10MiB,
    /// 500KiB), all parts together; smooth, with a burst of 1/8 s.
    #[arg(long, value_name = "SIZE", value_parser = parse_rate)]
    pub limit_rate: Option<u64>,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Neither look up nor record the upload URL: always start a new upload.
    #[arg(long)]
    pub no_resume: bool,
    /// Send Upload-Checksum on every PATCH: sha1, sha256, sha512, md5, crc32, or `auto` (the
    /// strongest one the server lists; none if it lists none).
    #[arg(long, value_name = "ALGO")]
    pub checksum: Option<String>,
    /// Upload in N parts at once and join them (concatenation extension).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub parallel: Option<u32>,
    /// With --parallel: split the file into N parts (default: one per worker, up to four per
    /// worker for files over 64 MiB a worker); a worker done with a part takes the next one.
    #[arg(long, value_name = "N", requires = "parallel", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parts: Option<u32>,
    /// Send an Idempotency-Key with every creation POST and the final --parallel POST, and
    /// repeat such a POST when its answer was lost (the server must honour the header: a
    /// repeated key gets the upload the first POST made).
    #[arg(long)]
    pub idempotent_creation: bool,
    /// Retries in a row without progress before giving up (exponential backoff from 0.5 s).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub retries: u32,
    /// Print only JSON on stdout: for one file an object (url, bytes, seconds, resumed_from,
    /// local, ...); for several, one object per file as it ends and a summary last.
    #[arg(long)]
    pub json: bool,
    /// Where a LOCAL upload (no ENDPOINT) keeps the bytes it received
    /// [default: the data directory's `local/`, next to the default store]
    #[arg(long, value_name = "DIR")]
    pub local_dir: Option<PathBuf>,
}

impl UploadArgs {
    /// The files and directories, and the endpoint: the last argument when there are several
    /// and it is a URL (`scheme://...`).
    pub fn split_endpoint(&self) -> (&[String], Option<&str>) {
        match self.targets.split_last() {
            Some((last, files)) if !files.is_empty() && looks_like_url(last) => {
                (files, Some(last.as_str()))
            }
            _ => (&self.targets, None),
        }
    }
}

/// Whether `text` starts with `scheme://` (a URL, perhaps one tus cannot use: that is said
/// when it is parsed).
fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// `tusky status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// An upload URL, or a file whose stored upload to look up.
    #[arg(value_name = "FILE|URL")]
    pub target: String,
    /// Connection options.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print a JSON object instead.
    #[arg(long)]
    pub json: bool,
}

/// `tusky list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also ask each server for the upload's offset (one HEAD per upload).
    #[arg(long)]
    pub check: bool,
    /// With --check: the server the -H headers are for. They go only to stored uploads on
    /// its origin (or created through it); without it, to none.
    #[arg(long, value_name = "URL", requires = "check")]
    pub endpoint: Option<String>,
    /// Connection options (for --check).
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print a JSON array instead.
    #[arg(long)]
    pub json: bool,
}

/// `tusky forget`.
#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// A file (its fingerprint) or an upload URL.
    #[arg(value_name = "FILE|URL")]
    pub target: String,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `tusky delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The upload URL (or a file whose stored upload to delete).
    #[arg(value_name = "URL|FILE")]
    pub target: String,
    /// Connection options.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `tusky gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Also ask each stored upload's server (HEAD) and remove the records of uploads it
    /// answers 404 or 410 for.
    #[arg(long)]
    pub check: bool,
    /// Terminate (DELETE) the uploads first recorded longer ago than this (e.g. 7d, 12h, 30m,
    /// 90s) and remove their records. Records without a creation time are never terminated.
    #[arg(long, value_name = "DURATION", value_parser = crate::gc::parse_duration)]
    pub terminate_older_than: Option<Duration>,
    /// Say what would be removed and terminated, but change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The server the -H and --header-command headers are for: they go only to uploads on
    /// its origin; without it, to none.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Connection options (for --check and --terminate-older-than).
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// URL store options.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print a JSON object instead: removed (key, file, url, reason), kept, errors.
    #[arg(long)]
    pub json: bool,
}

/// `tusky serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 (0: any free port; the endpoint is printed on stdout).
    #[arg(short, long, default_value_t = 1080)]
    pub port: u16,
    /// Where uploads are written as they arrive, and kept across restarts [default: the data
    /// directory's `served/`]
    #[arg(short, long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The endpoint's path.
    #[arg(long, default_value = "/files/")]
    pub base_path: String,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("{s:?} is not a number of seconds (e.g. 30, 0.5)"))
}

fn parse_positive_seconds(s: &str) -> Result<Duration, String> {
    parse_seconds(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds (e.g. 30, 0.5)"))
}

fn parse_rate(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        0 => Err(format!(
            "{s:?}: the rate must be at least 1 byte per second"
        )),
        rate => Ok(rate),
    }
}

/// `auto`, `auto:SIZE` (adapted, at most SIZE) or a fixed SIZE.
fn parse_chunk_size(s: &str) -> Result<ChunkSize, String> {
    let text = s.trim();
    let Some(rest) = text
        .get(..4)
        .filter(|head| head.eq_ignore_ascii_case("auto"))
        .map(|_| &text[4..])
    else {
        return parse_size(text).map(ChunkSize::Fixed);
    };
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Ok(ChunkSize::auto()),
        Some(max) => parse_size(max).map(|max| ChunkSize::Auto { max }),
        None => Err(format!(
            "{s:?} is not a chunk size (auto, auto:64MiB, or a size like 8MiB)"
        )),
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?} has no header name before ':'"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

fn parse_metadata(s: &str) -> Result<(String, String), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not key=value"))?;
    if key.is_empty() {
        return Err(format!("{s:?} has no key before '='"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_last_argument_is_the_endpoint_when_it_is_a_url() {
        let split = |args: &[&str]| {
            let cli = Cli::try_parse_from(["tusky", "upload"].iter().chain(args)).unwrap();
            let Command::Upload(upload) = cli.command else {
                panic!("not upload");
            };
            let (files, endpoint) = upload.split_endpoint();
            (files.to_vec(), endpoint.map(str::to_owned))
        };
        let url = "https://tus.example/files/";
        assert_eq!(split(&["a", url]), (vec!["a".into()], Some(url.into())));
        assert_eq!(
            split(&["a", "dir/", "ftp://x/"]),
            (vec!["a".into(), "dir/".into()], Some("ftp://x/".into()))
        );
        assert_eq!(split(&["a", "b"]), (vec!["a".into(), "b".into()], None));
        assert_eq!(split(&[url]), (vec![url.into()], None));
        assert_eq!(split(&["-"]), (vec!["-".into()], None));
        assert!(!looks_like_url("./a://b"));
    }

    #[test]
    fn headers_and_metadata_parse() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header(": x").is_err());
        assert_eq!(parse_metadata("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_metadata("flag="), Ok(("flag".into(), String::new())));
        assert!(parse_metadata("=x").is_err());
        assert!(parse_metadata("x").is_err());
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        for bad in ["-1", "soon", "inf", "NaN", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_positive_seconds("0.5"),
            Ok(Duration::from_millis(500))
        );
        assert!(parse_positive_seconds("0").is_err());
        assert_eq!(parse_rate("10MiB"), Ok(10 * 1024 * 1024));
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn chunk_sizes_parse() {
        assert_eq!(parse_chunk_size("auto"), Ok(ChunkSize::auto()));
        assert_eq!(parse_chunk_size(" AUTO "), Ok(ChunkSize::auto()));
        assert_eq!(
            parse_chunk_size("auto:64MiB"),
            Ok(ChunkSize::Auto { max: 64 << 20 })
        );
        assert_eq!(parse_chunk_size("8MiB"), Ok(ChunkSize::Fixed(8 << 20)));
        assert_eq!(parse_chunk_size("1000"), Ok(ChunkSize::Fixed(1000)));
        for bad in [
            "auto:",
            "auto:0",
            "automatic",
            "auto64MiB",
            "auto:x",
            "0",
            "",
            "é",
        ] {
            assert!(parse_chunk_size(bad).is_err(), "{bad}");
        }
    }
}
