//! Idempotent creation (opt-in, `UploaderBuilder::idempotent_creation`): every creation POST
//! and the final concatenation POST carry an `Idempotency-Key`, the same for every repeat of
//! one creation, so that a server that honours it answers a repeat with the upload the first
//! request made instead of making a second one. Then a POST whose answer was lost may be sent
//! again ([`Repeat::final_post`](super::classify::Repeat::final_post) decides).
//!
//! A creation POST keeps its key until it is answered with a new upload; a creation that
//! starts over (the upload was gone), or is made again in another shape (without its body
//! after a 413), gets a new key. The final POST's key is stored in the record before the POST
//! is sent, so a later run, after a crash or a lost answer, repeats it with the same key.

use http::HeaderValue;

/// The request header.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// One creation's key: 128 random bits, as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key.
    pub(crate) fn new() -> Self {
        Self(format!("{:032x}", rand::random::<u128>()))
    }

    /// A key read from a record: 1 to 255 visible ASCII characters (what this or another
    /// version could have made); anything else in a store is ignored, and a new key made.
    pub(crate) fn parse(stored: &str) -> Option<Self> {
        let valid =
            (1..=255).contains(&stored.len()) && stored.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(stored.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The header's value: the key as a structured-field string (`"…"`), the form the IETF
    /// `Idempotency-Key` draft gives it, which a server that parses it as such requires.
    pub(crate) fn header_value(&self) -> HeaderValue {
        let escaped = self.0.replace('\\', "\\\\").replace('"', "\\\"");
        super::requests::header_value(format!("\"{escaped}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::IdempotencyKey;

    #[test]
    fn keys_are_128_random_bits_in_hex_and_parse_back() {
        let (a, b) = (IdempotencyKey::new(), IdempotencyKey::new());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(IdempotencyKey::parse(a.as_str()), Some(a.clone()));
        let quoted = format!("\"{}\"", a.as_str());
        assert_eq!(a.header_value().to_str().ok(), Some(quoted.as_str()));
    }

    /// A key from a record made elsewhere may hold what a structured-field string escapes.
    #[test]
    fn the_header_is_a_structured_field_string() {
        let key = IdempotencyKey::parse(r#"a"b\c"#).unwrap();
        assert_eq!(key.header_value().to_str().ok(), Some(r#""a\"b\\c""#));
    }

    #[test]
    fn anything_else_in_a_record_is_not_a_key() {
        let long = "a".repeat(256);
        for stored in ["", "a b", "ab\ncd", "ab\u{7f}", "ключ", long.as_str()] {
            assert_eq!(IdempotencyKey::parse(stored), None, "{stored:?}");
        }
        let uuid = "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";
        assert!(IdempotencyKey::parse(uuid).is_some());
    }
}
