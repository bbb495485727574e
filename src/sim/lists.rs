//! Service lists with paging, and sticky list filters, with the faults of real installs:
//! pages capped below `p_cnt` (`page_cap`), no total (`no_total`), paging ignored
//! (`ignore_paging`), lean rows (`lean_rows`: no `status`, no `remoteid`), and a saved filter
//! that only a submission naming its fields clears (`sticky_filter`), or none at all
//! (`filter_reset_ignored`, the form echoed back without saving).

use std::collections::BTreeMap;

use super::catalog::{self, ITEM_TYPES};
use super::doc::{self, Node};
use super::funcs::{Call, Reply, status_text};
use super::state::{Service, State};

/// The saved filter `sticky_filter` arms: active services only.
const STICKY: (&str, &str) = ("status", "2");

const FILTER_FIELDS: &[&str] = &[
    "id",
    "ip",
    "domain",
    "pricelist",
    "period",
    "status",
    "datacenter",
    "remoteid",
    "autoprolong",
];

/// Saves the `sticky_filter` fault's filter on every item type of `user`'s account.
pub(crate) fn arm_sticky_filters(state: &mut State, user: &str) {
    if let Some(acc) = state.accounts.get_mut(user) {
        for item_type in ITEM_TYPES {
            let filter = BTreeMap::from([(STICKY.0.to_owned(), STICKY.1.to_owned())]);
            acc.filters.insert((*item_type).to_owned(), filter);
        }
    }
}

fn row(call: &Call<'_>, s: &Service) -> Node {
    let lean = call.core.faults.lean_rows;
    let tariff = call.tariff(s.pricelist);
    let (text, orig) = status_text(s.status);
    let mut elem = Node::new("elem")
        .field("id", s.id.to_string())
        .field("domain", &s.domain);
    if !lean {
        elem = elem.field("status", s.status.to_string());
    }
    let expiredate = s.expiredate.format("%Y-%m-%d").to_string();
    elem = elem
        .child(Node::text("item_status", text).attr("orig", orig))
        .field("pricelist", tariff.map_or("", |t| t.title))
        .field("pricelist_id", s.pricelist.to_string())
        .field("period", s.period.to_string());
    elem = if lean {
        // A BILLmanager 6 column set: a localized auto-renewal word, a daily-billed expiry
        // text with the date in `real_expiredate`.
        elem.field(
            "autoprolong",
            s.autoprolong.map_or("Off".to_owned(), |m| m.to_string()),
        )
        .field("expiredate", "daily")
        .field("real_expiredate", expiredate)
    } else {
        elem.field(
            "autoprolong",
            s.autoprolong.map_or("null".to_owned(), |m| m.to_string()),
        )
        .field("expiredate", expiredate)
    };
    elem = elem
        .field("cost", doc::cents(s.cost_cents))
        .field("currency", "EUR");
    if let Some(ip) = s.ip.as_ref().filter(|_| matches!(s.status, 2 | 3)) {
        elem.push(Node::text("ip", ip));
    }
    if let Some(remoteid) = s.remoteid.as_ref().filter(|_| !lean) {
        elem.push(Node::text("remoteid", remoteid));
    }
    if let Some(dc) = s.datacenter {
        elem.push(Node::text("datacenter", dc.to_string()));
        elem.push(Node::text("datacentername", catalog::datacenter_name(dc)));
    }
    if let Some(os) = &s.ostempl {
        elem.push(Node::text("ostempl", os));
    }
    elem
}

fn matches_filter(s: &Service, filter: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(field, want)| match field.as_str() {
        "domain" => s
            .domain
            .to_ascii_lowercase()
            .contains(&want.to_ascii_lowercase()),
        "id" => s.id.to_string() == *want,
        "ip" => s.ip.as_deref() == Some(want),
        "pricelist" => s.pricelist.to_string() == *want,
        "period" => s.period.to_string() == *want,
        "status" => s.status.to_string() == *want,
        "datacenter" => s.datacenter.map(|d| d.to_string()).as_deref() == Some(want),
        "remoteid" => s.remoteid.as_deref() == Some(want),
        "autoprolong" => s.autoprolong.map(|m| m.to_string()).as_deref() == Some(want),
        _ => true,
    })
}

