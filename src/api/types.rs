//! What the client's calls return, and how each is read from a decoded answer.

use std::collections::BTreeMap;

use super::doc::{Doc, Node};
use super::error::{ApiError, ErrorKind};
pub(crate) use super::price::form_total;
use crate::money::Money;
use crate::secret::Secret;

/// The logged-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login or real name, when the billing tells.
    pub name: Option<String>,
    /// Balance (localized amounts parsed), with the currency when known.
    pub balance: Money,
}

/// One row of a service list (`func=vds`, `vhost`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// Service id.
    pub id: String,
    /// Domain / host name.
    pub domain: Option<String>,
    /// Main IP address.
    pub ip: Option<String>,
    /// 1 ordered, 2 active, 3 suspended, 4 deleted, 5 processing; 0 when absent or unreadable.
    pub status: u8,
    /// The sub-state code (`item_status.$orig`, e.g. `5_open`).
    pub item_status: Option<String>,
    /// The reseller's own id sent with the order.
    pub remoteid: Option<String>,
    /// Tariff id.
    pub pricelist: Option<String>,
    /// Datacenter id or name.
    pub datacenter: Option<String>,
    /// Paid until.
    pub expiredate: Option<String>,
    /// Auto-renewal setting.
    pub autoprolong: Option<String>,
    /// Cost text as the billing shows it.
    pub cost: Option<String>,
    /// Billing period.
    pub period: Option<String>,
}

impl Service {
    /// Reads a list row; `None` when it has no id. The status comes from `status`, else from
    /// `item_status`'s `$orig` code (`5_open` → 5: BILLmanager 6 column sets may carry no
    /// `status`); the expiry from `expiredate` unless that is a text (`daily` services), then
    /// from `real_expiredate`; auto-renewal words meaning "off" read as `off`.
    pub fn from_elem(elem: &Node) -> Option<Self> {
        let id = elem.value_string("id")?;
        let item_status = elem
            .child("item_status")
            .and_then(|n| n.attr("orig").or_else(|| n.text()))
            .map(str::to_owned);
        let status = elem
            .value("status")
            .and_then(status_code)
            .or_else(|| item_status.as_deref().and_then(status_code))
            .unwrap_or(0);
        Some(Self {
            id,
            domain: elem.value_string("domain"),
            ip: elem.value_string("ip"),
            status,
            item_status,
            remoteid: elem
                .value_string("remoteid")
                .filter(|r| !r.trim().is_empty()),
            pricelist: pricelist_id(elem),
            datacenter: elem
                .value_string("datacenter")
                .or_else(|| elem.value_string("datacentername")),
            expiredate: expiry(elem),
            autoprolong: elem.value("autoprolong").map(autoprolong),
            cost: elem.value_string("cost"),
            period: elem.value_string("period"),
        })
    }
}

/// A status code (`2`, `5_open`) as its leading number.
fn status_code(text: &str) -> Option<u8> {
    text.split('_').next()?.trim().parse().ok()
}

/// `expiredate` when it is a date (has a digit), else `real_expiredate`, else the text.
fn expiry(elem: &Node) -> Option<String> {
    let shown = elem.value_string("expiredate");
    let dated = |d: &String| d.bytes().any(|b| b.is_ascii_digit());
    match shown {
        Some(d) if dated(&d) => Some(d),
        other => elem.value_string("real_expiredate").or(other),
    }
}

/// Words billings show for auto-renewal switched off (English, Russian, placeholders).
const AUTOPROLONG_OFF: &[&str] = &[
    "",
    "-",
    "—",
    "off",
    "no",
    "none",
    "null",
    "0",
    "false",
    "disabled",
    "нет",
    "выкл",
    "выключено",
    "отключено",
];

