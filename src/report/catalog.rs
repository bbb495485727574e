//! The catalog (`billfleet catalog`) as readable tables or one JSON object, written to any
//! `W: Write`, or to stdout with [`print()`].

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::api::{AddonInfo, Choice, OrderForm};
use crate::catalog::TariffRow;
use crate::money::Money;

/// One tariff's order form with what names it.
pub struct Detail<'a> {
    /// Item type.
    pub kind: &'a str,
    /// Tariff id.
    pub id: &'a str,
    /// Tariff name, when the list gave one.
    pub name: Option<&'a str>,
    /// The order form.
    pub form: &'a OrderForm,
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
fn table<W: Write>(out: &mut W, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(out, "  {}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "  {}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn money_json(m: &Money) -> Value {
    json!({"amount": m.amount(), "currency": m.currency})
}

fn opt(text: Option<&String>) -> String {
    text.cloned().unwrap_or_else(|| "-".to_owned())
}

/// The tariff list as a table.
pub fn list_text<W: Write>(kind: &str, rows: &[TariffRow], out: &mut W) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "The billing offers no {kind} tariffs.");
    }
    writeln!(out, "{kind} tariffs ({}):", rows.len())?;
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let prices = r
                .prices
                .iter()
                .map(|p| format!("{} / {}", p.price, p.label))
                .collect::<Vec<_>>()
                .join(", ");
            let dcs = r
                .tariff
                .datacenters
                .iter()
                .map(|(id, name)| format!("{id} {name}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                r.tariff.id.clone(),
                r.tariff.name.clone(),
                if dcs.is_empty() { "-".into() } else { dcs },
                if prices.is_empty() {
                    "-".into()
                } else {
                    prices
                },
            ]
        })
        .collect();
    table(out, &["ID", "NAME", "DATACENTERS", "PRICES"], &cells)?;
    writeln!(
        out,
        "\nDetails of one tariff: billfleet catalog --type {kind} --pricelist ID"
    )
}

/// The tariff list as one JSON object.
pub fn list_json<W: Write>(kind: &str, rows: &[TariffRow], out: &mut W) -> io::Result<()> {
    let tariffs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.tariff.id,
                "name": r.tariff.name,
                "description": r.tariff.description,
                "prices": r.prices.iter().map(|p| json!({
                    "period": p.period,
                    "label": p.label,
                    "amount": p.price.amount(),
                    "currency": p.price.currency,
                })).collect::<Vec<_>>(),
                "datacenters": r.tariff.datacenters.iter()
                    .map(|(id, name)| json!({"id": id, "name": name}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({"type": kind, "tariffs": tariffs});
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// An option's cost, in the form's currency when it names none.
fn cost(c: &Choice, currency: &str) -> Option<Money> {
    c.cost.as_ref().map(|m| {
        let mut m = m.clone();
        if m.currency.is_empty() {
            currency.clone_into(&mut m.currency);
        }
        m
    })
}

fn choices_json(choices: &[Choice], currency: &str) -> Vec<Value> {
    choices
        .iter()
        .map(|c| {
            json!({
                "key": c.key,
                "label": c.label,
                "cost": cost(c, currency).as_ref().map(money_json),
            })
        })
        .collect()
}

fn addon_json(a: &AddonInfo) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "default": a.default,
        "min": a.min,
        "max": a.max,
        "step": a.step,
        "unit": a.measure,
        "price_per_unit": a.price.as_ref().map(money_json),
        "values": a.options.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
    })
}

