//! `billfleet doctor MANIFEST [--capture FILE]`: a read-only first contact with a billing.
//!
//! One line per check, each `✓` or `✗` (with a hint): the URL and TLS, the login, the account
//! and balance, each item type's service list (all pages, which columns it has), each group's
//! tariff, order form (addon ids and ranges, OS template, period, and which of the known form
//! shapes the install uses) and price, then what `apply` would do. It sends nothing that
//! changes a service: only lists, forms without `sok`, `whoami` and the list-filter reset every
//! list read starts with (shown). Exit 0 when billfleet can work with the install, 1 when a
//! check fails.
//!
//! `--capture FILE` writes every request and answer as JSON lines (`func`, `params`, `status`,
//! `body`) with the password, `authinfo`, session ids and login keys removed (see
//! [`crate::api::tap`]); the file is owner-only because it still holds account data.
//!
//! The probing is [`crate::doctor`], the output [`crate::report::doctor`]; here are the glue
//! and what `apply` would do (the plan's own reads).

use tokio_util::sync::CancellationToken;

use super::connect::{Pace, connect};
use super::{CmdError, CmdResult};
use crate::api::{BillingClient, Service};
use crate::cli::DoctorArgs;
use crate::doctor::{self, Checks, capture::Capture};
use crate::executor::Policy;
use crate::exit;
use crate::manifest::Manifest;
use crate::plan;
use crate::survey::fleet;
use crate::survey::forms::{self as converge, Completion};

/// `billfleet doctor`.
pub async fn run(args: &DoctorArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let manifest = &loaded.manifest;
    let settings = crate::settings::Settings::for_plan(&args.manifest, manifest)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    let pace = Pace::of(&settings);
    let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
    let capture = args.capture.as_deref().map(Capture::create).transpose()?;
    let client = match &capture {
        Some(c) => conn
            .client
            .tapped(c.tap())
            .map_err(|e| CmdError::bad_input(e.to_string()))?,
        None => conn.client.clone(),
    };
    let mut checks = Checks::default();
    if doctor::account(&mut checks, &client).await {
        let kinds = fleet::item_types(manifest);
        let lists = doctor::service_lists(&mut checks, &client, kinds).await;
        for group in manifest.groups() {
            doctor::order_form(&mut checks, &client, manifest, group).await;
        }
        if let Some(services) = lists {
            would_do(&mut checks, &client, manifest, &services, &settings.policy).await;
        }
    }
    client.logout().await;
    crate::report::doctor::print(checks.list())
        .map_err(|e| CmdError::aborted(format!("cannot write the checks: {e}")))?;
    if let (Some(c), Some(path)) = (&capture, &args.capture) {
        c.finish().map_err(|e| {
            CmdError::aborted(format!("cannot write the capture {}: {e}", path.display()))
        })?;
        crate::report::eprint_line(&format!(
            "capture written to {} (owner-only): passwords, authinfo, session ids and login \
             keys are removed, but it still holds account data (names, e-mails, IPs); share it \
             with care",
            path.display()
        ));
    }
    Ok(if checks.all_ok() {
        exit::OK
    } else {
        exit::SOME_FAILED
    })
}

/// What `apply` would do, from the lists read and the edit forms of the present services
/// (the reads `plan` makes, so a capture holds everything a replayed `plan` asks for).
async fn would_do(
    checks: &mut Checks,
    client: &BillingClient,
    manifest: &Manifest,
    services: &[(String, Service)],
    policy: &Policy,
) {
    let existing = fleet::existing_all(services);
    let mut plan = plan::plan_against(manifest, &existing);
    let how = Completion {
        targets: None,
        prune: false,
        policy: policy.clone(),
        cancel: CancellationToken::new(),
    };
    if let Err(e) = converge::complete(client, manifest, &mut plan, &[], how).await {
        checks.fail(
            format!("the edit forms of present services: {e}"),
            "billfleet reads them to find drift; check the account's rights on `<type>.edit`",
        );
        return;
    }
    let s = plan.summary();
    checks.pass(format!(
        "apply would order {}, find {} present ({} to update), {} in conflict; {} undeclared \
         look-alikes (never touched without --prune)",
        s.order,
        s.exists + s.update,
        s.update,
        s.conflict,
        s.orphan + s.delete
    ));
}
