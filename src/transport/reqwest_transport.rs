use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};

use super::{
    Body, Request, Response, Transport, TransportError, TransportErrorKind, MAX_RESPONSE_BODY,
};

/// TLS settings. Certificate verification is on unless
/// [`danger_accept_invalid_certs`](TlsOptions::danger_accept_invalid_certs) is set.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Extra root certificates (PEM), trusted beside the built-in roots.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// A client identity for mutual TLS: a PEM holding the certificate chain and the private key.
    pub client_identity_pem: Option<Vec<u8>>,
    /// Accept any server certificate. Dangerous: anyone on the path can read and change the upload.
    pub danger_accept_invalid_certs: bool,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("root_certificates", &self.root_certificates_pem.len())
            .field("client_identity", &self.client_identity_pem.is_some())
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .finish()
    }
}

/// Which proxy a [`ReqwestTransport`] sends requests through.
///
/// By default ([`Proxy::FromEnvironment`]) the usual environment variables are honoured, as
/// reqwest reads them: `HTTP_PROXY` for http URLs, `HTTPS_PROXY` for https URLs, `ALL_PROXY` for
/// both when the specific one is unset, and `NO_PROXY` (a comma-separated list of hosts,
/// domains and IP ranges that go direct, `*` for all); each also in lower case (the upper-case
/// one wins). Under CGI (`REQUEST_METHOD` set) they are ignored.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// The proxies the environment variables name (the default).
    #[default]
    FromEnvironment,
    /// No proxy, whatever the environment says.
    Off,
    /// Every request through this proxy: `http://`, `https://`, `socks5://` or `socks5h://`
    /// (the proxy resolves host names), with an optional `user:password@`. Hosts listed in
    /// `NO_PROXY` still go direct.
    Url(String),
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FromEnvironment => f.write_str("FromEnvironment"),
            Self::Off => f.write_str("Off"),
            // A proxy URL may carry a password: it is never shown.
            Self::Url(url) => f
                .debug_tuple("Url")
                .field(&redact_credentials(url))
                .finish(),
        }
    }
}

impl Proxy {
    /// Checks a proxy URL's form and scheme; the error never shows a password.
    pub(crate) fn check_url(url: &str) -> Result<(), String> {
        let shown = redact_credentials(url);
        let parsed =
            url::Url::parse(url).map_err(|e| format!("proxy {shown:?} is not a URL: {e}"))?;
        match parsed.scheme() {
            "http" | "https" | "socks5" | "socks5h" if parsed.host().is_some() => Ok(()),
            "http" | "https" | "socks5" | "socks5h" => {
                Err(format!("proxy {shown:?} names no host"))
            }
            other => Err(format!(
                "proxy {shown:?} has scheme {other:?}; use http, https, socks5 or socks5h"
            )),
        }
    }
}

/// Settings of a [`ReqwestTransport`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportOptions {
    /// TLS settings.
    pub tls: TlsOptions,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a read from the server may wait for data.
    pub read_timeout: Duration,
    /// The proxy (default: the environment's, see [`Proxy`]).
    pub proxy: Proxy,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            proxy: Proxy::default(),
        }
    }
}

/// The default [`Transport`], on reqwest (rustls by default). Request bodies stream.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    options: TransportOptions,
}

impl ReqwestTransport {
    /// A transport with these options.
    pub fn new(options: TransportOptions) -> Result<Self, TransportError> {
        let config_error = |what: &str, e: reqwest::Error| {
            TransportError::new(TransportErrorKind::Other, format!("{what}: {e}")).with_source(e)
        };
        // Redirects are not followed: a redirect could carry the user's headers to another
        // host, and tus servers do not redirect uploads. A 3xx comes back as an answer.
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("tusky/", env!("CARGO_PKG_VERSION")));
        #[cfg(feature = "rustls-tls")]
        {
            builder = builder.use_rustls_tls();
        }
        for pem in &options.tls.root_certificates_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| config_error("reading a root certificate", e))?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(pem) = &options.tls.client_identity_pem {
            builder = builder.identity(
                identity_from_pem(pem)
                    .map_err(|e| config_error("reading the client identity", e))?,
            );
        }
        if options.tls.danger_accept_invalid_certs {
            tracing::warn!("TLS certificate verification is OFF: the connection can be read and changed by anyone on the path");
            builder = builder.danger_accept_invalid_certs(true);
        }
        builder = with_proxy(builder, &options.proxy)?;
        let client = builder
            .build()
            .map_err(|e| config_error("building the HTTP client", e))?;
        Ok(Self { client, options })
    }

    /// A transport over an existing reqwest client (its own TLS and timeout settings apply).
    pub fn from_client(client: reqwest::Client) -> Self {
        Self {
            client,
            options: TransportOptions::default(),
        }
    }

    /// The options this transport was built with.
    pub fn options(&self) -> &TransportOptions {
        &self.options
    }
}