/// An auto-renewal setting as listed: `off` for every word meaning off, else as shown.
fn autoprolong(text: &str) -> String {
    let trimmed = text.trim();
    if AUTOPROLONG_OFF.contains(&trimmed.to_lowercase().as_str()) {
        "off".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The tariff id of a list row: `pricelist_id` when the billing sends it (then `pricelist` is
/// usually the tariff's title), else `pricelist` when it is an id (digits); a title alone is
/// not an id and reads as unknown.
fn pricelist_id(elem: &Node) -> Option<String> {
    elem.value_string("pricelist_id").or_else(|| {
        elem.value("pricelist")
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    })
}

/// What an order call answered. Either id may be absent: find the service in the list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderAck {
    /// The new service id (`doc["item.id"]`, else `doc.id`).
    pub service_id: Option<String>,
    /// The basket order id (`doc["billorder.id"]`).
    pub billorder_id: Option<String>,
}

impl OrderAck {
    /// Reads the ids from an order answer (also inside a nested `doc`). BILLmanager 6's
    /// `v2.*.order.param` names the new service `item.id` (the public BILLmanager 6 front end
    /// `Karantir-dev/billing-typescript` reads `el['item.id'].$`), and its `id` may be another
    /// object's, so `item.id` is read first.
    pub fn from_doc(doc: &Doc) -> Self {
        let field = |name: &str| doc.find(name).and_then(Node::text).map(str::to_owned);
        Self {
            service_id: field("item.id").or_else(|| field("id")),
            billorder_id: field("billorder.id"),
        }
    }
}

/// A price preview: the order form without `sok`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quote {
    /// The total, when the form states one (addons included: it is the form's own total).
    pub total: Option<Money>,
    /// The `orderinfo` text as sent.
    pub text: Option<String>,
    /// Where the total was read: `total_summary`, `pricelist_summary`, `orderinfo` or `total`.
    pub source: Option<&'static str>,
}

impl Quote {
    /// Reads a form answer.
    pub fn from_doc(doc: &Doc) -> Self {
        let total = form_total(doc);
        Self {
            source: total.as_ref().map(|(_, s)| *s),
            total: total.map(|(m, _)| m),
            text: doc
                .find("orderinfo")
                .and_then(Node::text)
                .map(str::to_owned),
        }
    }

    /// The total, or an error saying the preview of `func` states none (so a plan never
    /// counts a server as free).
    pub fn require_total(&self, func: &str) -> Result<Money, ApiError> {
        self.total.clone().ok_or_else(|| {
            ApiError::new(
                ErrorKind::Refused {
                    kind: "noprice".into(),
                    object: "pricelist".into(),
                },
                func,
                true,
                false,
            )
            .with_detail(
                "the order preview states no price (no total_summary, pricelist_summary or \
                 orderinfo total)",
            )
        })
    }
}

/// Renewal dates and cost (`service.prolong`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProlongInfo {
    /// Paid until now.
    pub expiredate: Option<String>,
    /// Paid until after the renewal.
    pub new_expiredate: Option<String>,
    /// The renewal's cost.
    pub cost: Option<Money>,
}

impl ProlongInfo {
    /// Reads a `service.prolong` answer (preview or done; dates also inside a nested `doc`).
    pub fn from_doc(doc: &Doc) -> Self {
        let field = |name: &str| doc.find(name).and_then(Node::text).map(str::to_owned);
        Self {
            expiredate: field("expiredate"),
            new_expiredate: field("newexpiredate"),
            cost: form_total(doc).map(|(m, _)| m),
        }
    }
}

/// One tariff the billing sells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tariff {
    /// Pricelist id.
    pub id: String,
    /// Title.
    pub name: String,
    /// Description, when given.
    pub description: Option<String>,
    /// `(period, price)` pairs.
    pub prices: Vec<(String, Money)>,
    /// `(id, name)` of the datacenters it is sold in.
    pub datacenters: Vec<(String, String)>,
}

/// The order form of one tariff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderForm {
    /// Addons (`addon_<id>`).
    pub addons: Vec<AddonInfo>,
    /// Enumerated options (`enum_<id>`).
    pub enums: Vec<EnumInfo>,
    /// OS templates.
    pub ostempls: Vec<Choice>,
    /// Recipes.
    pub recipes: Vec<Choice>,
    /// Periods.
    pub periods: Vec<Choice>,
    /// Datacenters.
    pub datacenters: Vec<Choice>,
    /// The price of the form as shown.
    pub total: Option<Money>,
    /// Which of the known answer shapes the form came in (boxed: read by `doctor` only).
    pub shape: Box<FormShape>,
}

