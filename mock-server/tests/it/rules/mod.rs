//! The tus rules both servers share, checked against both with one scenario list: every
//! scenario is an `async fn(Kind)` in `scenarios`, and [`both!`] makes one test per scenario
//! and server.

mod scenarios;

use std::time::Duration;

use tempfile::TempDir;
use tusky_mock_server::{StreamingTusServer, TusMockServer};

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Mock,
    Streaming,
}

/// What a scenario may configure (the rest are both servers' defaults).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub max_size: Option<u64>,
    pub expires_after: Option<Duration>,
}

/// A running server of either kind.
pub enum Backend {
    Mock(TusMockServer),
    /// The directory goes away with the server.
    Streaming {
        server: StreamingTusServer,
        _dir: TempDir,
    },
}

impl Kind {
    /// Starts a server with default settings.
    pub async fn start(self) -> Backend {
        self.start_with(Settings::default()).await
    }

    pub async fn start_with(self, settings: Settings) -> Backend {
        match self {
            Kind::Mock => {
                let mut builder = TusMockServer::builder();
                if let Some(max) = settings.max_size {
                    builder = builder.max_size(max);
                }
                if let Some(after) = settings.expires_after {
                    builder = builder.expires_after(after);
                }
                Backend::Mock(builder.start().await)
            }
            Kind::Streaming => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let mut builder = StreamingTusServer::builder(dir.path());
                if let Some(max) = settings.max_size {
                    builder = builder.max_size(max);
                }
                if let Some(after) = settings.expires_after {
                    builder = builder.expires_after(after);
                }
                let server = builder.start().await.expect("start the streaming server");
                Backend::Streaming { server, _dir: dir }
            }
        }
    }
}

impl Backend {
    pub fn endpoint(&self) -> String {
        match self {
            Backend::Mock(server) => server.endpoint(),
            Backend::Streaming { server, .. } => server.endpoint(),
        }
    }

    /// The bytes the server holds for the upload at `url` (`None`: unknown or terminated).
    pub fn bytes(&self, url: &str) -> Option<Vec<u8>> {
        match self {
            Backend::Mock(server) => server.upload_bytes(url),
            Backend::Streaming { server, .. } => server.upload_bytes(url),
        }
    }

    /// Waits until the final upload at `url` holds its partials' bytes: the streaming server
    /// answers the final POST before it copies them (the mock, after).
    pub async fn concatenated(&self, url: &str) {
        if let Backend::Streaming { server, .. } = self {
            let upload = server.concatenated(url).await.expect("the final upload");
            assert!(upload.is_complete(), "concatenated within the deadline");
        }
    }

    /// How many uploads the server holds (terminated ones not counted).
    pub fn live_uploads(&self) -> usize {
        match self {
            Backend::Mock(server) => server.uploads().iter().filter(|u| !u.terminated).count(),
            Backend::Streaming { server, .. } => server.uploads().len(),
        }
    }
}

/// One test per scenario and server kind: `both!(a, b)` makes `on_mock::a`,
/// `on_streaming::a`, … .
macro_rules! both {
    ($($scenario:ident),* $(,)?) => {
        mod on_mock {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::rules::Kind::Mock).await
                }
            )*
        }
        mod on_streaming {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(crate::rules::Kind::Streaming).await
                }
            )*
        }
    };
}
pub(crate) use both;
