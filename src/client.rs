//! [`Client`]: the endpoint, default headers, TLS and timeouts shared by uploaders.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

use crate::error::{Context, Error, Operation, Result};
use crate::origin;
use crate::protocol::{names, ServerCapabilities};
use crate::transport::layers::{self, Deadline, Layer, MethodOverride, OriginGuard, TusHeaders};
use crate::transport::{
    Body, Request, ReqwestTransport, Response, TlsOptions, Transport, TransportOptions,
};

/// A tus client: the endpoint uploads are created at, headers sent with every request (auth,
/// say), and the transport. Cheap to clone: clones share headers, transport and the cached
/// server capabilities.
///
/// ```
/// # fn main() -> Result<(), tusky::Error> {
/// let client = tusky::Client::builder()
///     .endpoint("https://tus.example/files/")
///     .header("Authorization", "Bearer secret")
///     .build()?;
/// client.set_header("Authorization", "Bearer rotated")?; // later requests see this
/// assert_eq!(client.endpoint().map(|u| u.as_str()), Some("https://tus.example/files/"));
/// # Ok(()) }
/// ```
pub struct Client<T: Transport = ReqwestTransport> {
    inner: Arc<Inner<T>>,
}

impl<T: Transport> Clone for Client<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Transport> std::fmt::Debug for Client<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint.as_ref().map(Url::as_str))
            .field("method_override", &self.inner.method_override)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<T> {
    endpoint: Option<Url>,
    /// The default headers, shared with the [`TusHeaders`] layer.
    headers: Arc<RwLock<HeaderMap>>,
    /// The base transport, as given.
    transport: Arc<T>,
    /// The base transport inside every layer: what requests are sent through.
    stack: Arc<dyn Transport>,
    method_override: bool,
    /// Whether a 401 gets the headers refreshed (a header provider is set).
    pub(crate) refreshes_auth: bool,
    capabilities: Mutex<HashMap<Url, ServerCapabilities>>,
    /// The runtime of this client's blocking uploaders, made by the first of them.
    pub(crate) blocking: std::sync::OnceLock<Arc<crate::blocking::SharedRuntime>>,
}

/// Builds a [`Client`]; nothing is checked until [`build`](ClientBuilder::build).
#[must_use]
#[derive(Default)]
pub struct ClientBuilder {
    endpoint: Option<String>,
    headers: Vec<(String, String)>,
    options: TransportOptions,
    /// Whether TLS or timeout settings were given (they apply to the built-in transport only).
    transport_options_set: bool,
    method_override: bool,
    cross_origin_headers: bool,
    request_timeout: Option<Duration>,
    request_ids: bool,
    auth: Option<layers::Auth>,
    layers: Vec<Arc<dyn Layer>>,
    rate_limit: Option<u64>,
}

/// How long a request without a body may take for its whole answer, unless set.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("options", &self.options)
            .field("method_override", &self.method_override)
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::Config(format!("{name:?} is not a valid header name")))?;
    let value = HeaderValue::from_str(value).map_err(|_| {
        Error::Config(format!(
            "the value of header {name} is not a valid header value"
        ))
    })?;
    Ok((name, value))
}

pub(crate) fn parse_url(what: &str, url: &str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::Config(format!("{what} {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(Error::Config(format!(
            "{what} {url:?} has scheme {other:?}; tus needs http or https"
        ))),
    }
}

