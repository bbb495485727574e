//! `--target KEY|GROUP`: restricting a run to some declared servers. A selector is a server
//! key (`web-2`, the unpadded `<group>-<seq>` of a declared server) or a group name (`web`);
//! one that names both, or nothing, is refused.

use std::collections::HashSet;

use crate::manifest::Manifest;

/// The servers a run is restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    groups: HashSet<String>,
    keys: HashSet<String>,
}

impl Targets {
    /// Reads the selectors against `manifest`; `Ok(None)` when none was given (everything).
    pub fn parse(manifest: &Manifest, selectors: &[String]) -> Result<Option<Self>, String> {
        if selectors.is_empty() {
            return Ok(None);
        }
        let mut targets = Self::default();
        for selector in selectors {
            let is_group = manifest.groups().any(|g| g.name == *selector);
            let is_key = names_key(manifest, selector);
            match (is_group, is_key) {
                (true, true) => {
                    return Err(format!(
                        "--target {selector} names both a group and a server key"
                    ));
                }
                (true, false) => {
                    targets.groups.insert(selector.clone());
                }
                (false, true) => {
                    targets.keys.insert(selector.clone());
                }
                (false, false) => {
                    return Err(format!(
                        "--target {selector} names no group and no declared server (a key is \
                         `<group>-<seq>`, e.g. web-2)"
                    ));
                }
            }
        }
        Ok(Some(targets))
    }

    /// True when server `key` of `group` is selected.
    pub fn selects(&self, group: &str, key: &str) -> bool {
        self.groups.contains(group) || self.keys.contains(key)
    }

    /// True when the whole group is selected (its undeclared services go with it).
    pub fn selects_group(&self, group: &str) -> bool {
        self.groups.contains(group)
    }
}

/// True when `selector` is the key of a declared server.
fn names_key(manifest: &Manifest, selector: &str) -> bool {
    manifest.groups().any(|g| {
        selector
            .strip_prefix(g.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(canonical_seq)
            .is_some_and(|seq| g.seqs().contains(&seq))
    })
}

/// An unpadded decimal number (`7`, not `07`).
pub(crate) fn canonical_seq(text: &str) -> Option<u64> {
    let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let padded = text.len() > 1 && text.starts_with('0');
    if !all_digits || padded {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let text = "version: 1\nfleets:\n  - name: web\n    count: 3\n    domain: \"w{seq}.example.com\"\n    pricelist: 6\n  - name: web-2\n    count: 1\n    domain: x.example.com\n    pricelist: 6\n  - name: db\n    count: 2\n    domain: \"d{seq}.example.com\"\n    pricelist: 6\n";
        crate::manifest::load_str(std::path::Path::new("m.yaml"), text.to_owned())
            .unwrap()
            .manifest
    }

    #[test]
    fn keys_groups_and_refusals() {
        let m = manifest();
        let t = Targets::parse(&m, &["web-3".into(), "db".into()])
            .unwrap()
            .unwrap();
        assert!(t.selects("web", "web-3"));
        assert!(!t.selects("web", "web-1"));
        assert!(t.selects("db", "db-2"));
        assert!(t.selects_group("db"));
        assert!(Targets::parse(&m, &[]).unwrap().is_none());
        let both = Targets::parse(&m, &["web-2".into()]).unwrap_err();
        assert!(both.contains("both"), "{both}");
        for nothing in ["web-4", "web-03", "mail", "web-", "db-0"] {
            assert!(Targets::parse(&m, &[nothing.into()]).is_err(), "{nothing}");
        }
    }
}
