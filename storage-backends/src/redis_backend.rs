use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{versioned, Storage, StorageError, UploadRecord};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, ConnectionAddr, ConnectionInfo, FromRedisValue, RedisError};

/// A record is kept at least this long after it is written, even when its `expires_unix` has
/// already passed: a `get` right after a `set` finds it, and the uploader (which does not resume
/// expired uploads) decides what to do with it.
const MIN_LIFETIME_SECS: u64 = 3600;

/// Expiry times past this (9999-12-31T23:59:59Z) are stored without a TTL: Redis refuses
/// timestamps whose milliseconds overflow, and such a record never expires in practice.
const MAX_EXPIRES_UNIX: u64 = 253_402_300_799;

/// `COUNT` hint of each `SCAN` round, and keys per `MGET` in `list`.
const BATCH: usize = 500;

/// Reconnection attempts per connection loss (exponential backoff from 100 ms, at most 1 s
/// apart); every command's own deadline bounds the wait anyway.
const RECONNECT_RETRIES: usize = 3;
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Upload records in [Redis](https://redis.io), so that every machine reaching one server shares
/// resume state: an upload started on one host resumes on another.
///
/// - **Keys**: each record lives under `<prefix><key>` (prefix [`DEFAULT_PREFIX`], or
///   [`with_prefix`]), one Redis string per record. Stores with different prefixes on one
///   server never see each other's records; do not nest prefixes (`a:` would list `a:b:`'s
///   records).
/// - **Values**: the record as versioned JSON, `{"version": 1, "record": {...}}` — the record
///   encoding `RedbStorage` stores. A value this version cannot read (a newer version,
///   garbage) gives [`StorageError::Corrupt`] naming the server and the key, and is not
///   touched.
/// - **Expiry**: a record with `expires_unix` is written with `SET key value EXAT t` — value
///   and expiry in one atomic command — so Redis drops it when the upload expires on the tus
///   server (but never sooner than an hour after the write, so a record whose expiry has
///   already passed can still be read). A record without `expires_unix` does not expire. Each
///   write replaces the record and its expiry whole.
/// - **Listing** walks the prefix with `SCAN … MATCH` (never `KEYS`, which blocks the server)
///   and reads the records with `MGET`, in batches of 500.
/// - **Deadlines**: every command sent to Redis gives up after the timeout
///   ([`DEFAULT_TIMEOUT`], or [`with_timeout`]), so a dead or unreachable Redis gives an error,
///   never a hang. A write that timed out may still be applied later.
/// - **Errors**: a refused, lost or silent connection is a [`StorageError::Backend`] whose
///   message names the server as `redis://host:port/db` (never the password) and the operation.
///   A write is either acknowledged by Redis or reported as failed: no record is lost
///   silently. The connection is re-established by itself when Redis is back.
///
/// Durability is Redis's: see the README section "Sharing resume state across a fleet" for
/// the persistence settings (AOF or RDB) that keep the records across a Redis restart. One
/// Redis server (or a primary); Redis Cluster is not supported. TLS (`rediss://`) is not built
/// in.
///
/// Cloning is cheap and shares the connection (redis-rs's `ConnectionManager`, one
/// multiplexed connection).
///
/// [`DEFAULT_PREFIX`]: RedisStorage::DEFAULT_PREFIX
/// [`DEFAULT_TIMEOUT`]: RedisStorage::DEFAULT_TIMEOUT
/// [`with_prefix`]: RedisStorage::with_prefix
/// [`with_timeout`]: RedisStorage::with_timeout
///
/// ```no_run
/// use std::time::Duration;
/// use tusky_storage::{RedisStorage, Storage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tusky_storage::StorageError> {
/// let store = RedisStorage::open("redis://:secret@redis.internal:6379/2")
///     .await?
///     .with_prefix("uploads:team-a:")
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(store.server(), "redis://redis.internal:6379/2");
/// store.set("size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3",
///           UploadRecord::new("https://tus.example/files/1").with_expires_unix(1_900_000_000)).await?;
/// // Any other machine opening the same server and prefix sees the record.
/// assert_eq!(store.list().await?.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStorage {
    connection: ConnectionManager,
    server: Arc<str>,
    prefix: Arc<str>,
    timeout: Duration,
}