/// One tariff's form as one JSON object.
pub fn detail_json<W: Write>(d: &Detail<'_>, out: &mut W) -> io::Result<()> {
    let f = d.form;
    let cur = currency(f);
    let doc = json!({
        "type": d.kind,
        "pricelist": d.id,
        "name": d.name,
        "price": f.total.as_ref().map(money_json),
        "addons": f.addons.iter().map(addon_json).collect::<Vec<_>>(),
        "enums": f.enums.iter().map(|e| json!({
            "id": e.id,
            "name": e.name,
            "default": e.default,
            "options": choices_json(&e.options, cur),
        })).collect::<Vec<_>>(),
        "ostempls": choices_json(&f.ostempls, cur),
        "recipes": choices_json(&f.recipes, cur),
        "periods": choices_json(&f.periods, cur),
        "datacenters": choices_json(&f.datacenters, cur),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn choice_rows(choices: &[Choice], currency: &str) -> Vec<Vec<String>> {
    choices
        .iter()
        .map(|c| {
            let label = if c.label == c.key { "" } else { &c.label };
            let cost = cost(c, currency)
                .as_ref()
                .map(Money::to_string)
                .unwrap_or_default();
            vec![c.key.clone(), label.to_owned(), cost]
        })
        .collect()
}

fn section<W: Write>(
    out: &mut W,
    title: &str,
    choices: &[Choice],
    currency: &str,
) -> io::Result<()> {
    if choices.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}:")?;
    table(
        out,
        &["VALUE", "NAME", "PRICE"],
        &choice_rows(choices, currency),
    )
}

fn currency(form: &OrderForm) -> &str {
    form.total.as_ref().map_or("", |m| m.currency.as_str())
}

/// One tariff's form as readable tables.
pub fn detail_text<W: Write>(d: &Detail<'_>, out: &mut W) -> io::Result<()> {
    let f = d.form;
    let cur = currency(f);
    match d.name {
        Some(name) => writeln!(out, "{} tariff {}: {name}", d.kind, d.id)?,
        None => writeln!(out, "{} tariff {}", d.kind, d.id)?,
    }
    if let Some(total) = &f.total {
        writeln!(out, "Price with the defaults: {total}")?;
    }
    if !f.addons.is_empty() {
        writeln!(out, "\nAddons (manifest `addons: {{ID: VALUE}}`):")?;
        let rows: Vec<Vec<String>> = f
            .addons
            .iter()
            .map(|a| {
                vec![
                    a.id.clone(),
                    opt(a.name.as_ref()),
                    opt(a.default.as_ref()),
                    if a.options.is_empty() {
                        opt(a.min.as_ref())
                    } else {
                        // A list-type addon: its values (which may be words such as `off`).
                        a.options
                            .iter()
                            .map(|c| c.key.as_str())
                            .collect::<Vec<_>>()
                            .join("|")
                    },
                    opt(a.max.as_ref()),
                    opt(a.step.as_ref()),
                    opt(a.measure.as_ref()),
                    a.price
                        .as_ref()
                        .map_or_else(|| "-".into(), Money::to_string),
                ]
            })
            .collect();
        let header = [
            "ID", "NAME", "DEFAULT", "MIN", "MAX", "STEP", "UNIT", "PER UNIT",
        ];
        table(out, &header, &rows)?;
    }
    for e in &f.enums {
        let name = e.name.as_deref().unwrap_or("");
        let default = e.default.as_deref().unwrap_or("-");
        writeln!(
            out,
            "\nEnum {} {name} (manifest `enums: {{{}: VALUE}}`, default {default}):",
            e.id, e.id
        )?;
        table(
            out,
            &["VALUE", "NAME", "PRICE"],
            &choice_rows(&e.options, cur),
        )?;
    }
    section(out, "OS templates (`ostempl`)", &f.ostempls, cur)?;
    section(out, "Recipes (`recipe`)", &f.recipes, cur)?;
    section(out, "Periods (`period`)", &f.periods, cur)?;
    section(out, "Datacenters (`datacenter`)", &f.datacenters, cur)?;
    Ok(())
}

/// What `billfleet catalog` shows.
pub enum View<'a> {
    /// Every tariff of an item type with its prices.
    List {
        /// Item type.
        kind: &'a str,
        /// The tariffs.
        rows: &'a [TariffRow],
    },
    /// One tariff's order form.
    Detail(Detail<'a>),
}

/// Writes `view` to stdout as text, or as one JSON object when `json`.
pub fn print(view: &View<'_>, json: bool) -> io::Result<()> {
    let mut out = io::BufWriter::new(super::stdout());
    match (view, json) {
        (View::List { kind, rows }, false) => list_text(kind, rows, &mut out)?,
        (View::List { kind, rows }, true) => list_json(kind, rows, &mut out)?,
        (View::Detail(d), false) => detail_text(d, &mut out)?,
        (View::Detail(d), true) => detail_json(d, &mut out)?,
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_all_but_the_last_column() {
        let mut out = Vec::new();
        let rows = vec![
            vec![
                "6".to_owned(),
                "VDS Start".to_owned(),
                "5.00 EUR".to_owned(),
            ],
            vec!["32".to_owned(), "Dedic".to_owned(), "69.00 EUR".to_owned()],
        ];
        table(&mut out, &["ID", "NAME", "PRICE"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "  ID  NAME       PRICE");
        assert_eq!(lines[1], "  6   VDS Start  5.00 EUR");
        assert_eq!(lines[2], "  32  Dedic      69.00 EUR");
    }
}
