//! Amounts of money as the billing writes them, held exactly as decimals.
//!
//! BILLmanager sends amounts as localized strings: `12.50`, `1 234,50 €`, `-3.4 EUR`,
//! `12.3456 RUB`, `0.005`. [`Money::parse`] reads all of these into a
//! [`rust_decimal::Decimal`] that keeps the billing's own precision, so totals over thousands
//! of servers never drift, and a price of a fraction of a cent stays one.
//!
//! # The reading rule
//!
//! A number may carry grouping separators (spaces, non-breaking spaces, `'`, `.` or `,`) and
//! one decimal separator (`.` or `,`):
//!
//! - both `.` and `,` appear: the last one is the decimal separator (`1,234.56`, `1.234,56`);
//! - one of them appears several times: it groups thousands (`1,234,567`);
//! - one `.` alone is a decimal point (`1.234` is 1.234, as in every JSON number);
//! - one `,` alone is a decimal comma (`12,5`, `1 234,56`, `0,005`), except when it is
//!   followed by exactly three digits and preceded by a plain group of one to three digits
//!   (`1,234`): that may be 1234 or 1.234, so it is refused;
//! - groups after the first have exactly three digits; anything else is refused.
//!
//! A refused amount is `None`: callers treat it as unknown and fail closed (no price, no
//! order) instead of guessing by a factor of 1000.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// An exact amount, with the currency when known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    value: Decimal,
    /// ISO code or symbol as the billing gave it (`EUR`, `RUB`, `€`), empty when unknown.
    pub currency: String,
}

impl Money {
    /// An amount of `cents` hundredths (cents, kopecks) with a currency; the same as
    /// [`Money::from_cents`].
    pub fn new(cents: i64, currency: impl Into<String>) -> Self {
        Self::from_cents(cents, currency)
    }

    /// An amount of `cents` hundredths with a currency.
    pub fn from_cents(cents: i64, currency: impl Into<String>) -> Self {
        Self::from_decimal(Decimal::new(cents, 2), currency)
    }

    /// An exact decimal amount with a currency.
    pub fn from_decimal(value: Decimal, currency: impl Into<String>) -> Self {
        Self {
            value,
            currency: currency.into(),
        }
    }

    /// Parses a localized amount (see the module's reading rule), with an optional sign and
    /// an optional currency before or after it. Returns `None` when there is no number in it
    /// or when the number is ambiguous or malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let start = number_start(text)?;
        let mut end = start;
        let mut number = String::new();
        for (i, c) in text[start..].char_indices() {
            match c {
                '-' | '+' if i == 0 => number.push(c),
                '0'..='9' | '.' | ',' | '\'' => number.push(c),
                c if is_space(c) => number.push(' '),
                _ => break,
            }
            end = start + i + c.len_utf8();
        }
        let value = parse_decimal(number.trim_end())?;
        let currency = format!("{} {}", &text[..start], &text[end..])
            .trim()
            .trim_matches(|c: char| c == '(' || c == ')')
            .trim()
            .to_owned();
        Some(Self { value, currency })
    }

    /// The exact amount.
    pub fn value(&self) -> Decimal {
        self.value
    }

    /// The amount in hundredths, rounded half away from zero (saturating): for places that
    /// count in cents, such as the simulator's balance.
    pub fn cents(&self) -> i64 {
        let hundredths = self
            .value
            .checked_mul(Decimal::ONE_HUNDRED)
            .unwrap_or(if self.value.is_sign_negative() {
                Decimal::MIN
            } else {
                Decimal::MAX
            })
            .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(hundredths).unwrap_or(if hundredths.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    /// True for an amount of zero.
    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }

    /// True for an amount below zero.
    pub fn is_negative(&self) -> bool {
        self.value < Decimal::ZERO
    }

    /// The same amount in `currency`.
    #[must_use]
    pub fn with_currency(&self, currency: impl Into<String>) -> Self {
        Self::from_decimal(self.value, currency)
    }

    /// True when the amount is above `limit` (a plain number such as `execution.max_spend`).
    /// A limit that is not a number is exceeded by everything (fail closed).
    pub fn exceeds(&self, limit: f64) -> bool {
        match Decimal::try_from(limit) {
            Ok(limit) => self.value > limit,
            Err(_) => limit.is_nan() || limit < 0.0,
        }
    }

    /// The amount as a plain decimal string with at least two places (`12.50`), and the
    /// billing's further places when it gave them (`0.005`, `12.3456`).
    pub fn amount(&self) -> String {
        let mut shown = self.value.normalize();
        if shown.scale() < 2 {
            shown.rescale(2);
        }
        shown.to_string()
    }

    /// Multiplies by a whole count (a per-server price times the number of servers),
    /// saturating.
    #[must_use]
    pub fn times(&self, n: u64) -> Self {
        let value = self
            .value
            .checked_mul(Decimal::from(n))
            .unwrap_or_else(|| saturated(self.value.is_sign_negative()));
        Self::from_decimal(value, self.currency.clone())
    }

    /// Adds another amount (saturating); the currency of `self` wins unless it is empty.
    #[must_use]
    pub fn plus(&self, other: &Money) -> Self {
        let currency = if self.currency.is_empty() {
            other.currency.clone()
        } else {
            self.currency.clone()
        };
        let value = self
            .value
            .checked_add(other.value)
            .unwrap_or_else(|| saturated(other.value.is_sign_negative()));
        Self::from_decimal(value, currency)
    }
}

