//! The order form (price preview) and the tariff lists: `<type>.order`,
//! `v2.<type>.order.pricelist`, and the order functions called without `sok`.

use super::catalog::{self, Addon, Era};
use super::doc::{self, Node};
use super::funcs::{Call, Reply, Style};
use super::orders::{Spec, period_key, pricelist_key};
use super::types::{FormShapes, PriceShape};

fn val(key: &str, label: &str) -> Node {
    Node::text("val", label).attr("key", key)
}

/// The order form of one tariff with the price of what the parameters describe, in the
/// shapes `faults.shapes` asks for.
pub(super) fn order_form(call: &Call<'_>, spec: &Spec<'_>, style: Style) -> Node {
    let t = spec.tariff;
    let shapes = call.core.faults.shapes;
    let currency = call.config.currency.as_str();
    let mut doc = Node::doc()
        .field(pricelist_key(style), t.id.to_string())
        .field(period_key(style), spec.period.wire.to_string());
    option_lists(&mut doc, spec, style);
    let (fields, messages) = option_values(&mut doc, spec, shapes);
    if let Some(dc) = spec.datacenter {
        doc.push(Node::text("datacenter", dc.to_string()));
    }
    let total = doc::cents(spec.cost_cents);
    let mut info = format!(
        "Order details<br/>Tariff: {}<br/>Period: {}",
        t.title, spec.period.label
    );
    if shapes.price != PriceShape::Missing {
        info.push_str(&format!("<br/>Total amount: {total} {currency}"));
    }
    let doc = doc
        .child(Node::new("metadata").child(fields))
        .child(messages)
        .field("orderinfo", info);
    let row = |id: &str, name: &str, cents: i64| {
        let price = Node::new("price")
            .field("cost", doc::cents(cents))
            .field("currency", currency);
        Node::new("elem")
            .field("id", id)
            .field("name", name)
            .child(Node::new("cost").child(price))
    };
    match shapes.price {
        PriceShape::PricelistSummary => doc.child(
            Node::new("list")
                .attr("name", "pricelist_summary")
                .child(row(&t.id.to_string(), t.title, spec.cost_cents)),
        ),
        // The first row is the total (addons included); the tariff's own price follows.
        PriceShape::TotalSummary => {
            let base = t.price_cents(spec.period.months, &[], &[]);
            doc.child(
                Node::new("list")
                    .attr("name", "total_summary")
                    .child(row("total", "Total", spec.cost_cents))
                    .child(row(&t.id.to_string(), t.title, base)),
            )
        }
        PriceShape::Orderinfo | PriceShape::Missing => doc,
    }
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
fn option_values(doc: &mut Node, spec: &Spec<'_>, shapes: FormShapes) -> (Node, Node) {
    let t = spec.tariff;
    let mut fields: Vec<Node> = Vec::new();
    let mut labels: Vec<(String, &str)> = Vec::new();
    for a in &t.addons {
        let name = format!("addon_{}", a.id);
        let current = spec
            .addons
            .iter()
            .find(|(i, _)| *i == a.id)
            .map_or(a.default, |(_, v)| *v);
        doc.push(Node::text(&name, addon_text(a, current, shapes)));
        if shapes.slist_addons && a.is_switch() {
            let mut list = Node::new("slist").attr("name", &name);
            for v in [0, 1] {
                let label = if v == 0 { "Off" } else { "On" };
                let cost = doc::cents(v * a.unit_cents);
                list.push(val(&addon_text(a, v, shapes), label).attr("cost", cost));
            }
            doc.push(list);
            fields.push(Node::new("field").attr("name", &name));
        } else {
            fields.push(limits(a, &name, shapes.v2_form));
        }
        labels.push((name, a.name));
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
        labels.push((name, e.name));
    }
    (
        form_node(fields, shapes.v2_form),
        messages(&labels, shapes.v2_form),
    )
}

/// An addon value as the form shows it: `on`/`off` for switches when asked, else the number.
pub(crate) fn addon_text(a: &Addon, value: i64, shapes: FormShapes) -> String {
    match value {
        0 if shapes.off_values && a.is_switch() => "off".into(),
        1 if shapes.off_values && a.is_switch() => "on".into(),
        v => v.to_string(),
    }
}

/// A slider's field: limits as attributes (old forms), or on a `slider` child (v2 forms).
fn limits(a: &Addon, name: &str, v2: bool) -> Node {
    let attrs = [
        ("min", a.min.to_string()),
        ("max", a.max.to_string()),
        ("step", a.step.to_string()),
        ("measure", a.measure.to_owned()),
        ("cost", doc::cents(a.unit_cents)),
    ];
    let mut field = Node::new("field").attr("name", name);
    if v2 {
        let mut slider = Node::new("slider");
        for (k, v) in attrs {
            slider = slider.attr(k, v);
        }
        field.push(slider);
    } else {
        for (k, v) in attrs {
            field = field.attr(k, v);
        }
    }
    field
}

/// `metadata.form`: fields directly (old forms) or in `page[$name=page_pricelist_settings]`
/// (v2 order forms, as Zomro's BILLmanager 6 front end reads them).
fn form_node(fields: Vec<Node>, v2: bool) -> Node {
    let mut form = Node::new("form");
    if v2 {
        let mut page = Node::new("page").attr("name", "page_pricelist_settings");
        for f in fields {
            page.push(f);
        }
        form.push(page);
    } else {
        for f in fields {
            form.push(f);
        }
    }
    form
}

/// Labels: `msg[$name=addon_N]` (old forms) or the map `msg.addon_N` (v2 forms; plain strings
/// in JSON).
fn messages(labels: &[(String, &str)], v2: bool) -> Node {
    let mut messages = Node::new("messages");
    if v2 {
        let mut map = Node::new("msg");
        for (name, label) in labels {
            map.push(Node::bare_text(name, *label));
        }
        messages.push(map);
    } else {
        for (name, label) in labels {
            messages.push(Node::text("msg", *label).attr("name", name));
        }
    }
    messages
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
