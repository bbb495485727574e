//! The order form (price preview) and the tariff lists: `<type>.order`,
//! `v2.<type>.order.pricelist`, and the order functions called without `sok`.

use super::catalog::{self, Era};
use super::doc::{self, Node};
use super::funcs::{Call, Reply, Style};
use super::orders::{Spec, period_key, pricelist_key};

fn val(key: &str, label: &str) -> Node {
    Node::text("val", label).attr("key", key)
}

/// The order form of one tariff with the price of what the parameters describe.
pub(super) fn order_form(call: &Call<'_>, spec: &Spec<'_>, style: Style) -> Node {
    let t = spec.tariff;
    let currency = call.config.currency.as_str();
    let mut doc = Node::doc()
        .field(pricelist_key(style), t.id.to_string())
        .field(period_key(style), spec.period.wire.to_string());
    option_lists(&mut doc, spec, style);
    let (fields, messages) = option_values(&mut doc, spec);
    if let Some(dc) = spec.datacenter {
        doc.push(Node::text("datacenter", dc.to_string()));
    }
    let total = doc::cents(spec.cost_cents);
    let info = format!(
        "Order details<br/>Tariff: {}<br/>Period: {}<br/>Total amount: {total} {currency}",
        t.title, spec.period.label
    );
    let price = Node::new("price")
        .field("cost", &total)
        .field("currency", currency);
    let summary = Node::new("list").attr("name", "pricelist_summary").child(
        Node::new("elem")
            .field("id", t.id.to_string())
            .child(Node::new("cost").child(price)),
    );
    doc.child(Node::new("metadata").child(fields))
        .child(messages)
        .field("orderinfo", info)
        .child(summary)
}

/// The choice lists of the form: periods (with prices), auto-renewal, datacenters, OS, recipes.
fn option_lists(doc: &mut Node, spec: &Spec<'_>, style: Style) {
    let t = spec.tariff;
    let mut periods = Node::new("slist").attr("name", period_key(style));
    for p in &t.periods {
        let cost = t.price_cents(p.months, &spec.addons, &spec.enums);
        periods.push(val(&p.wire.to_string(), p.label).attr("cost", doc::cents(cost)));
    }
    doc.push(periods);
    let mut prolong = Node::new("slist")
        .attr("name", "autoprolong")
        .child(val("null", "Off"));
    for p in t.periods.iter().filter(|p| p.months > 0) {
        prolong.push(val(&p.wire.to_string(), p.label));
    }
    doc.push(prolong);
    if !t.datacenters.is_empty() {
        let mut dcs = Node::new("slist").attr("name", "datacenter");
        for dc in &t.datacenters {
            dcs.push(val(&dc.to_string(), catalog::datacenter_name(*dc)));
        }
        doc.push(dcs);
    }
    if t.has_os {
        let mut os = Node::new("slist").attr("name", "ostempl");
        for o in catalog::OS_TEMPLATES {
            os.push(val(o, o).attr("cost", "0.00"));
        }
        let mut recipes = Node::new("slist")
            .attr("name", "recipe")
            .child(val("null", "None"));
        for (k, label) in catalog::RECIPES {
            recipes.push(val(k, label));
        }
        doc.push(os);
        doc.push(recipes);
    }
}

/// Current addon and enum values, their ranges (metadata) and labels (messages).
fn option_values(doc: &mut Node, spec: &Spec<'_>) -> (Node, Node) {
    let t = spec.tariff;
    let mut fields = Node::new("form");
    let mut messages = Node::new("messages");
    for a in &t.addons {
        let name = format!("addon_{}", a.id);
        let current = spec
            .addons
            .iter()
            .find(|(i, _)| *i == a.id)
            .map_or(a.default, |(_, v)| *v);
        doc.push(Node::text(&name, current.to_string()));
        fields.push(
            Node::new("field")
                .attr("name", &name)
                .attr("min", a.min.to_string())
                .attr("max", a.max.to_string())
                .attr("step", a.step.to_string())
                .attr("measure", a.measure)
                .attr("cost", doc::cents(a.unit_cents)),
        );
        messages.push(Node::text("msg", a.name).attr("name", &name));
    }
    for e in &t.enums {
        let name = format!("enum_{}", e.id);
        let current = spec
            .enums
            .iter()
            .find(|(i, _)| *i == e.id)
            .map_or(e.default, |(_, v)| v.as_str());
        doc.push(Node::text(&name, current));
        let mut list = Node::new("slist").attr("name", &name);
        for (v, label, cost) in &e.values {
            list.push(val(v, label).attr("cost", doc::cents(*cost)));
        }
        doc.push(list);
        messages.push(Node::text("msg", e.name).attr("name", &name));
    }
    (fields, messages)
}

/// The tariffs the configured dialect lists for a type: BILLmanager 4's period-id tariffs
/// where it has any, else the modern ones.
fn era_of(call: &Call<'_>, item_type: &str) -> Era {
    let legacy = call
        .catalog
        .iter()
        .any(|t| t.item_type == item_type && t.era == Era::Legacy);
    if call.config.dialect == super::SimDialect::Bm4 && legacy {
        Era::Legacy
    } else {
        Era::Modern
    }
}

/// `<type>.order`: the tariffs of a type (ids and names only).
pub(crate) fn order_start(call: &Call<'_>, item_type: &str) -> Reply {
    let era = era_of(call, item_type);
    let mut list = Node::new("slist").attr("name", "pricelist");
    for t in call
        .catalog
        .iter()
        .filter(|t| t.item_type == item_type && t.era == era)
    {
        list.push(val(&t.id.to_string(), t.title));
    }
    Reply::Doc(Node::doc().child(list))
}

/// `v2.<type>.order.pricelist`: tariffs with details and prices per period.
pub(crate) fn pricelist(call: &Call<'_>, item_type: &str) -> Node {
    let wanted_dc = call
        .params
        .non_empty("datacenter")
        .and_then(|d| d.parse::<u32>().ok());
    let currency = call.config.currency.as_str();
    let mut list = Node::new("list").attr("name", "pricelist");
    let era = era_of(call, item_type);
    let tariffs = call
        .catalog
        .iter()
        .filter(|t| t.item_type == item_type && t.era == era);
    for t in tariffs.filter(|t| {
        wanted_dc.is_none_or(|dc| t.datacenters.is_empty() || t.datacenters.contains(&dc))
    }) {
        let mut elem = Node::new("elem")
            .field("id", t.id.to_string())
            .field("title", t.title)
            .field("description", t.description);
        for a in &t.addons {
            elem.push(
                Node::new("detail")
                    .field("name", a.name)
                    .field("value", format!("{} {}", a.default, a.measure)),
            );
        }
        let mut prices = Node::new("prices");
        for p in &t.periods {
            prices.push(
                Node::new("price")
                    .field("period", p.wire.to_string())
                    .field("cost", doc::cents(t.price_cents(p.months, &[], &[])))
                    .field("currency", currency),
            );
        }
        list.push(elem.child(prices));
    }
    let mut dcs = Node::new("slist").attr("name", "datacenter");
    for (id, name) in catalog::DATACENTERS {
        dcs.push(val(&id.to_string(), name));
    }
    Node::doc().child(dcs).child(list)
}
