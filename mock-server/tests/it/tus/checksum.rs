//! The checksum extension on PATCH.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::Digest as _;
use tusky_mock_server::{Extension, TusMockServer};

use crate::support::*;

fn digest(algo: &str, body: &[u8]) -> String {
    let bytes = match algo {
        "sha1" => sha1::Sha1::digest(body).to_vec(),
        "sha256" => sha2::Sha256::digest(body).to_vec(),
        "sha512" => sha2::Sha512::digest(body).to_vec(),
        "md5" => md5::Md5::digest(body).to_vec(),
        "crc32" => crc32fast::hash(body).to_be_bytes().to_vec(),
        _ => unreachable!(),
    };
    format!("{algo} {}", STANDARD.encode(bytes))
}

/// The status a PATCH of `body` at `offset` with `Upload-Checksum: checksum` gets.
async fn checksummed_patch(url: &str, offset: u64, body: &[u8], checksum: &str) -> u16 {
    let resp = patch_with(url, offset, body, &[("Upload-Checksum", checksum)]).await;
    resp.status().as_u16()
}

#[tokio::test]
async fn every_advertised_algorithm_is_verified() {
    let server = TusMockServer::start().await;
    for algo in ["sha1", "sha256", "sha512", "md5", "crc32"] {
        let url = create(&server, 11).await;
        let good = digest(algo, b"hello world");
        let bad = digest(algo, b"hello wOrld");
        assert_eq!(
            checksummed_patch(&url, 0, b"hello world", &bad).await,
            460,
            "{algo} mismatch"
        );
        assert_eq!(offset(&server, &url), 0);
        assert_eq!(
            checksummed_patch(&url, 0, b"hello world", &good).await,
            204,
            "{algo} match"
        );
        assert_holds(&server, &url, b"hello world");
    }
}

#[tokio::test]
async fn mismatch_is_460_and_stores_nothing() {
    let (server, url) = server_with_upload(11).await;
    assert_eq!(patch(&url, 0, b"hello").await.status(), 204);
    assert_eq!(
        checksummed_patch(&url, 5, b" world", &digest("sha1", b"something else")).await,
        460
    );
    assert_holds(&server, &url, b"hello");
    // The spec's own example digest.
    let url = create(&server, 11).await;
    assert_eq!(
        checksummed_patch(&url, 0, b"hello world", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").await,
        204
    );
}

#[tokio::test]
async fn unsupported_or_malformed_checksum_is_400_and_stores_nothing() {
    let server = TusMockServer::builder()
        .checksum_algorithms(&["md5"])
        .start()
        .await;
    let url = create(&server, 5).await;
    for header in [
        digest("sha1", b"hello").as_str(), // valid, but not advertised here
        "blake3 AAAA",                     // unknown
        "md5",                             // no digest
        "md5 ***not base64***",            // undecodable
        "MD5 XUFAKrxLKna5cZ2REBfFkg==",    // names are lowercase
    ] {
        assert_eq!(
            checksummed_patch(&url, 0, b"hello", header).await,
            400,
            "Upload-Checksum: {header}"
        );
    }
    assert_eq!(offset(&server, &url), 0);
    assert_eq!(
        checksummed_patch(&url, 0, b"hello", &digest("md5", b"hello")).await,
        204
    );
}

#[tokio::test]
async fn without_the_extension_checksums_are_ignored() {
    // Like tusd and @tus/server: the header is not looked at.
    let server = with_extensions(&[Extension::Creation]).await;
    let url = create(&server, 5).await;
    assert_eq!(checksummed_patch(&url, 0, b"hello", "sha1 AAAA").await, 204);
    assert_holds(&server, &url, b"hello");
}
