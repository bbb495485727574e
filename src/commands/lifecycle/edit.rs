//! `billfleet edit`: compares each fleet service's edit form with the manifest's addons and
//! autoprolong, prints the difference as a plan, then sends `<type>.edit` only where
//! something changed. OS template and recipe cannot be changed from a customer account:
//! a difference there is only noted.

use std::collections::HashMap;
use std::io::Write;

use super::jobs::{Edit, Read};
use super::{Context, Member, settle, stopped};
use crate::api::EditForm;
use crate::commands::{CmdError, CmdResult};
use crate::executor::Outcome;
use crate::manifest::{Group, Payment};
use crate::report::{ReportRow, RowOutcome};

/// Statuses whose form can be edited: active and suspended (a processing service is busy).
const EDITABLE: [u8; 2] = [2, 3];

/// One field to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Form field (`addon_11`, `autoprolong`).
    pub field: String,
    /// The current value (`None` when the form lacks the field).
    pub old: Option<String>,
    /// The value to send.
    pub new: String,
}

/// What differs for one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Fields to push.
    pub changes: Vec<Change>,
    /// Differences that cannot be pushed (admin-level fields).
    pub notes: Vec<String>,
}

/// True for the ways of saying "auto-renewal off".
fn is_off(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "" | "off" | "null" | "none" | "0" | "false" | "no"
    )
}

/// True when the form's `current` value of `field` already is `desired`.
pub fn same_value(field: &str, current: Option<&str>, desired: &str) -> bool {
    let Some(current) = current else {
        return false;
    };
    if field == "autoprolong" && (is_off(current) || is_off(desired)) {
        return is_off(current) && is_off(desired);
    }
    // An on/off addon may be shown as a word (`addon_N=off`) and declared as a number.
    let switch = |v: &str| match v.trim() {
        "off" => "0".to_owned(),
        "on" => "1".to_owned(),
        other => other.to_owned(),
    };
    let (current, desired) = if field.starts_with("addon_") {
        (switch(current), switch(desired))
    } else {
        (current.to_owned(), desired.to_owned())
    };
    match (current.trim().parse::<f64>(), desired.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => current.trim() == desired.trim(),
    }
}

/// The difference between `group`'s declared values and a service's form.
pub fn diff(group: &Group, form: &EditForm) -> Diff {
    let mut wanted: Vec<(String, String)> = group
        .addons
        .iter()
        .map(|(id, v)| (format!("addon_{id}"), v.as_str().to_owned()))
        .collect();
    if let Some(auto) = &group.autoprolong {
        let value = if is_off(auto.as_str()) {
            "null"
        } else {
            auto.as_str()
        };
        wanted.push(("autoprolong".to_owned(), value.to_owned()));
    }
    let changes = wanted
        .into_iter()
        .filter_map(|(field, new)| {
            let old = form.values.get(&field).cloned();
            (!same_value(&field, old.as_deref(), &new)).then_some(Change { field, old, new })
        })
        .collect();
    let mut notes = Vec::new();
    for (field, declared) in [("ostempl", &group.ostempl), ("recipe", &group.recipe)] {
        let current = form.values.get(field).filter(|v| !v.is_empty());
        if let (Some(declared), Some(current)) = (declared.as_deref(), current)
            && declared != "null"
            && declared != current
        {
            notes.push(format!(
                "{field}: {current} → {declared} cannot be changed from a customer account"
            ));
        }
    }
    Diff { changes, notes }
}

/// `billfleet edit`.
pub async fn run(ctx: &Context) -> CmdResult {
    let targets: Vec<&Member> = ctx.fleet.with_status(&EDITABLE).collect();
    let runner = ctx.runner();
    let reads = read_jobs(ctx, &targets);
    let forms = runner.run(reads, None).await;
    let mut rows: HashMap<String, ReportRow> = ctx
        .fleet
        .members
        .iter()
        .map(|m| (m.key.clone(), m.row(RowOutcome::Skipped)))
        .collect();
    let mut planned: Vec<(&Member, Diff)> = Vec::new();
    for (member, read) in targets.iter().zip(&forms) {
        let Some(row) = rows.get_mut(&member.key) else {
            continue;
        };
        settle(row, read);
        row.attempts = 0;
        row.duration_ms = None;
        let (Outcome::Done(form), Some(group)) = (&read.outcome, group_of(ctx, member)) else {
            continue;
        };
        row.outcome = RowOutcome::Unchanged;
        planned.push((member, diff(group, form)));
    }
    if stopped(&forms) {
        let rows: Vec<ReportRow> = rows.into_values().collect();
        ctx.finish(&rows, true)?;
        return Err(CmdError::aborted(
            "the services' current values could not be read",
        ));
    }
    print_plan(&planned)?;
    let changed: Vec<&(&Member, Diff)> = planned
        .iter()
        .filter(|(_, d)| !d.changes.is_empty())
        .collect();
    if !changed.is_empty() {
        ctx.confirm(&format!("Edit {} services?", changed.len()))?;
    }
    let jobs = changed
        .iter()
        .filter_map(|(m, d)| {
            Some(Edit {
                client: ctx.conn.client.clone(),
                key: m.key.clone(),
                item_type: m.item_type.to_string(),
                id: m.service()?.id.clone(),
                params: edit_params(group_of(ctx, m), d),
            })
        })
        .collect();
    let results = runner.run(jobs, Some("edit")).await;
    for ((member, _), result) in changed.iter().zip(&results) {
        if let Some(row) = rows.get_mut(&member.key) {
            row.outcome = RowOutcome::Edited;
            settle(row, result);
        }
    }
    let rows: Vec<ReportRow> = rows.into_values().collect();
    ctx.finish(&rows, stopped(&results))
}

