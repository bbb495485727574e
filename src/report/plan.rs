//! Writing a plan: JSON (CONTRACT.md "Machine-readable plan") and a readable text table.
//!
//! Both stream to the writer: the JSON goes through serde with serializers over the plan's
//! shared parameters, never through an intermediate `serde_json::Value`.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::money::Money;
use crate::plan::{Action, Change, Leftover, OrderCall, Plan, PlannedServer, Undeclared};

/// Rows shown in full per group; above this a group shows its head, tail and conflicts.
const FULL_ROWS: usize = 50;
/// The width text output fits (a plain terminal).
const WIDTH: usize = 80;
/// Rows shown at the start of a long group.
const HEAD_ROWS: usize = 10;
/// Rows shown at the end of a long group.
const TAIL_ROWS: usize = 5;

/// Writes `plan` on stdout as JSON or text (a closed pipe ends it quietly).
pub fn print(plan: &Plan, json_out: bool) -> io::Result<()> {
    let mut out = BufWriter::new(super::stdout());
    if json_out {
        json(plan, &mut out)?;
    } else {
        text(plan, &mut out)?;
    }
    out.flush()
}

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
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("servers", &ServersJson(&plan.servers))?;
        map.serialize_entry("undeclared", &UndeclaredJson(&plan.undeclared))?;
        map.serialize_entry("summary", &plan.summary())?;
        map.serialize_entry("cost", &plan.cost.as_ref().map(|m| AmountJson("total", m)))?;
        // The updates' known price changes per period, apart from the orders' `cost`.
        let (update_cost, _) = plan.update_cost();
        let update_cost = update_cost.as_ref().map(|m| AmountJson("amount", m));
        map.serialize_entry("update_cost", &update_cost)?;
        let balance = plan.balance.as_ref().map(|m| AmountJson("amount", m));
        map.serialize_entry("balance", &balance)?;
        map.end()
    }
}

struct ServersJson<'a>(&'a [PlannedServer]);

impl Serialize for ServersJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().filter(|s| s.targeted).map(ServerJson))
    }
}

struct UndeclaredJson<'a>(&'a [Undeclared]);

impl Serialize for UndeclaredJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().filter(|u| u.targeted).map(LeftoverJson))
    }
}

struct LeftoverJson<'a>(&'a Undeclared);

impl Serialize for LeftoverJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("group", &*u.group)?;
        map.serialize_entry("seq", &u.seq)?;
        map.serialize_entry("key", &u.key)?;
        map.serialize_entry("service_id", &u.service.id)?;
        map.serialize_entry("domain", &u.service.domain)?;
        map.serialize_entry("action", &u.action)?;
        if u.action == Leftover::Delete {
            map.serialize_entry("call", &CallJson(&u.delete_call()))?;
        }
        map.end()
    }
}

struct ChangesJson<'a>(&'a [Change]);

impl Serialize for ChangesJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for change in self.0 {
            map.serialize_entry(&change.field, &FromTo(change))?;
        }
        map.end()
    }
}

struct FromTo<'a>(&'a Change);

impl Serialize for FromTo<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("from", &self.0.from)?;
        map.serialize_entry("to", &self.0.to)?;
        map.end()
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
        match (&s.drift, s.action) {
            (Some(drift), Action::Update) => {
                map.serialize_entry("call", &CallJson(&drift.call()))?;
                map.serialize_entry("changes", &ChangesJson(&drift.diff.changes))?;
                let price = drift.price_change.as_ref().map(|m| AmountJson("amount", m));
                map.serialize_entry("price_change", &price)?;
            }
            (Some(drift), _) => {
                map.serialize_entry("changes", &ChangesJson(&drift.diff.blocked))?
            }
            (None, _) => {}
        }
        if let Some(existing) = &s.existing {
            map.serialize_entry("service_id", &existing.id)?;
        }
        if s.action == Action::Conflict {
            map.serialize_entry("reason", &s.reason())?;
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
    let targeted: Vec<&PlannedServer> = plan.servers.iter().filter(|s| s.targeted).collect();
    let mut rest = targeted.as_slice();
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .position(|s| s.group_index != first.group_index)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(len);
        write_group(&mut w, group)?;
        rest = tail;
    }
    write_undeclared(&mut w, &plan.undeclared)?;
    writeln!(w, "{}", counts_line(plan))?;
    if let Some(cost) = &plan.cost {
        writeln!(w, "estimated cost: {cost}")?;
    }
    if plan.summary().update > 0 {
        writeln!(w, "update cost: {}", update_cost_text(plan))?;
    }
    if let Some(balance) = &plan.balance {
        writeln!(w, "balance: {balance}")?;
    }
    w.flush()
}

