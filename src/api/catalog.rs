//! Reading what the billing sells: tariff lists and one tariff's order form
//! (billfleet's catalog convention, accepting the documented alternatives).
//!
//! Every shape public sources show is read, and the form records which one it found
//! ([`FormShape`], reported by `billfleet doctor`):
//!
//! - addon ids from `metadata.form.field[$name=addon_N]` (old forms),
//!   `metadata.form.page[…].field[$name=addon_N]` (BILLmanager 6 v2 forms), the values
//!   `doc.addon_N.$` and list-type addons `slist[$name=addon_N]`: the production BILLmanager 6
//!   front end `Karantir-dev/billing-typescript` (`src/Redux/dns/dnsOperations.js` reads
//!   `metadata.form.field[].slider[0].$min/$max/$step` in one form and
//!   `metadata.form.page[].field[].slider[0]` in another; `src/Redux/domains/domainsOperations.js`
//!   reads `doc[addon_N]`);
//! - limits as attributes of the field (billfleet's simulator) or of its `slider` child (the
//!   front end above);
//! - labels from `messages.msg[$name=addon_N]` (XML) or the JSON map `messages.msg["addon_N"]`
//!   (the same front end, `domainsOperations.js`: `data.doc.messages.msg[field.$name]`);
//! - list-type addons' values from `slist[$name=addon_N].val[$key]`, which may be words
//!   (`addon_N=off`, as a public Python adapter sends) rather than numbers.

use super::doc::{Doc, Node};
use super::types::{AddonInfo, Choice, EnumInfo, FormShape, OrderForm, Tariff, form_total};
use crate::money::Money;

/// Tariffs of `v2.<type>.order.pricelist`: the list named `pricelist`, else the first.
pub(crate) fn tariffs_from_pricelist(doc: &Doc) -> Vec<Tariff> {
    let datacenters: Vec<(String, String)> = doc
        .named("slist", "datacenter")
        .map(|s| choices(s).into_iter().map(|c| (c.key, c.label)).collect())
        .unwrap_or_default();
    let list = doc.named("list", "pricelist").or_else(|| doc.child("list"));
    let rows: Vec<&Node> = match list {
        Some(list) => list.children("elem").collect(),
        None => doc.children("elem").collect(),
    };
    rows.into_iter()
        .filter_map(|elem| tariff(elem, &datacenters))
        .collect()
}

fn tariff(elem: &Node, datacenters: &[(String, String)]) -> Option<Tariff> {
    let id = elem.value_string("id")?;
    let name = elem
        .value_string("title")
        .or_else(|| elem.value_string("name"))
        .unwrap_or_else(|| id.clone());
    let prices = elem
        .child("prices")
        .map(|p| p.children("price").filter_map(price).collect())
        .unwrap_or_default();
    Some(Tariff {
        id,
        name,
        description: elem.value_string("description"),
        prices,
        datacenters: datacenters.to_vec(),
    })
}

fn price(node: &Node) -> Option<(String, Money)> {
    let period = node.value_string("period")?;
    let mut money = Money::parse(node.value("cost")?)?;
    if money.currency.is_empty() {
        money.currency = node.value("currency").unwrap_or_default().to_owned();
    }
    Some((period, money))
}

/// The fallback `<type>.order` form: `slist[$name=pricelist]` ids and names only.
pub(crate) fn tariffs_from_order_slist(doc: &Doc) -> Vec<Tariff> {
    doc.named("slist", "pricelist")
        .map(choices)
        .unwrap_or_default()
        .into_iter()
        .map(|c| Tariff {
            id: c.key,
            name: c.label,
            ..Tariff::default()
        })
        .collect()
}

/// The values of an option list (`slist` with `val` children).
fn choices(slist: &Node) -> Vec<Choice> {
    slist
        .children("val")
        .filter_map(|v| {
            let key = v.attr("key").map(str::to_owned)?;
            let label = v.text().map_or_else(|| key.clone(), str::to_owned);
            let cost = v.attr("cost").and_then(Money::parse);
            Some(Choice { key, label, cost })
        })
        .collect()
}

