//! Managing existing services: `service.prolong`, `<type>.edit`, and the list actions
//! `<type>.suspend|resume|delete`.

use chrono::{DateTime, Months, NaiveDate};

use super::doc::{self, ApiError, Node};
use super::form::addon_text;
use super::funcs::{Action, Call, Reply};
use super::license::LicenseEdit;
use super::orders::{check_addon, read_autoprolong};
use super::state::{Service, State};
use super::types::PriceShape;

/// `date` plus whole months (the end of a shorter month when the day does not exist).
pub(crate) fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(date)
}

fn busy(id: u64) -> ApiError {
    ApiError::new(
        "runningoperation",
        "runningoperation",
        "Request in process, please wait",
    )
    .value(id.to_string())
}

/// Takes `cost` from the account's balance, or refuses with the documented
/// `not_enough_money` answer.
pub(crate) fn charge(state: &mut State, account: &str, cost: i64) -> Result<(), ApiError> {
    let acc = state
        .accounts
        .get_mut(account)
        .ok_or_else(|| ApiError::new("access", "auth", "No such account"))?;
    if acc.balance_cents < cost {
        return Err(ApiError::not_enough_money(
            cost,
            acc.balance_cents,
            &acc.currency,
        ));
    }
    acc.balance_cents -= cost;
    Ok(())
}

/// The caller's live service `raw`, of `item_type` when given.
fn own_id(
    call: &Call<'_>,
    account: &str,
    item_type: Option<&str>,
    raw: &str,
) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| {
            call.core.state.services.get(id).is_some_and(|s| {
                s.account == account && s.is_live() && item_type.is_none_or(|t| s.item_type == t)
            })
        })
        .ok_or_else(|| ApiError::missed("elid", raw))
}

fn service<'c>(call: &'c Call<'_>, id: u64) -> Result<&'c Service, ApiError> {
    call.core
        .state
        .services
        .get(&id)
        .ok_or_else(|| ApiError::missed("elid", &id.to_string()))
}

/// Current addon and enum values of a service, as the price rule takes them.
type Values = (Vec<(u32, i64)>, Vec<(u32, String)>);

fn values(s: &Service) -> Values {
    (
        s.addons.iter().map(|(k, v)| (*k, *v)).collect(),
        s.enums.iter().map(|(k, v)| (*k, v.clone())).collect(),
    )
}

/// `service.prolong`: a preview without `sok`; with it the expiry moves by the period
/// (charged at once with `skipbasket=on`).
pub(crate) fn prolong(call: &mut Call<'_>, account: &str) -> Result<Reply, ApiError> {
    let raw = call.params.get("elid").unwrap_or("");
    let id = own_id(call, account, None, raw)?;
    let s = service(call, id)?;
    let tariff = call.tariff(s.pricelist);
    let months = match call.params.non_empty("period") {
        Some(p) => p
            .parse::<i64>()
            .ok()
            .and_then(|w| tariff.and_then(|t| t.period(w)))
            .map(|p| p.months)
            .filter(|m| *m > 0)
            .ok_or_else(|| ApiError::invalid("period", p))?,
        None => s.period.max(1),
    };
    let (addons, enums) = values(s);
    let cost = tariff.map_or(0, |t| t.price_cents(months, &addons, &enums));
    let old = s.expiredate;
    let new = add_months(old, months);
    let date = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    if call.params.non_empty("sok").is_none() {
        let preview = Preview {
            id,
            months,
            cost,
            old,
            new,
        };
        return Ok(Reply::Doc(prolong_preview(call, s, &preview)));
    }
    if call.params.is_on("skipbasket") {
        charge(&mut call.core.state, account, cost)?;
    }
    if let Some(s) = call.core.state.services.get_mut(&id) {
        s.expiredate = new;
    }
    call.core.dirty = true;
    let nested = Node::new("doc").field("newexpiredate", date(new));
    Ok(Reply::Doc(
        Node::doc()
            .child(Node::new("ok"))
            .field("id", id.to_string())
            .child(nested),
    ))
}

/// What a prolongation would do.
struct Preview {
    id: u64,
    months: u32,
    cost: i64,
    old: NaiveDate,
    new: NaiveDate,
}

/// `service.prolong` without `sok`: current and new expiry, cost, periods.
fn prolong_preview(call: &Call<'_>, s: &Service, p: &Preview) -> Node {
    let Preview {
        id,
        months,
        cost,
        old,
        new,
    } = *p;
    let date = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let tariff = call.tariff(s.pricelist);
    let info = format!(
        "Prolongation for {months} month(s)<br/>Total amount: {} {}",
        doc::cents(cost),
        call.config.currency
    );
    let mut periods = Node::new("slist").attr("name", "period");
    for p in tariff.map(|t| t.periods.as_slice()).unwrap_or_default() {
        if p.months > 0 {
            periods.push(Node::text("val", p.label).attr("key", p.wire.to_string()));
        }
    }
    Node::doc()
        .field("elid", id.to_string())
        .field("expiredate", date(old))
        .field("newexpiredate", date(new))
        .field("period", months.to_string())
        .field("status", s.status.to_string())
        .field("cost", doc::cents(cost))
        .field("orderinfo", info)
        .child(periods)
}

