//! The requests of one upload: POST (create), HEAD (offset), PATCH (bytes). Each checks the
//! answer strictly, turns anything unexpected into a clear error, and moves the state.

use http::{HeaderValue, Method};

use super::chunk_size::Outcome;
use super::options::{ChecksumMode, DigestTiming, Role};
use super::requests::{created_url, head, header_value, parse_expires, status_error, HeadAnswer};
use super::single::{Recorder, SingleUpload};
use super::state::{Offset, RemoteUpload, UploadState, UrlOrigin};
use crate::error::{Context, Operation};
use crate::protocol::{self, names, ChecksumAlgorithm, Extension};
use crate::source::{ChunkPlan, Source};
use crate::transport::{Response, Transport};
use crate::upload_status::Concatenation;
use crate::{Error, Result};

/// The offset a PATCH answer moves the upload to: its `Upload-Offset`, which may not go
/// backwards nor beyond the `sent` bytes sent from `offset`.
fn patched_offset(context: &Context, response: &Response, offset: u64, sent: u64) -> Result<u64> {
    if !response.status.is_success() {
        return Err(status_error(context.clone(), response));
    }
    let new_offset = protocol::required("Upload-Offset", response.header(names::UPLOAD_OFFSET))
        .and_then(protocol::parse_upload_offset)
        .map_err(|e| Error::header(context.clone(), e))?;
    if new_offset < offset {
        return Err(Error::protocol(
            context.clone(),
            format!("the server's offset moved backwards, from {offset} to {new_offset}"),
        ));
    }
    if new_offset > offset + sent {
        return Err(Error::protocol(
            context.clone(),
            format!(
                "the server's offset {new_offset} is beyond the {sent} bytes sent from {offset}"
            ),
        ));
    }
    Ok(new_offset)
}

/// The offset a creation answer leaves: 0 without a body; with one, the answer's
/// `Upload-Offset` (at most what was sent), or stale when the answer does not say.
fn created_offset(context: &Context, response: &Response, send_len: u64) -> Result<Offset> {
    if send_len == 0 {
        return Ok(Offset::Synced(0));
    }
    // Bytes were sent but the answer does not say how many were kept: ask.
    let Some(value) = response.header(names::UPLOAD_OFFSET) else {
        return Ok(Offset::Stale(0));
    };
    let offset =
        protocol::parse_upload_offset(value).map_err(|e| Error::header(context.clone(), e))?;
    if offset > send_len {
        return Err(Error::protocol(
            context.clone(),
            format!("the server acknowledged {offset} bytes of the {send_len} sent"),
        ));
    }
    Ok(Offset::Synced(offset))
}

impl<T: Transport> SingleUpload<T> {
    /// The checksum algorithm for PATCHes, decided once.
    async fn checksum_algorithm(&mut self) -> Result<Option<ChecksumAlgorithm>> {
        if let Some(decided) = self.checksum.get() {
            return Ok(*decided);
        }
        let decided = match &self.options.checksum {
            ChecksumMode::Off => None,
            ChecksumMode::Always(algorithm) => Some(*algorithm),
            ChecksumMode::Negotiate(preference) => {
                let preference = preference.clone();
                match self.client.endpoint().cloned() {
                    Some(endpoint) => {
                        let capabilities = self.client.capabilities_of(&endpoint).await?;
                        let chosen = preference
                            .into_iter()
                            .find(|a| capabilities.checksum_algorithms.contains(a));
                        if chosen.is_none() {
                            tracing::info!("the server lists none of the preferred checksum algorithms; sending none");
                        }
                        chosen
                    }
                    None => None,
                }
            }
        };
        let _ = self.checksum.set(decided);
        Ok(decided)
    }

    /// Reads the first chunk ahead when it goes into the creation POST, or when the source is
    /// a stream (if it ends within the chunk, its length is known now).
    async fn first_chunk(
        &mut self,
        with_upload: bool,
        stop_at: Option<u64>,
        context: &Context,
    ) -> Result<Option<ChunkPlan>> {
        let checksum = if with_upload {
            self.checksum_algorithm().await?
        } else {
            None
        };
        if !with_upload && self.source_mut()?.is_seekable() {
            return Ok(None);
        }
        let remaining = [stop_at, self.size()].into_iter().flatten().min();
        let chunk_size = self.chunk.next_len(remaining);
        let source = self.source_mut()?;
        let plan = source
            .plan(0, chunk_size, checksum)
            .await
            .map_err(|e| Error::Source {
                context: context.clone(),
                source: e,
            })?;
        Ok(Some(plan))
    }