impl fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStorage")
            .field("server", &self.server)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStorage {
    /// The key prefix unless [`with_prefix`](RedisStorage::with_prefix) sets another.
    pub const DEFAULT_PREFIX: &'static str = "tusky:upload:";
    /// How long each command (and [`open`](RedisStorage::open)) waits for Redis, unless
    /// [`with_timeout`](RedisStorage::with_timeout) sets another.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Connects to the Redis server at `url` (`redis://[[user]:password@]host[:port][/db]`, or
    /// `redis+unix:///path/to/socket?db=N`) and checks that it answers (`PING`), within
    /// [`DEFAULT_TIMEOUT`](RedisStorage::DEFAULT_TIMEOUT).
    ///
    /// Fails with [`StorageError::Backend`] when the URL is not a usable Redis URL, or the
    /// server is unreachable, refuses the credentials or does not answer in time; the message
    /// names the server without the password.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let client = Client::open(url)
            .map_err(|source| StorageError::Backend(Box::new(InvalidRedisUrl(source))))?;
        let server: Arc<str> = server_name(client.get_connection_info()).into();
        // The deadline of each command is ours (`timeout`, changeable after opening), not the
        // manager's (500 ms by default: too short for a busy server).
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(Some(Self::DEFAULT_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connecting = ConnectionManager::new_with_config(client, config);
        let connection = match tokio::time::timeout(Self::DEFAULT_TIMEOUT, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(source)) => return Err(error(&server, "connect", Cause::Redis(source))),
            Err(_) => {
                return Err(error(
                    &server,
                    "connect",
                    Cause::Timeout(Self::DEFAULT_TIMEOUT),
                ))
            }
        };
        let store = Self {
            connection,
            server,
            prefix: Self::DEFAULT_PREFIX.into(),
            timeout: Self::DEFAULT_TIMEOUT,
        };
        store.query::<()>("ping", &redis::cmd("PING")).await?;
        Ok(store)
    }

    /// The same server and connection, with records under `prefix` instead.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().into();
        self
    }

    /// The same store, with every command given up after `timeout` instead.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The server, as `redis://host:port/db` (no user name or password): what errors name.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The prefix of every key this store writes.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of each command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Sends `command` and waits for its answer, at most [`timeout`](RedisStorage::timeout).
    async fn query<T: FromRedisValue>(
        &self,
        operation: &'static str,
        command: &Cmd,
    ) -> Result<T, StorageError> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, command.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(error(&self.server, operation, Cause::Redis(source))),
            Err(_) => Err(error(&self.server, operation, Cause::Timeout(self.timeout))),
        }
    }

    /// Every key under the prefix (without it), sorted, through `SCAN … MATCH prefix*`.
    async fn scan_keys(&self, key_prefix: &str) -> Result<Vec<String>, StorageError> {
        let pattern = format!("{}{}*", glob_escape(&self.prefix), glob_escape(key_prefix));
        // SCAN may return a key twice; the set keeps one.
        let mut keys = BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let mut command = redis::cmd("SCAN");
            command
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(BATCH);
            let (next, found): (u64, Vec<Vec<u8>>) = self.query("list (SCAN)", &command).await?;
            for raw in found {
                if let Some(key) = self.own_key(raw)? {
                    keys.insert(key);
                }
            }
            if next == 0 {
                return Ok(keys.into_iter().collect());
            }
            cursor = next;
        }
    }

    /// The store key of the Redis key `raw`: `None` if it is not under the prefix.
    fn own_key(&self, raw: Vec<u8>) -> Result<Option<String>, StorageError> {
        let Some(rest) = raw.strip_prefix(self.prefix.as_bytes()) else {
            return Ok(None);
        };
        match String::from_utf8(rest.to_vec()) {
            Ok(key) => Ok(Some(key)),
            Err(_) => Err(self.corrupt(format!(
                "the key {:?} under the prefix {:?} is not UTF-8",
                String::from_utf8_lossy(&raw),
                self.prefix
            ))),
        }
    }

    fn corrupt(&self, reason: String) -> StorageError {
        StorageError::Corrupt {
            path: PathBuf::from(&*self.server),
            reason,
        }
    }

    /// The record stored (in the encoding `RedbStorage` uses too) under `key`.
    fn decode(&self, key: &str, bytes: &[u8]) -> Result<UploadRecord, StorageError> {
        versioned::decode(&self.redis_key(key), bytes).map_err(|reason| self.corrupt(reason))
    }
}

#[async_trait]
impl Storage for RedisStorage {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        let mut command = redis::cmd("GET");
        command.arg(self.redis_key(key));
        let found: Option<Vec<u8>> = self.query("get", &command).await?;
        found.map(|bytes| self.decode(key, &bytes)).transpose()
    }

    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.redis_key(key))
            .arg(versioned::encode(&record)?);
        if let Some(at) = expire_at(record.expires_unix, unix_now()) {
            command.arg("EXAT").arg(at);
        }
        self.query::<()>("set", &command).await
    }

    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        let mut command = redis::cmd("DEL");
        command.arg(self.redis_key(key));
        self.query::<()>("remove", &command).await
    }

    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.list_prefix("").await
    }

    /// `SCAN … MATCH <prefix><key prefix>*`: only the keys asked for come back.
    async fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        let keys = self.scan_keys(prefix).await?;
        let mut records = Vec::with_capacity(keys.len());
        for batch in keys.chunks(BATCH) {
            let mut command = redis::cmd("MGET");
            for key in batch {
                command.arg(self.redis_key(key));
            }
            let values: Vec<Option<Vec<u8>>> = self.query("list (MGET)", &command).await?;
            if values.len() != batch.len() {
                let cause = Cause::Answer(format!(
                    "MGET of {} keys answered {} values",
                    batch.len(),
                    values.len()
                ));
                return Err(error(&self.server, "list (MGET)", cause));
            }
            // A key that expired or was removed since the SCAN reads as nil: it is gone.
            for (key, value) in batch.iter().zip(values) {
                if let Some(bytes) = value {
                    records.push((key.clone(), self.decode(key, &bytes)?));
                }
            }
        }
        Ok(records)
    }
}