/// `text` with anything between `scheme://` and an `@` in its authority replaced by `***`.
fn redact_credentials(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_owned();
    };
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &rest[at..]),
        None => text.to_owned(),
    }
}

fn with_proxy(
    builder: reqwest::ClientBuilder,
    proxy: &Proxy,
) -> Result<reqwest::ClientBuilder, TransportError> {
    match proxy {
        // reqwest reads the environment variables unless told otherwise.
        Proxy::FromEnvironment => Ok(builder),
        Proxy::Off => Ok(builder.no_proxy()),
        Proxy::Url(url) => {
            let invalid = |message: String| TransportError::new(TransportErrorKind::Other, message);
            Proxy::check_url(url).map_err(invalid)?;
            // reqwest's error would show the URL, password included: say it in our words.
            let proxy = reqwest::Proxy::all(url.as_str()).map_err(|_| {
                invalid(format!(
                    "proxy {:?} is not a proxy URL reqwest accepts",
                    redact_credentials(url)
                ))
            })?;
            Ok(builder.proxy(proxy.no_proxy(reqwest::NoProxy::from_env())))
        }
    }
}

#[cfg(feature = "rustls-tls")]
fn identity_from_pem(pem: &[u8]) -> reqwest::Result<reqwest::Identity> {
    reqwest::Identity::from_pem(pem)
}

#[cfg(all(not(feature = "rustls-tls"), feature = "native-tls"))]
fn identity_from_pem(pem: &[u8]) -> reqwest::Result<reqwest::Identity> {
    reqwest::Identity::from_pkcs8_pem(pem, pem)
}

#[cfg(not(any(feature = "rustls-tls", feature = "native-tls")))]
fn identity_from_pem(_pem: &[u8]) -> reqwest::Result<reqwest::Identity> {
    compile_error!("tusky needs a TLS backend: enable the `rustls-tls` or `native-tls` feature")
}

fn classify(error: reqwest::Error) -> TransportError {
    let kind = if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_body() {
        TransportErrorKind::Body
    } else if error.is_request() {
        TransportErrorKind::Connection
    } else {
        TransportErrorKind::Other
    };
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    // A refused certificate is not transient: retrying cannot help.
    let kind = if is_certificate_error(&message) {
        TransportErrorKind::Certificate
    } else {
        kind
    };
    TransportError::new(kind, message).with_source(error)
}

/// Whether a connection failure's text says the server's certificate was refused (rustls:
/// "invalid peer certificate", native TLS: "certificate verify failed").
fn is_certificate_error(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("invalid peer certificate")
        || message.contains("certificate verify failed")
        || message.contains("unknownissuer")
        || message.contains("certificate is not valid")
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let mut builder = self
            .client
            .request(request.method, request.url)
            .headers(request.headers);
        builder = match request.body {
            Body::Empty => builder,
            Body::Bytes(bytes) => builder.body(bytes),
            Body::Stream { length, stream } => builder
                .header(http::header::CONTENT_LENGTH, length)
                .body(reqwest::Body::wrap_stream(stream)),
        };
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = BytesMut::new();
        while body.len() < MAX_RESPONSE_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE_BODY - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                // The status and headers arrived; a broken body only loses the error text.
                Err(_) => break,
            }
        }
        Ok(Response::new(status, headers, Bytes::from(body)))
    }
}