/// Which of the publicly seen shapes an order form used (`None`: that part was absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormShape {
    /// Where addon limits were: `metadata.form.field[]` or `metadata.form.page[].field[]`.
    pub limits: Option<&'static str>,
    /// Where addon labels were: `messages.msg[$name]` or the `messages.msg` map.
    pub labels: Option<&'static str>,
    /// Where the price was: `total_summary`, `pricelist_summary`, `orderinfo` or `total`.
    pub price: Option<&'static str>,
    /// True when some addons are lists (`slist[$name=addon_N]`).
    pub list_addons: bool,
}

/// One addon of a tariff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddonInfo {
    /// The addon id (the `N` of `addon_N`).
    pub id: String,
    /// Its label.
    pub name: Option<String>,
    /// The value the form starts with.
    pub default: Option<String>,
    /// Lowest value.
    pub min: Option<String>,
    /// Highest value.
    pub max: Option<String>,
    /// Step.
    pub step: Option<String>,
    /// Unit (`GB`).
    pub measure: Option<String>,
    /// Price per unit per month above the default.
    pub price: Option<Money>,
    /// The values of a list-type addon (`slist[$name=addon_N]`), which may be words (`off`).
    pub options: Vec<Choice>,
}

/// One enumerated option of a tariff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnumInfo {
    /// The enum id (the `N` of `enum_N`).
    pub id: String,
    /// Its label.
    pub name: Option<String>,
    /// The value the form starts with.
    pub default: Option<String>,
    /// The values it takes.
    pub options: Vec<Choice>,
}

/// One value of an option list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choice {
    /// The value to send.
    pub key: String,
    /// Its label.
    pub label: String,
    /// Its price, when listed.
    pub cost: Option<Money>,
}

/// The values of a service's edit form, as the billing sent them (secrets left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditForm {
    /// `addon_N`, `autoprolong`, … → value.
    pub values: BTreeMap<String, String>,
    /// One period's price of the service as the form states it (see [`super::price`]), when
    /// it states one.
    pub price: Option<Money>,
}

/// Fields of an edit form that hold secrets and are never copied out (a license key is read
/// only through [`LicenseInfo`]).
const SECRET_FIELDS: &[&str] = &["auth", "authinfo", "passwd", "key", "lickey"];

/// A license's key and expiry, read from its edit form (`soft.edit elid=ID`) the way
/// ISPsystem's own license-reselling module reads them: `/doc/lickey` and `/doc/expiredate`
/// (`460s/ispsystem_whmcs_modules`, `servers/billmanager_noc/billmanager_noc.php`). The key
/// is a [`Secret`]: `Debug` never shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LicenseInfo {
    /// The activation key; `None` until the billing has issued it.
    pub lickey: Option<Secret>,
    /// Paid until.
    pub expiredate: Option<String>,
}

/// True for the item types whose services are licenses with an activation key (`soft`,
/// `platform`, as ISPsystem's license reselling documents them).
pub fn is_license_type(item_type: &str) -> bool {
    matches!(item_type, "soft" | "platform")
}

impl LicenseInfo {
    /// Reads `lickey` and `expiredate` (also inside a nested `doc`).
    pub fn from_doc(doc: &Doc) -> Self {
        let field = |name: &str| doc.find(name).and_then(Node::text).map(str::to_owned);
        Self {
            lickey: field("lickey").map(Secret::new),
            expiredate: field("expiredate"),
        }
    }
}

impl EditForm {
    /// Reads every top-level scalar field of an edit form, except secrets.
    pub fn from_doc(doc: &Doc) -> Self {
        let values = doc
            .all_children()
            .iter()
            .filter(|n| n.all_children().is_empty())
            .filter(|n| !is_secret_field(n.name()))
            .filter_map(|n| Some((n.name().to_owned(), n.text()?.to_owned())))
            .collect();
        let price = form_total(doc).map(|(m, _)| m);
        Self { values, price }
    }
}

