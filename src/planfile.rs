//! Saved plans on disk (the I/O beside the pure [`crate::plan::file`]): `plan --out FILE` writes one ([`save`]); `apply FILE`
//! recognises one by its marker ([`resolve`]), and before anything that changes anything is
//! sent checks that it still holds ([`check`]): the manifest's bytes, the billing, and every
//! action with what it depends on. Otherwise: exit 3, "the saved plan is stale; plan again".

use std::path::{Path, PathBuf};

use crate::api::BillingClient;
use crate::cli::ApplyArgs;
use crate::failure::CmdError;
use crate::plan::Plan;
use crate::plan::file::{self, BillingRef, ManifestRef, SavedPlan};

/// `apply`'s arguments once a saved plan (if one was given) is resolved.
pub struct Resolved {
    /// The arguments, with the manifest path, `--prune` and `--target` of the saved plan.
    pub args: ApplyArgs,
    /// The saved plan, when the argument was one.
    pub saved: Option<SavedPlan>,
}

/// Reads `args.manifest`: a saved plan is detected by its marker; anything else is taken for
/// a manifest (loading reports its errors).
pub fn resolve(args: &ApplyArgs) -> Result<Resolved, CmdError> {
    let not_saved = || Resolved {
        args: args.clone(),
        saved: None,
    };
    let Ok(text) = std::fs::read_to_string(&args.manifest) else {
        return Ok(not_saved());
    };
    let Some(saved) = SavedPlan::detect(&text).map_err(CmdError::bad_input)? else {
        return Ok(not_saved());
    };
    if args.prune || !args.targets.target.is_empty() {
        return Err(CmdError::bad_input(
            "--target and --prune act at plan time: give them to `plan --out`, not with a \
             saved plan",
        ));
    }
    let mut resolved = args.clone();
    resolved.manifest = manifest_path(&args.manifest, &saved.manifest.path);
    resolved.prune = saved.prune;
    resolved.targets.target.clone_from(&saved.targets);
    Ok(Resolved {
        args: resolved,
        saved: Some(saved),
    })
}

/// The manifest a saved plan names: as given when it was made, else beside the plan file.
fn manifest_path(plan_file: &Path, recorded: &str) -> PathBuf {
    let recorded = PathBuf::from(recorded);
    if recorded.is_absolute() || recorded.exists() {
        return recorded;
    }
    plan_file
        .parent()
        .map_or_else(|| recorded.clone(), |dir| dir.join(&recorded))
}

fn stale(detail: &str) -> CmdError {
    CmdError::aborted(format!("the saved plan is stale; plan again ({detail})"))
}

/// The manifest's bytes must be those planned.
pub fn check_manifest(saved: &SavedPlan, manifest: &Path) -> Result<(), CmdError> {
    let bytes = std::fs::read(manifest)
        .map_err(|e| CmdError::bad_input(format!("cannot read {}: {e}", manifest.display())))?;
    if file::sha256_hex(&bytes) != saved.manifest.sha256 {
        return Err(stale(&format!(
            "{} changed since the plan was made",
            manifest.display()
        )));
    }
    Ok(())
}

/// The billing and user must be those planned, and every action must still be what the
/// billing shows now (`fresh`: the same manifest planned again).
pub fn check(saved: &SavedPlan, here: &BillingRef, fresh: &Plan) -> Result<(), CmdError> {
    if *here != saved.billing {
        return Err(stale(&format!(
            "it was made for {} as {}, this run talks to {} as {}",
            saved.billing.url, saved.billing.user, here.url, here.user
        )));
    }
    let differences = file::differences(&saved.actions, &file::actions(fresh));
    if let Some(first) = differences.first() {
        let more = differences.len() - 1;
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(stale(&format!("{first}{tail}")));
    }
    Ok(())
}

/// Where a plan is made: the billing URL without any user info, and the user. The sandbox
/// listens on a new port each run, so it is named, not addressed.
pub fn billing_ref(client: &BillingClient, sandbox: bool) -> BillingRef {
    let opts = client.options();
    let url = if sandbox {
        "sandbox".to_owned()
    } else {
        match url::Url::parse(&opts.base_url) {
            Ok(mut url) => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) => opts.base_url.clone(),
        }
    };
    BillingRef {
        url,
        user: opts.user.clone(),
    }
}

/// What `plan --out` records besides the plan itself.
pub struct SaveContext<'a> {
    /// The manifest as given on the command line.
    pub manifest: &'a Path,
    /// `--prune`.
    pub prune: bool,
    /// `--target` selectors.
    pub targets: &'a [String],
}

/// Writes the saved plan to `out`.
pub fn save(
    out: &Path,
    how: &SaveContext<'_>,
    billing: BillingRef,
    plan: &Plan,
) -> Result<(), CmdError> {
    let bytes = std::fs::read(how.manifest)
        .map_err(|e| CmdError::bad_input(format!("cannot read {}: {e}", how.manifest.display())))?;
    let money = |m: &crate::money::Money| format!("{} {}", m.amount(), m.currency);
    let saved = SavedPlan {
        billfleet_plan: file::VERSION,
        manifest: ManifestRef {
            path: how.manifest.display().to_string(),
            sha256: file::sha256_hex(&bytes),
        },
        billing,
        prune: how.prune,
        targets: how.targets.to_vec(),
        actions: file::actions(plan),
        cost: plan.cost.as_ref().map(money),
        balance: plan.balance.as_ref().map(money),
    };
    std::fs::write(out, saved.to_json())
        .map_err(|e| CmdError::aborted(format!("cannot write the plan {}: {e}", out.display())))
}
