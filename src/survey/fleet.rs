//! What the billing already has of a fleet: the service lists of every item type the
//! manifest uses, in the planner's terms.

use std::collections::BTreeSet;

use futures_util::future::join_all;

use crate::api::{ApiError, BillingClient, Service};
use crate::manifest::Manifest;
use crate::plan::Existing;

/// The item types a manifest orders, each once.
pub fn item_types(manifest: &Manifest) -> BTreeSet<String> {
    manifest.groups().map(|g| g.kind.clone()).collect()
}

/// Lists every service of every item type the manifest uses; fails when a list is not known
/// complete (a command acting on the fleet must never take a missing service for absent).
pub async fn list_all(
    client: &BillingClient,
    manifest: &Manifest,
) -> Result<Vec<(String, Service)>, ApiError> {
    let mut all = Vec::new();
    for kind in item_types(manifest) {
        crate::report::spinner::say(&format!("surveying {kind}: listing the services…"));
        let services = client.list_complete(&kind).await?;
        all.extend(services.into_iter().map(|s| (kind.clone(), s)));
    }
    Ok(all)
}

/// Every service of the manifest's item types, the item types whose list is not known
/// complete, with why, and those whose list failed.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    /// `(item type, service)` pairs, as listed.
    pub services: Vec<(String, Service)>,
    /// `(item type, why)` of every list that is not known complete.
    pub gaps: Vec<(String, String)>,
    /// `(item type, error)` of every list that failed (not fatally).
    pub failed: Vec<(String, ApiError)>,
}

/// Lists every item type the manifest uses, noting the lists that are not known complete and
/// those that failed; only a fatal refusal (credentials, access) fails the whole.
pub async fn list_each(client: &BillingClient, manifest: &Manifest) -> Result<Lists, ApiError> {
    let kinds: Vec<String> = item_types(manifest).into_iter().collect();
    crate::report::spinner::say(&format!(
        "surveying {}: listing the services…",
        kinds.join(", ")
    ));
    // Every item type's list at once: they are independent reads.
    let listings = join_all(kinds.iter().map(|kind| client.list_services(kind))).await;
    let mut lists = Lists::default();
    for (kind, listing) in kinds.into_iter().zip(listings) {
        let listing = match listing {
            Ok(listing) => listing,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                lists.failed.push((kind, e));
                continue;
            }
        };
        if let Some(why) = listing.gap {
            lists.gaps.push((kind.clone(), why));
        }
        let listed = listing.services.into_iter().map(|s| (kind.clone(), s));
        lists.services.extend(listed);
    }
    Ok(lists)
}

/// The planner's view of a listed service.
pub fn existing(kind: &str, service: &Service) -> Existing {
    Existing {
        id: service.id.clone(),
        domain: service.domain.clone(),
        remoteid: service.remoteid.clone(),
        status: service.status,
        pricelist: service.pricelist.clone(),
        item_type: kind.to_owned(),
    }
}

/// The planner's view of all listed services.
pub fn existing_all(services: &[(String, Service)]) -> Vec<Existing> {
    services.iter().map(|(kind, s)| existing(kind, s)).collect()
}