    /// POST: creates the upload (with its first bytes when the server allows) and records it.
    pub(crate) async fn create(
        &mut self,
        stop_at: Option<u64>,
        records: &dyn Recorder,
    ) -> Result<()> {
        let endpoint = self
            .client
            .endpoint()
            .cloned()
            .ok_or_else(|| Error::Config("creating an upload needs an endpoint".to_owned()))?;
        let context = Context::new(Operation::Create, Some(&endpoint), Some(0));
        let capabilities = self.client.capabilities_of(&endpoint).await?;
        let with_upload = self.options.creation_with_upload
            && capabilities.supports(Extension::CreationWithUpload);
        let too_large = |size: Option<u64>| match (capabilities.max_size, size) {
            (Some(max_size), Some(size)) if size > max_size => Err(Error::TooLarge {
                context: context.clone(),
                size,
                max_size,
            }),
            _ => Ok(()),
        };
        too_large(self.size())?;
        let first = self.first_chunk(with_upload, stop_at, &context).await?;
        let size = self.size();
        too_large(size)?;
        let send_len = match &first {
            Some(plan) if with_upload && plan.len > 0 => plan.len,
            _ => 0,
        };
        let checksum = first.as_ref().and_then(|plan| plan.checksum.as_ref());
        let mut headers = self.creation_headers(size, send_len, checksum)?;
        self.add_creation_key(&mut headers);
        if let (true, Some(Some(algorithm))) = (send_len > 0, self.checksum.get().copied()) {
            self.look_ahead(send_len, algorithm);
        }
        // Watched for stalls like a PATCH (it may carry the first chunk); no `BytesSent` events,
        // which would come before `Started`.
        let started = tokio::time::Instant::now();
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
        let url = created_url(&context, &endpoint, &response)?;
        // Created: the next creation (after a start-over) is another one, with another key.
        self.creation_key = None;
        if send_len > 0 {
            self.last_answer = Some(super::FinalAnswer::of(&response));
        }
        tracing::info!(%url, "created upload");
        let offset = created_offset(&context, &response, send_len)?;
        let remote = RemoteUpload {
            offset,
            length_declared: size.is_some(),
            expires: parse_expires(&response),
            ..RemoteUpload::found(url, UrlOrigin::Created, None)
        };
        self.created(remote, send_len, started, records).await
    }

    /// The upload exists: its state, then its record, then the bytes the creation POST
    /// carried (`send_len`, sent at `started`) acknowledged.
    async fn created(
        &mut self,
        remote: RemoteUpload,
        send_len: u64,
        started: tokio::time::Instant,
        records: &dyn Recorder,
    ) -> Result<()> {
        let offset = remote.offset;
        // The state first: if the record cannot be written, the caller still knows the upload
        // exists (and can say so); no further byte is sent before it is written.
        self.state = UploadState::Remote(remote);
        let facts = self.record_facts();
        if let Some(remote) = self.state.remote() {
            records.remember(remote, &facts).await?;
        }
        if let Offset::Synced(offset @ 1..) = offset {
            // `Started` (at 0) comes before the bytes the POST carried are acknowledged.
            self.report_started_at(0);
            self.acknowledge(0, offset);
            if offset == send_len {
                // The first chunk's turn, measured like a PATCH's: an automatic size learns
                // from it instead of measuring its first size again.
                self.chunk.answered(Outcome::Accepted(started.elapsed()));
            }
        }
        Ok(())
    }

