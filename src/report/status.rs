//! What `billfleet status` shows: one row per declared server as the billing sees it now,
//! then the live services that look like the fleet's but are not declared ([`StatusReport`]),
//! as a text table, JSON or CSV on stdout ([`print()`]), and the Ansible inventory of its active
//! servers ([`write_inventory`]; written owner-only when it holds license keys).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::api::Service;
use crate::cli::StatusFormat;
use crate::plan::fleet::{Fleet, Found, Member, status_word};
use crate::report::inventory::{self, InventoryHost};

/// One declared server in the status output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    /// `<group>-<seq>`.
    pub key: String,
    /// Group name.
    pub group: String,
    /// Sequence number.
    pub seq: u64,
    /// Item type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// The domain in the billing (else the declared one).
    pub domain: String,
    /// Service id.
    pub service_id: Option<String>,
    /// `ordered|active|suspended|deleted|processing|absent|conflict`.
    pub status: String,
    /// The billing's sub-state code (`item_status`).
    pub item_status: Option<String>,
    /// Main IP.
    pub ip: Option<String>,
    /// Paid until.
    pub expiredate: Option<String>,
    /// Auto-renewal.
    pub autoprolong: Option<String>,
    /// Cost as the billing shows it; in JSON `{amount, currency}` (the raw text when it is
    /// not an amount billfleet can read).
    #[serde(serialize_with = "cost_json")]
    pub cost: Option<String>,
    /// For `conflict`: the id of the service that holds the declared domain (not the fleet's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_with: Option<String>,
    /// A license's activation key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lickey: Option<String>,
}

/// A live service that looks like the fleet's but is not declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndeclaredRow {
    /// Item type.
    #[serde(rename = "type")]
    pub item_type: String,
    /// Service id.
    pub service_id: String,
    /// Domain.
    pub domain: Option<String>,
    /// remoteid.
    pub remoteid: Option<String>,
    /// Status in words.
    pub status: String,
    /// Main IP.
    pub ip: Option<String>,
    /// Paid until.
    pub expiredate: Option<String>,
}

/// The whole status: `{"servers": [...], "undeclared": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// One per declared server.
    pub servers: Vec<StatusRow>,
    /// Look-alikes that are not the fleet's.
    pub undeclared: Vec<UndeclaredRow>,
}

impl StatusRow {
    /// The row of one declared server.
    pub fn new(member: &Member) -> Self {
        let shown: Option<&Service> = match &member.found {
            Found::Own(s) => Some(s),
            Found::Absent | Found::Conflict(_) => None,
        };
        Self {
            key: member.key.clone(),
            group: member.group.to_string(),
            seq: member.seq,
            item_type: member.item_type.to_string(),
            domain: member.domain().to_owned(),
            service_id: shown.map(|s| s.id.clone()),
            status: member.state_word().to_owned(),
            item_status: shown.and_then(|s| s.item_status.clone()),
            ip: shown.and_then(|s| s.ip.clone()),
            expiredate: shown.and_then(|s| s.expiredate.clone()),
            autoprolong: shown.map(|s| crate::report::autoprolong_word(s.autoprolong.as_deref())),
            cost: shown.and_then(|s| s.cost.clone()),
            conflict_with: match &member.found {
                Found::Conflict(s) => Some(s.id.clone()),
                Found::Own(_) | Found::Absent => None,
            },
            lickey: None,
        }
    }
}

impl StatusReport {
    /// The status of `fleet`.
    pub fn new(fleet: &Fleet) -> Self {
        Self {
            servers: fleet.members.iter().map(StatusRow::new).collect(),
            undeclared: fleet
                .undeclared
                .iter()
                .map(|(kind, s)| UndeclaredRow {
                    item_type: kind.clone(),
                    service_id: s.id.clone(),
                    domain: s.domain.clone(),
                    remoteid: s.remoteid.clone(),
                    status: status_word(s.status).to_owned(),
                    ip: s.ip.clone(),
                    expiredate: s.expiredate.clone(),
                })
                .collect(),
        }
    }