impl ClientBuilder {
    /// The creation endpoint, e.g. `https://tus.example/files/`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// A header sent with every request (replaces an earlier one of the same name).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Trusts an extra root certificate (PEM) beside the built-in ones.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.options.tls.root_certificates_pem.push(pem.into());
        self.transport_options_set = true;
        self
    }

    /// Presents this client identity (PEM with certificate chain and private key) for mutual TLS.
    pub fn client_identity_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.options.tls.client_identity_pem = Some(pem.into());
        self.transport_options_set = true;
        self
    }

    /// Turns TLS certificate verification off. Dangerous: anyone between you and the server can
    /// read and change the upload. For tests against self-signed servers only.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.options.tls.danger_accept_invalid_certs = accept;
        self.transport_options_set = true;
        self
    }

    /// How long connecting may take (default 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self.transport_options_set = true;
        self
    }

    /// How long a read may wait for the server (default 60 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.options.read_timeout = timeout;
        self.transport_options_set = true;
        self
    }

    /// Sends every request through this proxy: `http://`, `https://`, `socks5://` or
    /// `socks5h://` (the proxy resolves host names), optionally with `user:password@`. Hosts in
    /// `NO_PROXY` still go direct. Without this (or [`no_proxy`](Self::no_proxy)), the proxy
    /// environment variables are honoured: see [`Proxy`](crate::transport::Proxy). A setting
    /// of the built-in transport, like TLS.
    ///
    /// ```
    /// # fn main() -> Result<(), tusky::Error> {
    /// let client = tusky::Client::builder()
    ///     .endpoint("https://tus.example/files/")
    ///     .proxy("socks5h://127.0.0.1:1080")
    ///     .build()?;
    /// # drop(client);
    /// # Ok(()) }
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.options.proxy = crate::transport::Proxy::Url(url.into());
        self.transport_options_set = true;
        self
    }

    /// Connects directly, ignoring `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`. A setting of
    /// the built-in transport, like TLS.
    pub fn no_proxy(mut self) -> Self {
        self.options.proxy = crate::transport::Proxy::Off;
        self.transport_options_set = true;
        self
    }

    /// Sends PATCH and DELETE as POST with `X-HTTP-Method-Override`, for proxies that block them.
    pub fn method_override(mut self, enabled: bool) -> Self {
        self.method_override = enabled;
        self
    }

    /// Wraps the transport in `layer` (auth, logging, metrics, request ids, fault injection):
    /// see [`layers`](crate::transport::layers). Layers added first are outermost; all of them
    /// are inside tusky's own protocol layers, so they see requests as they go on the wire.
    pub fn layer(mut self, layer: impl Layer) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    /// Whether the user's headers (this builder's, `set_header`'s and an uploader's) are also
    /// sent to upload URLs on another origin than the endpoint's (default: no; only the tus
    /// protocol's headers go there). An https upload never continues over http either way.
    pub fn cross_origin_headers(mut self, allow: bool) -> Self {
        self.cross_origin_headers = allow;
        self
    }

    /// How long a request without a body (OPTIONS, HEAD, DELETE, a POST without data) may take
    /// for its whole answer (default [`DEFAULT_REQUEST_TIMEOUT`]). Requests with a body are
    /// watched by the uploader's stall timeout instead.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Headers that can change during an upload (an expiring token): `provider` is asked before
    /// every request and told to refresh after a 401; the request is then repeated once (a
    /// second 401 in a row is final). See [`header_provider`](crate::transport::layers::header_provider)
    /// for the closure form.
    pub fn header_provider(mut self, provider: impl layers::HeaderProvider) -> Self {
        self.auth = Some(layers::Auth::new(provider));
        self
    }

    /// Sends a fresh `X-Request-ID` with every request; an error names the id of the request
    /// that failed, so it can be found in the server's logs (default: off).
    pub fn request_ids(mut self, enabled: bool) -> Self {
        self.request_ids = enabled;
        self
    }

    /// Runs `hook` on each request before it is sent (it may change the headers: auth,
    /// tracing); a [`Hooks`](crate::transport::layers::Hooks) layer.
    pub fn on_request(
        self,
        hook: impl Fn(&mut crate::transport::Request) + Send + Sync + 'static,
    ) -> Self {
        self.layer(layers::Hooks::new().before(hook))
    }

    /// Runs `hook` after each exchange (status, headers, timing; also for requests that got
    /// no answer); a [`Hooks`](crate::transport::layers::Hooks) layer.
    pub fn on_response(self, hook: impl Fn(&layers::Exchange) + Send + Sync + 'static) -> Self {
        self.layer(layers::Hooks::new().after(hook))
    }

    /// Limits request bodies to `bytes_per_second` for everything this client (and its clones)
    /// uploads together: all files, all parts of parallel uploads. Smooth: a token bucket
    /// holding 1/8 s of traffic (at most 1 MiB) releases bodies in small slices, never holding
    /// more than one piece of a body (see [`RateLimit`](crate::transport::layers::RateLimit)).
    /// Answers are not limited. Works with any transport; 0 is refused by `build()`.
    /// The stall watchdog counts a body's 128 KiB pieces as they leave the source: below about
    /// 2.2 KiB/s one piece takes longer than the default 60 s stall timeout, so raise
    /// [`stall_timeout`](crate::UploaderBuilder::stall_timeout) for such limits.
    ///
    /// ```
    /// # fn main() -> Result<(), tusky::Error> {
    /// let client = tusky::Client::builder()
    ///     .endpoint("https://tus.example/files/")
    ///     .limit_rate(10 * 1024 * 1024) // 10 MiB/s
    ///     .build()?;
    /// # drop(client);
    /// # Ok(()) }
    /// ```
    pub fn limit_rate(mut self, bytes_per_second: u64) -> Self {
        self.rate_limit = Some(bytes_per_second);
        self
    }

    /// The TLS settings so far (what the transport will get).
    pub fn tls_options(&self) -> &TlsOptions {
        &self.options.tls
    }

    /// Builds the client with the default [`ReqwestTransport`].
    pub fn build(self) -> Result<Client> {
        if let crate::transport::Proxy::Url(url) = &self.options.proxy {
            crate::transport::Proxy::check_url(url).map_err(Error::Config)?;
        }
        let transport =
            ReqwestTransport::new(self.options.clone()).map_err(|source| Error::Transport {
                context: Context::new(Operation::Configure, None, None),
                source,
            })?;
        self.assemble(transport)
    }

    /// Builds the client over a custom transport. TLS, timeout and proxy settings are the built-in
    /// transport's: with a custom one they would not apply, so giving them is an error
    /// (configure your transport instead). Layers and headers apply to any transport.
    pub fn build_with_transport<T: Transport>(self, transport: T) -> Result<Client<T>> {
        if self.transport_options_set {
            return Err(Error::Config(
                "TLS, timeout and proxy settings configure the built-in transport; a custom transport takes its own (set them there, or use build())".to_owned(),
            ));
        }
        self.assemble(transport)
    }

    fn assemble<T: Transport>(self, transport: T) -> Result<Client<T>> {
        let endpoint = self
            .endpoint
            .as_deref()
            .map(|e| parse_url("the endpoint", e))
            .transpose()?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let (name, value) = header_pair(name, value)?;
            headers.insert(name, value);
        }
        // A user name and password in the endpoint become the Authorization header; the URL
        // kept (and shown, and stored) has none.
        let endpoint = endpoint.map(|endpoint| {
            let (bare, auth) = origin::split_credentials(&endpoint);
            if let Some(auth) = auth {
                headers.entry(http::header::AUTHORIZATION).or_insert(auth);
            }
            bare
        });
        let headers = Arc::new(RwLock::new(headers));
        let transport = Arc::new(transport);
        let mut protocol: Vec<Arc<dyn Layer>> =
            vec![Arc::new(TusHeaders::new(Arc::clone(&headers)))];
        let refreshes_auth = self.auth.is_some();
        // Outside the origin guard: the provider's headers stay on the endpoint's origin too.
        if let Some(auth) = self.auth {
            protocol.push(Arc::new(auth));
        }
        if let Some(endpoint) = &endpoint {
            protocol.push(Arc::new(OriginGuard::new(
                endpoint.origin(),
                self.cross_origin_headers,
            )));
        }
        protocol.push(Arc::new(Deadline::new(
            self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
        )));
        if self.method_override {
            protocol.push(Arc::new(MethodOverride));
        }
        if self.request_ids {
            protocol.push(Arc::new(layers::RequestId));
        }
        protocol.extend(self.layers);
        let mut base: Arc<dyn Transport> = Arc::clone(&transport) as Arc<dyn Transport>;
        match self.rate_limit {
            Some(0) => {
                return Err(Error::Config(
                    "limit_rate needs at least 1 byte per second".to_owned(),
                ))
            }
            // Innermost: the user's layers see bodies as given, the limit paces the wire.
            Some(rate) => base = layers::RateLimit::new(rate).layer(base),
            None => {}
        }
        let stack = layers::stack(base, &protocol);
        Ok(Client {
            inner: Arc::new(Inner {
                endpoint,
                headers,
                transport,
                stack,
                method_override: self.method_override,
                refreshes_auth,
                capabilities: Mutex::new(HashMap::new()),
                blocking: std::sync::OnceLock::new(),
            }),
        })
    }
}

