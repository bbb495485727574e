//! The survey's second half: each present service's edit form, read so the planner can tell
//! `exists` from `update`, with `--target` and `--prune` applied to the plan.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use crate::api::{BillingClient, EditForm, price_change};
use crate::executor::lifecycle::{Read, Runner};
use crate::executor::{ErrorClass, Outcome, Policy};
use crate::failure::CmdError;
use crate::manifest::Manifest;
use crate::money::Money;
use crate::plan::{Plan, Targets};

/// How the plan is completed after the survey.
pub struct Completion<'a> {
    /// `--target` (or a saved plan's targets).
    pub targets: Option<&'a Targets>,
    /// `--prune`.
    pub prune: bool,
    /// Concurrency and retries of the form reads.
    pub policy: Policy,
    /// Ctrl-C.
    pub cancel: CancellationToken,
}

/// Restricts the plan to the targets, reads the present servers' edit forms (drift), marks the
/// undeclared services for deletion with `--prune`, and prices the targeted orders and, where
/// the billing states it, the updates (an edit preview, see `crate::api::price`).
pub async fn complete(
    client: &BillingClient,
    manifest: &Manifest,
    plan: &mut Plan,
    unit_prices: &[Option<Money>],
    how: Completion<'_>,
) -> Result<(), CmdError> {
    if let Some(targets) = how.targets {
        plan.select(targets);
        let currency = plan
            .balance
            .as_ref()
            .map_or_else(String::new, |b| b.currency.clone());
        plan.cost = plan.cost_of_orders(unit_prices, &currency);
    }
    let forms = read_forms(client, plan, how.policy.clone(), how.cancel.clone()).await?;
    plan.with_forms(manifest, |id| forms.get(id).map(|f| &f.values));
    price_updates(client, plan, &forms, how.policy, how.cancel).await?;
    if how.prune {
        plan.prune();
    }
    Ok(())
}

/// The edit forms the plan needs, by service id. A form that cannot be read blocks its group
/// (the plan cannot be completed); a fatal refusal or an interruption stops.
async fn read_forms(
    client: &BillingClient,
    plan: &mut Plan,
    policy: Policy,
    cancel: CancellationToken,
) -> Result<HashMap<String, EditForm>, CmdError> {
    let needed = plan.forms_needed();
    if needed.is_empty() {
        return Ok(HashMap::new());
    }
    let jobs: Vec<Read<EditForm>> = needed
        .into_iter()
        .map(|(item_type, id)| {
            let client = client.clone();
            Read::new(id.clone(), move || {
                let (client, item_type, id) = (client.clone(), item_type.clone(), id.clone());
                async move { client.edit_form(&item_type, &id).await }
            })
        })
        .collect();
    let runner = Runner {
        policy,
        cancel,
        pacer: std::sync::Arc::clone(&client.options().pacer),
    };
    let mut forms = HashMap::new();
    for result in runner.run(jobs, None).await {
        match result.outcome {
            Outcome::Done(form) => {
                forms.insert(result.key, form);
            }
            Outcome::Failed {
                error,
                class: ErrorClass::Fatal,
            } => {
                return Err(CmdError::aborted(format!("the billing refused: {error}")));
            }
            Outcome::Failed { error, .. } => block_service(plan, &result.key, &error),
            Outcome::Skipped { reason } => return Err(CmdError::aborted(reason)),
        }
    }
    Ok(forms)
}

/// Previews each update's edit (`<type>.edit` with the changed fields, without `sok`) and
/// sets its price change where both the form and the preview state a price. A preview that
/// fails or states no price leaves the change unknown: it is not a reason to block the plan.
async fn price_updates(
    client: &BillingClient,
    plan: &mut Plan,
    forms: &HashMap<String, EditForm>,
    policy: Policy,
    cancel: CancellationToken,
) -> Result<(), CmdError> {
    let jobs: Vec<Read<EditForm>> = plan
        .updates_to_price()
        .into_iter()
        .filter(|d| forms.get(&d.service_id).is_some_and(|f| f.price.is_some()))
        .map(|d| {
            let id = d.service_id.clone();
            Read::edit_preview(client, id.clone(), d.item_type.clone(), id, d.params())
        })
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let runner = Runner {
        policy,
        cancel,
        pacer: std::sync::Arc::clone(&client.options().pacer),
    };
    for result in runner.run(jobs, None).await {
        match result.outcome {
            Outcome::Done(preview) => {
                let before = forms.get(&result.key).and_then(|f| f.price.as_ref());
                if let Some(change) = price_change(before, preview.price.as_ref()) {
                    plan.set_price_change(&result.key, change);
                }
            }
            Outcome::Failed {
                error,
                class: ErrorClass::Fatal,
            } => {
                return Err(CmdError::aborted(format!("the billing refused: {error}")));
            }
            Outcome::Failed { error, .. } => {
                tracing::warn!(service = %result.key, %error, "edit price preview failed; price change unknown");
            }
            Outcome::Skipped { reason } => return Err(CmdError::aborted(reason)),
        }
    }
    Ok(())
}

/// Blocks the group of the server whose service `id` could not be read.
fn block_service(plan: &mut Plan, id: &str, error: &str) {
    let found = plan
        .servers
        .iter()
        .find(|s| s.existing.as_ref().is_some_and(|e| e.id == id))
        .map(|s| (s.group_index, s.group.to_string(), s.key.clone()));
    if let Some((index, group, key)) = found {
        plan.block(
            index,
            &group,
            format!("cannot read the current values of {key} (service {id}): {error}"),
        );
    }
}
