use md5::{Digest, Md5};

use crate::hex::push_lower_hex;
use crate::{Fingerprint, DEFAULT_HEAD_LEN};

/// tuspy's fingerprint: the size and the MD5 of the first 64 KiB, byte for byte the same key.
///
/// The key is `size:{size}--md5:{lowercase hex MD5 of the first 65536 bytes}`, exactly as
/// tuspy 1.1.0 computes it, so a URL store written by tuspy finds tusky's uploads and the
/// other way round. Only the first [`DEFAULT_HEAD_LEN`] bytes of `head` are hashed, even when
/// more are passed.
///
/// ```
/// use tusky_fingerprint::{Fingerprint, Md5Fingerprint};
///
/// let key = Md5Fingerprint.fingerprint(b"hello world", 11);
/// assert_eq!(key, "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3");
/// assert_eq!(Md5Fingerprint.head_len(), 65536);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Md5Fingerprint;

impl Fingerprint for Md5Fingerprint {
    fn head_len(&self) -> usize {
        DEFAULT_HEAD_LEN
    }

    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        let head = &head[..head.len().min(DEFAULT_HEAD_LEN)];
        let mut key = format!("size:{size}--md5:");
        push_lower_hex(&mut key, &Md5::digest(head));
        key
    }
}
