//! FaultProxy: pass-through, a corrupted byte, cuts (once, every connection, the n-th, downstream, at 0),
//! throttle, stall, delay, disconnect_all and url_for, against raw TCP upstreams that count
//! what they receive.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tusky_mock_server::{Cut, CutSchedule, Direction, FaultProxy, ProxyStats, TusMockServer};

use crate::support::{noise, wait_until};

/// An upstream that reads each connection to its end and reports, in connection order, the
/// bytes it received; then answers `done` and closes.
async fn sink() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut received = Vec::new();
                let _ = socket.read_to_end(&mut received).await;
                let _ = tx.send(received);
                let _ = socket.write_all(b"done").await;
            });
        }
    });
    (addr, rx)
}

/// An upstream that echoes every connection.
async fn echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.into_split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
                let _ = write.shutdown().await;
            });
        }
    });
    addr
}

/// An upstream that sends `bytes` on every connection, then closes.
async fn source(bytes: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

/// Sends `bytes` through `proxy` on a new connection, ignoring errors (the proxy may cut),
/// then closes the sending side; returns what came back before the connection ended.
async fn send_through(proxy: &FaultProxy, bytes: &[u8]) -> (Vec<u8>, bool) {
    let stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let bytes = bytes.to_vec();
    let writer = tokio::spawn(async move {
        let ok = write.write_all(&bytes).await.is_ok();
        let _ = write.shutdown().await;
        ok
    });
    let mut back = Vec::new();
    let _ = read.read_to_end(&mut back).await;
    let wrote_all = writer.await.unwrap();
    (back, wrote_all)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the upstream saw the connection end")
        .expect("sink alive")
}

/// Waits until the proxy has no open connection, for counters to settle.
async fn settled(proxy: &FaultProxy) -> ProxyStats {
    wait_until(
        "the proxy's connections close",
        Duration::from_secs(2),
        || async { proxy.stats().open_connections == 0 },
    )
    .await;
    proxy.stats()
}

#[tokio::test]
async fn passes_bytes_through_exactly_both_ways() {
    let proxy = FaultProxy::start(echo().await).await.unwrap();
    let bytes = noise(3 * 1024 * 1024 + 17, 7);
    let (back, wrote_all) = send_through(&proxy, &bytes).await;
    assert!(wrote_all);
    assert_eq!(back.len(), bytes.len());
    assert!(back == bytes, "the echo differs from what was sent");
    let stats = settled(&proxy).await;
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.bytes_upstream, bytes.len() as u64);
    assert_eq!(stats.bytes_downstream, bytes.len() as u64);
    assert_eq!(stats.cuts, 0);
}

#[tokio::test]
async fn a_corruption_changes_exactly_one_byte_once() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let bytes = noise(1024 * 1024, 4);
    // Past the first 64 KiB read, so the byte is found in a later piece.
    proxy.corrupt_byte(200_001);

    let (back, wrote_all) = send_through(&proxy, &bytes).await;
    assert!(wrote_all);
    assert_eq!(back, b"done", "the connection is otherwise untouched");
    let got = next(&mut received).await;
    assert_eq!(got.len(), bytes.len());
    let changed: Vec<usize> = (0..got.len()).filter(|&i| got[i] != bytes[i]).collect();
    assert_eq!(changed, [200_001]);
    assert_eq!(got[200_001], !bytes[200_001]);

    // Spent: the next connection passes unchanged.
    let (back, _) = send_through(&proxy, &bytes).await;
    assert_eq!(back, b"done");
    assert!(
        next(&mut received).await == bytes,
        "the second connection is exact"
    );
    let stats = settled(&proxy).await;
    assert_eq!((stats.corruptions, stats.cuts), (1, 0));
}