    /// The headers of the creation POST: length (or deferred length), concatenation role,
    /// metadata, and the body's type and checksum when it carries `send_len` bytes.
    fn creation_headers(
        &self,
        size: Option<u64>,
        send_len: u64,
        checksum: Option<&String>,
    ) -> Result<http::HeaderMap> {
        let mut headers = self.options.headers.clone();
        match size {
            Some(size) => headers.insert(names::UPLOAD_LENGTH, header_value(size)),
            None => headers.insert(names::UPLOAD_DEFER_LENGTH, HeaderValue::from_static("1")),
        };
        if self.options.role == Role::Part {
            headers.insert(names::UPLOAD_CONCAT, HeaderValue::from_static("partial"));
        } else if let Some(metadata) = &self.options.metadata {
            let value = HeaderValue::from_str(metadata)
                .map_err(|_| Error::Config("metadata is not a valid header".to_owned()))?;
            headers.insert(names::UPLOAD_METADATA, value);
        }
        if send_len > 0 {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(names::OFFSET_OCTET_STREAM),
            );
            if let Some(checksum) = checksum {
                headers.insert(names::UPLOAD_CHECKSUM, header_value(checksum));
            }
        }
        Ok(headers)
    }

    /// HEAD: reads the server's offset (and checks its length against the source's).
    pub(crate) async fn sync(&mut self, records: &dyn Recorder) -> Result<()> {
        let context = self.context(Operation::Head);
        let url = self
            .state
            .url()
            .cloned()
            .ok_or_else(|| Error::Config("the upload has no URL".to_owned()))?;
        let answer = head(
            &self.client,
            &context,
            &url,
            self.options.headers.clone(),
            self.options.stall_timeout,
        )
        .await?;
        let answer = joined(answer, &context)?;
        let local = self.size();
        if let (Some(server), Some(local)) = (answer.length, local) {
            if server != local {
                return Err(Error::LengthMismatch {
                    context,
                    server,
                    local,
                });
            }
        }
        if let Some(local) = local.filter(|local| answer.offset > *local) {
            return Err(Error::protocol(
                context,
                format!(
                    "the server's offset {} is beyond the upload's length {local}",
                    answer.offset
                ),
            ));
        }
        let Some(remote) = self.state.remote_mut() else {
            return Err(Error::Config("the upload has no URL".to_owned()));
        };
        let first_look = remote.origin != UrlOrigin::Created && remote.resumed_from.is_none();
        if first_look {
            remote.resumed_from = Some(answer.offset);
            tracing::info!(offset = answer.offset, "resuming");
        }
        remote.length_declared |= answer.length.is_some();
        remote.expires = answer.expires.or(remote.expires);
        let before = remote.offset.value();
        remote.offset = Offset::Synced(answer.offset);
        let (started, explicit) = (
            remote.started_reported,
            remote.origin == UrlOrigin::Explicit,
        );
        // Bytes the server kept although their answer was lost (a stall, a broken connection)
        // are acknowledged now, so that progress stays contiguous and reaches the end.
        if started && answer.offset > before {
            self.acknowledge(before, answer.offset);
        }
        // A URL given to the builder is remembered too, so that a later run that only has the
        // store resumes it.
        if first_look && explicit {
            let facts = self.record_facts();
            if let Some(remote) = self.state.remote() {
                records.remember(remote, &facts).await?;
            }
        }
        Ok(())
    }

    /// PATCH: sends at most `max_len` bytes from the server's offset.
    pub(crate) async fn patch(&mut self, max_len: u64, records: &dyn Recorder) -> Result<()> {
        // Each chunk is read from the file the upload started from, or not at all.
        self.check_unchanged(Operation::Patch).await?;
        let checksum = self.checksum_algorithm().await?;
        let context = self.context(Operation::Patch);
        let (url, offset, length_declared) = match self.state.remote() {
            Some(remote) => (
                remote.url.clone(),
                remote.offset.value(),
                remote.length_declared,
            ),
            None => return Err(Error::Config("the upload has no URL".to_owned())),
        };
        let plan = self
            .source_mut()?
            .plan(offset, max_len, checksum)
            .await
            .map_err(|source| Error::Source {
                context: context.clone(),
                source,
            })?;
        self.check_stream_size(&context, offset + plan.len).await?;
        let mut headers = self.options.headers.clone();
        headers.insert(names::UPLOAD_OFFSET, header_value(offset));
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(names::OFFSET_OCTET_STREAM),
        );
        if let Some(checksum) = &plan.checksum {
            headers.insert(names::UPLOAD_CHECKSUM, header_value(checksum));
        }
        let declares_length = plan.declare_length.filter(|_| !length_declared);
        if let Some(length) = declares_length {
            headers.insert(names::UPLOAD_LENGTH, header_value(length));
        }
        if let Some(algorithm) = checksum {
            self.look_ahead(offset + plan.len, algorithm);
        }
        // Until the answer arrives the server's offset is unknown: if this future is dropped
        // mid-request (the server may have kept the bytes), the next run asks with HEAD first.
        self.state.mark_stale();
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
        // Kept whatever it says: a server may store every byte and still answer an error.
        self.last_answer = Some(super::FinalAnswer::of(&response));
        let new_offset = patched_offset(&context, &response, offset, plan.len)?;
        self.patched(
            offset,
            new_offset,
            declares_length.is_some(),
            parse_expires(&response),
            records,
        )
        .await
    }

    /// With idempotent creation, the creation's `Idempotency-Key`: made once per creation, so
    /// every repeat of this POST sends the same key.
    fn add_creation_key(&mut self, headers: &mut http::HeaderMap) {
        if self.options.idempotent_creation {
            let key = self
                .creation_key
                .get_or_insert_with(super::idempotency::IdempotencyKey::new);
            headers.insert(super::idempotency::IDEMPOTENCY_KEY, key.header_value());
        }
    }

    /// Starts digesting the chunk after the one that ends at `next`, while that one is sent: the
    /// chunk the server's offset will point at if it takes all of this one, of the current
    /// chunk size. When the next chunk turns out to be another range, the look-ahead is
    /// discarded and that range digested when it is planned (`Source::plan`).
    fn look_ahead(&mut self, next: u64, algorithm: ChecksumAlgorithm) {
        if self.options.digest_timing == DigestTiming::WhenPlanned {
            return;
        }
        // The current size: with `ChunkSize::Auto` the tuner may pick another one after this
        // answer, and then this one look-ahead is discarded.
        let chunk_size = self.chunk.size();
        if let Ok(source) = self.source_mut() {
            source.look_ahead(next, chunk_size, algorithm);
        }
    }

    /// Moves the state after an accepted PATCH.
    async fn patched(
        &mut self,
        offset: u64,
        new_offset: u64,
        declared_length: bool,
        expires: Option<std::time::SystemTime>,
        records: &dyn Recorder,
    ) -> Result<()> {
        let facts = self.record_facts();
        let verifying = self.options.verify_content;
        let Some(remote) = self.state.remote_mut() else {
            return Err(Error::Config("the upload has no URL".to_owned()));
        };
        remote.length_declared |= declared_length;
        remote.offset = Offset::Synced(new_offset);
        if let Some(expires) = expires.filter(|e| remote.expires != Some(*e)) {
            remote.expires = Some(expires);
            if !verifying {
                records.remember(remote, &facts).await?;
            }
        }
        // With content verification the record follows every chunk (with the new digest).
        self.verify_progress(new_offset, records).await?;
        self.acknowledge(offset, new_offset);
        Ok(())
    }

    /// A stream of unknown length is checked against `Tus-Max-Size` as it grows (a file is
    /// checked before creation): past the limit the upload fails with a clear error instead
    /// of a string of 413s.
    async fn check_stream_size(&mut self, context: &Context, end: u64) -> Result<()> {
        if self.source_mut().map_or(true, |s| Source::is_seekable(s)) {
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
}

/// A final upload's HEAD while its server is still joining the partials (no `Upload-Offset`,
/// as tus allows): its partials were complete when it was made, so nothing is left to send and
/// it counts as complete at its length (a kept record of a finished parallel upload, looked
/// at again before the server's copy ended). Without a length there is no offset to go on.
fn joined(mut answer: HeadAnswer, context: &Context) -> Result<HeadAnswer> {
    if answer.concatenation != Some(Concatenation::Final { finished: false }) {
        return Ok(answer);
    }
    answer.offset = answer.length.ok_or_else(|| {
        Error::protocol(
            context.clone(),
            "a final upload the server is still joining, without Upload-Offset or Upload-Length: there is no offset to go on",
        )
    })?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use async_trait::async_trait;
    use tusky_mock_server::TusMockServer;

    use super::*;
    use crate::source::SourceSpec;
    use crate::transport::{Request, ReqwestTransport, TransportError, TransportOptions};
    use crate::uploader::options::Options;
    use crate::uploader::single::{Limit, NoRecords};
    use crate::wait_until::wait_until;
    use crate::Client;

    const CHUNK: u64 = 300_000;

    /// Holds back the answer to each request that sends the chunk at offset `o` until the file's
    /// digested bytes reach the end of the chunk after it: the next chunk's digest must be made
    /// while this chunk is in flight.
    struct HoldAnswers {
        inner: ReqwestTransport,
        digested: Arc<OnceLock<Arc<AtomicU64>>>,
        size: u64,
    }

    #[async_trait]
    impl Transport for HoldAnswers {
        async fn send(&self, request: Request) -> std::result::Result<Response, TransportError> {
            let offset = match request.method {
                Method::POST if !request.body.is_empty() => Some(0),
                Method::PATCH => request
                    .headers
                    .get(names::UPLOAD_OFFSET)
                    .and_then(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok())),
                _ => None,
            };
            let response = self.inner.send(request).await?;
            if let Some(offset) = offset {
                let want = (offset + 2 * CHUNK).min(self.size);
                let digested = Arc::clone(self.digested.get().expect("the source is open"));
                let what = format!("the chunk after {offset} digested while it is in flight");
                wait_until(&what, Duration::from_secs(10), || {
                    let digested = Arc::clone(&digested);
                    async move { digested.load(Ordering::Relaxed) >= want }
                })
                .await;
            }
            Ok(response)
        }
    }

    /// A file of almost three chunks (its bytes, its directory, its path).
    fn three_chunk_file() -> (Vec<u8>, tempfile::TempDir, std::path::PathBuf) {
        let bytes: Vec<u8> = (0..3 * CHUNK - 11).map(|i| (i % 253) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.bin");
        std::fs::write(&path, &bytes).unwrap();
        (bytes, dir, path)
    }

    /// Every chunk after the first carries the digest the look-ahead made while the chunk before
    /// it was sent (a creation POST's first chunk too), and the server (which verifies each
    /// checksum) stores exactly the file.
    #[tokio::test]
    async fn each_next_chunk_is_digested_while_the_one_before_is_sent() {
        let server = TusMockServer::start().await;
        let (bytes, _dir, path) = three_chunk_file();
        let digested = Arc::new(OnceLock::new());
        let transport = HoldAnswers {
            inner: ReqwestTransport::new(TransportOptions::default()).unwrap(),
            digested: Arc::clone(&digested),
            size: bytes.len() as u64,
        };
        let client = Client::builder()
            .endpoint(server.endpoint())
            .build_with_transport(transport)
            .unwrap();
        let options = Options {
            chunk_size: crate::ChunkSize::Fixed(CHUNK),
            checksum: ChecksumMode::Always(ChecksumAlgorithm::Sha256),
            ..Options::default()
        };
        let mut upload = SingleUpload::new(client, options, SourceSpec::Path(path), None);
        upload.open_source().await.unwrap();
        let source = upload.source_mut().unwrap();
        let _ = digested.set(source.digested().unwrap());
        let summary = upload.run(Limit::End, &NoRecords).await.unwrap();

        assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
        // Verified by the server: a wrong digest would have been answered 460 and resent.
        assert_eq!(server.request_count("PATCH"), 2);
        let stats = upload.source_mut().unwrap().look_ahead_stats().unwrap();
        assert_eq!((stats.in_place, stats.started, stats.used), (1, 2, 2));
        assert_eq!(stats.discarded, 0);
    }

    /// With the look-ahead off (benchmarks only), every chunk is digested when it is planned
    /// and none ahead; the server (which verifies each checksum) still stores exactly the file.
    #[tokio::test]
    async fn without_the_look_ahead_each_chunk_is_digested_when_planned() {
        let server = TusMockServer::start().await;
        let (bytes, _dir, path) = three_chunk_file();
        let client = Client::new(server.endpoint()).unwrap();
        let options = Options {
            chunk_size: crate::ChunkSize::Fixed(CHUNK),
            checksum: ChecksumMode::Always(ChecksumAlgorithm::Sha256),
            digest_timing: DigestTiming::WhenPlanned,
            ..Options::default()
        };
        let mut upload = SingleUpload::new(client, options, SourceSpec::Path(path), None);
        let summary = upload.run(Limit::End, &NoRecords).await.unwrap();

        assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
        assert_eq!(server.request_count("PATCH"), 2);
        let stats = upload.source_mut().unwrap().look_ahead_stats().unwrap();
        assert_eq!((stats.in_place, stats.started, stats.used), (3, 0, 0));
    }
}
