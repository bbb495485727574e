//! Free sequence numbers after each group's range, for servers whose domain is taken
//! (`on_collision: next`).

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::manifest::pattern::DomainPattern;

/// Candidates tried at most for one move.
const MAX_CANDIDATES: u32 = 10_000;

/// Hands out the next free sequence numbers after each group's range, for servers whose
/// domain is taken. Domains already used (by live services, declared servers, the journal
/// or earlier moves) are skipped.
pub struct Allocator {
    groups: Vec<GroupSeqs>,
    // A std mutex: held only to check and insert, never across an await.
    used: Mutex<HashSet<String>>,
}

struct GroupSeqs {
    name: String,
    pattern: Option<DomainPattern>,
    next: AtomicU64,
}

impl Allocator {
    /// Groups as `(name, pattern, first seq after the range)`, and the domains already used.
    pub fn new(groups: Vec<(String, Option<DomainPattern>, u64)>, used: HashSet<String>) -> Self {
        let groups = groups
            .into_iter()
            .map(|(name, pattern, next)| GroupSeqs {
                name,
                pattern: pattern.filter(DomainPattern::has_seq),
                next: AtomicU64::new(next),
            })
            .collect();
        Self {
            groups,
            used: Mutex::new(used),
        }
    }

    /// The next free domain of group `index`, or `None` when its pattern cannot move.
    pub fn next_domain(&self, index: usize) -> Option<String> {
        let group = self.groups.get(index)?;
        let pattern = group.pattern.as_ref()?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..MAX_CANDIDATES {
            let seq = group.next.fetch_add(1, Ordering::Relaxed);
            let domain = pattern.expand(&group.name, seq);
            if used.insert(domain.to_ascii_lowercase()) {
                return Some(domain);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_skip_used_and_handed_out_domains() {
        let pattern = DomainPattern::parse("web-{seq:03}.example.com").ok();
        let fixed = DomainPattern::parse("one.example.com").ok();
        let used = HashSet::from(["web-011.example.com".to_owned()]);
        let alloc = Allocator::new(
            vec![("web".into(), pattern, 10), ("one".into(), fixed, 2)],
            used,
        );
        let got: Vec<_> = (0..3).map(|_| alloc.next_domain(0)).collect();
        assert_eq!(
            got,
            [
                Some("web-010.example.com".to_owned()),
                Some("web-012.example.com".to_owned()),
                Some("web-013.example.com".to_owned())
            ]
        );
        assert_eq!(
            alloc.next_domain(1),
            None,
            "a pattern without {{seq}} cannot move"
        );
        assert_eq!(alloc.next_domain(7), None);
    }
}