fn saturated(negative: bool) -> Decimal {
    if negative { Decimal::MIN } else { Decimal::MAX }
}

/// Where the number starts: the first digit, or a sign or `.` right before one.
fn number_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    (0..bytes.len()).find(|&i| match bytes[i] {
        b'0'..=b'9' => true,
        b'.' => digit_at(i + 1),
        b'-' | b'+' => digit_at(i + 1) || (bytes.get(i + 1) == Some(&b'.') && digit_at(i + 2)),
        _ => false,
    })
}

/// Spaces that group digits: ASCII, non-breaking and narrow non-breaking (French billings).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}')
}

/// Reads the number part (sign, digits, separators; spaces already turned into ` `)
/// following the module's reading rule.
fn parse_decimal(number: &str) -> Option<Decimal> {
    let (negative, body) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (int_part, frac_part) = split_decimal(body)?;
    let groups: Vec<&str> = int_part.split([' ', '\'', '.', ',']).collect();
    let grouped = groups.len() > 1;
    let well_grouped = groups.iter().enumerate().all(|(i, g)| {
        let digits = g.chars().all(|c| c.is_ascii_digit());
        digits
            && if i == 0 {
                (1..=3).contains(&g.len())
            } else {
                g.len() == 3
            }
    });
    if grouped && !well_grouped {
        return None;
    }
    let whole: String = groups.concat();
    let frac = frac_part.unwrap_or("");
    if !whole
        .chars()
        .chain(frac.chars())
        .all(|c| c.is_ascii_digit())
        || (whole.is_empty() && frac.is_empty())
        || frac_part.is_some_and(str::is_empty)
    {
        return None;
    }
    let text = format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        if whole.is_empty() { "0" } else { &whole },
        if frac.is_empty() { "0" } else { frac }
    );
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_str(&text))
        .ok()
}

