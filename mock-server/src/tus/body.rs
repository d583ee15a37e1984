//! A request body on its way into an upload's bytes, the same for both stores: every piece
//! is counted and digested, and stored within the plan's limit. The mock feeds its buffered
//! body in one piece; the streaming server feeds one buffer at a time (two take turns).

use std::io;

use super::checksum::{ChecksumClaim, Digester};

/// What may be kept of a body, and what it must digest to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyPlan {
    /// At most this many bytes are taken; more makes the body too long (413, nothing kept).
    pub(crate) limit: u64,
    /// `Upload-Checksum`, verified against the whole body.
    pub(crate) checksum: Option<ChecksumClaim>,
}

/// Where an upload's bytes live: the mock's `Vec<u8>`, the streaming server's file.
pub(crate) trait UploadBytes {
    /// How many bytes are stored.
    fn stored(&self) -> u64;
    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Keeps only the first `len` bytes.
    fn truncate_to(&mut self, len: u64) -> io::Result<()>;
}

impl UploadBytes for Vec<u8> {
    fn stored(&self) -> u64 {
        self.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn truncate_to(&mut self, len: u64) -> io::Result<()> {
        self.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }
}

/// Why a body stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The connection broke or closed.
    Disconnected,
    /// No byte came for the server's idle timeout.
    TimedOut,
}

/// How a body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyEnd {
    /// Every byte arrived.
    Complete,
    /// More bytes came than the plan's limit.
    TooLong,
    /// The body stopped early.
    Interrupted(Interruption),
    /// The bytes could not be stored (the reason, for the log and the answer).
    StoreFailed(String),
}

/// What became of a body: the outcome the commit step decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes appended to the store.
    pub(crate) stored: u64,
    /// The digest of every byte received, when the plan has a checksum.
    pub(crate) digest: Option<Vec<u8>>,
    pub(crate) end: BodyEnd,
}

impl Received {
    /// A complete body of `stored` bytes with no checksum (a final upload's concatenation, a
    /// creation without a body).
    pub(crate) fn complete(stored: u64) -> Self {
        Received {
            stored,
            digest: None,
            end: BodyEnd::Complete,
        }
    }
}

/// Counts, digests and stores the pieces of one body.
#[derive(Debug)]
pub(crate) struct BodySink {
    limit: u64,
    /// Stores at most this many bytes (the mock's `PatchAction::AcceptPartial`).
    keep_at_most: u64,
    digester: Option<Digester>,
    received: u64,
    stored: u64,
    too_long: bool,
}

impl BodySink {
    pub(crate) fn new(plan: &BodyPlan, keep_at_most: Option<u64>) -> Self {
        BodySink {
            limit: plan.limit,
            keep_at_most: keep_at_most.unwrap_or(u64::MAX),
            digester: plan.checksum.as_ref().map(|c| Digester::new(c.algorithm)),
            received: 0,
            stored: 0,
            too_long: false,
        }
    }

    /// Takes the next piece of the body: digests it and appends what the limits allow. Once
    /// the body is over the plan's limit nothing more is taken ([`Self::is_too_long`]).
    pub(crate) fn feed(&mut self, store: &mut impl UploadBytes, piece: &[u8]) -> io::Result<()> {
        if self.too_long {
            return Ok(());
        }
        self.received = self.received.saturating_add(piece.len() as u64);
        if self.received > self.limit {
            self.too_long = true;
            return Ok(());
        }
        if let Some(d) = &mut self.digester {
            d.update(piece);
        }
        let room = self.keep_at_most.saturating_sub(self.stored);
        let take = usize::try_from(room).map_or(piece.len(), |room| room.min(piece.len()));
        if take > 0 {
            store.append(&piece[..take])?;
            self.stored += take as u64;
        }
        Ok(())
    }

    /// Whether more bytes came than the plan's limit.
    #[cfg(test)]
    pub(crate) fn is_too_long(&self) -> bool {
        self.too_long
    }

    /// The outcome, the body having ended with `end` (made [`BodyEnd::TooLong`] when it was).
    pub(crate) fn finish(self, end: BodyEnd) -> Received {
        Received {
            stored: self.stored,
            digest: self.digester.map(Digester::finish),
            end: if self.too_long { BodyEnd::TooLong } else { end },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tus::checksum::Algorithm;

    fn plan(limit: u64) -> BodyPlan {
        BodyPlan {
            limit,
            checksum: Some(ChecksumClaim {
                algorithm: Algorithm::Crc32,
                expected: vec![],
            }),
        }
    }

    #[test]
    fn keeps_a_prefix_but_digests_everything() {
        let mut store = b"ab".to_vec();
        let mut sink = BodySink::new(&plan(10), Some(3));
        sink.feed(&mut store, b"cd").unwrap();
        sink.feed(&mut store, b"efg").unwrap();
        let got = sink.finish(BodyEnd::Complete);
        assert_eq!(store, b"abcde");
        assert_eq!(got.stored, 3);
        assert_eq!(
            got.digest,
            Some(crc32fast::hash(b"cdefg").to_be_bytes().to_vec())
        );
        assert_eq!(got.end, BodyEnd::Complete);
    }

    #[test]
    fn over_the_limit_is_too_long_and_stops_storing() {
        let mut store = Vec::new();
        let mut sink = BodySink::new(&plan(4), None);
        sink.feed(&mut store, b"abc").unwrap();
        assert!(!sink.is_too_long());
        sink.feed(&mut store, b"de").unwrap();
        assert!(sink.is_too_long());
        sink.feed(&mut store, b"f").unwrap();
        assert_eq!(store, b"abc");
        assert_eq!(sink.finish(BodyEnd::Complete).end, BodyEnd::TooLong);
    }

    proptest! {
        #[test]
        fn pieces_store_what_one_piece_would(body in proptest::collection::vec(any::<u8>(), 0..300), cuts in proptest::collection::vec(0usize..300, 0..6), limit in 0u64..400, keep in proptest::option::of(0u64..300)) {
            let mut whole_store = Vec::new();
            let mut whole = BodySink::new(&plan(limit), keep);
            whole.feed(&mut whole_store, &body).unwrap();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(body.len())).collect();
            cuts.sort_unstable();
            let mut pieces_store = Vec::new();
            let mut pieces = BodySink::new(&plan(limit), keep);
            let mut start = 0;
            for cut in cuts.into_iter().chain([body.len()]) {
                pieces.feed(&mut pieces_store, &body[start..cut]).unwrap();
                start = cut;
            }
            let (a, b) = (whole.finish(BodyEnd::Complete), pieces.finish(BodyEnd::Complete));
            prop_assert_eq!(a.end == BodyEnd::TooLong, body.len() as u64 > limit);
            if a.end == BodyEnd::Complete {
                prop_assert_eq!(&a, &b);
                prop_assert_eq!(&whole_store, &pieces_store);
                let kept = keep.map_or(body.len(), |k| (k as usize).min(body.len()));
                prop_assert_eq!(&whole_store[..], &body[..kept]);
            } else {
                prop_assert_eq!(b.end, BodyEnd::TooLong);
            }
        }
    }
}
