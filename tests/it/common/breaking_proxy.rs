//! Real TCP failures: a proxy that breaks the connection of chosen PATCHes, and a port
//! nothing listens on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What [`BreakingProxy`] does to one PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Closes the connection as soon as the request starts: the server never sees it whole.
    Reset,
    /// Forwards the request, then closes the connection instead of forwarding the answer.
    LoseAnswer,
}

#[derive(Default)]
struct ProxyState {
    patches: AtomicU64,
    breaks: Mutex<HashMap<u64, Break>>,
    broken: AtomicU64,
}

/// A TCP proxy in front of a mock server that breaks the connection of chosen PATCHes, for
/// network errors a real transport has to classify. The mock must answer relative
/// `Location`s, so that the client keeps talking through the proxy.
pub struct BreakingProxy {
    address: SocketAddr,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl BreakingProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState::default());
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, Arc::clone(&shared)));
            }
        });
        Self {
            address,
            state,
            task,
        }
    }

    /// The creation endpoint through the proxy (the mock's base path must be `/files/`).
    pub fn endpoint(&self) -> String {
        format!("http://{}/files/", self.address)
    }

    /// The `n`-th PATCH through the proxy (1-based) is broken this way.
    pub fn break_patch(&self, n: u64, how: Break) {
        self.state.breaks.lock().unwrap().insert(n, how);
    }

    /// How many connections were broken.
    pub fn broken(&self) -> u64 {
        self.state.broken.load(Ordering::SeqCst)
    }
}

impl Drop for BreakingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection. HTTP/1.1 clients send a request only after the previous answer, so a
/// request starts at the beginning of a read: that is where PATCHes are counted.
async fn relay(client: TcpStream, upstream: SocketAddr, state: Arc<ProxyState>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let lose_answer = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            if buf[..n].starts_with(b"PATCH ") {
                let number = state.patches.fetch_add(1, Ordering::SeqCst) + 1;
                match state.breaks.lock().unwrap().remove(&number) {
                    Some(Break::Reset) => {
                        state.broken.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    Some(Break::LoseAnswer) => lose_answer.store(true, Ordering::SeqCst),
                    None => {}
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            if lose_answer.load(Ordering::SeqCst) {
                state.broken.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends first, both connections are dropped (closed) together.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// A local port nothing listens on.
pub async fn refusing_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