/// The filter a list applies: the account's sticky one, overlaid with the fields given inline
/// when the call says `filter=on` (`func=dedic&filter=on&status=2`).
fn list_filter(call: &Call<'_>, account: &str, item_type: &str) -> BTreeMap<String, String> {
    let mut filter = call
        .core
        .state
        .accounts
        .get(account)
        .and_then(|a| a.filters.get(item_type))
        .cloned()
        .unwrap_or_default();
    if call.params.is_on("filter") {
        for f in FILTER_FIELDS {
            if let Some(v) = call.params.non_empty(f) {
                filter.insert((*f).to_owned(), v.to_owned());
            }
        }
    }
    filter
}

/// Which slice of `total` rows a list call answers: `(skip, take)`, and the page size shown.
fn window(call: &Call<'_>, total: usize) -> (usize, usize, Option<usize>) {
    let faults = &call.core.faults;
    let asked = call
        .params
        .get("p_cnt")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0);
    let cap = faults.page_cap.filter(|c| *c > 0);
    let count = match (asked, cap) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    };
    let page = call
        .params
        .get("p_num")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0 && !faults.ignore_paging)
        .unwrap_or(1);
    let (skip, take) = count.map_or((0, total), |c| ((page - 1).saturating_mul(c), c));
    (skip, take, count)
}

/// `<type>`: the account's services of that type, one page of them when asked.
pub(crate) fn list(call: &Call<'_>, account: &str, item_type: &str) -> Reply {
    let filter = list_filter(call, account, item_type);
    let rows: Vec<&Service> = call
        .core
        .state
        .services
        .values()
        .filter(|s| s.account == account && s.item_type == item_type)
        .filter(|s| matches_filter(s, &filter))
        .collect();
    let total = rows.len();
    let (skip, take, count) = window(call, total);
    let mut doc = Node::doc();
    for s in rows.into_iter().skip(skip).take(take) {
        doc.push(row(call, s));
    }
    if !call.core.faults.no_total {
        doc = doc.field("p_elems", total.to_string());
    }
    if let Some(c) = count {
        let page = skip / c.max(1) + 1;
        doc = doc
            .field("p_cnt", c.to_string())
            .field("p_num", page.to_string());
    }
    Reply::Doc(doc)
}

/// `<type>.filter`: with `sok` stores (or, all fields empty, clears) the account's filter;
/// without it shows the filter form. With `sticky_filter`, fields the submission does not
/// name keep their values; with `filter_reset_ignored`, a submission is echoed, not saved.
pub(crate) fn filter(call: &mut Call<'_>, account: &str, item_type: &str) -> Reply {
    let sticky = call.core.faults.sticky_filter;
    let ignored = call.core.faults.filter_reset_ignored;
    let Some(acc) = call.core.state.accounts.get_mut(account) else {
        return Reply::Doc(Node::doc());
    };
    if call.params.non_empty("sok").is_some() && !ignored {
        let mut chosen = if sticky {
            acc.filters.get(item_type).cloned().unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        for f in FILTER_FIELDS {
            match call.params.get(f).map(str::trim) {
                Some(v) if !v.is_empty() => {
                    chosen.insert((*f).to_owned(), v.to_owned());
                }
                Some(_) => {
                    chosen.remove(*f);
                }
                None => {}
            }
        }
        if chosen.is_empty() {
            acc.filters.remove(item_type);
        } else {
            acc.filters.insert(item_type.to_owned(), chosen);
        }
        call.core.dirty = true;
        return Reply::Doc(Node::doc().child(Node::new("ok")));
    }
    let current = acc.filters.get(item_type).cloned().unwrap_or_default();
    let mut doc = Node::doc();
    for f in FILTER_FIELDS {
        doc.push(Node::text(*f, current.get(*f).cloned().unwrap_or_default()));
    }
    Reply::Doc(doc)
}
