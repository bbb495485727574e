//! The semantic pass over the typed manifest: groups, domain patterns and the domains they
//! expand to, duplicates, totals, ids, the billing URL. Every problem is positioned through
//! the span index.

use std::collections::HashMap;

use super::diag::{Pos, Reporter};
use super::model::{Group, Manifest};
use super::pattern::{DomainPattern, dns_problem};
use super::spans::SpanIndex;

/// Most servers one manifest may declare in all.
pub const MAX_TOTAL: i64 = 1_000_000;
/// Most servers one group may declare (also the schema's `maximum` of `count`).
pub const MAX_GROUP: i64 = 100_000;

/// The dotted path of group `i` of `manifest.groups()`.
pub(crate) fn group_path(manifest: &Manifest, i: usize) -> String {
    match (&manifest.fleet, i) {
        (Some(_), 0) => "fleet".to_owned(),
        (Some(_), i) => format!("fleets[{}]", i - 1),
        (None, i) => format!("fleets[{i}]"),
    }
}

struct Ctx<'a> {
    index: &'a SpanIndex,
    tainted: &'a [String],
    out: &'a mut Reporter,
}

impl Ctx<'_> {
    /// The value at `path` was already reported by the structural pass (and replaced).
    fn tainted(&self, path: &str) -> bool {
        self.tainted.iter().any(|t| t == path)
    }

    fn value(&self, path: &str) -> Option<Pos> {
        self.index.nearest(path).map(|s| s.value)
    }

    fn key(&self, path: &str) -> Option<Pos> {
        self.index.nearest(path).map(|s| s.key)
    }

    fn error(&mut self, pos: Option<Pos>, message: String, hint: Option<String>) {
        self.out.error(pos, message, hint);
    }
}

/// Runs every semantic check, reporting into `out`.
pub(crate) fn validate(
    manifest: &Manifest,
    index: &SpanIndex,
    tainted: &[String],
    out: &mut Reporter,
) {
    let mut cx = Ctx {
        index,
        tainted,
        out,
    };
    fleets_given(&mut cx, manifest);
    let groups: Vec<(String, &Group)> = manifest
        .groups()
        .enumerate()
        .map(|(i, g)| (group_path(manifest, i), g))
        .collect();
    names(&mut cx, &groups);
    let total: i64 = groups.iter().map(|(_, g)| g.count.max(0)).sum();
    if total > MAX_TOTAL {
        let pos = cx.key(if manifest.fleet.is_some() {
            "fleet"
        } else {
            "fleets"
        });
        cx.error(
            pos,
            format!("the manifest declares {total} servers in all, more than {MAX_TOTAL}"),
            Some("split the fleet into several manifests".into()),
        );
    }
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    for (i, (path, group)) in groups.iter().enumerate() {
        ids(&mut cx, path, group);
        let Some(pattern) = pattern(&mut cx, path, group) else {
            continue;
        };
        if cx.tainted(&format!("{path}.name")) {
            continue;
        }
        if total <= MAX_TOTAL && group.count <= MAX_GROUP {
            domains(&mut cx, &groups, i, &pattern, &mut seen);
        }
    }
    if let Some(url) = &manifest.billing.url {
        billing_url(&mut cx, url);
    }
}

fn fleets_given(cx: &mut Ctx<'_>, manifest: &Manifest) {
    for (key, empty) in [
        ("fleet", manifest.fleet.is_none()),
        ("fleets", manifest.fleets.is_none()),
    ] {
        if let Some(spot) = cx.index.get(key).filter(|_| empty && !cx.tainted(key)) {
            cx.error(
                Some(spot.key),
                format!("`{key}` is empty"),
                Some("describe a group of servers: name, count, pricelist, ...".into()),
            );
        }
    }
    match (cx.index.get("fleet"), cx.index.get("fleets")) {
        (None, None) => {
            let pos = cx.value("");
            cx.error(
                pos,
                "the manifest declares no servers: neither `fleet` nor `fleets` is given".into(),
                Some("add `fleet:` (one group) or `fleets:` (a list of groups)".into()),
            );
        }
        (Some(_), Some(fleets)) => cx.error(
            Some(fleets.key),
            "`fleet` and `fleets` are both given".into(),
            Some("use `fleet:` for one group or `fleets:` for several, not both".into()),
        ),
        _ => {}
    }
}

fn names(cx: &mut Ctx<'_>, groups: &[(String, &Group)]) {
    let mut first: HashMap<&str, Option<Pos>> = HashMap::new();
    for (path, group) in groups {
        let name_path = format!("{path}.name");
        let pos = cx.value(&name_path);
        if cx.tainted(&name_path) {
            continue;
        }
        if group.name.trim().is_empty() {
            cx.error(pos, format!("`{name_path}` is empty"), None);
            continue;
        }
        match first.get(group.name.as_str()) {
            Some(earlier) => {
                let hint =
                    earlier.map(|p| format!("`{}` is first used on line {}", group.name, p.line));
                cx.error(pos, format!("duplicate group name `{}`", group.name), hint);
            }
            None => {
                first.insert(&group.name, pos);
            }
        }
        if !group
            .kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || group.kind.is_empty()
        {
            let pos = cx.value(&format!("{path}.type"));
            cx.error(
                pos,
                format!(
                    "`{path}.type` must be an item type of the billing, such as `vds`, found `{}`",
                    group.kind
                ),
                None,
            );
        }
    }
}

