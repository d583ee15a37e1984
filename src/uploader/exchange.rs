//! The requests of one upload: POST (create), HEAD (offset), PATCH (bytes), DELETE.
//! Each checks the answer strictly and turns anything unexpected into a clear error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use url::Url;

use super::recovery::UrlOrigin;
use super::{ChecksumMode, Uploader};
use crate::error::{Context, Operation};
use crate::fingerprint::Fingerprint;
use crate::progress::{ProgressCallback, ProgressEvent};
use crate::protocol::{self, names, ChecksumAlgorithm, Extension};
use crate::source::Source;
use crate::storage::Storage;
use crate::transport::{Body, Response, Transport, TransportError, TransportErrorKind};
use crate::{Error, Result};

fn header_value(value: impl ToString) -> HeaderValue {
    // Only used for values tusky formats itself (numbers, base64, names): always valid.
    HeaderValue::from_str(&value.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn status_error(context: Context, response: &Response) -> Error {
    Error::Status {
        context,
        status: response.status,
        body: response.body_text(),
    }
}

fn parse_expires(response: &Response) -> Option<SystemTime> {
    let value = response.header(names::UPLOAD_EXPIRES)?;
    match protocol::parse_expires(value) {
        Ok(time) => Some(time),
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed Upload-Expires");
            None
        }
    }
}

impl<T: Transport, S: Storage, F: Fingerprint> Uploader<T, S, F> {
    fn request_headers(&self) -> HeaderMap {
        self.settings.headers.clone()
    }

    /// The checksum algorithm for PATCHes, decided once.
    async fn checksum_algorithm(&mut self) -> Result<Option<ChecksumAlgorithm>> {
        if let Some(decided) = self.checksum {
            return Ok(decided);
        }
        let decided = match &self.settings.checksum {
            ChecksumMode::Off => None,
            ChecksumMode::Always(algorithm) => Some(*algorithm),
            ChecksumMode::Negotiate(preference) => match self.client.endpoint().cloned() {
                Some(endpoint) => {
                    let capabilities = self.client.capabilities_of(&endpoint).await?;
                    let chosen = preference
                        .iter()
                        .copied()
                        .find(|a| capabilities.checksum_algorithms.contains(a));
                    if chosen.is_none() {
                        tracing::info!("the server lists none of the preferred checksum algorithms; sending none");
                    }
                    chosen
                }
                None => None,
            },
        };
        self.checksum = Some(decided);
        Ok(decided)
    }

    /// POST: creates the upload (with its first bytes when the server allows) and records it.
    pub(super) async fn create_upload(&mut self) -> Result<()> {
        let endpoint = self
            .client
            .endpoint()
            .cloned()
            .ok_or_else(|| Error::Config("creating an upload needs an endpoint".to_owned()))?;
        let context = Context::new(Operation::Create, Some(&endpoint), Some(0));
        let capabilities = self.client.capabilities_of(&endpoint).await?;
        let with_upload = self.settings.creation_with_upload
            && capabilities.supports(Extension::CreationWithUpload);
        let chunk_size = self
            .stop_at
            .map_or(self.chunk_size, |stop| self.chunk_size.min(stop));
        let checksum = if with_upload {
            self.checksum_algorithm().await?
        } else {
            None
        };
        let too_large = |size: Option<u64>| match (capabilities.max_size, size) {
            (Some(max_size), Some(size)) if size > max_size => Err(Error::TooLarge {
                context: context.clone(),
                size,
                max_size,
            }),
            _ => Ok(()),
        };
        let source = self.source_mut()?;
        too_large(source.size())?;
        // A stream is read ahead by one chunk: if it ends within it, its length is known now.
        let first = if with_upload || !source.is_seekable() {
            let plan = source
                .plan(0, chunk_size, checksum)
                .await
                .map_err(|e| Error::Source {
                    context: context.clone(),
                    source: e,
                })?;
            Some(plan)
        } else {
            None
        };
        let size = source.size();
        too_large(size)?;
        let mut headers = self.request_headers();
        match size {
            Some(size) => headers.insert(names::UPLOAD_LENGTH, header_value(size)),
            None => headers.insert(names::UPLOAD_DEFER_LENGTH, HeaderValue::from_static("1")),
        };
        if self.settings.concat_partial {
            headers.insert(names::UPLOAD_CONCAT, HeaderValue::from_static("partial"));
        }
        if let Some(metadata) = &self.settings.metadata {
            let value = HeaderValue::from_str(metadata)
                .map_err(|_| Error::Config("metadata is not a valid header".to_owned()))?;
            headers.insert(names::UPLOAD_METADATA, value);
        }
        let send_len = match &first {
            Some(plan) if with_upload && plan.len > 0 => plan.len,
            _ => 0,
        };
        if send_len > 0 {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(names::OFFSET_OCTET_STREAM),
            );
            if let Some(checksum) = first.as_ref().and_then(|plan| plan.checksum.as_ref()) {
                headers.insert(names::UPLOAD_CHECKSUM, header_value(checksum));
            }
        }
        // Watched for stalls like a PATCH (it may carry the first chunk); no `BytesSent` events,
        // which would come before `Started`.
        let response = self
            .send_watched(
                Method::POST,
                &endpoint,
                &context,
                0,
                send_len,
                headers,
                false,
            )
            .await?;
        if response.status != StatusCode::CREATED {
            return Err(status_error(context, &response));
        }
        let location = response.header("location").ok_or_else(|| {
            Error::protocol(context.clone(), "the 201 answer has no Location header")
        })?;
        let url = protocol::resolve_location(&endpoint, location)
            .map_err(|reason| Error::protocol(context.clone(), reason))?;
        tracing::info!(%url, "created upload");
        self.url = Some(url);
        self.origin = Some(UrlOrigin::Created);
        self.resumed_from = None;
        self.length_declared = size.is_some();
        self.expires = parse_expires(&response);
        self.offset = 0;
        self.synced = true;
        if send_len > 0 {
            match response.header(names::UPLOAD_OFFSET) {
                Some(value) => {
                    let offset = protocol::parse_upload_offset(Some(value))
                        .map_err(|e| Error::header(context.clone(), e))?;
                    if offset > send_len {
                        return Err(Error::protocol(
                            context,
                            format!(
                                "the server acknowledged {offset} bytes of the {send_len} sent"
                            ),
                        ));
                    }
                    self.offset = offset;
                }
                // Bytes were sent but the answer does not say how many were kept: ask.
                None => self.synced = false,
            }
        }
        self.record().await?;
        if self.offset > 0 {
            // `Started` (at 0) comes before the bytes the POST carried are acknowledged.
            self.emit_started_at(0);
            self.acknowledge(0, self.offset);
        }
        Ok(())
    }

    /// HEAD: reads the server's offset (and checks its length against the source's).
    pub(super) async fn sync_offset(&mut self) -> Result<()> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))?;
        let context = self.context(Operation::Head);
        let head = self.client.send(
            &context,
            Method::HEAD,
            &url,
            self.request_headers(),
            Body::Empty,
        );
        // A HEAD has no body to make progress with: no answer within the stall timeout is a
        // stall.
        let response = match self.settings.stall_timeout {
            Some(stall) => match tokio::time::timeout(stall, head).await {
                Ok(response) => response?,
                Err(_) => {
                    return Err(Error::Transport {
                        context,
                        source: TransportError::new(
                            TransportErrorKind::Timeout,
                            format!("stalled: no answer for {stall:?}"),
                        ),
                    })
                }
            },
            None => head.await?,
        };
        if !matches!(response.status, StatusCode::OK | StatusCode::NO_CONTENT) {
            return Err(status_error(context, &response));
        }
        let offset = protocol::parse_upload_offset(response.header(names::UPLOAD_OFFSET))
            .map_err(|e| Error::header(context.clone(), e))?;
        let length = response
            .header(names::UPLOAD_LENGTH)
            .map(|v| protocol::parse_upload_length(Some(v)))
            .transpose()
            .map_err(|e| Error::header(context.clone(), e))?;
        let local = self.size();
        if let (Some(server), Some(local)) = (length, local) {
            if server != local {
                return Err(Error::LengthMismatch {
                    context,
                    server,
                    local,
                });
            }
        }
        if let Some(limit) = length.or(local) {
            if offset > limit {
                return Err(Error::protocol(
                    context,
                    format!("the server's offset {offset} is beyond the upload's length {limit}"),
                ));
            }
        }
        if length.is_some() {
            self.length_declared = true;
        }
        if self.origin != Some(UrlOrigin::Created) && self.resumed_from.is_none() {
            self.resumed_from = Some(offset);
            tracing::info!(offset, "resuming");
        }
        if let Some(expires) = parse_expires(&response) {
            self.expires = Some(expires);
        }
        let before = self.offset;
        self.offset = offset;
        self.synced = true;
        // Bytes the server kept although their answer was lost (a stall, a broken connection)
        // are acknowledged now, so that progress stays contiguous and reaches the end.
        if self.started_emitted && offset > before {
            self.acknowledge(before, offset);
        }
        // A URL given to the builder is remembered too, so that a later run that only has the
        // store resumes it.
        if self.origin == Some(UrlOrigin::Explicit)
            && self.key.is_none()
            && self.storage_key().await?.is_some()
        {
            self.record().await?;
        }
        Ok(())
    }

    /// PATCH: sends at most `max_len` bytes from the server's offset.
    pub(super) async fn patch(&mut self, max_len: u64) -> Result<()> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))?;
        let checksum = self.checksum_algorithm().await?;
        let offset = self.offset;
        let context = self.context(Operation::Patch);
        let plan = self
            .source_mut()?
            .plan(offset, max_len, checksum)
            .await
            .map_err(|source| Error::Source {
                context: context.clone(),
                source,
            })?;
        self.check_stream_size(&context, offset + plan.len).await?;
        let mut headers = self.request_headers();
        headers.insert(names::UPLOAD_OFFSET, header_value(offset));
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(names::OFFSET_OCTET_STREAM),
        );
        if let Some(checksum) = &plan.checksum {
            headers.insert(names::UPLOAD_CHECKSUM, header_value(checksum));
        }
        let declares_length = plan.declare_length.filter(|_| !self.length_declared);
        if let Some(length) = declares_length {
            headers.insert(names::UPLOAD_LENGTH, header_value(length));
        }
        // Until the answer arrives the server's offset is unknown: if this future is dropped
        // mid-request (the server may have kept the bytes), the next run asks with HEAD first.
        self.synced = false;
        let response = self
            .send_watched(
                Method::PATCH,
                &url,
                &context,
                offset,
                plan.len,
                headers,
                true,
            )
            .await?;
        if !response.status.is_success() {
            return Err(status_error(context, &response));
        }
        let new_offset = protocol::parse_upload_offset(response.header(names::UPLOAD_OFFSET))
            .map_err(|e| Error::header(context.clone(), e))?;
        if new_offset < offset {
            return Err(Error::protocol(
                context,
                format!("the server's offset moved backwards, from {offset} to {new_offset}"),
            ));
        }
        if new_offset > offset + plan.len {
            return Err(Error::protocol(
                context,
                format!(
                    "the server's offset {new_offset} is beyond the {} bytes sent from {offset}",
                    plan.len
                ),
            ));
        }
        if declares_length.is_some() {
            self.length_declared = true;
        }
        self.offset = new_offset;
        self.synced = true;
        if let Some(expires) = parse_expires(&response) {
            if self.expires != Some(expires) {
                self.expires = Some(expires);
                self.record().await?;
            }
        }
        self.acknowledge(offset, new_offset);
        Ok(())
    }

    /// A stream of unknown length is checked against `Tus-Max-Size` as it grows (a file is
    /// checked before creation): past the limit the upload fails with a clear error instead
    /// of a string of 413s.
    async fn check_stream_size(&mut self, context: &Context, end: u64) -> Result<()> {
        if self.source.as_ref().is_none_or(Source::is_seekable) {
            return Ok(());
        }
        let Some(endpoint) = self.client.endpoint().cloned() else {
            return Ok(());
        };
        match self.client.capabilities_of(&endpoint).await?.max_size {
            Some(max_size) if end > max_size => Err(Error::TooLarge {
                context: context.clone(),
                size: end,
                max_size,
            }),
            _ => Ok(()),
        }
    }

    /// Sends `len` bytes of the source from `offset` as the body of a `method` request to
    /// `url`, dropping it if it stalls. A failure to read the source wins over the request's
    /// own outcome. With `progress`, `BytesSent` events are reported while it runs.
    #[allow(clippy::too_many_arguments)]
    async fn send_watched(
        &mut self,
        method: Method,
        url: &Url,
        context: &Context,
        offset: u64,
        len: u64,
        headers: HeaderMap,
        progress: bool,
    ) -> Result<Response> {
        let sent = Arc::new(AtomicU64::new(0));
        let client = self.client.clone();
        let watch = watchdog(
            Arc::clone(&sent),
            offset,
            self.size(),
            self.settings.stall_timeout,
            progress.then(|| self.settings.progress.clone()).flatten(),
        );
        let exchange = {
            let context = context.clone();
            let url = url.clone();
            self.source_mut()?
                .send_range(offset, len, sent, move |body| async move {
                    client.send(&context, method, &url, headers, body).await
                })
        };
        let (response, read_error) = tokio::select! {
            outcome = exchange => outcome,
            stalled = watch => return Err(Error::Transport { context: context.clone(), source: stalled }),
        };
        if let Some(source) = read_error {
            return Err(Error::Source {
                context: context.clone(),
                source,
            });
        }
        response
    }

    fn acknowledge(&self, start: u64, end: u64) {
        let total = self.size();
        self.emit(ProgressEvent::Acknowledged { offset: end, total });
        self.emit(ProgressEvent::ChunkCompleted { start, end });
    }

    /// DELETE: terminates the upload at `url`.
    pub(super) async fn terminate_url(&mut self, url: &Url) -> Result<()> {
        let context = Context::new(Operation::Terminate, Some(url), Some(self.offset));
        let response = self
            .client
            .send(
                &context,
                Method::DELETE,
                url,
                self.request_headers(),
                Body::Empty,
            )
            .await?;
        if !response.status.is_success() {
            return Err(status_error(context, &response));
        }
        Ok(())
    }
}

/// Reports bytes sent while a request is in flight, and returns an error if nothing moves for
/// `stall` (then the request is dropped and retried). Never returns without a stall timeout.
async fn watchdog(
    sent: Arc<AtomicU64>,
    base: u64,
    total: Option<u64>,
    stall: Option<Duration>,
    progress: Option<ProgressCallback>,
) -> TransportError {
    let tick = stall.map_or(Duration::from_millis(200), |s| {
        (s / 4).min(Duration::from_millis(200))
    });
    let mut last = 0;
    let mut last_change = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = sent.load(Ordering::Relaxed);
        if now != last {
            last = now;
            last_change = tokio::time::Instant::now();
            if let Some(callback) = &progress {
                callback(&ProgressEvent::BytesSent {
                    sent: base + now,
                    total,
                });
            }
        } else if let Some(stall) = stall {
            if last_change.elapsed() >= stall {
                return TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("stalled: no progress for {stall:?} after {now} bytes"),
                );
            }
        }
    }
}