    /// One JSON object.
    pub fn json<W: Write>(&self, mut out: W) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        writeln!(out)
    }

    /// CSV: the declared servers, then the undeclared look-alikes (`declared` = false).
    pub fn csv<W: Write>(&self, out: W) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "key",
            "group",
            "seq",
            "type",
            "domain",
            "service_id",
            "status",
            "item_status",
            "ip",
            "expiredate",
            "autoprolong",
            "cost",
            "declared",
            "lickey",
        ])?;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        for r in &self.servers {
            w.write_record([
                r.key.clone(),
                r.group.clone(),
                r.seq.to_string(),
                r.item_type.clone(),
                r.domain.clone(),
                opt(&r.service_id),
                r.status.clone(),
                opt(&r.item_status),
                opt(&r.ip),
                opt(&r.expiredate),
                opt(&r.autoprolong),
                opt(&r.cost),
                "true".to_owned(),
                opt(&r.lickey),
            ])?;
        }
        for u in &self.undeclared {
            w.write_record([
                opt(&u.remoteid),
                String::new(),
                String::new(),
                u.item_type.clone(),
                opt(&u.domain),
                u.service_id.clone(),
                u.status.clone(),
                String::new(),
                opt(&u.ip),
                opt(&u.expiredate),
                String::new(),
                String::new(),
                "false".to_owned(),
                String::new(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// A readable table.
    pub fn text<W: Write>(&self, mut out: W) -> std::io::Result<()> {
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        let mut table: Vec<[String; 8]> = vec![
            [
                "KEY", "DOMAIN", "ID", "STATUS", "IP", "EXPIRES", "RENEW", "COST",
            ]
            .map(str::to_owned),
        ];
        for r in &self.servers {
            // The sub-state only where it says more than the word (`5_open`); the code of
            // every row is in the JSON and CSV outputs. Narrow enough for 80 columns.
            let status = match (&r.item_status, &r.conflict_with) {
                (_, Some(other)) => format!("{} (domain held by service {other})", r.status),
                (Some(code), None) if code.contains('_') => format!("{} ({code})", r.status),
                _ => r.status.clone(),
            };
            table.push([
                r.key.clone(),
                r.domain.clone(),
                dash(&r.service_id),
                status,
                dash(&r.ip),
                dash(&r.expiredate),
                dash(&r.autoprolong),
                dash(&r.cost),
            ]);
        }
        write_table(&mut out, &table)?;
        let count = |word: &str| self.servers.iter().filter(|r| r.status == word).count();
        let words = [
            "active",
            "suspended",
            "processing",
            "ordered",
            "absent",
            "conflict",
        ];
        let counts: Vec<String> = words
            .iter()
            .map(|w| (count(w), w))
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}"))
            .collect();
        writeln!(
            out,
            "\n{} declared: {}",
            self.servers.len(),
            if counts.is_empty() {
                "none listed".to_owned()
            } else {
                counts.join(", ")
            }
        )?;
        let keys: Vec<&StatusRow> = self.servers.iter().filter(|r| r.lickey.is_some()).collect();
        if !keys.is_empty() {
            writeln!(out, "\nlicense keys:")?;
            for r in keys {
                writeln!(out, "  {}  {}", r.key, dash(&r.lickey))?;
            }
        }
        if !self.undeclared.is_empty() {
            writeln!(
                out,
                "\n{} live services look like this fleet's but are not declared (never touched):",
                self.undeclared.len()
            )?;
            for u in &self.undeclared {
                writeln!(
                    out,
                    "  {} {} {} {} {}",
                    u.item_type,
                    u.service_id,
                    dash(&u.domain),
                    u.status,
                    dash(&u.ip)
                )?;
            }
        }
        Ok(())
    }

    /// The inventory hosts: every active server with an IP, each IP once.
    pub fn inventory_hosts(&self) -> Vec<InventoryHost> {
        let mut seen = HashSet::new();
        self.servers
            .iter()
            .filter(|r| r.status == "active")
            .filter_map(|r| {
                let ip = r.ip.clone().filter(|ip| !ip.is_empty())?;
                seen.insert(ip.clone()).then(|| InventoryHost {
                    group: r.group.clone(),
                    key: r.key.clone(),
                    domain: Some(r.domain.clone()),
                    ip,
                    lickey: r.lickey.clone(),
                })
            })
            .collect()
    }
}

fn write_table<W: Write, const N: usize>(out: &mut W, rows: &[[String; N]]) -> std::io::Result<()> {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let colour = crate::report::term::stdout_colour();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| crate::report::table_cell(&format!("{cell:<w$}"), i == 0, colour))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

/// Writes `report` on stdout in `format`.
pub fn print(report: &StatusReport, format: StatusFormat) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(super::stdout());
    let written = match format {
        StatusFormat::Json => report.json(&mut out),
        StatusFormat::Text => report.text(&mut out),
        StatusFormat::Csv => report.csv(&mut out).map_err(std::io::Error::other),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the status: {e}"))
}

/// Writes the inventory of `report`'s active servers to `path` and says so on stderr.
pub fn write_inventory(report: &StatusReport, path: &Path) -> Result<(), String> {
    let hosts = report.inventory_hosts();
    inventory::write(path, &hosts)
        .map_err(|e| format!("cannot write the inventory {}: {e}", path.display()))?;
    super::eprint_line(&format!(
        "inventory: {} hosts written to {}",
        hosts.len(),
        path.display()
    ));
    Ok(())
}

/// A cost cell as JSON money: `{"amount": "12.50", "currency": "EUR"}`, like every money
/// field billfleet prints; the billing's text when it is not a readable amount.
fn cost_json<S: serde::Serializer>(cost: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match cost.as_deref().map(|c| (c, crate::money::Money::parse(c))) {
        None => s.serialize_none(),
        Some((_, Some(money))) => {
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("amount", &money.amount())?;
            let currency = Some(money.currency.as_str()).filter(|c| !c.is_empty());
            map.serialize_entry("currency", &currency)?;
            map.end()
        }
        Some((text, None)) => s.serialize_str(text),
    }
}
