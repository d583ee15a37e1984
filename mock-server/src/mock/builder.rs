//! [`TusMockServerBuilder`]: configuration of a [`TusMockServer`](crate::TusMockServer).

use std::time::Duration;

use super::server::TusMockServer;
use crate::tus::config::Protocol;
use crate::tus::extension::Extension;

/// The server's configuration, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) protocol: Protocol,
    pub(crate) relative_locations: bool,
    /// Whether wiremock keeps every received request (bodies included).
    pub(crate) record_requests: bool,
    /// Whether upload ids are 128 random bits instead of a prefix and a counter.
    pub(crate) random_ids: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: Protocol::default(),
            relative_locations: false,
            record_requests: true,
            random_ids: false,
        }
    }
}

/// Configures and starts a [`TusMockServer`]; made by [`TusMockServer::builder`].
///
/// ```
/// # #[tokio::main] async fn main() {
/// use std::time::Duration;
/// use tusky_mock_server::{Extension, TusMockServer};
///
/// let server = TusMockServer::builder()
///     .extensions(&[Extension::Creation, Extension::Termination])
///     .max_size(1024 * 1024)
///     .base_path("/uploads/")
///     .start()
///     .await;
/// assert!(server.endpoint().ends_with("/uploads/"));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `.start().await`"]
pub struct TusMockServerBuilder {
    config: Config,
}

impl TusMockServerBuilder {
    /// A builder with every extension on, no maximum size, the checksum algorithms
    /// `sha1,sha256,sha512,md5,crc32`, no expiry and the base path `/files/`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extensions the server advertises **and** enforces (default: all of them).
    ///
    /// A disabled extension behaves like a real server without it:
    ///
    /// | disabled | what the server answers |
    /// |---|---|
    /// | `Creation` | `POST` on the endpoint → 405 Method Not Allowed |
    /// | `CreationWithUpload` | `POST` with a non-empty `application/offset+octet-stream` body → 400 |
    /// | `CreationDeferLength` | `Upload-Defer-Length` on `POST` → 400 |
    /// | `Checksum` | `Upload-Checksum` is ignored (as tusd and @tus/server do); no `Tus-Checksum-Algorithm` |
    /// | `Termination` | `DELETE` → 405 Method Not Allowed |
    /// | `Expiration` | uploads never expire and no `Upload-Expires` is sent, even with [`expires_after`](Self::expires_after) |
    /// | `Concatenation` | `Upload-Concat` is ignored: `partial` makes an ordinary upload, `final;…` lacks `Upload-Length` → 400 |
    ///
    /// Duplicates are ignored; the order given is the order advertised.
    pub fn extensions(mut self, extensions: &[Extension]) -> Self {
        self.config.protocol.set_extensions(extensions);
        self
    }

    /// The largest upload accepted (advertised as `Tus-Max-Size`); larger
    /// `Upload-Length`s, and deferred-length uploads growing past it, get 413.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.config.protocol.max_size = Some(bytes);
        self
    }

    /// The checksum algorithms advertised in `Tus-Checksum-Algorithm` and accepted
    /// in `Upload-Checksum` (default `sha1,sha256,sha512,md5,crc32`).
    ///
    /// Names are lowercased. Names this crate cannot verify (anything but those five)
    /// are dropped with a `tracing` warning, so the server never advertises an
    /// algorithm it would then reject.
    pub fn checksum_algorithms(mut self, algorithms: &[&str]) -> Self {
        self.config.protocol.set_checksum_algorithms(algorithms);
        self
    }

    /// Unfinished uploads expire this long after their creation (only while the
    /// `Expiration` extension is enabled).
    ///
    /// The creating `POST` and every `PATCH` answer the deadline in `Upload-Expires`
    /// (an HTTP date) while the upload is unfinished; finished uploads never expire.
    /// After the deadline `HEAD`, `PATCH` and `DELETE` answer 410 Gone, and a final
    /// concatenation naming the upload gets 400.
    pub fn expires_after(mut self, period: Duration) -> Self {
        self.config.protocol.expires_after = Some(period);
        self
    }

    /// The path of the creation endpoint (default `/files/`); upload URLs are
    /// `{base_path}{id}`. A leading and a trailing `/` are added when missing.
    pub fn base_path(mut self, path: &str) -> Self {
        self.config.protocol.set_base_path(path);
        self
    }

    /// Answer `Location` with a path (`/files/{id}`) instead of an absolute URL, to
    /// test that a client resolves it against the request URL (default: absolute).
    pub fn relative_locations(mut self, relative: bool) -> Self {
        self.config.relative_locations = relative;
        self
    }

    /// Whether every received request is kept for [`TusMockServer::received_requests`]
    /// (default: yes). wiremock keeps whole bodies, so a long-running server that takes
    /// large uploads (a development server, say) should turn this off; then
    /// `received_requests` and `requests_by_method` return nothing, while
    /// [`TusMockServer::request_count`] still counts.
    ///
    /// [`TusMockServer::received_requests`]: crate::TusMockServer::received_requests
    /// [`TusMockServer::request_count`]: crate::TusMockServer::request_count
    pub fn record_requests(mut self, record: bool) -> Self {
        self.config.record_requests = record;
        self
    }

    /// Make every upload id 128 random bits (32 hex digits) instead of a per-server random
    /// prefix and a counter (default), so that one upload URL reveals nothing about another:
    /// for a server that others can reach, where an upload URL is the only credential (`tusky
    /// serve` turns it on). The default lets a test tell the order of creation from an id.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = tusky_mock_server::TusMockServer::builder().random_ids(true).start().await;
    /// # let _ = server;
    /// # }
    /// ```
    pub fn random_ids(mut self, random: bool) -> Self {
        self.config.random_ids = random;
        self
    }

    /// Starts the server on `listener` (bound by the caller, to choose the address and
    /// port) instead of a free port on 127.0.0.1.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let address = listener.local_addr().unwrap();
    /// let server = tusky_mock_server::TusMockServer::builder().start_on(listener).await;
    /// assert_eq!(server.address(), &address);
    /// # }
    /// ```
    pub async fn start_on(self, listener: std::net::TcpListener) -> TusMockServer {
        TusMockServer::start_with(self.config, Some(listener)).await
    }

    /// Starts the server (a fresh wiremock [`MockServer`](wiremock::MockServer) with the
    /// stateful tus mock mounted at the lowest priority).
    pub async fn start(self) -> TusMockServer {
        TusMockServer::start_with(self.config, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_reach_the_protocol() {
        let c = TusMockServerBuilder::new()
            .extensions(&[Extension::Creation, Extension::Termination])
            .checksum_algorithms(&["SHA1", "blake3"])
            .base_path("uploads")
            .max_size(9)
            .config;
        assert_eq!(
            c.protocol.extensions,
            [Extension::Creation, Extension::Termination]
        );
        assert_eq!(c.protocol.checksum_algorithms, ["sha1"]);
        assert_eq!(c.protocol.base_path, "/uploads/");
        assert_eq!(c.protocol.max_size, Some(9));
    }
}