/// `<type>.edit`: the form without `sok` (a preview: the current values, priced with any
/// submitted addon changes; nothing changes); with it addons and auto-renewal change (with
/// `skipbasket=on` the price difference is charged at once). Admin-only
/// fields (ip, username, userpassword, serverid, domain, ostempl) are ignored, except on
/// licenses, whose `licname`, `ip` and `remoteid` the customer sets (ISPsystem's license
/// module sends them with `soft.edit`), and whose `clicked_button=newkey` issues a new key.
pub(crate) fn edit(call: &mut Call<'_>, account: &str, item_type: &str) -> Result<Reply, ApiError> {
    let raw = call.params.get("elid").unwrap_or("");
    let id = own_id(call, account, Some(item_type), raw)?;
    let s = service(call, id)?;
    let Some(tariff) = call.tariff(s.pricelist) else {
        return Err(ApiError::missed("pricelist", &s.pricelist.to_string()));
    };
    let mut changes = Vec::new();
    for (aid, value) in call.params.prefixed("addon_") {
        changes.push(check_addon(tariff, &aid, &value)?);
    }
    if call.params.non_empty("sok").is_none() {
        // A preview: the current values, priced with the submitted changes; nothing changes.
        let cost = cost_with(call, id, tariff, &changes)?;
        return Ok(Reply::Doc(edit_form(call, s, cost)));
    }
    if s.status == 5 {
        return Err(busy(id));
    }
    let autoprolong = match call.params.get("autoprolong") {
        Some(raw) => Some(read_autoprolong(
            tariff,
            Some(raw).filter(|r| !r.is_empty()),
        )?),
        None => None,
    };
    let extra = added_cost(call, id, tariff, &changes)?;
    if extra > 0 && call.params.is_on("skipbasket") {
        charge(&mut call.core.state, account, extra)?;
    }
    let license = LicenseEdit::read(call);
    let Some(s) = call.core.state.services.get_mut(&id) else {
        return Err(ApiError::missed("elid", raw));
    };
    let newkey = license.apply(s);
    for (aid, v) in changes {
        s.addons.insert(aid, v);
    }
    if let Some(a) = autoprolong {
        s.autoprolong = a;
    }
    let (addons, enums) = values(s);
    s.cost_cents = tariff.price_cents(s.period.max(1), &addons, &enums);
    call.core.dirty = true;
    let mut answer = Node::doc()
        .child(Node::new("ok"))
        .field("id", id.to_string());
    if let Some(key) = newkey {
        answer.push(Node::text("lickey", key));
    }
    Ok(Reply::Doc(answer))
}

/// What addon changes add to one period's price (0 when they make it cheaper). With
/// `skipbasket=on` an edit is charged this at once (BILLmanager 6 "Service management via
/// API": "the add-on won't be added into the Cart, but the system will charge the client");
/// without it the change would wait in the cart, which the simulator does not model: it is
/// applied and not charged.
fn added_cost(
    call: &Call<'_>,
    id: u64,
    tariff: &super::catalog::Tariff,
    changes: &[(u32, i64)],
) -> Result<i64, ApiError> {
    let cost = cost_with(call, id, tariff, changes)?;
    Ok((cost - service(call, id)?.cost_cents).max(0))
}

/// One period's price of service `id` with the addon `changes` (its current price when there
/// are none).
fn cost_with(
    call: &Call<'_>,
    id: u64,
    tariff: &super::catalog::Tariff,
    changes: &[(u32, i64)],
) -> Result<i64, ApiError> {
    let s = service(call, id)?;
    if changes.is_empty() {
        return Ok(s.cost_cents);
    }
    let mut next = s.addons.clone();
    for (aid, v) in changes {
        next.insert(*aid, *v);
    }
    let next: Vec<(u32, i64)> = next.into_iter().collect();
    let (_, enums) = values(s);
    Ok(tariff.price_cents(s.period.max(1), &next, &enums))
}

