//! TLS verification: on by default, off only when asked, over a real TLS front with a
//! self-signed certificate (parity 20).

use std::io::Cursor;
use std::sync::Arc;

use tusky::mock::TusMockServer;
use tusky::transport::TransportErrorKind;
use tusky::{Client, Error, NoRetry};

use crate::common::{data, Events};

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

/// A self-signed certificate for 127.0.0.1 and localhost (P-256, valid 2026-2126), made with
/// `openssl req -x509` for these tests only; the key protects nothing.
const TEST_CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIUWCmworuY7C1Z8VY7Elzqv3BcCxEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTIyMTMxNVoYDzIxMjYxMTAx
MjIxMzE1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARM0milmHroOfq6U5racx4pZ36/ASnqe9O/n/SzUmXO1LTksCxqgyLm
tog1DaxyLxz0leqDS8w4FZhF1kOPwgc0o4GSMIGPMB0GA1UdDgQWBBSx1f/TV9Zm
ezuETlf0yDO/a4xSITAfBgNVHSMEGDAWgBSx1f/TV9ZmezuETlf0yDO/a4xSITAa
BgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwDAYDVR0TAQH/BAIwADAOBgNVHQ8B
Af8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwIDSAAwRQIh
AN0s8Bj8CD7xq6h5W/w5MhK21VmXs+/i+Peui7DZOv3aAiA76sr288smethz+vd/
klANaVuZO/rlhG8tfEobqvu/3g==
-----END CERTIFICATE-----
";
const TEST_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ+8y5KRyYQEX+Vxm
0xAJC8foQXxW9bCUaFEAT9BXD6uhRANCAARM0milmHroOfq6U5racx4pZ36/ASnq
e9O/n/SzUmXO1LTksCxqgyLmtog1DaxyLxz0leqDS8w4FZhF1kOPwgc0
-----END PRIVATE KEY-----
";

/// A TLS front (rustls, the certificate above) for `backend`: every connection is
/// decrypted and relayed to it. Returns the front's address.
async fn tls_front(backend: std::net::SocketAddr) -> std::net::SocketAddr {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate = CertificateDer::from_pem_slice(TEST_CERT_PEM.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(TEST_KEY_PEM.as_bytes()).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // a client that refuses the certificate ends the handshake: nothing to relay
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    address
}

/// parity 20: over real TLS with a self-signed certificate, the default client refuses the
/// server, trusting the certificate explicitly works, and turning verification off works.
#[tokio::test]
async fn tls_verification_refuses_a_self_signed_server_unless_turned_off() {
    // relative Locations, so that the PATCHes go through the TLS front too
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let front = tls_front(*server.address()).await;
    let endpoint = format!("https://{front}/files/");
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
