//! The server the upload benchmarks run against: a `StreamingTusServer` on 127.0.0.1 keeping
//! its uploads in a temporary directory (bodies streamed to disk, requests served
//! concurrently), reached straight or through a `FaultProxy` that makes the network slower in
//! a known way (a [`Profile`]).

// Each benchmark uses part of this.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use tusky::Client;
use tusky_mock_server::{Direction, Extension, FaultProxy, StreamingTusServer};

/// How the client reaches the server.
#[derive(Debug, Clone, Copy)]
pub enum Network {
    /// Straight to the server on 127.0.0.1.
    Loopback,
    /// Through a `FaultProxy` that holds every piece of every response for `delay` (each
    /// request then costs `delay` more: the answer arrives that much later) and caps what the
    /// client sends at `upstream_rate` bytes per second (`None`: no cap).
    Proxied {
        delay: Duration,
        upstream_rate: Option<u64>,
    },
}

/// A named network: the name is what benchmark ids (and `scripts/bench-ratios.py`) call it.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    pub network: Network,
}

impl Profile {
    /// Every request answered `ms` milliseconds late, no bandwidth cap: named `"{ms}ms"`.
    pub const fn latency(name: &'static str, ms: u64) -> Self {
        Self {
            name,
            network: Network::Proxied {
                delay: Duration::from_millis(ms),
                upstream_rate: None,
            },
        }
    }

    /// The client's bytes capped at `rate` bytes per second, no added latency.
    pub const fn bandwidth(name: &'static str, rate: u64) -> Self {
        Self {
            name,
            network: Network::Proxied {
                delay: Duration::ZERO,
                upstream_rate: Some(rate),
            },
        }
    }

    /// The latency every request pays on top of the server's own work.
    pub fn delay(&self) -> Duration {
        match self.network {
            Network::Loopback => Duration::ZERO,
            Network::Proxied { delay, .. } => delay,
        }
    }
}

/// Every extension but checksum: the server then ignores `Upload-Checksum` (no verification),
/// so a checksum's cost is the client's alone.
pub const WITHOUT_CHECKSUM: &[Extension] = &[
    Extension::Creation,
    Extension::CreationWithUpload,
    Extension::CreationDeferLength,
    Extension::Termination,
    Extension::Concatenation,
];

/// A streaming server in a temporary directory, behind the profile's network.
pub struct BenchServer {
    server: StreamingTusServer,
    proxy: Option<FaultProxy>,
    /// Straight to the server: to clear it between iterations without the profile's delays.
    direct: Client,
    _dir: tempfile::TempDir,
}

impl BenchServer {
    /// Starts a server with every extension, or with `extensions` when given.
    pub async fn start(profile: &Profile, extensions: Option<&[Extension]>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut builder = StreamingTusServer::builder(dir.path());
        if let Some(extensions) = extensions {
            builder = builder.extensions(extensions);
        }
        let proxy = match profile.network {
            Network::Loopback => None,
            Network::Proxied {
                delay,
                upstream_rate,
            } => {
                let proxy = FaultProxy::start(listener.local_addr().unwrap())
                    .await
                    .unwrap();
                proxy.delay(Direction::Downstream, delay);
                proxy.throttle(Direction::Upstream, upstream_rate);
                // The client addresses the proxy: the server must answer that Host.
                builder = builder.proxy_port(proxy.addr().port());
                Some(proxy)
            }
        };
        let server = builder.listener(listener).start().await.unwrap();
        let direct = Client::new(server.endpoint()).unwrap();
        Self {
            server,
            proxy,
            direct,
            _dir: dir,
        }
    }

    /// The creation endpoint as the client reaches it (through the proxy, if any).
    pub fn endpoint(&self) -> String {
        self.endpoint_for(&self.server.endpoint())
    }

    /// A client of [`endpoint`](Self::endpoint).
    pub fn client(&self) -> Client {
        Client::new(self.endpoint()).unwrap()
    }

    /// Terminates every upload the server holds (their files go): run untimed between
    /// iterations, so the disk holds one iteration's uploads at most.
    /// A final upload's copy, which runs after the answer to its POST, ends here first: no
    /// server work of one iteration runs into the next.
    pub async fn clear(&self) {
        for upload in self.server.uploads() {
            self.server.concatenated(&upload.url).await;
            self.direct.terminate(&upload.url).await.unwrap();
        }
    }

    /// The median of 5 `HEAD`s of an upload through the network, on one connection kept
    /// open: what one request costs beyond the server's work. The benchmarks print it, a check
    /// that a profile adds the latency it says.
    pub async fn round_trip(&self) -> Duration {
        let url = self
            .direct
            .uploader()
            .reader(std::io::Cursor::new(vec![0u8; 1]))
            .build()
            .unwrap()
            .create()
            .await
            .unwrap();
        let url = self.endpoint_for(url.as_str());
        let client = self.client();
        client.upload_status(&url).await.unwrap(); // opens the connection
        let mut times = Vec::with_capacity(5);
        for _ in 0..5 {
            let start = Instant::now();
            client.upload_status(&url).await.unwrap();
            times.push(start.elapsed());
        }
        self.clear().await;
        times.sort();
        times[2]
    }

    /// `url` of the server as the client reaches it.
    fn endpoint_for(&self, url: &str) -> String {
        match &self.proxy {
            Some(proxy) => proxy.url_for(url),
            None => url.to_owned(),
        }
    }
}

/// Prints what one request costs on `profile` (measured by [`BenchServer::round_trip`]).
pub async fn report_round_trip(server: &BenchServer, profile: &Profile) {
    let measured = server.round_trip().await;
    eprintln!(
        "profile {}: one HEAD {:.1} ms (added latency {} ms)",
        profile.name,
        measured.as_secs_f64() * 1e3,
        profile.delay().as_millis()
    );
}