/// One update's price change: `+2.50 EUR/period`, or `price change unknown`.
pub fn price_change_text(change: Option<&Money>) -> String {
    match change {
        Some(m) if m.is_negative() => format!("{m}/period"),
        Some(m) => format!("+{m}/period"),
        None => "price change unknown".to_owned(),
    }
}

/// The updates' price changes added up: `+5.00 EUR/period`, with `(1 unknown)` when some are
/// not stated, or `price change unknown`.
pub fn update_cost_text(plan: &Plan) -> String {
    match plan.update_cost() {
        (Some(total), 0) => price_change_text(Some(&total)),
        (Some(total), n) => format!("{} ({n} unknown)", price_change_text(Some(&total))),
        (None, _) => price_change_text(None),
    }
}

/// `3 to order, 2 to update, 1 to delete, 40 unchanged` (then conflicts and orphans, if any).
pub fn counts_line(plan: &Plan) -> String {
    let s = plan.summary();
    let mut line = format!(
        "{} to order, {} to update, {} to delete, {} unchanged",
        s.order, s.update, s.delete, s.exists
    );
    if s.conflict > 0 {
        line.push_str(&format!(", {} in conflict", s.conflict));
    }
    if s.orphan > 0 {
        line.push_str(&format!(
            ", {} undeclared kept (--prune deletes them)",
            s.orphan
        ));
    }
    line
}

/// The undeclared services: kept or to delete.
fn write_undeclared<W: Write>(w: &mut W, undeclared: &[Undeclared]) -> io::Result<()> {
    let shown: Vec<&Undeclared> = undeclared.iter().filter(|u| u.targeted).collect();
    if shown.is_empty() {
        return Ok(());
    }
    writeln!(w, "undeclared services (count lowered):")?;
    for u in shown {
        let domain = u.service.domain.as_deref().unwrap_or("-");
        let what = match u.action {
            Leftover::Orphan => "orphan".to_owned(),
            Leftover::Delete => format!(
                "delete  {}.delete elid={}",
                u.service.item_type, u.service.id
            ),
        };
        writeln!(w, "  {what}  {}  {domain}  service {}", u.key, u.service.id)?;
    }
    writeln!(w)
}

/// One group: header, common parameters, rows.
fn write_group<W: Write>(w: &mut W, servers: &[&PlannedServer]) -> io::Result<()> {
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
            writeln!(w, "{}", wrap("  common: ", &join(call.common.iter())))?;
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
        let head = format!("  {action:wa$}  {key:wk$}  {domain:wd$}  ");
        wrap(&head, &params).trim_end().to_owned()
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
fn is_shown(servers: &[&PlannedServer], i: usize) -> bool {
    servers.len() <= FULL_ROWS
        || i < HEAD_ROWS
        || i >= servers.len() - TAIL_ROWS
        || matches!(servers[i].action, Action::Conflict | Action::Update)
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
        (None, Some(e)) if s.action == Action::Update => {
            let mut text = format!("service {}:", e.id);
            for c in s.drift.iter().flat_map(|d| &d.diff.changes) {
                let from = c.from.as_deref().unwrap_or("(none)");
                text.push_str(&format!(" {} {from} → {}", c.field, c.to));
            }
            let change = s.drift.as_ref().and_then(|d| d.price_change.as_ref());
            text.push_str(&format!("; {}", price_change_text(change)));
            text
        }
        (None, Some(e)) if s.action == Action::Conflict && s.drift.is_some() => {
            format!("service {}: {}", e.id, s.reason())
        }
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

/// `head` then the words of `text`, broken into lines of at most [`WIDTH`] characters where
/// the words allow; continuation lines are indented to the end of `head` (or by six when
/// `head` is wide).
fn wrap(head: &str, text: &str) -> String {
    let start = head.chars().count();
    let indent = if start <= WIDTH / 2 { start } else { 6 };
    super::wrap(text, WIDTH, head, &" ".repeat(indent))
}

#[cfg(test)]
mod wrap_tests {
    use super::{WIDTH, wrap};

    #[test]
    fn long_parameter_lists_fit_the_width() {
        let words = (0..40).map(|i| format!("addon_{i}=1")).collect::<Vec<_>>();
        let text = wrap("  common: ", &words.join(" "));
        assert!(text.lines().count() > 1);
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        assert!(text.lines().skip(1).all(|l| l.starts_with("          a")));
        assert_eq!(wrap("  x ", "a b"), "  x a b");
    }
}
