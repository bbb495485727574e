//! Reading a whole service list, and knowing whether it is whole.
//!
//! A list is read page by page (`p_cnt`/`p_num`, the total in `p_elems`, as the ZOMRO
//! BILLmanager 6 front end reads `func=vds`; see `../shared/api/wire-format.md` §4). A billing
//! may cap its pages below the `p_cnt` asked for and may leave `p_elems` out, so a short page
//! does not end a list: the [`Pager`] reads until the stated total is reached, or, without a
//! total, until a page brings nothing. The list is *not known complete* ([`Listing::gap`])
//! when a page repeats rows already seen (an install that ignores `p_num`), when rows have no
//! id or no status (neither `status` nor `item_status`), when pages end before the stated
//! total, and when a saved filter could not be cleared: callers never conclude from such a
//! list that a service is absent.
//!
//! Saved list filters are sticky: a `<type>.filter … sok=ok` stores a per-user filter that
//! silently applies to every later list call (ISPsystem's documented licence example stores
//! one with `software.filter&expires=…&expiree=…&sok=ok`, then lists `func=software`:
//! <http://en.ispdoc.com/index.php/Order_ISPsystem_software_licenses_through_BILLmanager_API>).
//! Real clients clear it by submitting the filter form with empty fields and `sok=ok`, and
//! keep the neutral defaults the form shows (`createdate=nodate`, `compare_type=null`) — the
//! `clearListFilter` of the BILLmanager connector cited as TS-CONN in `wire-format.md`, which
//! also notes that some installs answer such a post by echoing the form without saving it.
//! billfleet therefore reads the filter form first (one call when nothing is set), clears
//! only when a field is set — naming every field of the form, empty — and reads the form
//! again: a field still set means the reset failed, and the list is not known complete.

use std::collections::{BTreeSet, HashSet};

use super::client::{BillingClient, CallKind};
use super::doc::Node;
use super::error::{ApiError, ErrorKind};
use super::types::Service;

/// Rows asked for per page of a service list.
pub const PAGE_SIZE: usize = 1000;
/// Pages read at most from one list (a billing that ignores paging cannot loop us forever).
const MAX_PAGES: usize = 10_000;

/// Values of a filter form that mean "no filter on this field".
const NEUTRAL: &[&str] = &["", "null", "nodate", "all", "any", "*"];
/// Top-level fields of a filter form that are not filter fields.
const NOT_FIELDS: &[&str] = &[
    "func",
    "elid",
    "sok",
    "out",
    "lang",
    "tparams",
    "progressid",
    "clicked_button",
    "plid",
    "page",
    "p_cnt",
    "p_num",
    "p_elems",
    "title",
    "snext",
    "sback",
    "sfrom",
];

/// Every row of a service list, and whether that list is known to be complete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// The services listed, each once, in the billing's order.
    pub services: Vec<Service>,
    /// Why the list is not known to be complete; `None` when it is.
    pub gap: Option<String>,
}

impl Listing {
    /// True when every service the billing holds is in [`Self::services`].
    pub fn is_complete(&self) -> bool {
        self.gap.is_none()
    }

    /// The services, or an error when the list is not known complete (for callers that must
    /// fail closed rather than take a missing service for absent).
    pub fn into_complete(self, item_type: &str) -> Result<Vec<Service>, ApiError> {
        match self.gap {
            None => Ok(self.services),
            Some(why) => Err(incomplete(item_type, &why)),
        }
    }
}

/// The error of a list that is not known complete.
pub fn incomplete(item_type: &str, why: &str) -> ApiError {
    ApiError::new(ErrorKind::Protocol, item_type, true, false).with_detail(format!(
        "the service list is not known to be complete: {why}"
    ))
}

/// The paging of one list as a state machine fed page by page: which `p_num` to ask next,
/// and when the list is done (complete or not). Pure, so that it is tested over any page
/// source.
#[derive(Debug)]
pub struct Pager {
    page: usize,
    seen: HashSet<String>,
    services: Vec<Service>,
    total: Option<usize>,
    gap: Option<String>,
}

impl Default for Pager {
    fn default() -> Self {
        Self::new()
    }
}