fn is_secret_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("password") || SECRET_FIELDS.contains(&lower.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_wins_over_orderinfo() {
        let doc = Doc::decode(
            br#"{"doc":{"orderinfo":{"$":"Total amount: 9.00 EUR"},
                "list":[{"$name":"other"},{"$name":"pricelist_summary","elem":{"cost":{"price":{"cost":{"$":"12.50"},"currency":{"$":"EUR"}}}}}]}}"#,
        )
        .unwrap();
        let q = Quote::from_doc(&doc);
        assert_eq!(q.total, Some(Money::new(1250, "EUR")));
        assert_eq!(q.text.as_deref(), Some("Total amount: 9.00 EUR"));
    }

    #[test]
    fn total_summary_wins_then_orderinfo_and_no_price_is_an_error() {
        let doc = Doc::decode(
            br#"<doc><orderinfo>Total amount: 9.00 EUR</orderinfo>
                <list name="pricelist_summary"><elem><cost><price><cost>5.00</cost></price></cost></elem></list>
                <list name="total_summary"><elem><cost><price><cost>12.50</cost><currency>EUR</currency></price></cost></elem></list></doc>"#,
        )
        .unwrap();
        let q = Quote::from_doc(&doc);
        assert_eq!(q.total, Some(Money::new(1250, "EUR")));
        assert_eq!(q.source, Some("total_summary"));
        let info = Quote::from_doc(
            &Doc::decode(br#"{"doc":{"orderinfo":{"$":"Total amount: 9.00 EUR"}}}"#).unwrap(),
        );
        assert_eq!(info.source, Some("orderinfo"));
        let none =
            Quote::from_doc(&Doc::decode(b"<doc><orderinfo>Tariff</orderinfo></doc>").unwrap());
        let err = none.require_total("vds.order.param").unwrap_err();
        assert!(err.to_string().contains("states no price"), "{err}");
    }

    #[test]
    fn order_answers_name_item_id_first() {
        let doc = Doc::decode(br#"{"doc":{"id":{"$":"77"},"item.id":{"$":"1042"}}}"#).unwrap();
        assert_eq!(OrderAck::from_doc(&doc).service_id.as_deref(), Some("1042"));
        let xml = Doc::decode(b"<doc><id>5</id><billorder.id>9</billorder.id></doc>").unwrap();
        let ack = OrderAck::from_doc(&xml);
        assert_eq!(ack.service_id.as_deref(), Some("5"));
        assert_eq!(ack.billorder_id.as_deref(), Some("9"));
    }

    #[test]
    fn service_row_fields() {
        let doc = Doc::decode(
            br#"<doc><elem><id>5</id><domain>a.example</domain><status>5</status>
                <item_status orig="5_open">Processing</item_status><remoteid>web-1</remoteid></elem></doc>"#,
        )
        .unwrap();
        let s = Service::from_elem(doc.child("elem").unwrap()).unwrap();
        assert_eq!(s.id, "5");
        assert_eq!(s.status, 5);
        assert_eq!(s.item_status.as_deref(), Some("5_open"));
        assert_eq!(s.remoteid.as_deref(), Some("web-1"));
        assert_eq!(s.ip, None);
        assert_eq!(s.pricelist, None);
    }

    #[test]
    fn lean_rows_read_item_status_real_expiredate_and_off_words() {
        let doc = Doc::decode(
            r#"{"doc":{"elem":[
                {"id":{"$":"1"},"item_status":{"$orig":"5_open","$":"Processing"},
                 "expiredate":{"$":"daily"},"real_expiredate":{"$":"2026-01-02"},"autoprolong":{"$":"Off"}},
                {"id":{"$":"2"},"item_status":{"$orig":"2","$":"Active"},"expiredate":{"$":"2026-03-04"},
                 "autoprolong":{"$":"нет"}},
                {"id":{"$":"3"},"status":{"$":"3"},"item_status":{"$orig":"2"},"autoprolong":{"$":"1"}},
                {"id":{"$":"4"},"autoprolong":{"$":"-"},"remoteid":{"$":""}}]}}"#
                .as_bytes(),
        )
        .unwrap();
        let rows: Vec<Service> = doc
            .children("elem")
            .filter_map(Service::from_elem)
            .collect();
        let got: Vec<(u8, Option<&str>, Option<&str>)> = rows
            .iter()
            .map(|s| (s.status, s.expiredate.as_deref(), s.autoprolong.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (5, Some("2026-01-02"), Some("off")),
                (2, Some("2026-03-04"), Some("off")),
                (3, None, Some("1")),
                (0, None, Some("off")),
            ]
        );
        assert_eq!(rows[3].remoteid, None);
    }

    #[test]
    fn pricelist_is_the_tariff_id_in_either_field() {
        let doc = Doc::decode(
            br#"{"doc":{"elem":[
                {"id":{"$":"1"},"pricelist":{"$":"VDS Start"},"pricelist_id":{"$":"6"}},
                {"id":{"$":"2"},"pricelist":{"$":"32"}},
                {"id":{"$":"3"},"pricelist":{"$":"Dedicated E3"}}]}}"#,
        )
        .unwrap();
        let ids: Vec<Option<String>> = doc
            .children("elem")
            .filter_map(Service::from_elem)
            .map(|s| s.pricelist)
            .collect();
        assert_eq!(ids, [Some("6".into()), Some("32".into()), None]);
    }

    #[test]
    fn edit_form_leaves_out_secrets() {
        let doc = Doc::decode(
            br#"<doc><addon_10>6</addon_10><autoprolong>1</autoprolong><password>x</password><userpassword>y</userpassword><slist name="a"><val key="1">b</val></slist></doc>"#,
        )
        .unwrap();
        let form = EditForm::from_doc(&doc);
        let keys: Vec<&str> = form.values.keys().map(String::as_str).collect();
        assert_eq!(keys, ["addon_10", "autoprolong"]);
        assert_eq!(form.price, None);
    }

    #[test]
    fn edit_form_price_is_read_from_every_shape() {
        let shapes: [&[u8]; 4] = [
            br#"<doc><addon_11>1024</addon_11><list name="pricelist_summary"><elem><cost><price><cost>12.34</cost><currency>EUR</currency></price></cost></elem></list></doc>"#,
            br#"{"doc":{"addon_11":{"$":"1024"},"list":[{"$name":"total_summary","elem":[{"cost":{"price":{"cost":{"$":"12.34"},"currency":{"$":"EUR"}}}}]}]}}"#,
            br#"<doc><addon_11>1024</addon_11><orderinfo>Service cost&lt;br/&gt;Total amount: 12.34 EUR</orderinfo></doc>"#,
            br#"<doc><addon_11>1024</addon_11><cost currency="EUR">12.34</cost></doc>"#,
        ];
        for body in shapes {
            let form = EditForm::from_doc(&Doc::decode(body).unwrap());
            let price = form.price.expect("a price");
            assert_eq!((price.cents(), price.currency.as_str()), (1234, "EUR"));
            assert_eq!(
                form.values.get("addon_11").map(String::as_str),
                Some("1024")
            );
        }
    }

    #[test]
    fn license_key_is_read_apart_and_never_debug_printed() {
        let doc = Doc::decode(
            br#"<doc><elid>7</elid><lickey>ABC123</lickey><expiredate>2030-01-01</expiredate></doc>"#,
        )
        .unwrap();
        assert!(!EditForm::from_doc(&doc).values.contains_key("lickey"));
        let info = LicenseInfo::from_doc(&doc);
        assert_eq!(info.lickey.as_ref().map(Secret::expose), Some("ABC123"));
        assert_eq!(info.expiredate.as_deref(), Some("2030-01-01"));
        assert!(!format!("{info:?}").contains("ABC123"));
        let none = LicenseInfo::from_doc(&Doc::decode(b"<doc><lickey/></doc>").unwrap());
        assert_eq!(none.lickey, None);
    }
}