/// Reads one tariff's order form.
pub(crate) fn order_form(doc: &Doc) -> OrderForm {
    let list = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| doc.named("slist", n))
            .map(choices)
            .unwrap_or_default()
    };
    let total = form_total(doc);
    let currency = total
        .as_ref()
        .map(|(m, _)| m.currency.clone())
        .unwrap_or_default();
    let shape = FormShape {
        limits: limits_shape(doc),
        labels: labels_shape(doc),
        price: total.as_ref().map(|(_, source)| *source),
        list_addons: doc
            .children("slist")
            .any(|s| s.attr("name").is_some_and(|n| n.starts_with("addon_"))),
    };
    OrderForm {
        addons: addons(doc, &currency),
        enums: enums(doc),
        ostempls: list(&["ostempl"]),
        recipes: list(&["recipe"]),
        periods: list(&["period", "order_period"]),
        datacenters: list(&["datacenter"]),
        total: total.map(|(m, _)| m),
        shape: Box::new(shape),
    }
}

/// The label of `addon_N` / `enum_N`: `messages.msg[$name=…]`, else the map form
/// `messages.msg.addon_N` (JSON `"msg": {"addon_N": "Disk"}`).
fn label(doc: &Doc, field: &str) -> Option<String> {
    let messages = doc.child("messages")?;
    messages
        .named("msg", field)
        .and_then(Node::text)
        .or_else(|| {
            messages
                .children("msg")
                .find_map(|m| m.child(field).and_then(Node::text))
        })
        .map(str::to_owned)
}

fn labels_shape(doc: &Doc) -> Option<&'static str> {
    let messages = doc.child("messages")?;
    let msgs: Vec<&Node> = messages.children("msg").collect();
    if msgs.iter().any(|m| m.attr("name").is_some()) {
        Some("messages.msg[$name]")
    } else if msgs.iter().any(|m| !m.all_children().is_empty()) {
        Some("messages.msg map")
    } else {
        None
    }
}

fn limits_shape(doc: &Doc) -> Option<&'static str> {
    let form = doc.child("metadata")?.child("form")?;
    if form.children("page").any(|p| p.child("field").is_some()) {
        Some("metadata.form.page[].field[]")
    } else if form.child("field").is_some() {
        Some("metadata.form.field[]")
    } else {
        None
    }
}

/// Ids of `prefix<N>` names, in first-seen order, without repeats.
fn push_id(ids: &mut Vec<String>, name: &str, prefix: &str) {
    if let Some(id) = name.strip_prefix(prefix).filter(|id| !id.is_empty())
        && !ids.iter().any(|i| i == id)
    {
        ids.push(id.to_owned());
    }
}

/// The form's fields: `metadata.form.field[]` (old forms) and
/// `metadata.form.page[].field[]` (v2 forms).
fn form_fields(doc: &Doc) -> Vec<&Node> {
    let Some(form) = doc.child("metadata").and_then(|m| m.child("form")) else {
        return Vec::new();
    };
    form.children("field")
        .chain(form.children("page").flat_map(|p| p.children("field")))
        .collect()
}

fn addons(doc: &Doc, currency: &str) -> Vec<AddonInfo> {
    let fields = form_fields(doc);
    let mut ids = Vec::new();
    for f in &fields {
        push_id(&mut ids, f.attr("name").unwrap_or_default(), "addon_");
    }
    for n in doc.all_children() {
        push_id(&mut ids, n.name(), "addon_");
    }
    for s in doc.children("slist") {
        push_id(&mut ids, s.attr("name").unwrap_or_default(), "addon_");
    }
    ids.into_iter()
        .map(|id| {
            let name = format!("addon_{id}");
            let field = fields.iter().find(|f| f.attr("name") == Some(&*name));
            let meta = |key: &str| {
                field.and_then(|f| {
                    f.attr(key)
                        .or_else(|| f.children("slider").find_map(|s| s.attr(key)))
                        .map(str::to_owned)
                })
            };
            let price = meta("cost").and_then(|c| Money::parse(&c)).map(|mut m| {
                if m.currency.is_empty() {
                    m.currency = currency.to_owned();
                }
                m
            });
            AddonInfo {
                name: label(doc, &name),
                default: doc.value_string(&name),
                min: meta("min"),
                max: meta("max"),
                step: meta("step"),
                measure: meta("measure"),
                price,
                options: doc.named("slist", &name).map(choices).unwrap_or_default(),
                id,
            }
        })
        .collect()
}