/// One form read per target (every target has a service: `with_status` chose them).
fn read_jobs(ctx: &Context, targets: &[&Member]) -> Vec<Read<EditForm>> {
    targets
        .iter()
        .filter_map(|m| {
            let client = ctx.conn.client.clone();
            let item_type = m.item_type.to_string();
            let id = m.service()?.id.clone();
            Some(Read::new(m.key.clone(), move || {
                let (client, item_type, id) = (client.clone(), item_type.clone(), id.clone());
                async move { client.edit_form(&item_type, &id).await }
            }))
        })
        .collect()
}

/// The changed fields; a group paid from the balance also sends `skipbasket=on`, so an addon
/// change is charged at once instead of waiting unpaid in the cart (BILLmanager 6 "Service
/// management via API", `vds.edit … skipbasket=on`).
fn edit_params(group: Option<&Group>, diff: &Diff) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = diff
        .changes
        .iter()
        .map(|c| (c.field.clone(), c.new.clone()))
        .collect();
    if group.is_some_and(|g| g.payment == Payment::Balance) {
        params.push(("skipbasket".into(), "on".into()));
    }
    params
}

fn group_of<'a>(ctx: &'a Context, member: &Member) -> Option<&'a Group> {
    ctx.manifest().groups().find(|g| *g.name == *member.group)
}

/// Prints the plan on stdout: one line per changed field, notes, and a count.
fn print_plan(planned: &[(&Member, Diff)]) -> Result<(), CmdError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write = || -> std::io::Result<()> {
        for (member, diff) in planned {
            let id = member.service().map_or("-", |s| s.id.as_str());
            for change in &diff.changes {
                let old = change.old.as_deref().unwrap_or("(none)");
                writeln!(
                    out,
                    "{} (id {id}, {}): {}: {old} → {}",
                    member.key,
                    member.domain(),
                    change.field,
                    change.new
                )?;
            }
            for note in &diff.notes {
                writeln!(out, "{} (id {id}): note: {note}", member.key)?;
            }
        }
        let changed = planned
            .iter()
            .filter(|(_, d)| !d.changes.is_empty())
            .count();
        writeln!(
            out,
            "edit: {changed} to change, {} unchanged",
            planned.len() - changed
        )?;
        out.flush()
    };
    write().map_err(|e| CmdError::aborted(format!("cannot write the plan: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(extra: &str) -> Group {
        let text = format!(
            "version: 1\nfleet:\n  name: web\n  count: 1\n  domain: a.example.com\n  pricelist: 6\n{extra}"
        );
        let loaded = crate::manifest::load_str(std::path::Path::new("m.yaml"), text).unwrap();
        loaded.manifest.fleet.unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> EditForm {
        EditForm {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn only_differing_fields_are_pushed() {
        let g = group("  addons: {10: 2, 11: 2048}\n  autoprolong: off\n");
        let d = diff(
            &g,
            &form(&[
                ("addon_10", "2"),
                ("addon_11", "1024"),
                ("autoprolong", "null"),
            ]),
        );
        assert_eq!(
            d.changes,
            [Change {
                field: "addon_11".into(),
                old: Some("1024".into()),
                new: "2048".into()
            }]
        );
        let d = diff(
            &g,
            &form(&[
                ("addon_10", "2.0"),
                ("addon_11", "2048"),
                ("autoprolong", "1"),
            ]),
        );
        assert_eq!(d.changes.len(), 1);
        assert_eq!(
            (d.changes[0].field.as_str(), d.changes[0].new.as_str()),
            ("autoprolong", "null")
        );
    }

    #[test]
    fn autoprolong_months_and_missing_fields() {
        let g = group("  autoprolong: 3\n  addons: {12: 40}\n");
        let d = diff(&g, &form(&[("autoprolong", "")]));
        let fields: Vec<(&str, Option<&str>, &str)> = d
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_str()))
            .collect();
        assert_eq!(
            fields,
            [("addon_12", None, "40"), ("autoprolong", Some(""), "3")]
        );
        assert!(same_value("autoprolong", Some("off"), "null"));
        assert!(!same_value("autoprolong", Some("1"), "null"));
    }

    #[test]
    fn ostempl_difference_is_only_noted() {
        let g = group("  ostempl: Debian-12\n");
        let d = diff(&g, &form(&[("ostempl", "CentOS-7")]));
        assert!(d.changes.is_empty());
        assert_eq!(d.notes.len(), 1);
        assert!(
            d.notes[0].contains("CentOS-7 → Debian-12"),
            "{}",
            d.notes[0]
        );
    }
}