/// The `EXAT` of a record expiring at `expires_unix` written at `now`: the expiry, but at least
/// [`MIN_LIFETIME_SECS`] after `now`; `None` (no TTL) without an expiry or past year 9999.
fn expire_at(expires_unix: Option<u64>, now: u64) -> Option<u64> {
    expires_unix
        .filter(|&at| at <= MAX_EXPIRES_UNIX)
        .map(|at| at.max(now.saturating_add(MIN_LIFETIME_SECS)))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `text` with the glob characters of Redis's `MATCH` (`* ? [ ] \`) escaped.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The server as `redis://host:port/db`, without user name or password.
fn server_name(info: &ConnectionInfo) -> String {
    let db = info.redis_settings().db();
    let host = |host: &str| {
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    };
    match info.addr() {
        ConnectionAddr::Tcp(name, port) => format!("redis://{}:{port}/{db}", host(name)),
        ConnectionAddr::TcpTls {
            host: name, port, ..
        } => {
            format!("rediss://{}:{port}/{db}", host(name))
        }
        ConnectionAddr::Unix(path) => format!("redis+unix://{}?db={db}", path.display()),
        other => format!("redis://{other}/{db}"),
    }
}

fn error(server: &Arc<str>, operation: &'static str, cause: Cause) -> StorageError {
    StorageError::Backend(Box::new(RedisStoreError {
        server: Arc::clone(server),
        operation,
        cause,
    }))
}

/// A failed Redis command or connection, naming the server, for [`StorageError::Backend`].
#[derive(Debug)]
struct RedisStoreError {
    server: Arc<str>,
    operation: &'static str,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    /// Redis (or the connection to it) answered with an error.
    Redis(RedisError),
    /// No answer within the deadline.
    Timeout(Duration),
    /// An answer of an unexpected shape.
    Answer(String),
}

impl fmt::Display for RedisStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis {}: {}: ", self.server, self.operation)?;
        match &self.cause {
            Cause::Redis(source) => write!(f, "{source}"),
            Cause::Timeout(after) => write!(
                f,
                "no answer within {after:?} (is the server down or unreachable?)"
            ),
            Cause::Answer(what) => write!(f, "unexpected answer: {what}"),
        }
    }
}

impl std::error::Error for RedisStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Redis(source) => Some(source),
            Cause::Timeout(_) | Cause::Answer(_) => None,
        }
    }
}

/// A URL [`RedisStorage::open`] cannot use (not echoed: it may hold a password).
#[derive(Debug)]
struct InvalidRedisUrl(RedisError);

impl fmt::Display for InvalidRedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a usable Redis URL (want redis://[[user]:password@]host[:port][/db]): {}",
            self.0
        )
    }
}

impl std::error::Error for InvalidRedisUrl {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_the_records_but_at_least_an_hour_away() {
        let now = 1_800_000_000;
        assert_eq!(expire_at(None, now), None);
        assert_eq!(expire_at(Some(now + 86_400), now), Some(now + 86_400));
        assert_eq!(
            expire_at(Some(now + MIN_LIFETIME_SECS), now),
            Some(now + MIN_LIFETIME_SECS)
        );
        for past_or_soon in [0, 1_700_000_000, now, now + 10] {
            assert_eq!(
                expire_at(Some(past_or_soon), now),
                Some(now + MIN_LIFETIME_SECS),
                "{past_or_soon}"
            );
        }
        assert_eq!(
            expire_at(Some(MAX_EXPIRES_UNIX), now),
            Some(MAX_EXPIRES_UNIX)
        );
        assert_eq!(expire_at(Some(MAX_EXPIRES_UNIX + 1), now), None);
        assert_eq!(expire_at(Some(u64::MAX), now), None);
    }

    #[test]
    fn glob_characters_in_the_prefix_are_escaped() {
        assert_eq!(glob_escape("tusky:upload:"), "tusky:upload:");
        assert_eq!(glob_escape(r"a*b?c[d]e\f"), r"a\*b\?c\[d\]e\\f");
        assert_eq!(glob_escape("ünï 🔑"), "ünï 🔑");
    }

    #[test]
    fn the_server_is_named_without_credentials() {
        for (url, name) in [
            ("redis://127.0.0.1:6380/3", "redis://127.0.0.1:6380/3"),
            ("redis://localhost", "redis://localhost:6379/0"),
            (
                "redis://:secret@cache.internal/2",
                "redis://cache.internal:6379/2",
            ),
            ("redis://me:secret@[::1]:7000", "redis://[::1]:7000/0"),
            (
                "redis+unix:///run/redis.sock?db=4",
                "redis+unix:///run/redis.sock?db=4",
            ),
        ] {
            let client = Client::open(url).unwrap();
            assert_eq!(server_name(client.get_connection_info()), name, "{url}");
        }
    }
}