fn enums(doc: &Doc) -> Vec<EnumInfo> {
    let mut ids = Vec::new();
    for s in doc.children("slist") {
        push_id(&mut ids, s.attr("name").unwrap_or_default(), "enum_");
    }
    for n in doc.all_children() {
        push_id(&mut ids, n.name(), "enum_");
    }
    ids.into_iter()
        .map(|id| {
            let name = format!("enum_{id}");
            EnumInfo {
                name: label(doc, &name),
                default: doc.value_string(&name),
                options: doc.named("slist", &name).map(choices).unwrap_or_default(),
                id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICELIST: &str = r#"{"doc":{
        "slist":{"$name":"datacenter","val":[{"$key":"1","$":"Frankfurt"},{"$key":"2","$":"Amsterdam"}]},
        "list":{"$name":"pricelist","elem":[
          {"id":{"$":"6"},"title":{"$":"VPS S"},"description":{"$":"1 CPU"},
           "prices":{"price":[{"period":{"$":"1"},"cost":{"$":"5.00"},"currency":{"$":"EUR"}},
                              {"period":{"$":"12"},"cost":{"$":"50.00"},"currency":{"$":"EUR"}}]}},
          {"id":{"$":"7"},"title":{"$":"VPS M"},"prices":{"price":{"period":{"$":"1"},"cost":{"$":"9.50 EUR"}}}}]}}}"#;

    #[test]
    fn reads_tariffs_with_prices_and_datacenters() {
        let doc = Doc::decode(PRICELIST.as_bytes()).unwrap();
        let t = tariffs_from_pricelist(&doc);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].id.as_str(), t[0].name.as_str()), ("6", "VPS S"));
        assert_eq!(t[0].description.as_deref(), Some("1 CPU"));
        assert_eq!(
            t[0].prices,
            [
                ("1".to_owned(), Money::new(500, "EUR")),
                ("12".to_owned(), Money::new(5000, "EUR"))
            ]
        );
        assert_eq!(t[1].prices, [("1".to_owned(), Money::new(950, "EUR"))]);
        assert_eq!(
            t[1].datacenters[1],
            ("2".to_owned(), "Amsterdam".to_owned())
        );
    }

    #[test]
    fn reads_an_order_form() {
        let xml = r#"<doc>
          <slist name="ostempl"><val key="centos7" cost="0.00">CentOS 7</val><val key="debian12">Debian 12</val></slist>
          <slist name="order_period"><val key="1">1 month</val><val key="12">1 year</val></slist>
          <slist name="enum_1112"><val key="21">Standard</val><val key="22" cost="3.00">Fast</val></slist>
          <addon_10>6</addon_10><addon_11>256</addon_11><enum_1112>21</enum_1112>
          <metadata><form>
            <field name="addon_10" min="1" max="32" step="1" measure="GB" cost="0.50"/>
            <field name="addon_11"><slider min="128" max="1024" step="128"/></field>
          </form></metadata>
          <messages><msg name="addon_10">Disk</msg><msg name="enum_1112">Network</msg></messages>
          <orderinfo>Order details&lt;br/&gt;Total amount: 12.50 EUR</orderinfo>
        </doc>"#;
        let form = order_form(&Doc::decode(xml.as_bytes()).unwrap());
        assert_eq!(form.total, Some(Money::new(1250, "EUR")));
        assert_eq!(form.ostempls.len(), 2);
        assert_eq!(form.ostempls[0].cost, Some(Money::new(0, "")));
        assert_eq!(form.periods[1].key, "12");
        assert_eq!(form.addons.len(), 2);
        let disk = &form.addons[0];
        assert_eq!(disk.id, "10");
        assert_eq!(disk.name.as_deref(), Some("Disk"));
        assert_eq!(disk.default.as_deref(), Some("6"));
        assert_eq!(
            (disk.min.as_deref(), disk.max.as_deref()),
            (Some("1"), Some("32"))
        );
        assert_eq!(disk.measure.as_deref(), Some("GB"));
        assert_eq!(disk.price, Some(Money::new(50, "EUR")));
        assert_eq!(form.addons[1].max.as_deref(), Some("1024"));
        assert_eq!(form.enums.len(), 1);
        assert_eq!(form.enums[0].name.as_deref(), Some("Network"));
        assert_eq!(form.enums[0].default.as_deref(), Some("21"));
        assert_eq!(form.enums[0].options[1].cost, Some(Money::new(300, "")));
    }

    /// A BILLmanager 6 v2 form as JSON: limits under `metadata.form.page[].field[].slider`,
    /// labels as a `messages.msg` map of plain strings, a list-type addon with word values and
    /// the price in `total_summary`.
    const V2_JSON: &str = r#"{"doc":{
        "addon_10":{"$":"2"},"addon_15":{"$":"off"},
        "slist":[{"$name":"addon_15","val":[{"$key":"off","$":"Off"},{"$key":"on","$":"On","$cost":"5.00"}]},
                 {"$name":"order_period","val":{"$key":"1","$":"1 month"}}],
        "metadata":{"form":{"page":[{"$name":"basic"},{"$name":"addon","field":[
            {"$name":"addon_10","slider":[{"$min":"1","$max":"32","$step":"1"}]},
            {"$name":"addon_15"}]}]}},
        "messages":{"msg":{"addon_10":"CPU cores","addon_15":"DDoS protection"}},
        "list":[{"$name":"total_summary","elem":[
            {"id":{"$":"total"},"cost":{"price":{"cost":{"$":"7.50"},"currency":{"$":"EUR"}}}},
            {"id":{"$":"6"},"cost":{"price":{"cost":{"$":"5.00"},"currency":{"$":"EUR"}}}}]},
          {"$name":"pricelist_summary","elem":{"cost":{"price":{"cost":{"$":"5.00"}}}}}]}}"#;

    #[test]
    fn reads_a_v2_form_in_json() {
        let form = order_form(&Doc::decode(V2_JSON.as_bytes()).unwrap());
        assert_eq!(form.total, Some(Money::new(750, "EUR")));
        let ids: Vec<&str> = form.addons.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["10", "15"]);
        let cpu = &form.addons[0];
        assert_eq!(cpu.name.as_deref(), Some("CPU cores"));
        assert_eq!(
            (cpu.min.as_deref(), cpu.max.as_deref(), cpu.step.as_deref()),
            (Some("1"), Some("32"), Some("1"))
        );
        let ddos = &form.addons[1];
        assert_eq!(ddos.default.as_deref(), Some("off"));
        assert_eq!(ddos.name.as_deref(), Some("DDoS protection"));
        let keys: Vec<&str> = ddos.options.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["off", "on"]);
        assert_eq!(form.shape.limits, Some("metadata.form.page[].field[]"));
        assert_eq!(form.shape.labels, Some("messages.msg map"));
        assert_eq!(form.shape.price, Some("total_summary"));
        assert!(form.shape.list_addons);
        assert_eq!(form.periods[0].key, "1");
    }

    #[test]
    fn reads_a_v2_form_in_xml() {
        let xml = r#"<doc><addon_10>2</addon_10>
          <metadata><form><page name="addon"><field name="addon_10"><slider min="1" max="32" step="1"/></field></page></form></metadata>
          <messages><msg><addon_10>CPU cores</addon_10></msg></messages>
          <list name="total_summary"><elem><cost><price><cost>7.50</cost><currency>EUR</currency></price></cost></elem></list>
        </doc>"#;
        let form = order_form(&Doc::decode(xml.as_bytes()).unwrap());
        assert_eq!(form.total, Some(Money::new(750, "EUR")));
        assert_eq!(form.addons[0].name.as_deref(), Some("CPU cores"));
        assert_eq!(form.addons[0].max.as_deref(), Some("32"));
        assert_eq!(form.shape.price, Some("total_summary"));
    }
}
