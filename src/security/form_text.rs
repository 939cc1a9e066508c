//! Form bodies must be UTF-8 text. The urlencoded parser behind `web::Form` replaces bytes that
//! are not UTF-8 with U+FFFD without a word, so a mangled value would be stored as if it had
//! been typed; the CSRF guard, which reads every HTML POST body anyway, refuses such a form
//! first and names the field.

/// The name of the first field whose name or value is not UTF-8 once percent-decoded.
pub fn invalid_utf8_field(body: &[u8]) -> Option<String> {
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = decode(name);
        let value_ok = std::str::from_utf8(&decode(value)).is_ok();
        match String::from_utf8(name) {
            Ok(_) if value_ok => continue,
            Ok(name) => return Some(name),
            Err(e) => return Some(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        }
    }
    None
}

/// What the person is told: the field, and that nothing was saved.
pub fn message(field: &str) -> String {
    format!(
        "The form field “{field}” could not be read: it is not valid UTF-8 text. Nothing was saved. \
         Go back, retype the value and send the form again."
    )
}

/// `application/x-www-form-urlencoded` decoding to bytes: `+` is a space, `%XX` a byte.
fn decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = input.get(i + 1).copied().and_then(hex);
                let low = input.get(i + 2).copied().and_then(hex);
                match (high, low) {
                    (Some(high), Some(low)) => {
                        out.push(high * 16 + low);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::invalid_utf8_field;

    #[test]
    fn names_the_field_whose_value_is_not_utf8() {
        assert_eq!(
            invalid_utf8_field(b"name=ok&description=a%FFb"),
            Some("description".into())
        );
        assert_eq!(invalid_utf8_field(b"name=%C3%28"), Some("name".into()));
        assert_eq!(invalid_utf8_field(b"name=caf\xe9"), Some("name".into()));
        assert!(
            invalid_utf8_field(b"n%FF=x").is_some(),
            "a broken field name"
        );
    }

    #[test]
    fn accepts_utf8_and_stray_percent_signs() {
        assert_eq!(
            invalid_utf8_field("name=caf%C3%A9+%E2%80%AE&x=100%&y=%".as_bytes()),
            None
        );
        assert_eq!(invalid_utf8_field("name=café".as_bytes()), None);
        assert_eq!(invalid_utf8_field(b""), None);
        assert_eq!(invalid_utf8_field(b"a=%2&b=%zz"), None);
    }
}
