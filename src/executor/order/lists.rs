//! Finding the fleet's servers in the billing's service lists, and the lists shared by every
//! reconcile of a run.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use crate::api::{ApiError, BillingClient, Listing, Service};

pub use crate::plan::resume::is_live;

/// The live service of `services` that is this server: by remoteid, else by exact domain.
pub fn find_live<'a>(
    services: &'a [Service],
    remoteid: Option<&str>,
    domain: Option<&str>,
) -> Option<&'a Service> {
    let live = || services.iter().filter(|s| is_live(s));
    remoteid
        .and_then(|r| live().find(|s| s.remoteid.as_deref() == Some(r)))
        .or_else(|| {
            let domain = domain?;
            live().find(|s| {
                s.domain
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(domain))
            })
        })
}

/// Who holds a domain the billing refused as taken, by a list asked for after the refusal.
#[derive(Debug, PartialEq, Eq)]
pub enum Holder<'a> {
    /// This account's live service at that domain, with the server's remoteid or none: the
    /// server itself (ordered by an earlier or a concurrent run).
    Ours(&'a Service),
    /// Nobody of this account, as far as a complete list shows.
    Other,
    /// Unknown: the list is not known complete (why).
    Unknown(&'a str),
}

/// Who holds `domain`, refused as taken for the server sending `remoteid`, by `listing`.
/// A live service with another remoteid is another server, never this one.
pub fn holder<'a>(listing: &'a Listing, domain: &str, remoteid: Option<&str>) -> Holder<'a> {
    let found = find_live(&listing.services, None, Some(domain)).filter(|s| {
        match (s.remoteid.as_deref(), remoteid) {
            (Some(held), Some(mine)) => held == mine,
            _ => true,
        }
    });
    match (found, listing.gap.as_deref()) {
        (Some(service), _) => Holder::Ours(service),
        (None, Some(why)) => Holder::Unknown(why),
        (None, None) => Holder::Other,
    }
}

/// The service lists of a run, shared by every reconcile: a look-up reuses a list only when
/// that list was asked for after the answer (or failure) of the call being checked (so a reconcile never misses
/// an order that did land), and concurrent look-ups share one list call.
pub struct ServiceLists {
    client: BillingClient,
    // A tokio mutex: held across the list call, so concurrent reconciles wait for one list.
    cache: tokio::sync::Mutex<HashMap<String, Listed>>,
}

/// A list of one item type and when it was asked for.
type Listed = (Instant, Arc<Listing>);

impl ServiceLists {
    /// Lists through `client`.
    pub fn new(client: BillingClient) -> Self {
        Self {
            client,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The services of `item_type` as listed by a call made after `after` (the listing says
    /// whether it is known complete: a server missing from an incomplete one is not absent).
    pub async fn since(&self, item_type: &str, after: Instant) -> Result<Arc<Listing>, ApiError> {
        let mut cache = self.cache.lock().await;
        if let Some((asked, services)) = cache.get(item_type)
            && *asked >= after
        {
            return Ok(Arc::clone(services));
        }
        let asked = Instant::now();
        let services = Arc::new(self.client.list_services(item_type).await?);
        cache.insert(item_type.to_owned(), (asked, Arc::clone(&services)));
        Ok(services)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str, domain: &str, remoteid: Option<&str>, status: u8) -> Service {
        Service {
            id: id.into(),
            domain: Some(domain.into()),
            remoteid: remoteid.map(Into::into),
            status,
            ..Service::default()
        }
    }

    #[test]
    fn live_services_match_by_remoteid_then_domain() {
        let services = [
            service("1", "a.example.com", Some("web-1"), 4),
            service("2", "A.example.com", None, 2),
            service("3", "b.example.com", Some("web-2"), 5),
        ];
        let id = |r, d| find_live(&services, r, d).map(|s| s.id.as_str());
        assert_eq!(id(Some("web-2"), Some("a.example.com")), Some("3"));
        assert_eq!(
            id(Some("web-1"), Some("a.example.com")),
            Some("2"),
            "deleted ones do not count"
        );
        assert_eq!(id(None, Some("c.example.com")), None);
    }

    #[test]
    fn a_taken_domain_is_ours_only_with_our_remoteid_or_none() {
        let mut listing = Listing {
            services: vec![
                service("1", "a.example.com", None, 2),
                service("2", "b.example.com", Some("web-2"), 5),
                service("3", "c.example.com", Some("db-1"), 2),
                service("4", "d.example.com", None, 4),
            ],
            gap: None,
        };
        let ours = |l: &Listing, d, r| match holder(l, d, r) {
            Holder::Ours(s) => Some(s.id.clone()),
            _ => None,
        };
        assert_eq!(
            ours(&listing, "A.example.com", Some("web-1")),
            Some("1".into())
        );
        assert_eq!(
            ours(&listing, "b.example.com", Some("web-2")),
            Some("2".into())
        );
        assert_eq!(
            holder(&listing, "c.example.com", Some("web-3")),
            Holder::Other
        );
        assert_eq!(
            holder(&listing, "d.example.com", Some("web-4")),
            Holder::Other
        );
        listing.gap = Some("page 2 repeats 7 rows".into());
        assert_eq!(
            holder(&listing, "e.example.com", Some("web-5")),
            Holder::Unknown("page 2 repeats 7 rows")
        );
        assert_eq!(ours(&listing, "a.example.com", None), Some("1".into()));
    }
}