#[tokio::test]
async fn a_cut_lets_exactly_n_bytes_through_once() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let bytes = noise(1024 * 1024, 1);
    proxy.cut_after(100_003);
    assert_eq!(proxy.pending_cut(), Some(Cut::after(100_003)));

    let (back, _) = send_through(&proxy, &bytes).await;
    let got = next(&mut received).await;
    assert_eq!(got.len(), 100_003, "the upstream got exactly N bytes");
    assert_eq!(got[..], bytes[..100_003], "and they are the first N");
    assert!(
        back.is_empty(),
        "the client's connection was closed: no answer"
    );
    assert_eq!(proxy.pending_cut(), None, "a Once cut is spent");

    // The next connection is not cut.
    let (back, wrote_all) = send_through(&proxy, &bytes).await;
    assert!(wrote_all);
    assert_eq!(back, b"done");
    assert_eq!(next(&mut received).await, bytes);
    let stats = settled(&proxy).await;
    assert_eq!(stats.cuts, 1);
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.bytes_upstream, 100_003 + bytes.len() as u64);
}

#[tokio::test]
async fn a_cut_on_every_connection_stays_armed() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    proxy.cut(Cut::after(5000).every_connection());
    let bytes = noise(200_000, 2);
    for _ in 0..3 {
        send_through(&proxy, &bytes).await;
        assert_eq!(next(&mut received).await, bytes[..5000]);
    }
    assert_eq!(
        proxy.pending_cut().map(|c| c.schedule),
        Some(CutSchedule::EveryConnection)
    );
    proxy.clear_cut();
    send_through(&proxy, &bytes).await;
    assert_eq!(next(&mut received).await, bytes);
    assert_eq!(settled(&proxy).await.cuts, 3);
}

#[tokio::test]
async fn a_cut_on_the_nth_connection_spares_the_others() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    proxy.cut(Cut::after(1000).on_connection(2));
    let bytes = noise(50_000, 3);
    for expected in [50_000, 1000, 50_000] {
        send_through(&proxy, &bytes).await;
        assert_eq!(next(&mut received).await.len(), expected);
    }
    let stats = settled(&proxy).await;
    assert_eq!((stats.connections, stats.cuts), (3, 1));
}

#[tokio::test]
async fn a_cut_after_zero_bytes_forwards_nothing() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    proxy.cut_after(0);
    let (back, _) = send_through(&proxy, b"hello").await;
    assert!(back.is_empty());
    assert!(next(&mut received).await.is_empty());
    assert_eq!(settled(&proxy).await.bytes_upstream, 0);
}

#[tokio::test]
async fn a_downstream_cut_truncates_the_answer() {
    let answer = noise(50_000, 4);
    let proxy = FaultProxy::start(source(answer.clone()).await)
        .await
        .unwrap();
    proxy.cut(Cut::after(12_345).downstream());
    let stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut read, _write) = stream.into_split();
    let mut back = Vec::new();
    let _ = read.read_to_end(&mut back).await;
    assert_eq!(back[..], answer[..12_345]);
    // Spent: the next connection gets it all.
    let stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut read, write) = stream.into_split();
    let mut back = Vec::new();
    read.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, answer);
    drop(write); // half-closed until the client closes its side too
    let stats = settled(&proxy).await;
    assert_eq!(stats.bytes_downstream, 12_345 + 50_000);
    assert_eq!(stats.cuts, 1);
}

#[tokio::test]
async fn a_throttled_transfer_takes_at_least_size_over_rate() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let (size, rate) = (150_000u64, 300_000u64);
    proxy.throttle(Direction::Upstream, Some(rate));
    let bytes = noise(size as usize, 5);
    let started = Instant::now();
    let (back, wrote_all) = send_through(&proxy, &bytes).await;
    let elapsed = started.elapsed();
    assert!(wrote_all);
    assert_eq!(back, b"done");
    assert_eq!(next(&mut received).await, bytes);
    let floor = Duration::from_secs_f64(size as f64 / rate as f64);
    assert!(elapsed >= floor, "{elapsed:?} < {floor:?}");
}

