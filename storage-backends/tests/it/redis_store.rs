//! RedisStorage against a real Redis: conformance, expiry from `expires_unix`, prefix
//! isolation, many concurrent writers, the stored encoding, and a server that stops answering
//! or goes away (through a TCP proxy the test controls).
//!
//! The server comes from `TUSKY_REDIS_URL` (e.g. `redis://127.0.0.1:6379/0`; `.ci/run` starts
//! one). Without it these tests print a note and pass, unless `TUSKY_REDIS_REQUIRED=1` (set by
//! CI), which makes its absence a failure. Each test works under a prefix of its own and
//! removes its keys at the end.
#![cfg(feature = "redis")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tusky_storage::{RedisStorage, Storage, StorageError, UploadRecord};

const KEY: &str = "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3";

#[path = "../../../tests/shared/redis_url.rs"]
mod redis_url;
use redis_url::redis_url;

/// A prefix no other test (or earlier run) uses.
fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("tusky-test:{test}:{}:{nanos}:", std::process::id())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn raw_connection(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Deletes every key under `prefix`.
async fn clear(url: &str, prefix: &str) {
    let mut connection = raw_connection(url).await;
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(format!("{prefix}*").replace('[', "\\[").replace(']', "\\]"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

async fn open(url: &str, prefix: &str) -> RedisStorage {
    RedisStorage::open(url).await.unwrap().with_prefix(prefix)
}

fn record(n: u64) -> UploadRecord {
    UploadRecord::new(format!("https://tus.example/files/{n}"))
        .with_size(1000 + n)
        .with_source(format!("/data/file-{n}.bin"))
        .with_endpoint("https://tus.example/files/")
}

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_conformance() {
    let Some(url) = redis_url("passes_conformance") else {
        return;
    };
    let base = unique_prefix("conformance");
    tusky_storage::conformance::run_all(|scenario| {
        let (url, prefix) = (url.clone(), format!("{base}{scenario}:"));
        async move { open(&url, &prefix).await }
    })
    .await;
    clear(&url, &base).await;
}

#[tokio::test]
async fn records_expire_when_their_upload_does() {
    let Some(url) = redis_url("records_expire_when_their_upload_does") else {
        return;
    };
    let prefix = unique_prefix("expiry");
    let store = open(&url, &prefix).await;
    let mut redis = raw_connection(&url).await;
    let key = format!("{prefix}{KEY}");
    let expire_time = |redis: &mut MultiplexedConnection| {
        let mut redis = redis.clone();
        let key = key.clone();
        async move {
            let at: i64 = redis::cmd("EXPIRETIME")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .unwrap();
            at
        }
    };

    // Expiring in a day: Redis drops the key exactly then.
    let in_a_day = unix_now() + 86_400;
    store
        .set(KEY, record(1).with_expires_unix(in_a_day))
        .await
        .unwrap();
    assert_eq!(expire_time(&mut redis).await, in_a_day as i64);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!((86_000..=86_400).contains(&ttl), "TTL {ttl}");

    // A later write without an expiry replaces the TTL too: the key no longer expires.
    store.set(KEY, record(2)).await.unwrap();
    assert_eq!(expire_time(&mut redis).await, -1, "no expiry: persistent");

    // An expiry already past: kept (readable) for an hour, then dropped.
    let before = unix_now();
    store
        .set(KEY, record(3).with_expires_unix(1_700_000_000))
        .await
        .unwrap();
    let at = expire_time(&mut redis).await;
    assert!(
        (before as i64 + 3600..=unix_now() as i64 + 3600).contains(&at),
        "a past expiry keeps the record an hour: {at}"
    );
    assert_eq!(
        store.get(KEY).await.unwrap(),
        Some(record(3).with_expires_unix(1_700_000_000))
    );

    // Beyond what Redis can represent: no TTL rather than an error.
    store
        .set(KEY, record(4).with_expires_unix(u64::MAX))
        .await
        .unwrap();
    assert_eq!(expire_time(&mut redis).await, -1);
    clear(&url, &prefix).await;
}

#[tokio::test]
async fn the_stored_value_is_versioned_json_and_unreadable_ones_are_refused() {
    let Some(url) = redis_url("the_stored_value_is_versioned_json_and_unreadable_ones_are_refused")
    else {
        return;
    };
    let prefix = unique_prefix("encoding");
    let store = open(&url, &prefix).await;
    let mut redis = raw_connection(&url).await;
    let key = format!("{prefix}{KEY}");
    store
        .set(KEY, record(1).with_expires_unix(1_900_000_000))
        .await
        .unwrap();
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["record"]["url"], "https://tus.example/files/1");
    assert_eq!(value["record"]["expires_unix"], 1_900_000_000u64);

    for (what, bytes) in [
        (
            "newer",
            br#"{"version":2,"record":{"url":"https://x"}}"#.as_slice(),
        ),
        ("garbage", b"\x00\x01not json".as_slice()),
        (
            "bad record",
            br#"{"version":1,"record":{"url":7}}"#.as_slice(),
        ),
    ] {
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(bytes)
            .query_async(&mut redis)
            .await
            .unwrap();
        for result in [
            store.get(KEY).await.map(|_| ()),
            store.list().await.map(|_| ()),
        ] {
            match result {
                Err(StorageError::Corrupt { path, reason }) => {
                    assert_eq!(path.to_str(), Some(store.server()), "{what}");
                    assert!(reason.contains(KEY), "{what}: names the key: {reason}");
                    if what == "newer" {
                        assert!(reason.contains("newer"), "{reason}");
                    }
                }
                other => panic!("{what}: expected Corrupt, got {other:?}"),
            }
        }
        let left: Vec<u8> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(left, bytes, "{what}: the value was changed");
        // It can still be replaced.
        store.set(KEY, record(5)).await.unwrap();
        assert_eq!(store.get(KEY).await.unwrap(), Some(record(5)));
    }
    clear(&url, &prefix).await;
}

#[tokio::test]
async fn prefixes_keep_stores_apart() {
    let Some(url) = redis_url("prefixes_keep_stores_apart") else {
        return;
    };
    let base = unique_prefix("isolation");
    // Unescaped, the glob `iso-[ab]:*` would also match `iso-a:` keys.
    let a = open(&url, &format!("{base}iso-a:")).await;
    let glob = open(&url, &format!("{base}iso-[ab]:")).await;
    let default = RedisStorage::open(&url).await.unwrap();
    assert_eq!(default.prefix(), RedisStorage::DEFAULT_PREFIX);
    let stars = open(&url, &format!("{base}*?\\:")).await;

    for (n, store) in (1u64..).zip([&a, &glob, &stars]) {
        store.set(KEY, record(n)).await.unwrap();
        store.set(&format!("own-{n}"), record(n)).await.unwrap();
    }
    for (n, store) in (1u64..).zip([&a, &glob, &stars]) {
        assert_eq!(store.get(KEY).await.unwrap(), Some(record(n)));
        assert_eq!(
            store.list().await.unwrap(),
            vec![(format!("own-{n}"), record(n)), (KEY.to_owned(), record(n))],
            "prefix {:?} lists only its own records",
            store.prefix()
        );
    }
    a.remove(KEY).await.unwrap();
    assert_eq!(a.get(KEY).await.unwrap(), None);
    assert_eq!(glob.get(KEY).await.unwrap(), Some(record(2)));
    assert_eq!(stars.get(KEY).await.unwrap(), Some(record(3)));
    // The default prefix sees none of them (whatever else it holds on this server).
    assert!(default
        .list()
        .await
        .unwrap()
        .iter()
        .all(|(key, _)| !key.contains(&base)));
    clear(&url, &base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_lose_nothing() {
    let Some(url) = redis_url("many_concurrent_writers_lose_nothing") else {
        return;
    };
    const TASKS: u64 = 24;
    const PER_TASK: u64 = 20;
    let prefix = unique_prefix("writers");
    let shared = Arc::new(open(&url, &prefix).await);
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let (url, prefix, shared) = (url.clone(), prefix.clone(), Arc::clone(&shared));
        tasks.spawn(async move {
            // Half share one connection, half have their own (as separate machines would).
            let store: Arc<RedisStorage> = if task % 2 == 0 {
                shared
            } else {
                Arc::new(open(&url, &prefix).await)
            };
            for i in 0..PER_TASK {
                let n = task * PER_TASK + i;
                store.set(&format!("w{task:02}-{i:02}"), record(n)).await?;
                store.set("contended", record(10_000 + n)).await?;
            }
            // One record each is written and removed again.
            store.set(&format!("w{task:02}-gone"), record(0)).await?;
            store.remove(&format!("w{task:02}-gone")).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
    }
    let listed: BTreeMap<String, UploadRecord> = shared.list().await.unwrap().into_iter().collect();
    assert_eq!(
        listed.len() as u64,
        TASKS * PER_TASK + 1,
        "{:?}",
        listed.keys()
    );
    for task in 0..TASKS {
        for i in 0..PER_TASK {
            let key = format!("w{task:02}-{i:02}");
            assert_eq!(
                listed.get(&key),
                Some(&record(task * PER_TASK + i)),
                "{key}"
            );
        }
    }
    let contended = listed.get("contended").unwrap();
    assert!((10_000..10_000 + TASKS * PER_TASK).any(|n| contended == &record(n)));
    clear(&url, &prefix).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_prompt_error_naming_it() {
    // No Redis needed: nothing listens on this port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let err = RedisStorage::open(&format!("redis://me:hunter2@127.0.0.1:{port}/5"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(matches!(err, StorageError::Backend(_)), "{err:?}");
    assert!(
        message.contains(&format!("redis://127.0.0.1:{port}/5")),
        "names the server: {message}"
    );
    assert!(!message.contains("hunter2"), "no password: {message}");

    let err = RedisStorage::open("http://example.com/").await.unwrap_err();
    assert!(err.to_string().contains("not a usable Redis URL"), "{err}");
    let err = RedisStorage::open("redis://:hunter2@127.0.0.1:1/notanumber")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_hits_the_deadline() {
    // No Redis needed: a listener that accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            connections.push(socket);
        }
    });
    // Paused time: the 10 s deadline passes as soon as nothing else can happen.
    let err = RedisStorage::open(&format!("redis://{addr}/0"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("redis://{addr}/0")), "{message}");
    assert!(
        message.contains("no answer within") || message.contains("timed out"),
        "{message}"
    );
    held.abort();
}

/// A TCP proxy to Redis that the test can freeze (forward nothing more, keep connections) or
/// stop (drop every connection and stop listening), then start again on the same port.
struct Proxy {
    addr: SocketAddr,
    open: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr, port: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (open, gate) = watch::channel(true);
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                connections.spawn(pump(client_read, server_write, gate.clone()));
                connections.spawn(pump(server_read, client_write, gate.clone()));
            }
        });
        Proxy { addr, open, tasks }
    }

    fn freeze(&self) {
        self.open.send_replace(false);
    }

    /// Drops the listener and every connection (aborting the accept task drops its JoinSet).
    async fn stop(mut self) -> u16 {
        self.tasks.shutdown().await;
        self.addr.port()
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gate.wait_for(|open| *open).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// `url` with its host and port replaced by `addr`, and the upstream address; `None` when the
/// URL is not `redis://host:port/...` over TCP.
fn through(url: &str, addr: SocketAddr) -> Option<(String, SocketAddr)> {
    let client = redis::Client::open(url).ok()?;
    let redis::ConnectionAddr::Tcp(host, port) = client.get_connection_info().addr().clone() else {
        return None;
    };
    let upstream = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()?
        .next()?;
    let original = format!("{host}:{port}");
    url.contains(&original)
        .then(|| (url.replacen(&original, &addr.to_string(), 1), upstream))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_or_stopped_server_is_a_timely_error_and_a_restarted_one_is_used_again() {
    let test = "a_silent_or_stopped_server_is_a_timely_error_and_a_restarted_one_is_used_again";
    let Some(url) = redis_url(test) else {
        return;
    };
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_addr = probe.local_addr().unwrap();
    drop(probe);
    let Some((_, upstream)) = through(&url, probe_addr) else {
        eprintln!("{test}: skipped: TUSKY_REDIS_URL is not redis://host:port/...");
        return;
    };
    let prefix = unique_prefix("outage");
    let proxy = Proxy::start(upstream, 0).await;
    let (proxied, _) = through(&url, proxy.addr).unwrap();
    let store = open(&proxied, &prefix)
        .await
        .with_timeout(Duration::from_millis(500));
    assert!(
        store
            .server()
            .starts_with(&format!("redis://{}/", proxy.addr)),
        "{}",
        store.server()
    );
    store.set(KEY, record(1)).await.unwrap();

    // Frozen: the connection stays up but nothing answers; every operation hits the deadline.
    proxy.freeze();
    let started = Instant::now();
    let results = [
        ("set", store.set("during", record(2)).await.map(|_| ())),
        ("get", store.get(KEY).await.map(|_| ())),
        ("list", store.list().await.map(|_| ())),
    ];
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "three 0.5 s deadlines took {took:?}"
    );
    for (operation, result) in results {
        let message = result.unwrap_err().to_string();
        assert!(message.contains(store.server()), "{operation}: {message}");
        assert!(
            message.contains("no answer within"),
            "{operation}: {message}"
        );
    }

    // Stopped: connections dropped, nothing listening; errors come at once or at the deadline.
    let port = proxy.stop().await;
    let started = Instant::now();
    let err = store.set("after", record(3)).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains(store.server()), "{err}");

    // Started again on the same port: the store reconnects by itself.
    let proxy = Proxy::start(upstream, port).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.set("after", record(4)).await {
            Ok(()) => break,
            Err(err) => assert!(Instant::now() < deadline, "never reconnected: {err}"),
        }
        // The pause between two tries of a condition with a deadline (the reconnection
        // happens inside the client; there is no event to wait on).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.get(KEY).await.unwrap(), Some(record(1)));
    assert_eq!(store.get("after").await.unwrap(), Some(record(4)));
    drop(proxy);
    clear(&url, &prefix).await;
}
