use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tusky::transport::{Request, Response, Transport, TransportError};
use tusky_mock_server::{Direction, FaultProxy, StreamingTusServer};

struct Timed {
    inner: Arc<dyn Transport>,
    t0: Instant,
    log: Arc<Mutex<Vec<String>>>,
}
#[async_trait::async_trait]
impl Transport for Timed {
    async fn send(&self, r: Request) -> Result<Response, TransportError> {
        let s = self.t0.elapsed();
        let m = r.method.clone();
        let u = r.url.path().to_string();
        let res = self.inner.send(r).await;
        let e = self.t0.elapsed();
        self.log.lock().unwrap().push(format!(
            "{:7.1} {:7.1} {:5.1} {} {}",
            s.as_secs_f64() * 1e3,
            e.as_secs_f64() * 1e3,
            (e - s).as_secs_f64() * 1e3,
            m,
            &u[u.len().saturating_sub(6)..]
        ));
        res
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    std::fs::write(&src, vec![7u8; 64 << 20]).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(listener.local_addr().unwrap())
        .await
        .unwrap();
    proxy.delay(Direction::Downstream, Duration::from_millis(20));
    let server = StreamingTusServer::builder(dir.path().join("srv"))
        .proxy_port(proxy.addr().port())
        .listener(listener)
        .start()
        .await
        .unwrap();
    let endpoint = format!("http://{}/files/", proxy.addr());
    let _ = server.endpoint();
    for round in 0..3 {
        let log = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let l2 = log.clone();
        let client = tusky::Client::builder()
            .endpoint(endpoint.clone())
            .layer(move |inner| {
                Arc::new(Timed {
                    inner,
                    t0,
                    log: l2.clone(),
                }) as Arc<dyn Transport>
            })
            .build()
            .unwrap();
        let t = Instant::now();
        client
            .uploader()
            .path(&src)
            .chunk_size(2 << 20)
            .parallel(n)
            .build()
            .unwrap()
            .upload()
            .await
            .unwrap();
        println!("round {round}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        if round == 2 {
            for l in log.lock().unwrap().iter() {
                println!("{l}");
            }
        }
    }
}
