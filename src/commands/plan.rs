//! `billfleet plan`: the dry run. Offline it expands the manifest; online it also logs in,
//! lists what exists, prices each group with the billing's own order preview and reads the
//! balance — and never sends a paid call.

use std::io::Write;

use tokio_util::sync::CancellationToken;

use super::connect::{Pace, connect};
use super::{CmdError, CmdResult};
use crate::cli::{OutputFormat, PlanArgs};
use crate::executor::Policy;
use crate::exit;
use crate::manifest::Manifest;
use crate::plan::{self, Plan, Targets};
use crate::planfile::{self, SaveContext};
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
        let pace = Pace::from_execution(&manifest.execution, None);
        let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
        let found = crate::survey::survey(&conn.client, manifest).await?;
        let mut plan = found.plan;
        let how = Completion {
            targets: targets.as_ref(),
            prune: args.prune,
            policy: read_policy(manifest),
            cancel: CancellationToken::new(),
        };
        forms::complete(&conn.client, manifest, &mut plan, &found.unit_prices, how).await?;
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
        plan
    };
    if let Some(problem) = blocked_error(&plan) {
        return Err(problem);
    }
    let mut out = std::io::BufWriter::new(crate::report::stdout());
    let written = match args.output {
        OutputFormat::Json => plan::render::json(&plan, &mut out),
        OutputFormat::Text => plan::render::text(&plan, &mut out),
    };
    written
        .and_then(|()| out.flush())
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

/// Concurrency and retries of the plan's reads (the manifest's `execution`).
pub(super) fn read_policy(manifest: &Manifest) -> Policy {
    let execution = &manifest.execution;
    Policy {
        concurrency: usize::try_from(execution.concurrency).unwrap_or(1).max(1),
        retries: u32::try_from(execution.retries).unwrap_or(0),
        ..Policy::default()
    }
}
