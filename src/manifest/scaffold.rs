//! A commented, valid manifest for one tariff, written from its order form (`billfleet
//! init`): every addon and enum with its default and a comment giving its name, range, step,
//! unit and price; the file is refused when the flags do not make a valid manifest, and never
//! overwritten without `--force`.
//!
//! The manifest never holds credentials; the billing URL is left as a comment because it
//! comes from `BILLFLEET_URL`, `--url` or a profile.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::api::{AddonInfo, Choice, EnumInfo, OrderForm};
use crate::failure::CmdError;
use crate::manifest::Dialect;

/// Where editors find the manifest's JSON Schema: a file beside the manifest, written by
/// `billfleet schema > manifest.schema.json` (the same text as `schema/manifest.schema.json`).
pub const SCHEMA_URL: &str = "./manifest.schema.json";

/// What the manifest is written for (from the command line and the tariff list).
#[derive(Debug, Clone)]
pub struct InitSpec<'a> {
    /// Billing dialect.
    pub dialect: Dialect,
    /// Item type.
    pub kind: &'a str,
    /// Group name.
    pub name: &'a str,
    /// Number of servers.
    pub count: u32,
    /// Domain pattern.
    pub domain: &'a str,
    /// Tariff id.
    pub pricelist: &'a str,
    /// Tariff name, when the list gave one.
    pub tariff_name: Option<&'a str>,
    /// The file being written, for the usage comment.
    pub file: Option<&'a str>,
}

/// Refuses to write over an existing file unless `force`.
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<(), CmdError> {
    if !force && path.exists() {
        return Err(CmdError::bad_input(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the file; without `force` it must not exist (checked again atomically).
pub fn write_file(path: &Path, text: &str, force: bool) -> Result<(), CmdError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let result = options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.flush()));
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CmdError::bad_input(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )),
        _ => CmdError::bad_input(format!("cannot write {}: {e}", path.display())),
    })
}

/// The generated text must load as a valid manifest (bad `--domain` or `--name` show here).
pub fn check_generated(output: Option<&Path>, text: &str) -> Result<(), CmdError> {
    let path = output.map_or_else(|| PathBuf::from("manifest.yaml"), Path::to_path_buf);
    crate::manifest::load_str(&path, text.to_owned())
        .map(|_| ())
        .map_err(|d| {
            CmdError::bad_input(format!(
                "these flags do not make a valid manifest, nothing was written:\n{d}"
            ))
        })
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
    }
}

/// An id or number as written: plain when it is an integer, else quoted.
fn number_or_scalar(text: &str) -> String {
    let integer = text.strip_prefix('-').unwrap_or(text);
    if !integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()) {
        text.to_owned()
    } else {
        scalar(text)
    }
}

/// The one-month period: value `1`, else a period labelled "1 month" (BILLmanager 4 period
/// ids), else the first positive one, else the first.
pub fn one_month(periods: &[Choice]) -> Option<&Choice> {
    periods
        .iter()
        .find(|p| p.key == "1")
        .or_else(|| {
            periods.iter().find(|p| {
                let label = p.label.trim().to_ascii_lowercase();
                label == "1 month" || label == "month" || label.starts_with("1 month")
            })
        })
        .or_else(|| periods.iter().find(|p| !p.key.starts_with('-')))
        .or_else(|| periods.first())
}

