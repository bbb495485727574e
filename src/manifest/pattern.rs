//! Domain patterns: `web-{seq:03}.example.com`, `{name}-{seq}.example.com`.
//!
//! The one parser of the pattern language: validation, expansion (`expand`) and recognising
//! look-alike domains (`looks_like`, used by the plan to spot services of the fleet's shape).

use std::fmt::Write as _;

/// A parsed domain pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// `{seq}` (width 0) or `{seq:0N}`.
    Seq {
        width: usize,
    },
    Name,
}

/// Why a pattern could not be parsed; `offset` is the byte offset in the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Byte offset of the problem in the pattern text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl DomainPattern {
    /// Parses a pattern. Placeholders: `{seq}`, `{seq:0N}` (N = 1..=9), `{name}`; `{{`/`}}`
    /// are not supported (a domain never holds braces).
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(PatternError {
                    offset: offset + open,
                    message: "`}` without a matching `{`".into(),
                });
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(PatternError {
                    offset: offset + open,
                    message: "`{` is never closed".into(),
                });
            };
            let inner = &rest[open + 1..open + close];
            parts.push(parse_placeholder(inner).map_err(|message| PatternError {
                offset: offset + open,
                message,
            })?);
            offset += open + close + 1;
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// True when the pattern holds `{seq}`.
    pub fn has_seq(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Seq { .. }))
    }

    /// True when `domain` (ASCII case-insensitive) has this pattern's shape in group `name`:
    /// `{name}` is the group name and each `{seq…}` any run of one or more digits, whatever
    /// the declared width (`web-12345` looks like `web-{seq:03}`).
    pub fn looks_like(&self, name: &str, domain: &str) -> bool {
        shape_from(&self.parts, name, domain)
    }

    /// The domain of server `seq` in group `name`.
    pub fn expand(&self, name: &str, seq: u64) -> String {
        let mut out = String::with_capacity(32);
        self.expand_into(&mut out, name, seq);
        out
    }

    /// Appends the domain of server `seq` to `out` (no allocation when `out` has room).
    pub fn expand_into(&self, out: &mut String, name: &str, seq: u64) {
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Seq { width } => {
                    let _ = write!(out, "{seq:0width$}");
                }
                Part::Name => out.push_str(name),
            }
        }
    }
}

fn shape_from(parts: &[Part], name: &str, s: &str) -> bool {
    match parts.split_first() {
        None => s.is_empty(),
        Some((Part::Text(t), rest)) => {
            strip_prefix_ci(s, t).is_some_and(|tail| shape_from(rest, name, tail))
        }
        Some((Part::Name, rest)) => {
            strip_prefix_ci(s, name).is_some_and(|tail| shape_from(rest, name, tail))
        }
        Some((Part::Seq { .. }, rest)) => {
            let run = s.bytes().take_while(u8::is_ascii_digit).count();
            (1..=run).any(|n| shape_from(rest, name, &s[n..]))
        }
    }
}

/// `s` without the prefix `p`, compared ASCII case-insensitively.
fn strip_prefix_ci<'s>(s: &'s str, p: &str) -> Option<&'s str> {
    let head = s.get(..p.len())?;
    head.eq_ignore_ascii_case(p).then(|| &s[p.len()..])
}

fn parse_placeholder(inner: &str) -> Result<Part, String> {
    match inner {
        "seq" => Ok(Part::Seq { width: 0 }),
        "name" => Ok(Part::Name),
        _ => {
            if let Some(spec) = inner.strip_prefix("seq:") {
                let digits = spec.strip_prefix('0').unwrap_or(spec);
                match digits.parse::<usize>() {
                    Ok(width @ 1..=9) if spec.starts_with('0') => Ok(Part::Seq { width }),
                    _ => Err(format!(
                        "`{{{inner}}}`: the width must be written `{{seq:0N}}` with N from 1 to 9, e.g. `{{seq:03}}`"
                    )),
                }
            } else {
                Err(format!(
                    "unknown placeholder `{{{inner}}}`; use `{{seq}}`, `{{seq:03}}` or `{{name}}`"
                ))
            }
        }
    }
}

/// Checks that `domain` is a valid DNS host name (RFC 1123 labels, 253 bytes at most).
/// Returns what is wrong, if anything.
pub fn dns_problem(domain: &str) -> Option<String> {
    if domain.is_empty() {
        return Some("the domain is empty".into());
    }
    if domain.len() > 253 {
        return Some(format!("`{domain}` is longer than 253 characters"));
    }
    for label in domain.trim_end_matches('.').split('.') {
        if label.is_empty() {
            return Some(format!(
                "`{domain}` has an empty label (two dots in a row?)"
            ));
        }
        if label.len() > 63 {
            return Some(format!(
                "label `{label}` of `{domain}` is longer than 63 characters"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "label `{label}` of `{domain}` starts or ends with `-`"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "`{domain}` holds `{c}`, which is not allowed in a host name"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_padded_and_plain() {
        let p = DomainPattern::parse("web-{seq:03}.example.com").unwrap();
        assert_eq!(p.expand("web", 7), "web-007.example.com");
        assert_eq!(p.expand("web", 1234), "web-1234.example.com");
        let p = DomainPattern::parse("{name}-{seq}.ex.com").unwrap();
        assert_eq!(p.expand("db", 12), "db-12.ex.com");
        assert!(p.has_seq());
        assert!(!DomainPattern::parse("one.example.com").unwrap().has_seq());
    }

    #[test]
    fn rejects_bad_placeholders_with_offsets() {
        let e = DomainPattern::parse("web-{sq}.example.com").unwrap_err();
        assert_eq!(e.offset, 4);
        let e = DomainPattern::parse("web-{seq:3}.x").unwrap_err();
        assert_eq!(e.offset, 4);
        let e = DomainPattern::parse("web-{seq.x").unwrap_err();
        assert_eq!(e.offset, 4);
        let e = DomainPattern::parse("web}").unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn look_alikes_match_digit_runs_and_names() {
        let p = DomainPattern::parse("{name}-{seq:03}.Example.com").unwrap();
        assert!(p.looks_like("web", "web-001.example.com"));
        assert!(p.looks_like("web", "WEB-12345.example.com"));
        assert!(!p.looks_like("web", "web-.example.com"));
        assert!(!p.looks_like("web", "db-001.example.com"));
        assert!(!p.looks_like("web", "web-001.example.com.evil"));
        let two = DomainPattern::parse("n{seq}x{seq}.t").unwrap();
        assert!(two.looks_like("g", "n12x3.t"));
        assert!(!two.looks_like("g", "n12x.t"));
        let fixed = DomainPattern::parse("one.example.com").unwrap();
        assert!(fixed.looks_like("g", "one.example.com"));
        assert!(!fixed.looks_like("g", "two.example.com"));
        assert!(!fixed.looks_like("g", "oné.example.com"));
    }

    #[test]
    fn dns_names() {
        assert_eq!(dns_problem("web-001.example.com"), None);
        assert!(dns_problem("web_001.example.com").is_some());
        assert!(dns_problem("-web.example.com").is_some());
        assert!(dns_problem("a..b").is_some());
        assert!(dns_problem(&"a".repeat(64)).is_some());
    }
}
