//! Lowercase hex encoding for the digest part of a key.

use std::fmt::Write;

/// Appends `bytes` to `out` as lowercase hex, two digits per byte.
pub(crate) fn push_lower_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
}
