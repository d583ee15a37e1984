//! `Upload-Checksum`: every PATCH carries the digest of its own body (parity 19).

use std::io::Cursor;

use tusky::mock::TusMockServer;
use tusky::ChecksumAlgorithm;

use crate::common::{
    client_for, data, header, patch_shape, server_and_client, stored, upload_exactly, upload_of,
    with_method,
};

/// parity 19
#[tokio::test]
async fn every_patch_carries_the_checksum_of_its_own_body() {
    let server = TusMockServer::start().await; // verifies checksums (460 on a mismatch)
    let client = client_for(&server);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(b"abcdefghij".to_vec()))
        .chunk_size(4)
        .checksum(ChecksumAlgorithm::Sha1)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let requests = server.received_requests().await;
    let sent: Vec<(Vec<u8>, String)> = with_method(&requests, "PATCH")
        .into_iter()
        .map(|r| {
            (
                r.body.clone(),
                header(r, "upload-checksum").expect("Upload-Checksum"),
            )
        })
        .collect();
    // digests computed outside tusky (openssl dgst -sha1 -binary | base64)
    assert_eq!(
        sent,
        [
            (
                b"abcd".to_vec(),
                "sha1 gf6L/odXbD7LIkJvjleEc4KRes8=".to_owned()
            ),
            (
                b"efgh".to_vec(),
                "sha1 Ku2Kqfgmwh7wfV7hW0juoG6cimI=".to_owned()
            ),
            (
                b"ij".to_vec(),
                "sha1 TPo4CnoFriYnD16oiACVIKtUtnc=".to_owned()
            ),
        ]
    );
    assert_eq!(stored(&server, &summary.url), b"abcdefghij");
}

/// parity 19: after a partial acceptance the next body starts elsewhere, and its checksum
/// is of that body, not of the planned chunk.
#[tokio::test]
async fn checksums_follow_the_body_after_a_partial_acceptance() {
    use base64::Engine;
    use sha1::Digest;
    let (server, client) = server_and_client().await;
    server.accept_partial_patch(1, 300);
    let bytes = data(2500);
    let (_, _summary) = upload_exactly(
        &server,
        upload_of(&client, &bytes, 1000)
            .checksum(ChecksumAlgorithm::Sha1)
            .creation_with_upload(false),
        &bytes,
    )
    .await;
    let requests = server.received_requests().await;
    assert_eq!(
        patch_shape(&requests),
        [(0, 1000), (300, 1000), (1300, 1000), (2300, 200)]
    );
    for r in with_method(&requests, "PATCH") {
        let digest = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&r.body));
        assert_eq!(header(r, "upload-checksum"), Some(format!("sha1 {digest}")));
    }
}
