//! Text that a server or a file name controls, made safe to print on a terminal.
//!
//! An error body, upload metadata, a `Location`, a file name: any of them can carry escape
//! sequences (`ESC [2J` clears the screen, `ESC ]0;…BEL` sets the window title, a carriage
//! return overwrites the line) or bidirectional overrides that make text read differently from
//! what it is. Everything the CLI prints goes through [`escape`] at its print site, so no such
//! character reaches the terminal raw.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) and every bidirectional formatting
/// character written as a visible Rust-style escape such as `\u{1b}`; everything else, other
/// Unicode included, is kept as it is. Borrows when there is nothing to escape.
///
/// ```text
/// "\x1b[2Jgone"  →  "\u{1b}[2Jgone"
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Whether `c` changes how a terminal shows what follows, rather than showing itself.
fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// The Unicode bidirectional formatting characters (marks, embeddings, overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_become_visible_escapes() {
        assert_eq!(escape("\x1b[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(escape("\x1b]0;owned\x07"), "\\u{1b}]0;owned\\u{7}");
        assert_eq!(escape("ok\rfake"), "ok\\u{d}fake");
        assert_eq!(escape("a\nb\tc"), "a\\u{a}b\\u{9}c");
        assert_eq!(escape("\u{7f}\u{0}"), "\\u{7f}\\u{0}");
        // C1 controls: CSI (U+009B) is ESC [ on some terminals; NEL (U+0085) a newline.
        assert_eq!(escape("\u{9b}2J\u{85}"), "\\u{9b}2J\\u{85}");
        // Bidirectional overrides make a name read differently from what it is.
        assert_eq!(escape("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
    }

    #[test]
    fn ordinary_text_is_kept_and_borrowed() {
        for text in [
            "",
            "video.mp4",
            "résumé — 東京.pdf",
            "a\\u{1b} b",
            "100% done",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn the_result_has_no_control_characters() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape(&all).chars().any(needs_escape));
    }
}