impl Client {
    /// A builder for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for `endpoint` with default settings.
    pub fn new(endpoint: impl Into<String>) -> Result<Self> {
        Self::builder().endpoint(endpoint).build()
    }
}

impl<T: Transport> Client<T> {
    /// The creation endpoint, if set.
    pub fn endpoint(&self) -> Option<&Url> {
        self.inner.endpoint.as_ref()
    }

    pub(crate) fn inner(&self) -> &Inner<T> {
        &self.inner
    }

    /// The base transport (inside the layers).
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// Sets a default header: replaces the value of an existing name, adds a new one. Requests
    /// made after the call (by any clone or uploader of this client) carry it.
    pub fn set_header(&self, name: &str, value: &str) -> Result<()> {
        let (name, value) = header_pair(name, value)?;
        self.write_headers().insert(name, value);
        Ok(())
    }

    /// Sets several default headers at once (see [`set_header`](Client::set_header)).
    pub fn set_headers<'a>(
        &self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<()> {
        let pairs = headers
            .into_iter()
            .map(|(n, v)| header_pair(n, v))
            .collect::<Result<Vec<_>>>()?;
        let mut map = self.write_headers();
        for (name, value) in pairs {
            map.insert(name, value);
        }
        Ok(())
    }

    /// Removes a default header.
    pub fn remove_header(&self, name: &str) {
        self.write_headers().remove(name);
    }

