//! The pure functions that read server answers and build request headers: number and date
//! headers, an OPTIONS answer, `Location` resolution and the `Upload-Metadata` codec. They run
//! once or a few times per request, so they only need to stay far below a request's cost; this
//! keeps an eye on that. (Checksum cost is `benches/checksum.rs`.)
//!
//! `cargo bench --bench protocol`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::HeaderMap;
use tusky::protocol::{
    decode_metadata, encode_metadata, parse_expires, parse_upload_offset, resolve_location,
    ServerCapabilities,
};
use url::Url;

fn short(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group("protocol");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn headers(c: &mut Criterion) {
    let mut options = HeaderMap::new();
    options.insert("tus-version", "1.0.0,0.2.2".parse().unwrap());
    options.insert(
        "tus-extension",
        "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
            .parse()
            .unwrap(),
    );
    options.insert("tus-max-size", "1073741824".parse().unwrap());
    options.insert(
        "tus-checksum-algorithm",
        "sha1,md5,sha256,crc32".parse().unwrap(),
    );
    let endpoint = Url::parse("https://tus.example/files/").unwrap();

    let mut group = short(c);
    group.bench_function("parse_upload_offset", |b| {
        b.iter(|| parse_upload_offset(black_box(b"18446744073709551615")))
    });
    group.bench_function("parse_expires", |b| {
        b.iter(|| parse_expires(black_box(b"Wed, 25 Jun 2025 16:00:00 GMT")))
    });
    group.bench_function("capabilities_from_headers", |b| {
        b.iter(|| ServerCapabilities::from_headers(black_box(&options)))
    });
    group.bench_function("resolve_location_relative", |b| {
        b.iter(|| {
            resolve_location(
                &endpoint,
                black_box(b"/files/24e533e02ec3bc40c387f1a0e460e216"),
            )
        })
    });
    group.finish();
}

fn metadata(c: &mut Criterion) {
    let pairs = [
        ("filename", "holiday video 2025.mp4"),
        ("filetype", "video/mp4"),
        ("name", "päivää ☃"),
        ("is_confidential", ""),
    ];
    let header = encode_metadata(&pairs).unwrap().unwrap();
    let mut group = short(c);
    group.bench_function("encode_metadata", |b| {
        b.iter(|| encode_metadata(black_box(&pairs)))
    });
    group.bench_function("decode_metadata", |b| {
        b.iter(|| decode_metadata(black_box(&header)))
    });
    group.finish();
}

criterion_group!(benches, headers, metadata);
criterion_main!(benches);