/// Tariff, addon and enum ids must be positive integers.
fn ids(cx: &mut Ctx<'_>, path: &str, group: &Group) {
    if !is_id(group.pricelist.as_str()) && !cx.tainted(&format!("{path}.pricelist")) {
        let pos = cx.value(&format!("{path}.pricelist"));
        cx.error(
            pos,
            format!(
                "`{path}.pricelist` must be a tariff id (a positive integer), found `{}`",
                group.pricelist
            ),
            Some("`billfleet catalog` lists the tariffs and their ids".into()),
        );
    }
    for (field, map) in [("addons", &group.addons), ("enums", &group.enums)] {
        for key in map.keys().filter(|k| !is_id(k.as_str())) {
            let pos = cx.key(&format!("{path}.{field}.{key}"));
            cx.error(
                pos,
                format!("`{key}` in `{path}.{field}` is not an id: keys must be positive integers"),
                Some(format!(
                    "`billfleet catalog --pricelist {}` lists the ids",
                    group.pricelist
                )),
            );
        }
    }
}

fn is_id(text: &str) -> bool {
    !text.starts_with('0') && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses the domain pattern; reports placeholders and a missing `{seq}`.
fn pattern(cx: &mut Ctx<'_>, path: &str, group: &Group) -> Option<DomainPattern> {
    let text = group.domain.as_deref()?;
    let domain_path = format!("{path}.domain");
    let spot = cx.index.get(&domain_path);
    match DomainPattern::parse(text) {
        Err(e) => {
            let pos = spot.map(|s| inside(cx.out, s, text, e.offset));
            cx.error(
                pos,
                format!("bad placeholder in `{domain_path}`: {}", e.message),
                Some("placeholders: `{seq}`, `{seq:03}` (zero-padded), `{name}`".into()),
            );
            None
        }
        Ok(p) if !p.has_seq() && group.count > 1 => {
            cx.error(
                spot.map(|s| s.value),
                format!(
                    "`{domain_path}` has no `{{seq}}`, so its {} servers would share one domain",
                    group.count
                ),
                Some("add `{seq}` or `{seq:03}`, e.g. `web-{seq:03}.example.com`".into()),
            );
            None
        }
        Ok(p) => Some(p),
    }
}

/// The position of byte `offset` of the scalar's text, when the source shows the text
/// verbatim up to there; else the value's start.
fn inside(out: &Reporter, spot: super::spans::Spot, text: &str, offset: usize) -> Pos {
    let prefix = text.get(..offset).unwrap_or("");
    let col = spot.value.col + usize::from(spot.quoted) + prefix.chars().count();
    let verbatim = spot.one_line
        && out.line(spot.value.line).is_some_and(|line| {
            let shown: String = line
                .chars()
                .skip(spot.value.col - 1 + usize::from(spot.quoted))
                .take(prefix.chars().count())
                .collect();
            shown == prefix
        });
    if verbatim {
        Pos {
            line: spot.value.line,
            col,
        }
    } else {
        spot.value
    }
}

/// Expands the group's domains: the first one that is not a host name, and the first one
/// another group already declares.
fn domains(
    cx: &mut Ctx<'_>,
    groups: &[(String, &Group)],
    i: usize,
    pattern: &DomainPattern,
    seen: &mut HashMap<String, (usize, u64)>,
) {
    let (path, group) = &groups[i];
    let domain_path = format!("{path}.domain");
    let pos = cx.value(&domain_path);
    let mut bad_reported = false;
    let mut dup_reported = false;
    for seq in group.seqs() {
        let domain = pattern.expand(&group.name, seq);
        if !bad_reported && let Some(problem) = dns_problem(&domain) {
            bad_reported = true;
            cx.error(
                pos,
                format!(
                    "server `{}` would get a domain that is not a valid host name: {problem}",
                    group.key(seq)
                ),
                Some("host names hold letters, digits, `-` and dots".into()),
            );
        }
        let lower = domain.to_ascii_lowercase();
        match seen.get(&lower) {
            Some(&(other, other_seq)) if other != i => {
                if !dup_reported {
                    dup_reported = true;
                    let hint = cx.value(&format!("{}.domain", groups[other].0)).map(|p| {
                        format!(
                            "`{}` is declared on line {}",
                            groups[other].1.key(other_seq),
                            p.line
                        )
                    });
                    cx.error(
                        pos,
                        format!(
                            "domain `{domain}` of server `{}` is also the domain of `{}`",
                            group.key(seq),
                            groups[other].1.key(other_seq)
                        ),
                        hint,
                    );
                }
            }
            Some(_) => {}
            None => {
                seen.insert(lower, (i, seq));
            }
        }
        if bad_reported && dup_reported {
            break;
        }
    }
}

fn billing_url(cx: &mut Ctx<'_>, url: &str) {
    let pos = cx.value("billing.url");
    let problem = if url.contains("://") {
        match url::Url::parse(url) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!(
                "`billing.url` must use http or https, not `{}`",
                u.scheme()
            )),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => {
                Some("`billing.url` has no host".to_owned())
            }
            Ok(_) => None,
            Err(e) => Some(format!("`billing.url` is not a valid URL: {e}")),
        }
    } else {
        let host = url.split(['/', ':']).next().unwrap_or("");
        let ip = host.parse::<std::net::IpAddr>().is_ok();
        (!ip && dns_problem(host).is_some())
            .then(|| format!("`billing.url` is neither a URL nor a host name: `{url}`"))
    };
    if let Some(message) = problem {
        cx.error(
            pos,
            message,
            Some("e.g. `https://my.example-host.com/billmgr`".into()),
        );
    }
}
