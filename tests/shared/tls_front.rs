//! A TLS front with a self-signed certificate, shared by the library's tests (`tests/it`)
//! and the CLI's (`cli/tests/cli`), which include this file with `#[path]`.

use std::net::SocketAddr;
use std::sync::Arc;

use tusky::mock::TusMockServer;

/// A self-signed certificate for 127.0.0.1 and localhost (P-256, valid 2026-2126), made with
/// `openssl req -x509` for tests only (the library's tests and the CLI's); the key protects
/// nothing.
pub const TEST_CERT_PEM: &str = "\
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

/// A TLS front (rustls, the certificate above) for `backend`: every connection is decrypted
/// and relayed to it. Returns the front's address.
pub async fn tls_front(backend: SocketAddr) -> SocketAddr {
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
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    address
}

/// A mock tus server behind a TLS front, and the front's endpoint (`https://…/files/`). The
/// server answers with relative Locations, so that the PATCHes go through the front too.
pub async fn tls_fronted_server() -> (TusMockServer, String) {
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let front = tls_front(*server.address()).await;
    (server, format!("https://{front}/files/"))
}