impl Pager {
    /// A list not read yet.
    pub fn new() -> Self {
        Self {
            page: 1,
            seen: HashSet::new(),
            services: Vec::new(),
            total: None,
            gap: None,
        }
    }

    /// The page number (`p_num`) to ask for next.
    pub fn page(&self) -> usize {
        self.page
    }

    /// Takes the answer to [`Self::page`]: its readable rows, how many rows could not be read
    /// (no id, no status), and the total it states (`p_elems`). Returns `true` when another
    /// page must be read.
    pub fn feed(&mut self, rows: Vec<Service>, unreadable: usize, total: Option<usize>) -> bool {
        let page = self.page;
        if unreadable > 0 {
            return self.stop(format!(
                "page {page} has {unreadable} rows without an id or a readable status"
            ));
        }
        let count = rows.len();
        let mut repeated = 0usize;
        for service in rows {
            if self.seen.insert(service.id.clone()) {
                self.services.push(service);
            } else {
                repeated += 1;
            }
        }
        if repeated > 0 {
            return self.stop(format!(
                "page {page} repeats {repeated} rows of earlier pages (the billing may ignore \
                 p_num, or the list changed while it was read)"
            ));
        }
        if total.is_some() {
            self.total = total;
        }
        let have = self.services.len();
        match self.total {
            Some(t) if have >= t => false,
            Some(t) if count == 0 => self.stop(format!(
                "the billing states {t} services, but its pages ended after {have}"
            )),
            None if count == 0 => false,
            _ if page >= MAX_PAGES => self.stop(format!("more than {MAX_PAGES} pages")),
            _ => {
                self.page += 1;
                true
            }
        }
    }

    fn stop(&mut self, why: String) -> bool {
        self.gap.get_or_insert(why);
        false
    }

    /// The list as read.
    pub fn finish(self) -> Listing {
        Listing {
            services: self.services,
            gap: self.gap,
        }
    }
}

impl BillingClient {
    /// Every service of an item type, all pages, after clearing a saved list filter; the
    /// listing says whether it is known complete.
    ///
    /// The filter form and the first page are read at once: when the form shows no filter
    /// set (the usual case), that first page counts and the list costs no extra round trip;
    /// when a filter had to be cleared, the first page is read again.
    pub async fn list_services(&self, item_type: &str) -> Result<Listing, ApiError> {
        let (filter, first) = tokio::join!(
            self.clear_filter_once(item_type),
            self.list_page(item_type, 1)
        );
        let filter = filter?;
        let mut pending = match filter {
            Filter::Reset => None,
            Filter::Clean | Filter::NotCleared(_) => Some(first?),
        };
        let mut pager = Pager::new();
        loop {
            let page = match pending.take() {
                Some(page) => page,
                None => {
                    let n = pager.page();
                    if n > 1 {
                        self.progress(&format!("surveying {item_type}: page {n}…"));
                    }
                    self.list_page(item_type, n).await?
                }
            };
            if !pager.feed(page.rows, page.unreadable, page.total) {
                break;
            }
        }
        let mut listing = pager.finish();
        if let Filter::NotCleared(why) = filter {
            listing.gap.get_or_insert(why);
        }
        if let Some(why) = &listing.gap {
            tracing::warn!("the {item_type} list is not known to be complete: {why}");
        }
        Ok(listing)
    }

    /// One page of a list: its readable rows, how many rows could not be read, the total.
    async fn list_page(&self, item_type: &str, page: usize) -> Result<Page, ApiError> {
        let page_size = PAGE_SIZE.to_string();
        let p_num = page.to_string();
        let params = [("p_cnt", page_size.as_str()), ("p_num", p_num.as_str())];
        let doc = self.call(item_type, &params, CallKind::Read).await?;
        let mut unreadable = 0;
        // A row without an id or a status cannot be told live or deleted: a gap.
        let rows: Vec<Service> = doc
            .children("elem")
            .filter_map(|e| {
                let service = Service::from_elem(e).filter(|s| s.status != 0);
                unreadable += usize::from(service.is_none());
                service
            })
            .collect();
        let total = doc
            .value("p_elems")
            .and_then(|t| t.trim().parse::<usize>().ok());
        Ok(Page {
            rows,
            unreadable,
            total,
        })
    }

