//! Requests about an existing upload, by URL: its status (HEAD) and termination (DELETE).

use std::time::SystemTime;

use http::{HeaderMap, Method, StatusCode};
use url::Url;

use crate::client::{parse_url, Client};
use crate::error::{Context, Operation};
use crate::protocol::{self, names};
use crate::transport::{Body, Transport};
use crate::{Error, Result};

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
}

impl UploadStatus {
    /// Whether every byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.length == Some(self.offset)
    }
}

impl<T: Transport> Client<T> {
    /// Asks the server about the upload at `url` (HEAD). A 404/410/403 is an [`Error::Status`].
    pub async fn upload_status(&self, url: &str) -> Result<UploadStatus> {
        self.upload_status_with(url, HeaderMap::new()).await
    }

    /// [`upload_status`](Client::upload_status) with extra headers (an uploader's own).
    pub(crate) async fn upload_status_with(
        &self,
        url: &str,
        extra: HeaderMap,
    ) -> Result<UploadStatus> {
        let url = parse_url("the upload URL", url)?;
        let context = Context::new(Operation::Head, Some(&url), None);
        let response = self
            .send(&context, Method::HEAD, &url, extra, Body::Empty)
            .await?;
        if !matches!(response.status, StatusCode::OK | StatusCode::NO_CONTENT) {
            return Err(Error::Status {
                context,
                status: response.status,
                body: response.body_text(),
            });
        }
        let offset = protocol::parse_upload_offset(response.header(names::UPLOAD_OFFSET))
            .map_err(|e| Error::header(context.clone(), e))?;
        let length = response
            .header(names::UPLOAD_LENGTH)
            .map(|v| protocol::parse_upload_length(Some(v)))
            .transpose()
            .map_err(|e| Error::header(context.clone(), e))?;
        let metadata = response
            .header(names::UPLOAD_METADATA)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| protocol::decode_metadata(v).ok())
            .unwrap_or_default();
        let expires = response
            .header(names::UPLOAD_EXPIRES)
            .and_then(|v| protocol::parse_expires(v).ok());
        Ok(UploadStatus {
            url,
            offset,
            length,
            metadata,
            expires,
        })
    }

    /// Terminates the upload at `url` (DELETE, the termination extension).
    pub async fn terminate(&self, url: &str) -> Result<()> {
        let url = parse_url("the upload URL", url)?;
        let context = Context::new(Operation::Terminate, Some(&url), None);
        let response = self
            .send(
                &context,
                Method::DELETE,
                &url,
                HeaderMap::new(),
                Body::Empty,
            )
            .await?;
        if !response.status.is_success() {
            return Err(Error::Status {
                context,
                status: response.status,
                body: response.body_text(),
            });
        }
        Ok(())
    }
}