    /// The default headers now in force.
    pub fn headers(&self) -> HeaderMap {
        self.inner
            .headers
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn write_headers(&self) -> std::sync::RwLockWriteGuard<'_, HeaderMap> {
        self.inner
            .headers
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one tus request through the layers (which add `Tus-Resumable`, the default
    /// headers and the method override) and turns a transport failure or a 412 into an
    /// [`Error`]. The status is otherwise returned as is, for the caller to judge.
    pub(crate) async fn send(
        &self,
        context: &Context,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Body,
    ) -> Result<Response> {
        let event = RequestEvent::new(&method, url, &headers, &body);
        let request = Request {
            method,
            url: url.clone(),
            headers,
            body,
        };
        let result = self.inner.stack.send(request).await;
        event.emit(result.as_ref().map(|r| r.status));
        let response = result.map_err(|source| Error::Transport {
            context: context.clone(),
            source,
        })?;
        if response.status == http::StatusCode::PRECONDITION_FAILED {
            let server_versions = response
                .headers
                .get(names::TUS_VERSION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "no Tus-Version header".to_owned());
            return Err(Error::UnsupportedVersion {
                context: context.clone(),
                server_versions,
            });
        }
        Ok(response)
    }

    /// The server's capabilities from an OPTIONS request on the endpoint, cached per client.
    /// A server that does not answer OPTIONS with 200/204 is taken to advertise nothing.
    pub async fn capabilities(&self) -> Result<ServerCapabilities> {
        let endpoint = self
            .endpoint()
            .ok_or_else(|| Error::Config("discovering capabilities needs an endpoint".to_owned()))?
            .clone();
        self.capabilities_of(&endpoint).await
    }

    pub(crate) async fn capabilities_of(&self, endpoint: &Url) -> Result<ServerCapabilities> {
        if let Some(cached) = self.cached_capabilities(endpoint) {
            return Ok(cached);
        }
        let context = Context::new(Operation::Discover, Some(endpoint), None);
        let response = self
            .send(
                &context,
                Method::OPTIONS,
                endpoint,
                HeaderMap::new(),
                Body::Empty,
            )
            .await?;
        let capabilities = if response.status.is_success() {
            ServerCapabilities::from_headers(&response.headers)
                .map_err(|e| Error::header(context, e))?
        } else {
            tracing::debug!(status = %response.status, %endpoint, "OPTIONS not answered; assuming no extensions");
            ServerCapabilities::default()
        };
        if let Ok(mut cache) = self.inner.capabilities.lock() {
            cache.insert(endpoint.clone(), capabilities.clone());
        }
        Ok(capabilities)
    }

    pub(crate) fn cached_capabilities(&self, endpoint: &Url) -> Option<ServerCapabilities> {
        self.inner.capabilities.lock().ok()?.get(endpoint).cloned()
    }
}

/// What the `"tus request"` tracing event (debug level, one per request, after its answer)
/// says: method, URL without user name and password, `Upload-Offset` sent, body bytes, and then
/// the status (or the failure) and the duration.
struct RequestEvent {
    method: Method,
    url: String,
    offset: Option<u64>,
    bytes: u64,
    started: std::time::Instant,
}

impl RequestEvent {
    fn new(method: &Method, url: &Url, headers: &HeaderMap, body: &Body) -> Self {
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        Self {
            method: method.clone(),
            url: shown.to_string(),
            offset: headers
                .get(names::UPLOAD_OFFSET)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
            bytes: body.len(),
            started: std::time::Instant::now(),
        }
    }

    fn emit(
        self,
        status: std::result::Result<http::StatusCode, &crate::transport::TransportError>,
    ) {
        let duration_ms = self.started.elapsed().as_millis() as u64;
        let (method, url, offset, bytes) = (self.method, self.url, self.offset, self.bytes);
        match status {
            Ok(status) => tracing::debug!(
                %method, %url, status = status.as_u16(), ?offset, bytes, duration_ms, "tus request"
            ),
            Err(error) => tracing::debug!(
                %method, %url, %error, ?offset, bytes, duration_ms, "tus request"
            ),
        }
    }
}
