//! Text folding: case- and diacritic-insensitive forms of Norwegian and English text.
//!
//! `fødselsregister`, `Fodselsregister` and `FØDSELSREGISTER` all fold to `fodselsregister`.
//! Letters that Unicode does not decompose (`ø`, `æ`, `ß`…) are mapped by hand so that a
//! reader typing on an English keyboard still finds Norwegian names. [`escape_control`]
//! makes text safe to log.

use unicode_normalization::UnicodeNormalization;

/// Folds a text to lowercase ASCII-like form: diacritics removed, `ø`→`o`, `æ`→`ae`, `å`→`a`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            'ø' | 'Ø' => out.push('o'),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            'đ' | 'Đ' => out.push('d'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Splits folded text into search words: runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// `text` with every control character (newlines, tabs, terminal escapes) written as an
/// escape (`\n`, `\t`, `\u{1b}`), so that a logged value can neither start a new line nor
/// drive the reader's terminal.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_other_text_kept() {
        assert_eq!(escape_control("fødsel"), "fødsel");
        assert_eq!(
            escape_control("a\nINFO forged\u{1b}[2J\t"),
            "a\\nINFO forged\\u{1b}[2J\\t"
        );
    }

    #[test]
    fn folds_norwegian_letters_and_case() {
        assert_eq!(fold("Fødselsregister"), "fodselsregister");
        assert_eq!(fold("Dødsårsaksregisteret"), "dodsarsaksregisteret");
        assert_eq!(fold("LÆRE"), "laere");
        assert_eq!(fold("Korsbånd"), "korsband");
    }
}
