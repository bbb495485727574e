//! `billfleet plan`: the dry run. Offline it expands the manifest; online it merges the
//! [`Settings`], surveys the billing ([`crate::survey`]: login, lists, price previews, the
//! balance, edit forms; transient failures retried), hands the plan to `report::plan` and,
//! with `--out`, to [`crate::planfile`] — and never sends a paid call. A plan that cannot be
//! completed (unknown tariff, refused preview, a failed list) is exit 1 naming the group.

use tokio_util::sync::CancellationToken;

use super::connect::{Pace, connect};
use super::{CmdError, CmdResult};
use crate::cli::{OutputFormat, PlanArgs};
use crate::exit;
use crate::manifest::Manifest;
use crate::plan::{self, Plan, Targets};
use crate::planfile::{self, SaveContext};
use crate::settings::Settings;
use crate::survey::forms::{self, Completion};

/// `billfleet plan`.
pub async fn run(args: &PlanArgs) -> CmdResult {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    let manifest = &loaded.manifest;
    let targets = Targets::parse(manifest, &args.targets.target).map_err(CmdError::bad_input)?;
    let plan = if args.offline {
        let mut plan = plan::plan_offline(manifest);
        if let Some(targets) = &targets {
            plan.select(targets);
        }
        plan
    } else {
        online(args, manifest, targets.as_ref()).await?
    };
    if let Some(problem) = blocked_error(&plan) {
        return Err(problem);
    }
    crate::report::plan::print(&plan, args.output == OutputFormat::Json)
        .map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))?;
    if args.detailed_exitcode && plan.summary().has_changes() {
        return Ok(exit::CHANGES_PENDING);
    }
    Ok(exit::OK)
}

/// A plan that cannot be completed is an error (exit 1) naming every blocked group.
fn blocked_error(plan: &Plan) -> Option<CmdError> {
    if plan.blocked.is_empty() {
        return None;
    }
    let lines: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("group `{}`: {}", b.group, b.reason))
        .collect();
    Some(CmdError::some_failed(format!(
        "the plan cannot be completed; `apply` would order nothing for these groups:\n  {}",
        lines.join("\n  ")
    )))
}

/// Connect, survey, complete the plan (edit forms, targets, prune), save it with `--out`;
/// the session is closed whatever happened.
async fn online(
    args: &PlanArgs,
    manifest: &Manifest,
    targets: Option<&Targets>,
) -> Result<Plan, CmdError> {
    let settings = Settings::for_plan(&args.manifest, manifest)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    let pace = Pace::of(&settings);
    let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
    let planned = async {
        let found = crate::survey::survey_retried(&conn.client, manifest, settings.retry).await?;
        let mut plan = found.plan;
        let how = Completion {
            targets,
            prune: args.prune,
            policy: settings.policy.clone(),
            cancel: CancellationToken::new(),
        };
        forms::complete(&conn.client, manifest, &mut plan, &found.unit_prices, how).await?;
        Ok::<_, CmdError>(plan)
    }
    .await;
    conn.client.logout().await;
    let plan = planned?;
    if let (Some(out), true) = (&args.out, plan.blocked.is_empty()) {
        let how = SaveContext {
            manifest: &args.manifest,
            prune: args.prune,
            targets: &args.targets.target,
        };
        let billing = planfile::billing_ref(&conn.client, conn.sandbox.is_some());
        planfile::save(out, &how, billing, &plan)?;
        tracing::info!(
            "plan saved to {}; `billfleet apply {}` applies it",
            out.display(),
            out.display()
        );
    }
    Ok(plan)
}
