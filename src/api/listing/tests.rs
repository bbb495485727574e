use proptest::prelude::*;

use super::*;
use crate::api::doc::Doc;

fn svc(id: usize) -> Service {
    Service {
        id: id.to_string(),
        ..Service::default()
    }
}

/// A billing holding `held` services (ids 1..=held) that answers pages its own way.
#[derive(Debug, Clone)]
struct Billing {
    held: usize,
    cap: usize,
    total: bool,
    ignore_paging: bool,
    /// Past the last page, answer the last page again instead of nothing.
    clamp: bool,
    /// Rows of earlier pages slipped into later pages: (page, id).
    repeats: Vec<(usize, usize)>,
}

impl Billing {
    fn page(&self, p_num: usize) -> (Vec<Service>, Option<usize>) {
        let pages = self.held.div_ceil(self.cap).max(1);
        let mut page = if self.ignore_paging { 1 } else { p_num };
        if self.clamp && page > pages {
            page = pages;
        }
        let start = (page - 1).saturating_mul(self.cap);
        let mut rows: Vec<Service> = (start..self.held.min(start + self.cap))
            .map(|i| svc(i + 1))
            .collect();
        for &(at, id) in &self.repeats {
            if at == p_num && id >= 1 && id <= self.held {
                rows.push(svc(id));
            }
        }
        (rows, self.total.then_some(self.held))
    }

    fn read(&self) -> (Listing, usize) {
        let mut pager = Pager::new();
        let mut calls = 0;
        loop {
            calls += 1;
            let (rows, total) = self.page(pager.page());
            if !pager.feed(rows, 0, total) {
                return (pager.finish(), calls);
            }
        }
    }
}

fn friendly(held: usize, cap: usize, total: bool) -> Billing {
    Billing {
        held,
        cap,
        total,
        ignore_paging: false,
        clamp: false,
        repeats: Vec::new(),
    }
}

#[test]
fn capped_pages_are_all_read_with_or_without_a_total() {
    let (with_total, calls) = friendly(30, 7, true).read();
    assert!(with_total.is_complete());
    assert_eq!((with_total.services.len(), calls), (30, 5));
    let (without, calls) = friendly(30, 7, false).read();
    assert!(without.is_complete());
    assert_eq!(
        (without.services.len(), calls),
        (30, 6),
        "an empty page ends it"
    );
    let (one, calls) = friendly(3, 1000, true).read();
    assert_eq!((one.services.len(), one.is_complete(), calls), (3, true, 1));
}

#[test]
fn an_install_ignoring_p_num_is_not_complete() {
    let mut billing = friendly(30, 7, true);
    billing.ignore_paging = true;
    let (listing, calls) = billing.read();
    assert!(!listing.is_complete());
    assert!(listing.gap.unwrap().contains("repeats 7 rows"));
    assert_eq!(calls, 2);
    // Everything on one page with a total: nothing is missing.
    let mut small = friendly(5, 7, true);
    small.ignore_paging = true;
    assert!(small.read().0.is_complete());
}

#[test]
fn pages_ending_before_the_total_and_idless_rows_are_gaps() {
    let mut pager = Pager::new();
    assert!(pager.feed(vec![svc(1)], 0, Some(3)));
    assert!(!pager.feed(Vec::new(), 0, None));
    assert!(pager.finish().gap.unwrap().contains("states 3 services"));
    let mut pager = Pager::new();
    assert!(!pager.feed(vec![svc(1)], 1, Some(2)));
    assert!(
        pager
            .finish()
            .gap
            .unwrap()
            .contains("without an id or a readable status")
    );
}

#[test]
fn filter_forms_show_set_fields_and_reset_to_neutral_values() {
    let doc = Doc::decode(
        br#"<doc><func>vds.filter</func><status>2</status><domain></domain><createdate>nodate</createdate><compare_type>null</compare_type><slist name="status"><val key="2">Active</val></slist></doc>"#,
    )
    .unwrap();
    let set = set_fields(doc.root());
    assert_eq!(set.into_iter().collect::<Vec<_>>(), ["status"]);
    let params = reset_params(doc.root());
    let expected = [
        ("status", ""),
        ("domain", ""),
        ("createdate", "nodate"),
        ("compare_type", "null"),
    ];
    let got: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, expected);
}

proptest! {
    /// Whatever the billing's page size, total and slips, a listing reported complete holds
    /// every service the billing holds, each once.
    #[test]
    fn a_complete_listing_misses_nothing(
        held in 0usize..60,
        cap in 1usize..20,
        total in any::<bool>(),
        ignore_paging in any::<bool>(),
        clamp in any::<bool>(),
        repeats in proptest::collection::vec((1usize..12, 1usize..60), 0..4),
    ) {
        let billing = Billing { held, cap, total, ignore_paging, clamp, repeats };
        let (listing, calls) = billing.read();
        prop_assert!(calls <= MAX_PAGES);
        if listing.is_complete() {
            let ids: HashSet<&str> = listing.services.iter().map(|s| s.id.as_str()).collect();
            prop_assert_eq!(ids.len(), listing.services.len());
            for id in 1..=held {
                let id = id.to_string();
                prop_assert!(ids.contains(id.as_str()), "{} missing: {:?}", id, billing);
            }
        }
        // A friendly billing is always read completely.
        let (friendly_listing, _) = friendly(held, cap, total).read();
        prop_assert!(friendly_listing.is_complete());
        prop_assert_eq!(friendly_listing.services.len(), held);
    }
}
