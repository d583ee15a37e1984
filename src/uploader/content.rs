//! The opt-in content check (`verify_resumed_content`): a SHA-256 of the bytes the server has
//! acknowledged, kept in the record after every chunk, and compared with the file before an
//! upload is resumed. It trusts no metadata: a file whose first bytes changed — even with the
//! same size, time and inode — starts over. Its cost: every acknowledged byte is read from the
//! file a second time and hashed, and the record is written after every chunk.

use sha2::{Digest, Sha256};

use crate::source::Source;
use crate::storage::PrefixDigest;

/// The running digest of the bytes `[0, len)` of the source.
#[derive(Clone, Default)]
pub(crate) struct ContentCheck {
    len: u64,
    hasher: Sha256,
}

impl std::fmt::Debug for ContentCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentCheck")
            .field("len", &self.len)
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ContentCheck {
    /// Hashes the source's bytes from where the digest stands up to `to`.
    pub(crate) async fn advance(&mut self, source: &mut Source, to: u64) -> std::io::Result<()> {
        if to <= self.len {
            return Ok(());
        }
        let hasher = &mut self.hasher;
        source
            .for_each_piece(self.len, to - self.len, |piece| hasher.update(piece))
            .await?;
        self.len = to;
        Ok(())
    }

    /// The digest so far, as kept in a record.
    pub(crate) fn digest(&self) -> PrefixDigest {
        PrefixDigest::new(self.len, hex(&self.hasher.clone().finalize()))
    }

    /// Whether the source still starts with the bytes `recorded` describes; the check, advanced
    /// to them, when it does.
    pub(crate) async fn verify(
        source: &mut Source,
        recorded: &PrefixDigest,
    ) -> std::io::Result<Option<ContentCheck>> {
        let mut check = ContentCheck::default();
        check.advance(source, recorded.len).await?;
        Ok((check.digest().sha256 == recorded.sha256).then_some(check))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_digest_grows_with_the_prefix_and_verifies_it() {
        let bytes = b"hello, tus! hello again".to_vec();
        let open = |b: Vec<u8>| async move {
            Source::open(crate::source::SourceSpec::Reader(Box::new(
                std::io::Cursor::new(b),
            )))
            .await
            .unwrap()
        };
        let mut source = open(bytes.clone()).await;
        let mut check = ContentCheck::default();
        check.advance(&mut source, 5).await.unwrap();
        check.advance(&mut source, 11).await.unwrap();
        let digest = check.digest();
        assert_eq!(digest.len, 11);
        assert_eq!(digest.sha256, hex(&Sha256::digest(&bytes[..11])));
        assert!(ContentCheck::verify(&mut source, &digest)
            .await
            .unwrap()
            .is_some());
        let mut edited = bytes;
        edited[3] = b'X';
        let mut other = open(edited).await;
        assert!(ContentCheck::verify(&mut other, &digest)
            .await
            .unwrap()
            .is_none());
    }
}
