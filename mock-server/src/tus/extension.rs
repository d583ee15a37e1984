//! The tus 1.0 extensions the mock server can advertise and enforce.

use std::fmt;

/// A tus 1.0 protocol extension.
///
/// Enabled extensions are advertised in `Tus-Extension` on `OPTIONS` **and**
/// enforced: a disabled extension makes the server behave like a real server that
/// does not implement it (see [`TusMockServerBuilder::extensions`] for the exact
/// answers).
///
/// [`TusMockServerBuilder::extensions`]: crate::TusMockServerBuilder::extensions
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Extension {
    /// `creation`: `POST` on the endpoint creates an upload.
    Creation,
    /// `creation-with-upload`: the creating `POST` may carry the first bytes.
    CreationWithUpload,
    /// `creation-defer-length`: `Upload-Defer-Length: 1` on `POST`, the length
    /// comes later on a `PATCH`.
    CreationDeferLength,
    /// `checksum`: `Upload-Checksum` on `PATCH` is verified.
    Checksum,
    /// `termination`: `DELETE` on an upload URL terminates it.
    Termination,
    /// `expiration`: unfinished uploads expire (see
    /// [`TusMockServerBuilder::expires_after`](crate::TusMockServerBuilder::expires_after)).
    Expiration,
    /// `concatenation`: partial uploads and final uploads made of them.
    Concatenation,
}

impl Extension {
    /// Every extension, in the order they are advertised by default.
    pub const ALL: [Extension; 7] = [
        Extension::Creation,
        Extension::CreationWithUpload,
        Extension::CreationDeferLength,
        Extension::Checksum,
        Extension::Termination,
        Extension::Expiration,
        Extension::Concatenation,
    ];

    /// The name used in the `Tus-Extension` header, e.g. `"creation-with-upload"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Extension::Creation => "creation",
            Extension::CreationWithUpload => "creation-with-upload",
            Extension::CreationDeferLength => "creation-defer-length",
            Extension::Checksum => "checksum",
            Extension::Termination => "termination",
            Extension::Expiration => "expiration",
            Extension::Concatenation => "concatenation",
        }
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Extension;

    #[test]
    fn names_match_the_spec() {
        let names: Vec<_> = Extension::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names.join(","),
            "creation,creation-with-upload,creation-defer-length,checksum,termination,expiration,concatenation"
        );
        assert_eq!(Extension::Checksum.to_string(), "checksum");
    }
}
