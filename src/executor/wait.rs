//! After ordering: the fleet as the billing lists it (status, address, expiry), and `--wait`:
//! poll until every server is active with an address. One list call per item type per poll
//! for the whole fleet, with the polls backing off from 1 s to 15 s. A license also waits for
//! its activation key, read from `<type>.edit elid=ID` (`/doc/lickey`) the way ISPsystem's
//! own license module polls for it; keys go to the report and inventory, never to logs.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, BillingClient, Service, is_license_type};
use crate::report::inventory::{self, InventoryHost};

use super::order::rows::Entry;
use super::retry::ReadRetry;
use crate::plan::resume::is_live;

/// First pause between polls.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause between polls.
const MAX_PAUSE: Duration = Duration::from_secs(15);

/// Reads the lists once and updates the rows of the entries `which` selects.
pub async fn refresh(
    client: &BillingClient,
    retry: ReadRetry,
    entries: &mut [Entry],
    which: &dyn Fn(&Entry) -> bool,
) -> Result<(), ApiError> {
    let kinds: BTreeSet<String> = entries
        .iter()
        .filter(|e| which(e))
        .map(|e| e.item_type.clone())
        .collect();
    for kind in kinds {
        let services = retry.run(|| client.list_services(&kind)).await?.services;
        let index = ListIndex::new(&services);
        for entry in entries
            .iter_mut()
            .filter(|e| which(e) && e.item_type == kind)
        {
            if let Some(service) = index.find(entry) {
                entry.observe(service);
            }
        }
    }
    Ok(())
}

/// A listed fleet indexed by id, and its live services by remoteid and domain (the first
/// one listed wins), so that matching a large fleet stays linear.
struct ListIndex<'a> {
    by_id: HashMap<&'a str, &'a Service>,
    by_remoteid: HashMap<&'a str, &'a Service>,
    by_domain: HashMap<String, &'a Service>,
}

impl<'a> ListIndex<'a> {
    fn new(services: &'a [Service]) -> Self {
        let mut index = Self {
            by_id: HashMap::with_capacity(services.len()),
            by_remoteid: HashMap::new(),
            by_domain: HashMap::new(),
        };
        for s in services {
            index.by_id.entry(s.id.as_str()).or_insert(s);
            if !is_live(s) {
                continue;
            }
            if let Some(r) = s.remoteid.as_deref().filter(|r| !r.is_empty()) {
                index.by_remoteid.entry(r).or_insert(s);
            }
            if let Some(d) = s.domain.as_deref().filter(|d| !d.is_empty()) {
                index.by_domain.entry(d.to_ascii_lowercase()).or_insert(s);
            }
        }
        index
    }

    /// The service of `entry`: by its service id, else by remoteid, else by exact domain.
    fn find(&self, entry: &Entry) -> Option<&'a Service> {
        let row = &entry.row;
        row.service_id
            .as_deref()
            .and_then(|id| self.by_id.get(id))
            .or_else(|| {
                row.remoteid
                    .as_deref()
                    .and_then(|r| self.by_remoteid.get(r))
            })
            .or_else(|| self.by_domain.get(&row.domain.to_ascii_lowercase()))
            .copied()
    }
}

/// Polls until every entry `which` selects is active with an address, `timeout` has passed,
/// or `stop` fires. Returns how many are still not ready.
pub async fn until_active(
    client: &BillingClient,
    retry: ReadRetry,
    entries: &mut [Entry],
    which: &dyn Fn(&Entry) -> bool,
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<usize, ApiError> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        refresh(client, retry, entries, which).await?;
        collect_keys(client, retry, entries, which).await?;
        let waiting = entries
            .iter()
            .filter(|e| which(e) && (!e.is_ready() || needs_key(e)))
            .count();
        let now = Instant::now();
        if waiting == 0 || now >= deadline || stop.is_cancelled() {
            return Ok(waiting);
        }
        tracing::info!("waiting for {waiting} servers to become active");
        let nap = pause.min(deadline - now);
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(nap) => {}
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// True for an active license whose key has not been read yet.
fn needs_key(e: &Entry) -> bool {
    is_license_type(&e.item_type) && e.is_ready() && e.row.lickey.is_none()
}

/// Reads the key of every active license `which` selects that has none yet: one read-only
/// `<type>.edit elid=ID` each. A license whose key is not issued yet stays without one (the
/// next poll asks again).
pub async fn collect_keys(
    client: &BillingClient,
    retry: ReadRetry,
    entries: &mut [Entry],
    which: &dyn Fn(&Entry) -> bool,
) -> Result<(), ApiError> {
    for entry in entries.iter_mut().filter(|e| which(e) && needs_key(e)) {
        let Some(id) = entry.row.service_id.clone() else {
            continue;
        };
        let kind = entry.item_type.clone();
        let info = retry.run(|| client.license_info(&kind, &id)).await?;
        entry.row.lickey = info.lickey.map(|k| k.expose().to_owned());
        if entry.row.lickey.is_some() {
            tracing::debug!(service = %id, "license key read");
        }
    }
    Ok(())
}

/// Writes the Ansible inventory of every active server with an address.
pub fn write_inventory(path: &Path, entries: &[Entry]) -> std::io::Result<usize> {
    let hosts: Vec<InventoryHost> = entries
        .iter()
        .filter(|e| e.is_present() && e.is_ready())
        .filter_map(|e| {
            Some(InventoryHost {
                group: e.row.group.clone(),
                key: e.key.clone(),
                domain: Some(e.row.domain.clone()).filter(|d| !d.is_empty()),
                ip: e.row.ip.clone()?,
                lickey: e.row.lickey.clone(),
            })
        })
        .collect();
    inventory::write(path, &hosts)?;
    Ok(hosts.len())
}
