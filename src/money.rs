//! Amounts of money as the billing writes them, held exactly in hundredths.
//!
//! BILLmanager sends amounts as localized strings: `12.50`, `1 234,50 €`, `-3.4 EUR`,
//! `12.34 RUB`. [`Money::parse`] reads all of these; arithmetic is on integer cents so
//! totals over thousands of servers never drift.

use std::fmt;

use serde::{Serialize, Serializer};

/// An amount in hundredths of a currency unit, with the currency when known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    /// The amount in hundredths (cents, kopecks).
    pub cents: i64,
    /// ISO code or symbol as the billing gave it (`EUR`, `RUB`, `€`), empty when unknown.
    pub currency: String,
}

impl Money {
    /// An amount with a currency.
    pub fn new(cents: i64, currency: impl Into<String>) -> Self {
        Self {
            cents,
            currency: currency.into(),
        }
    }

    /// Parses a localized amount: digits with `.` or `,` decimals, spaces (also non-breaking)
    /// or `'` as thousands separators, an optional sign and an optional currency before or after.
    /// Returns `None` when there is no number in it.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let start = text.find(|c: char| c.is_ascii_digit() || c == '-' || c == '+')?;
        let mut end = start;
        let mut number = String::new();
        for (i, c) in text[start..].char_indices() {
            match c {
                '0'..='9' | '-' | '+' | '.' | ',' => number.push(c),
                ' ' | '\u{a0}' | '\u{202f}' | '\'' => {}
                _ => break,
            }
            end = start + i + c.len_utf8();
        }
        let cents = parse_cents(&number)?;
        let currency = format!("{} {}", &text[..start], &text[end..])
            .trim()
            .trim_matches(|c: char| c == '(' || c == ')')
            .trim()
            .to_owned();
        Some(Self { cents, currency })
    }

    /// The amount as a plain decimal string with two places (`12.50`).
    pub fn amount(&self) -> String {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Multiplies by a whole count (a per-server price times the number of servers).
    pub fn times(&self, n: u64) -> Self {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            cents: self.cents.saturating_mul(n),
            currency: self.currency.clone(),
        }
    }

    /// Adds another amount; the currency of `self` wins unless it is empty.
    pub fn plus(&self, other: &Money) -> Self {
        let currency = if self.currency.is_empty() {
            other.currency.clone()
        } else {
            self.currency.clone()
        };
        Self {
            cents: self.cents.saturating_add(other.cents),
            currency,
        }
    }
}

/// Reads `1234.5`, `1234,50`, `1.234,50`, `1,234.50` into cents.
fn parse_cents(number: &str) -> Option<i64> {
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    // The last separator followed by one or two digits is the decimal point; others group.
    let last_sep = digits.rfind(['.', ',']);
    let (int_part, frac_part) = match last_sep {
        Some(i) if digits.len() - i - 1 <= 2 && digits.len() - i > 1 => {
            (&digits[..i], &digits[i + 1..])
        }
        _ => (digits, ""),
    };
    let int_digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().ok()?
    };
    let frac: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().ok()? * 10,
        _ => frac_part.parse().ok()?,
    };
    let cents = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -cents } else { cents })
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.currency.is_empty() {
            f.write_str(&self.amount())
        } else {
            write!(f, "{} {}", self.amount(), self.currency)
        }
    }
}

/// Serialized as CONTRACT.md's `{"total": "12.50", "currency": "EUR"}` shape is built by
/// callers; on its own a `Money` serializes as its display string.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_localized_amounts() {
        let cases = [
            ("12.50", 1250, ""),
            ("12,5", 1250, ""),
            ("1 234,50 €", 123_450, "€"),
            ("1\u{a0}234.50 EUR", 123_450, "EUR"),
            ("-3.4 EUR", -340, "EUR"),
            ("1,234.50", 123_450, ""),
            ("1.234,50", 123_450, ""),
            ("100", 10_000, ""),
            ("RUB 7.00", 700, "RUB"),
        ];
        for (text, cents, currency) in cases {
            let m = Money::parse(text).unwrap_or_else(|| panic!("{text} did not parse"));
            assert_eq!((m.cents, m.currency.as_str()), (cents, currency), "{text}");
        }
        assert_eq!(Money::parse("no number"), None);
        assert_eq!(Money::parse(""), None);
    }

    #[test]
    fn formats_and_sums() {
        let m = Money::new(1250, "EUR");
        assert_eq!(m.to_string(), "12.50 EUR");
        assert_eq!(m.times(3).amount(), "37.50");
        assert_eq!(Money::new(-5, "").amount(), "-0.05");
        assert_eq!(Money::default().plus(&m).currency, "EUR");
    }
}
