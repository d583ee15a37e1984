//! Requests about an existing upload, by URL: its status (HEAD) and termination (DELETE).

use std::time::SystemTime;

use http::HeaderMap;
use url::Url;

use crate::client::{parse_url, Client};
use crate::error::{Context, Operation};
use crate::protocol::ConcatRole;
use crate::transport::Transport;
use crate::Result;

/// What the server says about an upload (its HEAD answer).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStatus {
    /// The upload URL.
    pub url: Url,
    /// Bytes the server holds.
    pub offset: u64,
    /// The total length, when the server knows it.
    pub length: Option<u64>,
    /// The metadata the server echoed, decoded (empty when absent or malformed).
    pub metadata: Vec<(String, Vec<u8>)>,
    /// When the upload expires, if the server said.
    pub expires: Option<SystemTime>,
    /// How it takes part in concatenation, when the server said (`Upload-Concat`).
    pub concatenation: Option<Concatenation>,
}

/// How an upload takes part in concatenation (parallel uploads), as its server says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concatenation {
    /// A partial upload, to be joined into a final one.
    Partial,
    /// A final upload, joining partial ones. `finished: false` while the server is still
    /// putting their bytes together: it answers `HEAD` without `Upload-Offset` then, as tus
    /// allows (the repository's `StreamingTusServer` copies the partials after answering the
    /// final POST), and [`UploadStatus::offset`] is 0 meanwhile.
    Final {
        /// Whether the server has finished joining the partial uploads.
        finished: bool,
    },
}

impl Concatenation {
    /// The role an `Upload-Concat` header names, for an answer that carried `Upload-Offset`.
    pub(crate) fn finished(role: ConcatRole) -> Self {
        match role {
            ConcatRole::Partial => Concatenation::Partial,
            ConcatRole::Final => Concatenation::Final { finished: true },
        }
    }
}

impl UploadStatus {
    /// Whether every byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.length == Some(self.offset)
    }
}

impl<T: Transport> Client<T> {
    /// Asks the server about the upload at `url` (HEAD). A 404/410/403 is an [`Error::Status`](crate::Error::Status).
    pub async fn upload_status(&self, url: &str) -> Result<UploadStatus> {
        self.upload_status_with(url, HeaderMap::new()).await
    }

    /// [`upload_status`](Client::upload_status) with extra headers (an uploader's own).
    pub(crate) async fn upload_status_with(
        &self,
        url: &str,
        extra: HeaderMap,
    ) -> Result<UploadStatus> {
        let (url, extra) = with_credentials(parse_url("the upload URL", url)?, extra);
        let context = Context::new(Operation::Head, Some(&url), None);
        let answer = crate::uploader::head(self, &context, &url, extra, None).await?;
        Ok(UploadStatus {
            url,
            offset: answer.offset,
            length: answer.length,
            metadata: answer.metadata,
            expires: answer.expires,
            concatenation: answer.concatenation,
        })
    }

    /// Terminates the upload at `url` (DELETE, the termination extension).
    pub async fn terminate(&self, url: &str) -> Result<()> {
        let (url, headers) = with_credentials(parse_url("the upload URL", url)?, HeaderMap::new());
        let context = Context::new(Operation::Terminate, Some(&url), None);
        crate::uploader::delete(self, &context, &url, headers).await
    }
}

/// `url` without credentials, and `headers` with them as `Authorization` (unless set).
fn with_credentials(url: url::Url, mut headers: HeaderMap) -> (url::Url, HeaderMap) {
    let (bare, auth) = crate::origin::split_credentials(&url);
    if let Some(auth) = auth {
        headers.entry(http::header::AUTHORIZATION).or_insert(auth);
    }
    (bare, headers)
}
