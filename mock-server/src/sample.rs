//! Bytes to upload in tests and examples.

/// `len` deterministic bytes that do not repeat in short cycles (xorshift), one sequence per
/// `seed`, the same on every run: a stand-in for a real file, in which a block stored at the
/// wrong offset, repeated or dropped shows in a comparison.
pub fn sample_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    if state == 0 {
        // xorshift stays at zero forever
        state = 1;
    }
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