/// Splits `body` at its decimal separator: (integer part with grouping, fraction). `None`
/// when the form is ambiguous or has two decimal separators.
fn split_decimal(body: &str) -> Option<(&str, Option<&str>)> {
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    let at = |sep: char| body.rfind(sep).map(|i| (&body[..i], Some(&body[i + 1..])));
    match (dots, commas) {
        (0, 0) => Some((body, None)),
        (d, c) if d > 0 && c > 0 => {
            let (sep, other) = if body.rfind('.') > body.rfind(',') {
                ('.', ',')
            } else {
                (',', '.')
            };
            let (int, frac) = at(sep)?;
            // The decimal separator appears once and after every grouping separator.
            (body.matches(sep).count() == 1 && !frac?.contains(other)).then_some((int, frac))
        }
        (d, 0) if d > 1 => Some((body, None)),
        (0, c) if c > 1 => Some((body, None)),
        (1, 0) => at('.'),
        _ => {
            let (int, frac) = at(',')?;
            let plain_group = (1..=3).contains(&int.len())
                && int.chars().all(|c| c.is_ascii_digit())
                && !int.starts_with('0');
            let ambiguous = plain_group && frac.is_some_and(|f| f.len() == 3);
            (!ambiguous).then_some((int, frac))
        }
    }
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

    /// Every form billings print, and the forms refused as ambiguous or malformed.
    const TABLE: &[(&str, Option<(&str, &str)>)] = &[
        ("12.50", Some(("12.50", ""))),
        ("12,5", Some(("12.50", ""))),
        ("1 234,56", Some(("1234.56", ""))),
        ("1 234,50 €", Some(("1234.50", "€"))),
        ("1\u{a0}234.50 EUR", Some(("1234.50", "EUR"))),
        ("1\u{202f}234,5", Some(("1234.50", ""))),
        ("1,234.56", Some(("1234.56", ""))),
        ("1.234,56", Some(("1234.56", ""))),
        ("1.234.567,89", Some(("1234567.89", ""))),
        ("1,234,567", Some(("1234567.00", ""))),
        ("1'234.50 CHF", Some(("1234.50", "CHF"))),
        ("0.005", Some(("0.005", ""))),
        ("0,005", Some(("0.005", ""))),
        ("1.234", Some(("1.234", ""))),
        ("1234,567", Some(("1234.567", ""))),
        ("1 234,567", Some(("1234.567", ""))),
        ("12.3456 EUR", Some(("12.3456", "EUR"))),
        ("12.5000", Some(("12.50", ""))),
        ("-3.4 EUR", Some(("-3.40", "EUR"))),
        ("€12", Some(("12.00", "€"))),
        ("€ -12,5", Some(("-12.50", "€"))),
        ("RUB 7.00", Some(("7.00", "RUB"))),
        ("100", Some(("100.00", ""))),
        ("0", Some(("0.00", ""))),
        (".5", Some(("0.50", ""))),
        ("1,234", None),
        ("12,345 EUR", None),
        ("1,23.45", None),
        ("12 34", None),
        ("1.2.3,4,5", None),
        ("1,234.5.6", None),
        ("12.", None),
        ("- 12", Some(("12.00", "-"))),
        ("v. 12.50", Some(("12.50", "v."))),
        ("no number", None),
        ("", None),
        ("-", None),
    ];

    #[test]
    fn reads_the_forms_billings_print_and_refuses_ambiguous_ones() {
        for (text, expected) in TABLE {
            let got = Money::parse(text);
            let got = got.as_ref().map(|m| (m.amount(), m.currency.as_str()));
            let expected = expected.map(|(a, c)| (a.to_owned(), c));
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn keeps_precision_through_sums() {
        let price = Money::parse("0.005 EUR").unwrap();
        assert_eq!(price.times(3).to_string(), "0.015 EUR");
        assert_eq!(price.times(200).to_string(), "1.00 EUR");
        assert_eq!(price.cents(), 1);
        assert_eq!(Money::parse("-0.005").unwrap().cents(), -1);
        assert_eq!(Money::from_cents(1, "").plus(&price).amount(), "0.015");
    }

    #[test]
    fn formats_sums_and_compares() {
        let m = Money::new(1250, "EUR");
        assert_eq!(m, Money::parse("12.5 EUR").unwrap());
        assert_eq!(m.to_string(), "12.50 EUR");
        assert_eq!(m.times(3).amount(), "37.50");
        assert_eq!(m.cents(), 1250);
        assert_eq!(Money::new(-5, "").amount(), "-0.05");
        assert!(Money::new(-5, "").is_negative());
        assert!(Money::new(0, "").is_zero());
        assert_eq!(Money::default().plus(&m).currency, "EUR");
        assert_eq!(m.with_currency("USD").to_string(), "12.50 USD");
        assert!(m.exceeds(12.49));
        assert!(!m.exceeds(12.5));
        assert!(m.exceeds(f64::NAN));
        assert!(!m.exceeds(f64::INFINITY));
        assert!(Money::parse("50.001").unwrap().exceeds(50.0));
        assert!(!Money::parse("50.01").unwrap().exceeds(50.01));
        assert!(!Money::parse("0.3").unwrap().exceeds(0.1 + 0.2));
        assert!(Money::parse("0.31").unwrap().exceeds(0.3));
    }
}