    /// Every service of an item type, or an error when the list is not known complete.
    pub async fn list_complete(&self, item_type: &str) -> Result<Vec<Service>, ApiError> {
        self.list_services(item_type)
            .await?
            .into_complete(item_type)
    }

    /// Clears the saved list filter of `item_type` once per client: whether none was set, one
    /// was cleared, or it could not be cleared (the list read after it is not known
    /// complete); fatal errors (credentials refused) and transient ones (retried by the
    /// caller) are errors.
    async fn clear_filter_once(&self, item_type: &str) -> Result<Filter, ApiError> {
        let cleared = || {
            self.inner
                .filters_cleared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(item_type)
        };
        if cleared() {
            return Ok(Filter::Clean);
        }
        match self.reset_filter(&format!("{item_type}.filter")).await {
            Ok(reset) => {
                self.inner
                    .filters_cleared
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(item_type.to_owned());
                Ok(if reset { Filter::Reset } else { Filter::Clean })
            }
            // A refusal stops; a transient failure (a 503, a timeout) is the caller's to retry
            // like any read, never taken for a filter that cannot be cleared.
            Err(e) if e.is_fatal() || e.retryable() => Err(e),
            Err(e) => Ok(Filter::NotCleared(format!(
                "the saved list filter was not cleared: {e}"
            ))),
        }
    }

    /// Reads the filter form; when a field is set, submits it with every field empty and
    /// checks that the fields are clear now (`Ok(true)`). A billing without the filter
    /// function has no saved filter (`Ok(false)`).
    async fn reset_filter(&self, func: &str) -> Result<bool, ApiError> {
        let form = match self.call(func, &[], CallKind::Read).await {
            Ok(doc) => doc,
            Err(e) if super::calls::unknown_function(&e) => {
                tracing::debug!(func, error = %e, "no list filter function");
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let set = set_fields(form.root());
        if set.is_empty() {
            return Ok(false);
        }
        tracing::info!("a saved list filter is set ({}); clearing it", names(&set));
        let cleared = reset_params(form.root());
        let mut params: Vec<(&str, &str)> = cleared
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.push(("sok", "ok"));
        self.call(func, &params, CallKind::Read).await?;
        let after = self.call(func, &[], CallKind::Read).await?;
        let still: BTreeSet<String> = set_fields(after.root())
            .intersection(&set)
            .cloned()
            .collect();
        if still.is_empty() {
            Ok(true)
        } else {
            // A billing that keeps its filter: no retry changes that (not a transient error).
            let kind = ErrorKind::Refused {
                kind: "filter_kept".into(),
                object: func.to_owned(),
            };
            Err(ApiError::new(kind, func, true, false).with_detail(format!(
                "fields still set after the reset: {}",
                names(&still)
            )))
        }
    }
}

/// What clearing a saved list filter found.
enum Filter {
    /// No filter was set: a page read meanwhile counts.
    Clean,
    /// A filter was set and is cleared now: pages read before must be read again.
    Reset,
    /// The filter could not be cleared, and why.
    NotCleared(String),
}

/// One page of a list as read.
struct Page {
    rows: Vec<Service>,
    unreadable: usize,
    total: Option<usize>,
}

/// The filter fields of a form: top-level scalar fields that are not form plumbing.
fn fields(form: &Node) -> impl Iterator<Item = &Node> {
    form.all_children()
        .iter()
        .filter(|n| n.all_children().is_empty())
        .filter(|n| !NOT_FIELDS.contains(&n.name()) && !n.name().starts_with('$'))
}

/// The fields of a filter form that hold a value other than a neutral default.
fn set_fields(form: &Node) -> BTreeSet<String> {
    fields(form)
        .filter(|n| !is_neutral(n.text().unwrap_or_default()))
        .map(|n| n.name().to_owned())
        .collect()
}

/// The submission that clears a filter form: every field empty, neutral defaults kept.
fn reset_params(form: &Node) -> Vec<(String, String)> {
    fields(form)
        .map(|n| {
            let value = n.text().unwrap_or_default().trim();
            let kept = if is_neutral(value) { value } else { "" };
            (n.name().to_owned(), kept.to_owned())
        })
        .collect()
}

fn is_neutral(value: &str) -> bool {
    NEUTRAL.contains(&value.trim().to_ascii_lowercase().as_str())
}

fn names(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
