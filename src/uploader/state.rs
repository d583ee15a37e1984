//! The state of one upload, made explicit: either there is no remote upload yet, or there is
//! one with its URL, where the URL came from, the offset (synced with the server or stale),
//! whether the server knows the length, and when it expires. Starting over is one call.

use std::time::SystemTime;

use url::Url;

/// Where the upload URL came from; decides whether a gone upload may be recreated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlOrigin {
    /// Given to the builder.
    Explicit,
    /// Found in the storage.
    Stored,
    /// Created by this uploader.
    Created,
}

/// The offset of a remote upload as far as this uploader knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offset {
    /// Just read from the server (a HEAD, or the answer to the last request).
    Synced(u64),
    /// The last known offset; the server may be elsewhere (a request failed or was dropped
    /// mid-flight, or the URL was just found): read it with HEAD before sending.
    Stale(u64),
}

impl Offset {
    pub(crate) fn value(self) -> u64 {
        match self {
            Self::Synced(offset) | Self::Stale(offset) => offset,
        }
    }
}

/// An upload that exists on the server (or did, the last time we looked).
#[derive(Debug, Clone)]
pub(crate) struct RemoteUpload {
    pub url: Url,
    pub origin: UrlOrigin,
    pub offset: Offset,
    /// Whether the server knows the upload's length (not after `Upload-Defer-Length` until a
    /// PATCH declares it).
    pub length_declared: bool,
    pub expires: Option<SystemTime>,
    /// The offset the first HEAD of an upload this uploader did not create found.
    pub resumed_from: Option<u64>,
    /// Whether `Started` was reported for this URL.
    pub started_reported: bool,
}

impl RemoteUpload {
    /// An upload at `url` whose offset has to be read first.
    pub(crate) fn found(url: Url, origin: UrlOrigin, expires: Option<SystemTime>) -> Self {
        Self {
            url,
            origin,
            offset: Offset::Stale(0),
            length_declared: false,
            expires,
            resumed_from: None,
            started_reported: false,
        }
    }
}

/// One upload's state.
#[derive(Debug, Clone, Default)]
pub(crate) enum UploadState {
    /// Nothing on the server yet: the next step creates the upload.
    #[default]
    New,
    /// An upload exists on the server.
    Remote(RemoteUpload),
}

impl UploadState {
    pub(crate) fn remote(&self) -> Option<&RemoteUpload> {
        match self {
            Self::New => None,
            Self::Remote(remote) => Some(remote),
        }
    }

    pub(crate) fn remote_mut(&mut self) -> Option<&mut RemoteUpload> {
        match self {
            Self::New => None,
            Self::Remote(remote) => Some(remote),
        }
    }

    pub(crate) fn url(&self) -> Option<&Url> {
        self.remote().map(|r| &r.url)
    }

    /// The last known offset (0 before anything exists).
    pub(crate) fn offset(&self) -> u64 {
        self.remote().map_or(0, |r| r.offset.value())
    }

    /// The offset if it is known to match the server's.
    pub(crate) fn synced_offset(&self) -> Option<u64> {
        match self.remote()?.offset {
            Offset::Synced(offset) => Some(offset),
            Offset::Stale(_) => None,
        }
    }

    /// The server's offset may have moved: read it before the next PATCH.
    pub(crate) fn mark_stale(&mut self) {
        if let Some(remote) = self.remote_mut() {
            remote.offset = Offset::Stale(remote.offset.value());
        }
    }

    /// The only way to start over: forget the remote upload entirely.
    pub(crate) fn start_over(&mut self) {
        *self = Self::New;
    }
}
