//! TLS verification: on by default, off only when asked, over a real TLS front with a
//! self-signed certificate (parity 20).

use std::io::Cursor;

use tusky::transport::TransportErrorKind;
use tusky::{Client, Error, NoRetry};

use crate::common::{data, tls_fronted_server, Events, TEST_CERT_PEM};

/// parity 20: the flag reaches the transport, and is off unless asked for.
#[test]
fn tls_verification_is_on_by_default_and_off_only_when_asked() {
    let default = Client::new("https://tus.example/files/").unwrap();
    assert!(
        !default
            .transport()
            .options()
            .tls
            .danger_accept_invalid_certs
    );
    let built = Client::builder()
        .endpoint("https://tus.example/files/")
        .build()
        .unwrap();
    assert!(!built.transport().options().tls.danger_accept_invalid_certs);
    let explicit_on = Client::builder()
        .endpoint("https://tus.example/files/")
        .danger_accept_invalid_certs(false)
        .build()
        .unwrap();
    assert!(
        !explicit_on
            .transport()
            .options()
            .tls
            .danger_accept_invalid_certs
    );
    let off = Client::builder()
        .endpoint("https://tus.example/files/")
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert!(off.transport().options().tls.danger_accept_invalid_certs);
}

/// parity 20: over real TLS with a self-signed certificate, the default client refuses the
/// server, trusting the certificate explicitly works, and turning verification off works.
#[tokio::test]
async fn tls_verification_refuses_a_self_signed_server_unless_turned_off() {
    let (server, endpoint) = tls_fronted_server().await;
    let bytes = data(3000);
    let upload = |client: Client| {
        let bytes = bytes.clone();
        async move {
            let mut uploader = client
                .uploader()
                .reader(Cursor::new(bytes))
                .chunk_size(1000)
                .retry_policy(NoRetry)
                .build()
                .unwrap();
            uploader.upload().await
        }
    };

    // With the default retry policy: a refused certificate is not transient, so it fails at
    // once (no retries) as a certificate error.
    let verifying = Client::new(&endpoint).unwrap();
    let events = Events::default();
    let error = verifying
        .uploader()
        .reader(Cursor::new(data(3000)))
        .on_progress(events.callback())
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap_err();
    let Error::Transport { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), TransportErrorKind::Certificate, "{error}");
    assert!(!error.is_retryable());
    assert!(events.retries().is_empty(), "not retried");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert!(
        server.received_requests().await.is_empty(),
        "nothing got past the handshake"
    );

    let trusting = Client::builder()
        .endpoint(&endpoint)
        .root_certificate_pem(TEST_CERT_PEM)
        .build()
        .unwrap();
    let summary = upload(trusting).await.unwrap();
    assert!(
        summary.url.as_str().starts_with(&endpoint),
        "{}",
        summary.url
    );
    assert_eq!(server.upload_bytes(summary.url.path()).unwrap(), bytes);

    let unverified = Client::builder()
        .endpoint(&endpoint)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let summary = upload(unverified).await.unwrap();
    assert!(
        summary.url.as_str().starts_with(&endpoint),
        "{}",
        summary.url
    );
    assert_eq!(server.upload_bytes(summary.url.path()).unwrap(), bytes);
    assert_eq!(server.uploads().len(), 2);
}
