//! `billfleet validate`: parse and check a manifest. Offline it never contacts the billing;
//! with `--online` it then checks every group against the billing's catalog (tariff, addon
//! ids and ranges, enums, OS templates, recipes, datacenters, periods) and reports every
//! problem at its position in the manifest. The checks are [`crate::manifest::online`].

use super::connect::{Pace, connect};
use super::{CmdError, CmdResult};
use crate::catalog::{CatalogReader, Lookup, offered_tariffs};
use crate::cli::{OutputFormat, ValidateArgs};
use crate::exit;
use crate::manifest::online::check_group;
use crate::manifest::{Diagnostic, Diagnostics, Loaded};

/// Prints `ok: N servers in G groups`, or every problem with its position (exit 2); with
/// `--output json`, one JSON object on stdout either way (diagnostics also on stderr).
pub async fn run(args: &ValidateArgs) -> CmdResult {
    let json = args.output == OutputFormat::Json;
    let (servers, groups) = match check(args).await {
        Ok(counts) => counts,
        Err(e) => {
            if let (true, Some(d)) = (json, e.diagnostics()) {
                let errors: Vec<_> = d.0.iter().map(Diagnostic::to_json).collect();
                print(&serde_json::json!({"valid": false, "errors": errors}).to_string())?;
            }
            return Err(e);
        }
    };
    let line = if json {
        serde_json::json!({
            "valid": true,
            "servers": servers,
            "groups": groups,
            "online": args.online,
        })
        .to_string()
    } else {
        let counted = format!(
            "ok: {} in {}",
            crate::report::plural(servers, "server"),
            crate::report::plural(groups, "group")
        );
        if args.online {
            format!("{counted} (checked against the billing)")
        } else {
            counted
        }
    };
    print(&line)?;
    Ok(exit::OK)
}

/// Loads and checks the manifest; returns how many servers and groups it declares.
async fn check(args: &ValidateArgs) -> Result<(usize, usize), CmdError> {
    let loaded = crate::manifest::load_file(&args.manifest)?;
    if args.online {
        check_online(&loaded, args).await?;
    }
    let groups = loaded.manifest.groups().count();
    let servers: i64 = loaded.manifest.groups().map(|g| g.count).sum();
    Ok((usize::try_from(servers).unwrap_or(0), groups))
}

fn print(line: &str) -> Result<(), CmdError> {
    crate::report::data::line(line)
        .map_err(|e| CmdError::aborted(format!("cannot write to stdout: {e}")))
}

/// Connects as `plan` would and checks each group against its tariff's order form.
async fn check_online(loaded: &Loaded, args: &ValidateArgs) -> Result<(), CmdError> {
    let manifest = &loaded.manifest;
    let settings = crate::settings::Settings::for_plan(&args.manifest, manifest)
        .map_err(|e| CmdError::bad_input(e.to_string()))?;
    let pace = Pace::of(&settings);
    let conn = connect(&manifest.billing, &args.billing, Some(&args.manifest), pace).await?;
    let looked = check_groups(loaded, &conn.client).await;
    conn.client.logout().await;
    let mut diags = looked?;
    if diags.is_empty() {
        return Ok(());
    }
    diags.sort_by_key(|d| d.pos.map_or((usize::MAX, 0), |p| (p.line, p.col)));
    Err(Diagnostics(diags).into())
}

/// Each group against its tariff's order form: the problems found.
async fn check_groups(
    loaded: &Loaded,
    client: &crate::api::BillingClient,
) -> Result<Vec<crate::manifest::Diagnostic>, CmdError> {
    let manifest = &loaded.manifest;
    let mut reader = CatalogReader::new(client);
    let mut diags = Vec::new();
    for (i, group) in manifest.groups().enumerate() {
        let path = loaded.group_path(i);
        let id = group.pricelist.as_str();
        match reader.lookup(&group.kind, id).await? {
            Lookup::Found(form) => check_group(loaded, &path, group, &form, &mut diags),
            Lookup::Unknown(offered) => diags.push(loaded.diagnostic_at(
                &format!("{path}.pricelist"),
                format!("the billing sells no {} tariff with id `{id}`", group.kind),
                Some(format!(
                    "{} tariffs: {}",
                    group.kind,
                    offered_tariffs(&offered)
                )),
            )),
        }
    }
    Ok(diags)
}
