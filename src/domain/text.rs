//! Rules shared by every free-text field: trimmed, length-capped, and free of the invisible
//! characters that let one string pose as another (controls, bidirectional overrides, zero-width).

/// True for characters that make text render differently from what it stores.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
        | '\u{2066}'..='\u{2069}' // bidirectional isolates
        | '\u{FEFF}'              // zero-width no-break space
    )
}

fn check_chars(value: &str, label: &str, allow_newlines: bool) -> Result<(), String> {
    for c in value.chars() {
        if allow_newlines && matches!(c, '\n' | '\r' | '\t') {
            continue;
        }
        if c.is_control() {
            return Err(format!("{label} must not contain control characters."));
        }
        if is_deceptive(c) {
            return Err(format!(
                "{label} must not contain invisible or direction-changing characters."
            ));
        }
    }
    Ok(())
}

/// The value trimmed, or "{label} is required." when nothing is left.
pub fn required<'a>(value: &'a str, label: &str) -> Result<&'a str, String> {
    match value.trim() {
        "" => Err(format!("{label} is required.")),
        value => Ok(value),
    }
}

/// A name of ASCII letters, digits and the `punctuation` named beside each character, trimmed,
/// 1 to `max` characters (the names other forms and URLs refer to things by).
pub fn identifier(
    value: &str,
    label: &str,
    max: usize,
    punctuation: &[(char, &str)],
) -> Result<String, String> {
    let value = required(value, label)?;
    if value.chars().count() > max {
        return Err(format!("{label} must be at most {max} characters."));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || punctuation.iter().any(|(p, _)| *p == c))
    {
        let names: Vec<&str> = punctuation.iter().map(|(_, name)| *name).collect();
        let allowed = match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        return Err(format!(
            "{label} may contain only letters, digits, {allowed}."
        ));
    }
    Ok(value.to_string())
}

/// The punctuation most names allow: dots, hyphens and underscores.
pub const DOTS_HYPHENS_UNDERSCORES: &[(char, &str)] =
    &[('.', "dots"), ('-', "hyphens"), ('_', "underscores")];

/// A required one-line value: trimmed, 1..=max characters.
pub fn required_line(value: &str, label: &str, max: usize) -> Result<String, String> {
    optional_line(required(value, label)?, label, max)
}

/// An optional one-line value: trimmed, at most max characters (empty allowed).
pub fn optional_line(value: &str, label: &str, max: usize) -> Result<String, String> {
    capped(value, label, max, false)
}

/// An optional multi-line value (descriptions): newlines and tabs allowed.
pub fn optional_text(value: &str, label: &str, max: usize) -> Result<String, String> {
    capped(value, label, max, true)
}

/// The value trimmed, when at most `max` characters are left and none is refused.
fn capped(value: &str, label: &str, max: usize, allow_newlines: bool) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{label} must be at most {max} characters."));
    }
    check_chars(value, label, allow_newlines)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_invisible_and_control_characters() {
        assert!(required_line("a\u{202E}b", "Name", 10).is_err());
        assert!(required_line("a\u{200B}b", "Name", 10).is_err());
        assert!(required_line("a\0b", "Name", 10).is_err());
        assert!(optional_text("line one\nline two", "Description", 50).is_ok());
        assert_eq!(required_line("  Ada  ", "Name", 10).unwrap(), "Ada");
        assert!(
            required_line("   ", "Name", 10)
                .unwrap_err()
                .contains("required")
        );
        assert!(
            required_line(&"x".repeat(11), "Name", 10)
                .unwrap_err()
                .contains("at most 10")
        );
    }
}

/// A name that must not pose as another: trimmed, NFC-normalised, one line of 1 to `max`
/// characters; two names are the same when their `key()`s (lower-cased, NFC) are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedName {
    name: String,
    key: String,
}

impl FoldedName {
    pub fn parse(value: &str, label: &str, max: usize) -> Result<Self, String> {
        use unicode_normalization::UnicodeNormalization;
        let name: String = value.trim().nfc().collect();
        Ok(Self::of_valid(required_line(&name, label, max)?))
    }

    /// A name already checked (or made from checked parts).
    pub fn of_valid(name: String) -> Self {
        use unicode_normalization::UnicodeNormalization;
        let key = name.to_lowercase().nfc().collect();
        Self { name, key }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}
