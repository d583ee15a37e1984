//! Golden keys: MD5 keys computed by tuspy 1.1.0 itself (listed in docs/tuspy-parity.md),
//! SHA-256 keys computed independently with `sha256sum` / Python's hashlib.

use tusky_fingerprint::{Fingerprint, HeadBytesFingerprint, DEFAULT_HEAD_LEN};

/// `len` bytes where byte `i` is `i % 251` (the pattern of the golden keys).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// What the uploader does: read at most `head_len` bytes, pass them with the full size.
fn key_as_uploader(fp: &dyn Fingerprint, source: &[u8]) -> String {
    let head = &source[..source.len().min(fp.head_len())];
    fp.fingerprint(head, source.len() as u64)
}

#[test]
fn default_head_len_is_64_kib() {
    assert_eq!(DEFAULT_HEAD_LEN, 65536);
}

#[test]
fn head_bytes_fallback_key() {
    let fp = HeadBytesFingerprint;
    assert_eq!(fp.head_len(), 32);
    assert_eq!(
        key_as_uploader(&fp, b"hello world"),
        "size:11--head:68656c6c6f20776f726c64"
    );
    assert_eq!(fp.fingerprint(b"", 0), "size:0--head:");
    // Only the first 32 bytes count, even when more are given.
    let long = pattern(100);
    assert_eq!(fp.fingerprint(&long, 100), fp.fingerprint(&long[..32], 100));
    assert_eq!(
        fp.fingerprint(&long, 100).len(),
        "size:100--head:".len() + 64
    );
}

#[cfg(feature = "md5")]
mod md5 {
    use super::*;
    use tusky_fingerprint::Md5Fingerprint;

    /// The golden keys of docs/tuspy-parity.md for the `i % 251` pattern (the other two, of
    /// `hello world` and of the empty file, have tests of their own below).
    const GOLDEN: &[(usize, &str)] = &[
        (65536, "size:65536--md5:9cc60713923528a1dd94e1c1ab0ebc9e"),
        (100000, "size:100000--md5:9cc60713923528a1dd94e1c1ab0ebc9e"),
    ];

    #[test]
    fn hello_world_matches_tuspy() {
        assert_eq!(
            key_as_uploader(&Md5Fingerprint, b"hello world"),
            "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
    }

    #[test]
    fn empty_file_matches_tuspy() {
        assert_eq!(
            key_as_uploader(&Md5Fingerprint, b""),
            "size:0--md5:d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn pattern_files_match_tuspy() {
        for &(len, want) in GOLDEN {
            let source = pattern(len);
            assert_eq!(
                key_as_uploader(&Md5Fingerprint, &source),
                want,
                "{len} bytes"
            );
            // Given the whole source, the implementation still hashes only the first 64 KiB.
            assert_eq!(
                Md5Fingerprint.fingerprint(&source, len as u64),
                want,
                "{len} bytes passed whole"
            );
        }
    }

    #[test]
    fn bytes_beyond_64_kib_do_not_change_the_key() {
        let mut a = pattern(DEFAULT_HEAD_LEN + 1000);
        let mut b = a.clone();
        for byte in &mut b[DEFAULT_HEAD_LEN..] {
            *byte = !*byte;
        }
        let size = a.len() as u64;
        assert_eq!(
            Md5Fingerprint.fingerprint(&a, size),
            Md5Fingerprint.fingerprint(&b, size)
        );
        // ...but a byte inside the first 64 KiB does.
        a[DEFAULT_HEAD_LEN - 1] ^= 1;
        assert_ne!(
            Md5Fingerprint.fingerprint(&a, size),
            Md5Fingerprint.fingerprint(&b, size)
        );
    }

    #[test]
    fn size_is_part_of_the_key() {
        let head = pattern(DEFAULT_HEAD_LEN);
        assert_ne!(
            Md5Fingerprint.fingerprint(&head, 65536),
            Md5Fingerprint.fingerprint(&head, 65537)
        );
        assert_eq!(
            Md5Fingerprint.fingerprint(&head, 123_456_789),
            "size:123456789--md5:9cc60713923528a1dd94e1c1ab0ebc9e"
        );
    }

    #[test]
    fn head_len_and_forwarding_impls() {
        assert_eq!(Md5Fingerprint.head_len(), 65536);
        let boxed: Box<dyn Fingerprint> = Box::new(Md5Fingerprint);
        let shared = std::sync::Arc::new(Md5Fingerprint);
        assert_eq!(boxed.head_len(), 65536);
        assert_eq!(
            boxed.fingerprint(b"hello world", 11),
            shared.fingerprint(b"hello world", 11)
        );
    }
}

#[cfg(feature = "sha256")]
mod sha256 {
    use super::*;
    use tusky_fingerprint::Sha256Fingerprint;

    #[test]
    fn hello_world() {
        // printf 'hello world' | sha256sum
        assert_eq!(
            key_as_uploader(&Sha256Fingerprint, b"hello world"),
            "size:11--sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    #[test]
    fn empty_file() {
        // printf '' | sha256sum
        assert_eq!(
            key_as_uploader(&Sha256Fingerprint, b""),
            "size:0--sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn pattern_files_hash_only_the_first_64_kib() {
        // hashlib.sha256(bytes(i % 251 for i in range(65536))).hexdigest()
        let digest = "4b640d85ab3ba30fd02c9fc9db4a8928f416322ad27022ea58a65aaee68a4df2";
        for len in [65536, 65537, 100000] {
            let source = pattern(len);
            let want = format!("size:{len}--sha256:{digest}");
            assert_eq!(key_as_uploader(&Sha256Fingerprint, &source), want);
            assert_eq!(Sha256Fingerprint.fingerprint(&source, len as u64), want);
        }
    }

    #[test]
    fn head_len_is_64_kib() {
        assert_eq!(Sha256Fingerprint.head_len(), 65536);
    }
}

/// `fingerprint_file` reads a file the way the uploader does: golden keys from files on disk.
#[cfg(feature = "md5")]
#[test]
fn fingerprint_file_gives_the_golden_md5_keys() {
    use tusky_fingerprint::Md5Fingerprint;
    let dir = std::env::temp_dir().join(format!("tusky-fp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (bytes, key) in [
        (
            b"hello world".to_vec(),
            "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3",
        ),
        (Vec::new(), "size:0--md5:d41d8cd98f00b204e9800998ecf8427e"),
        (
            pattern(100_000),
            "size:100000--md5:9cc60713923528a1dd94e1c1ab0ebc9e",
        ),
    ] {
        let path = dir.join(format!("f{}", bytes.len()));
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Md5Fingerprint.fingerprint_file(&path).unwrap(), key);
    }
    assert!(Md5Fingerprint
        .fingerprint_file(&dir.join("missing"))
        .is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