/// A throttled flow runs at its rate, not below it: slices woken late by the timer (which
/// rounds up to the next millisecond) do not push the following ones back. On tokio's paused
/// clock, 4 MiB at 50 MiB/s take 80 ms (64 KiB slices due every 1.25 ms), not 128 (one
/// slice per 2 ms tick).
#[tokio::test(start_paused = true)]
async fn a_throttled_flow_keeps_its_rate_when_timers_wake_late() {
    let (upstream, _received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let (size, rate) = (4u64 << 20, 50u64 << 20);
    proxy.throttle(Direction::Upstream, Some(rate));
    let start = tokio::time::Instant::now();
    let (back, wrote_all) = send_through(&proxy, &noise(size as usize, 9)).await;
    let elapsed = start.elapsed();
    assert!(wrote_all && back == b"done");
    let floor = Duration::from_secs_f64(size as f64 / rate as f64);
    assert!(elapsed >= floor, "{elapsed:?} beat the rate ({floor:?})");
    assert!(
        elapsed <= floor + Duration::from_millis(5),
        "{elapsed:?} for {floor:?} of data"
    );
}

#[tokio::test]
async fn a_throttle_of_zero_stalls_until_lifted() {
    let (upstream, mut received) = sink().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    proxy.throttle(Direction::Upstream, Some(0));
    let stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(b"held back").await.unwrap();
    write.shutdown().await.unwrap();
    // The stall itself: the link stays stalled this long (nothing is awaited), and nothing
    // may cross it meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        proxy.stats().bytes_upstream,
        0,
        "nothing moves while stalled"
    );
    assert!(received.try_recv().is_err());

    proxy.throttle(Direction::Upstream, None);
    assert_eq!(next(&mut received).await, b"held back");
    let mut back = Vec::new();
    read.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"done");
}

#[tokio::test]
async fn a_delay_adds_latency_each_way() {
    let proxy = FaultProxy::start(echo().await).await.unwrap();
    proxy.delay(Direction::Upstream, Duration::from_millis(150));
    proxy.delay(Direction::Downstream, Duration::from_millis(100));
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let started = Instant::now();
    stream.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(&back, b"ping");
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");

    proxy.clear_faults();
    let started = Instant::now();
    stream.write_all(b"pong").await.unwrap();
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"pong");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "no delay after clear_faults"
    );
}

/// Without a delay, pieces are forwarded as they come: no timer, which would hold each one
/// until the next millisecond tick (~2 ms more per request and answer). On tokio's paused
/// clock, started between two ticks, a timer would move the clock; nothing does.
#[tokio::test(start_paused = true)]
async fn no_delay_forwards_without_waiting_for_a_timer() {
    let proxy = FaultProxy::start(echo().await).await.unwrap();
    tokio::time::advance(Duration::from_micros(500)).await;
    let start = tokio::time::Instant::now();
    let bytes = noise(200 * 1024, 3);
    let (back, wrote_all) = send_through(&proxy, &bytes).await;
    assert!(wrote_all && back == bytes);
    assert_eq!(tokio::time::Instant::now(), start, "a timer held the data");
}

#[tokio::test]
async fn disconnect_all_closes_open_connections() {
    let proxy = FaultProxy::start(echo().await).await.unwrap();
    let mut a = TcpStream::connect(proxy.addr()).await.unwrap();
    let mut b = TcpStream::connect(proxy.addr()).await.unwrap();
    for s in [&mut a, &mut b] {
        s.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.unwrap();
    }
    assert_eq!(proxy.stats().open_connections, 2);
    proxy.disconnect_all();
    for s in [&mut a, &mut b] {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the connection was closed");
        assert!(rest.is_empty());
    }
    assert_eq!(settled(&proxy).await.connections, 2);
    // New connections still work.
    let (back, _) = send_through(&proxy, b"again").await;
    assert_eq!(back, b"again");
}

#[tokio::test]
async fn url_for_swaps_host_and_port_only() {
    let server = TusMockServer::start().await;
    let proxy = FaultProxy::start(*server.address()).await.unwrap();
    let p = proxy.addr();
    assert_eq!(proxy.url(), format!("http://{p}"));
    assert_eq!(
        proxy.url_for(&server.endpoint()),
        format!("http://{p}/files/")
    );
    assert_eq!(
        proxy.url_for("https://user:pw@example.com:8443/a/b?c=d#e"),
        format!("https://user:pw@{p}/a/b?c=d#e")
    );
    assert_eq!(proxy.url_for("http://h"), format!("http://{p}"));
    assert_eq!(proxy.url_for("/files/x"), format!("http://{p}/files/x"));
    assert_eq!(proxy.upstream(), *server.address());
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections() {
    let proxy = FaultProxy::start(echo().await).await.unwrap();
    let addr = proxy.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    stream.read_exact(&mut one).await.unwrap();
    drop(proxy);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection was closed");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nobody listens any more"
    );
}