/// The edit form: the service's current values, and `cost_cents` (one period's price of the
/// service as the form describes it: with a preview's submitted changes) where
/// `faults.edit_price` says, in the order preview's shapes.
fn edit_form(call: &Call<'_>, s: &Service, cost_cents: i64) -> Node {
    let mut doc = Node::doc()
        .field("elid", s.id.to_string())
        .field("id", s.id.to_string())
        .field("domain", &s.domain)
        .field("pricelist", s.pricelist.to_string())
        .field("period", s.period.to_string())
        .field("status", s.status.to_string())
        .field(
            "autoprolong",
            s.autoprolong.map_or("null".to_owned(), |m| m.to_string()),
        )
        .field("expiredate", s.expiredate.format("%Y-%m-%d").to_string());
    if let Some(ip) = s.ip.as_ref().filter(|_| matches!(s.status, 2 | 3)) {
        doc.push(Node::text("ip", ip));
    }
    if let Some(os) = &s.ostempl {
        doc.push(Node::text("ostempl", os));
    }
    if let Some(r) = &s.recipe {
        doc.push(Node::text("recipe", r));
    }
    let shapes = call.core.faults.shapes;
    for (id, v) in &s.addons {
        let text = match call.tariff(s.pricelist).and_then(|t| t.addon(*id)) {
            Some(a) => addon_text(a, *v, shapes),
            None => v.to_string(),
        };
        doc.push(Node::text(format!("addon_{id}"), text));
    }
    for (id, v) in &s.enums {
        doc.push(Node::text(format!("enum_{id}"), v));
    }
    if let Some(key) = s.shown_lickey() {
        doc.push(Node::text("lickey", key));
    }
    if let Some(name) = &s.licname {
        doc.push(Node::text("licname", name));
    }
    edit_price(doc, call, cost_cents)
}

/// States one period's price on an edit form: "Total amount" in `orderinfo`, and a
/// `pricelist_summary` or `total_summary` list whose first row is the total (as order
/// previews do, `super::form`); nothing with the `Missing` shape.
fn edit_price(doc: Node, call: &Call<'_>, cents: i64) -> Node {
    let shape = call.core.faults.edit_price;
    let currency = call.config.currency.as_str();
    if shape == PriceShape::Missing {
        return doc.field("orderinfo", "Service parameters");
    }
    let total = doc::cents(cents);
    let info = format!("Service cost<br/>Total amount: {total} {currency}");
    let doc = doc.field("orderinfo", info);
    let name = match shape {
        PriceShape::PricelistSummary => "pricelist_summary",
        PriceShape::TotalSummary => "total_summary",
        PriceShape::Orderinfo | PriceShape::Missing => return doc,
    };
    let price = Node::new("price")
        .field("cost", total)
        .field("currency", currency);
    let row = Node::new("elem")
        .field("id", "total")
        .field("name", "Total")
        .child(Node::new("cost").child(price));
    doc.child(Node::new("list").attr("name", name).child(row))
}

/// `<type>.suspend|resume|delete` with `elid` = `1, 2, 3`: all of them or none.
pub(crate) fn act(
    call: &mut Call<'_>,
    account: &str,
    item_type: &str,
    action: Action,
) -> Result<Reply, ApiError> {
    let raw = call.params.get("elid").unwrap_or("");
    let parts: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(ApiError::missed("elid", raw));
    }
    let mut ids = Vec::with_capacity(parts.len());
    for part in parts {
        ids.push(own_id(call, account, Some(item_type), part)?);
    }
    for &id in &ids {
        let s = service(call, id)?;
        match action {
            Action::Suspend | Action::Resume if s.status == 5 => return Err(busy(id)),
            Action::Delete => check_min_order(call, s)?,
            _ => {}
        }
    }
    let status = match action {
        Action::Suspend => 3,
        Action::Resume => 2,
        Action::Delete => 4,
    };
    for id in ids {
        if let Some(s) = call.core.state.services.get_mut(&id) {
            s.status = status;
            s.activate_ms = None;
        }
    }
    call.core.dirty = true;
    Ok(Reply::Doc(Node::doc().child(Node::new("ok"))))
}

/// Refuses deleting a service inside its tariff's minimum order period.
fn check_min_order(call: &Call<'_>, s: &Service) -> Result<(), ApiError> {
    let Some(t) = call.tariff(s.pricelist).filter(|t| t.min_order_months > 0) else {
        return Ok(());
    };
    let opened = DateTime::from_timestamp_millis(s.opened_ms)
        .map_or(call.now.date_naive(), |d| d.date_naive());
    if call.now.date_naive() < add_months(opened, t.min_order_months) {
        return Err(ApiError::new(
            "pricelist_min_order",
            &s.id.to_string(),
            format!(
                "The service cannot be deleted during the minimum order period of {} months",
                t.min_order_months
            ),
        )
        .value(s.id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_to_the_end_of_shorter_months() {
        let d = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
        assert_eq!(
            add_months(d, 1),
            NaiveDate::from_ymd_opt(2025, 2, 28).unwrap()
        );
        assert_eq!(
            add_months(d, 12),
            NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()
        );
    }
}
