//! Test bytes: deterministic noise without a short period, so that a byte stored at the wrong
//! offset, a repeated or a dropped block shows in a comparison; and files holding it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An endless stream of pseudo-random bytes from a seed (splitmix64, eight bytes a step).
pub struct Noise {
    state: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fills `buf` with the next bytes. Filling in pieces that are multiples of 8 gives the
    /// same bytes as filling all at once.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for piece in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            piece.copy_from_slice(&word[..piece.len()]);
        }
    }
}

/// `len` bytes of noise from `seed`.
pub fn noise(len: u64, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len as usize];
    Noise::new(seed).fill(&mut bytes);
    bytes
}

/// `len` bytes of noise, seeded by the length (tests that need one source each).
pub fn data(len: usize) -> Vec<u8> {
    noise(len as u64, 0x1234_5678_9abc_def0 ^ len as u64)
}

/// A temporary file holding `bytes`; the directory goes away with the guard.
pub fn temp_file(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.bin");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// `len` test bytes ([`data`]) and a temporary file holding them ([`temp_file`]).
pub fn data_file(len: usize) -> (Vec<u8>, tempfile::TempDir, PathBuf) {
    let bytes = data(len);
    let (dir, path) = temp_file(&bytes);
    (bytes, dir, path)
}

/// Writes `len` bytes of noise from `seed` to `dir/name` in 1 MiB blocks (never holding the
/// whole file); returns the path.
pub fn noise_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(&path).expect("create a source file"));
    let mut noise = Noise::new(seed);
    let mut block = vec![0u8; 1024 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        noise.fill(&mut block[..n]);
        file.write_all(&block[..n]).expect("write a source file");
        left -= n as u64;
    }
    file.flush().expect("flush a source file");
    path
}
