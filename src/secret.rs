//! A string that must never be shown: passwords, session ids, login keys.
//!
//! `Debug` and `Display` print `***`; the only way to the value is [`Secret::expose`],
//! which call sites use exactly where the value goes on the wire (a POST body).
//! [`Scrubber`] removes known secrets from text that came from elsewhere (a server message
//! may echo what it was sent).

use std::fmt;

/// A secret string whose `Debug`/`Display` redact.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Replaces every known secret in a text, raw and URL-encoded (`+` or `%20` for spaces),
/// by `***`. Built from the secrets a client knows; session ids are added as they are issued.
#[derive(Clone, Default)]
pub struct Scrubber {
    // Longest first, so that `user:password` goes before `password`.
    needles: Vec<String>,
}

/// Secrets shorter than this are not scrubbed: replacing `a` or `12` everywhere would make
/// every text unreadable and protect nothing.
const MIN_SECRET_LEN: usize = 3;

impl Scrubber {
    /// A scrubber of nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret (and its URL-encoded forms).
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let plus: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let pct = plus.replace('+', "%20");
        for needle in [secret.to_owned(), plus, pct] {
            for form in [needle.clone(), needle.to_ascii_lowercase_hex()] {
                if !self.needles.contains(&form) {
                    self.needles.push(form);
                }
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// The text with every known secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), "***");
            }
        }
        out
    }

    /// True when no secret is known.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} forms)", self.needles.len())
    }
}

/// Percent-escapes written with lower-case hex digits (`%3a`), as some servers echo them.
trait LowerHex {
    fn to_ascii_lowercase_hex(&self) -> String;
}

impl LowerHex for String {
    fn to_ascii_lowercase_hex(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut rest = self.as_str();
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let escape = rest.get(at..at + 3).unwrap_or(&rest[at..]);
            out.push_str(&escape.to_ascii_lowercase());
            rest = &rest[at + escape.len()..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubber_removes_raw_and_encoded_forms() {
        let mut s = Scrubber::new();
        s.add("p@ss word:1");
        s.add("demo:p@ss word:1");
        s.add("ab");
        let text = "bad demo:p@ss word:1, p%40ss+word%3A1, p%40ss%20word%3a1, ab";
        assert_eq!(s.scrub(text), "bad ***, ***, ***, ab");
        assert!(!format!("{s:?}").contains("p@ss"));
    }

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }
}