fn list(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| {
            if c.label.is_empty() || c.label == c.key {
                c.key.clone()
            } else {
                format!("{} ({})", c.key, c.label)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a comma-separated list into lines of about `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in text.split(", ").filter(|i| !i.is_empty()) {
        if !line.is_empty() && line.len() + item.len() + 2 > width {
            line.push(',');
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn addon_comment(a: &AddonInfo) -> String {
    let mut text = a.name.clone().unwrap_or_else(|| format!("addon {}", a.id));
    if let (Some(min), Some(max)) = (&a.min, &a.max) {
        let _ = write!(text, ", {min}..{max}");
    }
    if !a.options.is_empty() {
        let keys: Vec<&str> = a.options.iter().map(|c| c.key.as_str()).collect();
        let _ = write!(text, ", one of {}", keys.join(", "));
    }
    if let Some(step) = &a.step {
        let _ = write!(text, " step {step}");
    }
    if let Some(unit) = a.measure.as_deref().filter(|u| !u.is_empty()) {
        let _ = write!(text, " {unit}");
    }
    if let Some(price) = &a.price {
        let _ = write!(text, ", {price}/unit");
    }
    text
}

fn enum_comment(e: &EnumInfo) -> String {
    let name = e.name.clone().unwrap_or_else(|| format!("enum {}", e.id));
    if e.options.is_empty() {
        return name;
    }
    let options: Vec<String> = e
        .options
        .iter()
        .map(|o| match &o.cost {
            Some(cost) if !cost.is_zero() => format!("{} = {} (+{cost})", o.key, o.label),
            _ => format!("{} = {}", o.key, o.label),
        })
        .collect();
    format!("{name}: {}", options.join(", "))
}

/// Ids the manifest accepts as keys: positive integers.
fn is_id(text: &str) -> bool {
    !text.starts_with('0') && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn header(out: &mut String, spec: &InitSpec<'_>, form: &OrderForm) {
    let file = spec.file.unwrap_or("MANIFEST");
    let tariff = spec.tariff_name.map_or_else(
        || spec.pricelist.to_owned(),
        |n| format!("{} ({n})", spec.pricelist),
    );
    let _ = writeln!(out, "# yaml-language-server: $schema={SCHEMA_URL}");
    let _ = writeln!(
        out,
        "# (editor completion: billfleet schema > manifest.schema.json)"
    );
    let _ = writeln!(
        out,
        "# {} x {} tariff {tariff}, written by `billfleet init`.",
        spec.count, spec.kind
    );
    if let Some(total) = &form.total {
        let _ = writeln!(
            out,
            "# Price of one server with these defaults: {total} for the first period."
        );
    }
    let _ = writeln!(
        out,
        "#   billfleet validate {file} --online   # check against the billing"
    );
    let _ = writeln!(
        out,
        "#   billfleet plan {file}                # what apply would order, and the cost"
    );
    let _ = writeln!(out, "#   billfleet apply {file} --yes         # order");
    let _ = writeln!(
        out,
        "# Credentials never go in this file: set BILLFLEET_URL, BILLFLEET_USER and"
    );
    let _ = writeln!(
        out,
        "# BILLFLEET_PASSWORD, or use --profile NAME (billfleet.toml)."
    );
    let _ = writeln!(
        out,
        "# Reports and state sit beside this file; keep them out of git (.gitignore):\n#   .billfleet/ {}",
        crate::report::csv::IGNORE_PATTERNS.join(" ")
    );
    let _ = writeln!(out, "version: 1");
    let _ = writeln!(out, "billing:");
    let _ = writeln!(
        out,
        "  # url: https://my.example-host.com/billmgr   # or BILLFLEET_URL / --url / a profile"
    );
    let dialect = match spec.dialect {
        Dialect::Bm4 => "bm4",
        Dialect::Bm5 => "bm5",
        Dialect::Bm6 => "bm6",
    };
    let _ = writeln!(out, "  dialect: {dialect}   # bm4 | bm5 | bm6");
}

fn group_basics(out: &mut String, spec: &InitSpec<'_>, form: &OrderForm) {
    let license = matches!(spec.kind, "soft" | "platform") && form.ostempls.is_empty();
    let _ = writeln!(out, "fleet:");
    let _ = writeln!(out, "  name: {}", scalar(spec.name));
    let _ = writeln!(out, "  type: {}", scalar(spec.kind));
    let _ = writeln!(out, "  count: {}", spec.count);
    let domain = serde_json::to_string(spec.domain).unwrap_or_default();
    if license {
        let _ = writeln!(
            out,
            "  # domain: {domain}   # licenses are not ordered by domain"
        );
    } else {
        let _ = writeln!(
            out,
            "  domain: {domain}   # {{seq}} or {{seq:03}}; {{name}} = the group name"
        );
    }
    let name = spec
        .tariff_name
        .map(|n| format!("   # {n}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  pricelist: {}{name}",
        number_or_scalar(spec.pricelist)
    );
    if let Some(dc) = form.datacenters.first() {
        let _ = writeln!(
            out,
            "  datacenter: {}   # offered: {}",
            number_or_scalar(&dc.key),
            list(&form.datacenters)
        );
    }
    match one_month(&form.periods) {
        Some(p) => {
            let _ = writeln!(
                out,
                "  period: {}   # offered: {}",
                number_or_scalar(&p.key),
                list(&form.periods)
            );
            let _ = writeln!(
                out,
                "  # autoprolong: {}   # renew automatically (a period value), or off",
                number_or_scalar(&p.key)
            );
        }
        None => {
            let _ = writeln!(out, "  period: 1   # months");
        }
    }
    if let Some((first, rest)) = form.ostempls.split_first() {
        let _ = writeln!(out, "  ostempl: {}", scalar(&first.key));
        for (i, line) in wrap(&list(rest), 90).iter().enumerate() {
            let lead = if i == 0 { "other OS templates:" } else { "  " };
            let _ = writeln!(out, "  # {lead} {line}");
        }
    }
    let recipes: Vec<Choice> = form
        .recipes
        .iter()
        .filter(|r| !matches!(r.key.as_str(), "null" | "none" | ""))
        .cloned()
        .collect();
    if let Some(first) = recipes.first() {
        let _ = writeln!(
            out,
            "  # recipe: {}   # offered: {}",
            scalar(&first.key),
            list(&recipes)
        );
    }
}

fn group_options(out: &mut String, form: &OrderForm) {
    let addons: Vec<&AddonInfo> = form.addons.iter().filter(|a| is_id(&a.id)).collect();
    if !addons.is_empty() {
        let _ = writeln!(out, "  addons:   # id: value (sent as addon_<id>)");
        for a in addons {
            let value = a.default.as_deref().or(a.min.as_deref()).unwrap_or("0");
            let _ = writeln!(
                out,
                "    {}: {}   # {}",
                a.id,
                number_or_scalar(value),
                addon_comment(a)
            );
        }
    }
    let enums: Vec<&EnumInfo> = form.enums.iter().filter(|e| is_id(&e.id)).collect();
    if !enums.is_empty() {
        let _ = writeln!(out, "  enums:   # id: value (sent as enum_<id>)");
        for e in enums {
            let value = e
                .default
                .as_deref()
                .or_else(|| e.options.first().map(|o| o.key.as_str()))
                .unwrap_or("0");
            let _ = writeln!(
                out,
                "    {}: {}   # {}",
                e.id,
                number_or_scalar(value),
                enum_comment(e)
            );
        }
    }
    let _ = writeln!(
        out,
        "  payment: balance   # balance: paid at once (skipbasket=on); basket: pay yourself"
    );
}

fn execution(out: &mut String) {
    let _ = writeln!(out, "execution:");
    let _ = writeln!(out, "  concurrency: 4   # calls in flight at most");
    let _ = writeln!(
        out,
        "  rate: 2          # calls per second at most, all calls together"
    );
    let _ = writeln!(
        out,
        "  retries: 4       # further attempts of a call that failed transiently"
    );
    let _ = writeln!(
        out,
        "  on_collision: next   # a domain taken by someone else: next free number, or fail"
    );
    let _ = writeln!(
        out,
        "  # max_spend: 500     # refuse to start when the estimated cost is higher"
    );
}

/// The manifest text for `spec` from the tariff's order form.
pub fn render_manifest(spec: &InitSpec<'_>, form: &OrderForm) -> String {
    let mut out = String::new();
    header(&mut out, spec, form);
    group_basics(&mut out, spec, form);
    group_options(&mut out, form);
    execution(&mut out);
    out
}

#[cfg(test)]
mod tests;
