use http::HeaderMap;

use super::headers::{parse_max_size, HeaderError};
use super::names;
use super::ChecksumAlgorithm;

/// A tus 1.0 protocol extension a server may advertise in `Tus-Extension`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Extension {
    /// `creation`: POST creates uploads.
    Creation,
    /// `creation-with-upload`: the POST may carry the first bytes.
    CreationWithUpload,
    /// `creation-defer-length`: the length may be given later.
    CreationDeferLength,
    /// `checksum`: `Upload-Checksum` on PATCH.
    Checksum,
    /// `checksum-trailer`: `Upload-Checksum` as an HTTP trailer.
    ChecksumTrailer,
    /// `termination`: DELETE removes an upload.
    Termination,
    /// `expiration`: `Upload-Expires`.
    Expiration,
    /// `concatenation`: partial and final uploads.
    Concatenation,
}

impl Extension {
    /// Every extension, in spec order.
    pub const ALL: [Extension; 8] = [
        Self::Creation,
        Self::CreationWithUpload,
        Self::CreationDeferLength,
        Self::Checksum,
        Self::ChecksumTrailer,
        Self::Termination,
        Self::Expiration,
        Self::Concatenation,
    ];

    /// The name in `Tus-Extension`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Creation => "creation",
            Self::CreationWithUpload => "creation-with-upload",
            Self::CreationDeferLength => "creation-defer-length",
            Self::Checksum => "checksum",
            Self::ChecksumTrailer => "checksum-trailer",
            Self::Termination => "termination",
            Self::Expiration => "expiration",
            Self::Concatenation => "concatenation",
        }
    }

    /// The extension with this name, if known.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// What a server said about itself in its OPTIONS answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerCapabilities {
    /// `Tus-Version`, in the server's order of preference.
    pub versions: Vec<String>,
    /// `Tus-Extension`, the known ones.
    pub extensions: Vec<Extension>,
    /// `Tus-Max-Size`, if sent.
    pub max_size: Option<u64>,
    /// `Tus-Checksum-Algorithm`, the ones tusky can compute, in the server's order.
    pub checksum_algorithms: Vec<ChecksumAlgorithm>,
}

fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ServerCapabilities {
    /// Reads the capabilities from an OPTIONS response's headers. Unknown extensions and
    /// algorithms are ignored; a malformed `Tus-Max-Size` is an error.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let max_size = match headers.get(names::TUS_MAX_SIZE) {
            Some(value) => Some(parse_max_size(value.as_bytes())?),
            None => None,
        };
        Ok(Self {
            versions: list(headers, names::TUS_VERSION),
            extensions: list(headers, names::TUS_EXTENSION)
                .iter()
                .filter_map(|e| Extension::from_name(e))
                .collect(),
            max_size,
            checksum_algorithms: list(headers, names::TUS_CHECKSUM_ALGORITHM)
                .iter()
                .filter_map(|a| ChecksumAlgorithm::from_name(a))
                .collect(),
        })
    }

    /// Whether the server advertised `extension`.
    pub fn supports(&self, extension: Extension) -> bool {
        self.extensions.contains(&extension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_options_answer() {
        let mut h = HeaderMap::new();
        h.insert("tus-version", "1.0.0,0.2.2".parse().unwrap());
        h.insert(
            "tus-extension",
            "creation, termination,unknown-x".parse().unwrap(),
        );
        h.insert("tus-max-size", "1073741824".parse().unwrap());
        h.insert("tus-checksum-algorithm", "sha1,md5,blake3".parse().unwrap());
        let caps = ServerCapabilities::from_headers(&h).unwrap();
        assert_eq!(caps.versions, ["1.0.0", "0.2.2"]);
        assert_eq!(
            caps.extensions,
            [Extension::Creation, Extension::Termination]
        );
        assert_eq!(caps.max_size, Some(1 << 30));
        assert_eq!(
            caps.checksum_algorithms,
            [ChecksumAlgorithm::Sha1, ChecksumAlgorithm::Md5]
        );
        assert!(caps.supports(Extension::Termination));
        assert!(!caps.supports(Extension::Concatenation));
    }

    #[test]
    fn bad_max_size_is_an_error() {
        let mut h = HeaderMap::new();
        h.insert("tus-max-size", "lots".parse().unwrap());
        assert!(ServerCapabilities::from_headers(&h).is_err());
    }
}
