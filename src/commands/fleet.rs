//! What the billing already has of a fleet: the service lists of every item type the
//! manifest uses, in the planner's terms.

use std::collections::BTreeSet;

use crate::api::{ApiError, BillingClient, Service};
use crate::manifest::Manifest;
use crate::plan::Existing;

/// The item types a manifest orders, each once.
pub fn item_types(manifest: &Manifest) -> BTreeSet<String> {
    manifest.groups().map(|g| g.kind.clone()).collect()
}

/// Lists every service of every item type the manifest uses.
pub async fn list_all(
    client: &BillingClient,
    manifest: &Manifest,
) -> Result<Vec<(String, Service)>, ApiError> {
    let mut all = Vec::new();
    for kind in item_types(manifest) {
        crate::report::spinner::say(&format!("surveying {kind}: listing the services…"));
        let services = client.list_services(&kind).await?;
        all.extend(services.into_iter().map(|s| (kind.clone(), s)));
    }
    Ok(all)
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
