//! Fingerprints for tusky: a stable key for a source, so that a later run finds the upload
//! URL stored for the same file.
//!
//! | fingerprint | feature | key |
//! |---|---|---|
//! | `Md5Fingerprint` | `md5` | `size:{size}--md5:{md5 of the first 64 KiB}` (tuspy's, byte for byte) |
//! | `Sha256Fingerprint` | `sha256` | `size:{size}--sha256:{sha256 of the first 64 KiB}` |
//! | [`HeadBytesFingerprint`] | always | `size:{size}--head:{hex of the first 32 bytes}` (weak; the fallback) |
#![warn(missing_docs)]

mod fingerprint;
mod head_bytes;
mod hex;
#[cfg(feature = "md5")]
mod md5;
#[cfg(feature = "sha256")]
mod sha256;

#[cfg(feature = "md5")]
pub use self::md5::Md5Fingerprint;
#[cfg(feature = "sha256")]
pub use self::sha256::Sha256Fingerprint;
pub use fingerprint::{Fingerprint, DEFAULT_HEAD_LEN};
pub use head_bytes::HeadBytesFingerprint;
