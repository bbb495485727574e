//! `billfleet status`: reads the fleet as the billing sees it now (never changes anything),
//! reads the activation key of each live license (`<type>.edit elid=ID`, read only), and
//! hands the [`StatusReport`] to `report::status` for the table, JSON, CSV or inventory.

use crate::api::{BillingClient, is_license_type};
use crate::cli::{ConfirmArgs, StatusArgs};
use crate::commands::{CmdError, CmdResult};
use crate::exit;
use crate::plan::fleet::Fleet;
use crate::report::status::StatusReport;
use crate::survey::fleet;

/// `billfleet status`.
pub async fn status(args: &StatusArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let manifest = &loaded.manifest;
    let targets =
        crate::plan::Targets::parse(manifest, &args.targets.target).map_err(CmdError::bad_input)?;
    let settings = super::settings(&loaded, &ConfirmArgs::default())?;
    let conn = crate::commands::connect::connect(
        &manifest.billing,
        &args.billing,
        Some(&args.manifest),
        crate::commands::connect::Pace::of(&settings),
    )
    .await?;
    let result = async {
        let services = fleet::list_all(&conn.client, manifest).await?;
        let existing = fleet::existing_all(&services);
        let mut fleet = Fleet::identify(manifest, &services, &existing);
        if let Some(targets) = &targets {
            fleet.restrict(targets);
        }
        let mut report = StatusReport::new(&fleet);
        read_keys(&conn.client, &fleet, &mut report).await;
        Ok::<_, CmdError>(report)
    }
    .await;
    conn.client.logout().await;
    let report = result?;
    if let Some(path) = &args.inventory {
        crate::report::status::write_inventory(&report, path).map_err(CmdError::aborted)?;
    }
    crate::report::status::print(&report, args.output).map_err(CmdError::aborted)?;
    Ok(exit::OK)
}

/// Reads the key of every active or suspended license of the fleet (one read-only call each).
/// A key that cannot be read stays empty, with a warning that never holds a key.
async fn read_keys(client: &BillingClient, fleet: &Fleet, report: &mut StatusReport) {
    for (member, row) in fleet.members.iter().zip(report.servers.iter_mut()) {
        let Some(service) = member.service() else {
            continue;
        };
        if !is_license_type(&member.item_type) || !matches!(service.status, 2 | 3) {
            continue;
        }
        match client.license_info(&member.item_type, &service.id).await {
            Ok(info) => row.lickey = info.lickey.map(|k| k.expose().to_owned()),
            Err(e) => tracing::warn!("cannot read the key of license {}: {e}", service.id),
        }
    }
}
