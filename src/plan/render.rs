//! Writing a plan: JSON (CONTRACT.md "Machine-readable plan") and a readable text table.
//!
//! Both stream to the writer: the JSON goes through serde with serializers over the plan's
//! shared parameters, never through an intermediate `serde_json::Value`.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::{Action, OrderCall, Plan, PlannedServer};
use crate::money::Money;

/// Rows shown in full per group; above this a group shows its head, tail and conflicts.
const FULL_ROWS: usize = 50;
/// Rows shown at the start of a long group.
const HEAD_ROWS: usize = 10;
/// Rows shown at the end of a long group.
const TAIL_ROWS: usize = 5;

/// Writes the plan as one pretty-printed JSON object followed by a newline.
pub fn json<W: Write>(plan: &Plan, w: W) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    serde_json::to_writer_pretty(&mut w, &PlanJson(plan)).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}

struct PlanJson<'a>(&'a Plan);

impl Serialize for PlanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let plan = self.0;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("servers", &ServersJson(&plan.servers))?;
        map.serialize_entry("summary", &plan.summary())?;
        map.serialize_entry("cost", &plan.cost.as_ref().map(|m| AmountJson("total", m)))?;
        let balance = plan.balance.as_ref().map(|m| AmountJson("amount", m));
        map.serialize_entry("balance", &balance)?;
        map.end()
    }
}

struct ServersJson<'a>(&'a [PlannedServer]);

impl Serialize for ServersJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ServerJson))
    }
}

struct ServerJson<'a>(&'a PlannedServer);

impl Serialize for ServerJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("group", &*s.group)?;
        map.serialize_entry("seq", &s.seq)?;
        map.serialize_entry("key", &s.key)?;
        map.serialize_entry("domain", &s.domain)?;
        map.serialize_entry("action", &s.action)?;
        if let Some(call) = &s.call {
            map.serialize_entry("call", &CallJson(call))?;
        }
        if let Some(existing) = &s.existing {
            map.serialize_entry("service_id", &existing.id)?;
        }
        map.end()
    }
}

struct CallJson<'a>(&'a OrderCall);

impl Serialize for CallJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("func", &*self.0.func)?;
        map.serialize_entry("params", &ParamsJson(self.0))?;
        map.end()
    }
}

struct ParamsJson<'a>(&'a OrderCall);

impl Serialize for ParamsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.params())
    }
}

/// `{"<name>": "12.50", "currency": "EUR"}`.
struct AmountJson<'a>(&'static str, &'a Money);

impl Serialize for AmountJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(self.0, &self.1.amount())?;
        map.serialize_entry("currency", &self.1.currency)?;
        map.end()
    }
}

/// Writes the plan as text: per group a header with the function and the common parameters,
/// a table of servers (long groups abridged), then the totals.
pub fn text<W: Write>(plan: &Plan, w: W) -> io::Result<()> {
    let mut w = BufWriter::new(w);
    let mut rest = plan.servers.as_slice();
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .position(|s| s.group_index != first.group_index)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(len);
        write_group(&mut w, group)?;
        rest = tail;
    }
    let s = plan.summary();
    writeln!(
        w,
        "order {}, exists {}, conflict {}",
        s.order, s.exists, s.conflict
    )?;
    if let Some(cost) = &plan.cost {
        writeln!(w, "estimated cost: {cost}")?;
    }
    if let Some(balance) = &plan.balance {
        writeln!(w, "balance: {balance}")?;
    }
    w.flush()
}

/// One group: header, common parameters, rows.
fn write_group<W: Write>(w: &mut W, servers: &[PlannedServer]) -> io::Result<()> {
    let Some(first) = servers.first() else {
        return Ok(());
    };
    let count = servers.len();
    let noun = if count == 1 { "server" } else { "servers" };
    write!(
        w,
        "group {} ({}, {count} {noun})",
        first.group, first.item_type
    )?;
    match servers.iter().find_map(|s| s.call.as_ref()) {
        Some(call) => {
            writeln!(w, ": {}", call.func)?;
            writeln!(w, "  common: {}", join(call.common.iter()))?;
        }
        None => writeln!(w)?,
    }
    let shown: Vec<bool> = (0..count).map(|i| is_shown(servers, i)).collect();
    let header = ["action", "key", "domain", "params"].map(str::to_owned);
    let rows: Vec<[String; 4]> = std::iter::once(header)
        .chain(
            servers
                .iter()
                .zip(&shown)
                .filter(|(_, shown)| **shown)
                .map(|(s, _)| row(s)),
        )
        .collect();
    let widths: [usize; 3] =
        std::array::from_fn(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0));
    let [wa, wk, wd] = widths;
    let line = |[action, key, domain, params]: [String; 4]| {
        let line = format!("  {action:wa$}  {key:wk$}  {domain:wd$}  {params}");
        line.trim_end().to_owned()
    };
    let mut rows = rows.into_iter().map(line);
    if let Some(header) = rows.next() {
        writeln!(w, "{header}")?;
    }
    let mut hidden = 0usize;
    for shown in shown {
        if !shown {
            hidden += 1;
            continue;
        }
        if hidden > 0 {
            writeln!(w, "  … {hidden} more")?;
            hidden = 0;
        }
        if let Some(row) = rows.next() {
            writeln!(w, "{row}")?;
        }
    }
    if hidden > 0 {
        writeln!(w, "  … {hidden} more")?;
    }
    writeln!(w)
}

/// Short groups show every row; long ones the head, the tail and every conflict.
fn is_shown(servers: &[PlannedServer], i: usize) -> bool {
    servers.len() <= FULL_ROWS
        || i < HEAD_ROWS
        || i >= servers.len() - TAIL_ROWS
        || servers[i].action == Action::Conflict
}

/// The cells of one row: action, key, domain, and the server's own parameters or the service.
fn row(s: &PlannedServer) -> [String; 4] {
    let detail = match (&s.call, &s.existing) {
        // the domain has its own column
        (Some(call), _) => join(
            call.own
                .iter()
                .filter(|(k, v)| !(k == "domain" && s.domain.as_ref() == Some(v))),
        ),
        (None, Some(e)) if s.action == Action::Conflict => {
            let mut text = format!("service {} (status {})", e.id, e.status);
            if let Some(p) = &e.pricelist {
                text.push_str(&format!(", pricelist {p}"));
            }
            if let Some(r) = e.remoteid.as_deref().filter(|r| !r.is_empty()) {
                text.push_str(&format!(", remoteid {r}"));
            }
            text
        }
        (None, Some(e)) => format!("service {} (status {})", e.id, e.status),
        (None, None) => String::new(),
    };
    [
        s.action.as_str().to_owned(),
        s.key.clone(),
        s.domain.clone().unwrap_or_else(|| "-".to_owned()),
        detail,
    ]
}

fn join<'a>(params: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}
