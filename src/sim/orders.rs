//! Orders in the three dialects, the order form (price preview) and the tariff lists.

use chrono::Duration as ChronoDuration;

use super::catalog::{self, Era, Period, Tariff};
use super::doc::{ApiError, Node};
use super::form::{order_form, order_start};
use super::funcs::{Call, Reply, Style};
use super::http::Params;
use super::manage::{add_months, charge};
use super::state::{Service, is_license, new_lickey};

/// Addon values and enum values.
type Options = (Vec<(u32, i64)>, Vec<(u32, String)>);

/// An order request, validated against its tariff.
pub(super) struct Spec<'a> {
    pub(super) tariff: &'a Tariff,
    pub(super) period: Period,
    pub(super) datacenter: Option<u32>,
    pub(super) ostempl: Option<String>,
    pub(super) recipe: Option<String>,
    pub(super) addons: Vec<(u32, i64)>,
    pub(super) enums: Vec<(u32, String)>,
    pub(super) autoprolong: Option<u32>,
    pub(super) cost_cents: i64,
}

pub(super) fn period_key(style: Style) -> &'static str {
    if style == Style::V2 {
        "order_period"
    } else {
        "period"
    }
}

pub(super) fn pricelist_key(style: Style) -> &'static str {
    if style == Style::Legacy {
        "price"
    } else {
        "pricelist"
    }
}

fn parse_num<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| ApiError::invalid(field, value))
}

/// Validates an addon value against its range and step.
pub(crate) fn check_addon(tariff: &Tariff, id: &str, value: &str) -> Result<(u32, i64), ApiError> {
    let field = format!("addon_{id}");
    let addon = id
        .parse::<u32>()
        .ok()
        .and_then(|n| tariff.addon(n))
        .ok_or_else(|| ApiError::invalid(&field, value))?;
    // A switch also takes the words an install may show for it (`addon_N=off`).
    let v: i64 = match value {
        "off" if addon.is_switch() => 0,
        "on" if addon.is_switch() => 1,
        _ => parse_num(&field, value)?,
    };
    let aligned = addon.step <= 1 || (v - addon.min) % addon.step == 0;
    if v < addon.min || v > addon.max || !aligned {
        return Err(ApiError::invalid(&field, value));
    }
    Ok((addon.id, v))
}

/// The tariff a form or order names; `Ok(None)` when none is named.
fn find_tariff<'a>(
    call: &Call<'a>,
    item_type: &str,
    style: Style,
) -> Result<Option<&'a Tariff>, ApiError> {
    let key = pricelist_key(style);
    let Some(raw) = call
        .params
        .non_empty(key)
        .or_else(|| call.params.non_empty("pricelist"))
    else {
        return Ok(None);
    };
    let era = if style == Style::Legacy {
        Era::Legacy
    } else {
        Era::Modern
    };
    let catalog: &'a [Tariff] = call.catalog;
    catalog
        .iter()
        .find(|t| t.id.to_string() == raw && t.item_type == item_type && t.era == era)
        .map(Some)
        .ok_or_else(|| ApiError::invalid(key, raw))
}

/// Reads the period, datacenter, OS, recipe, addons, enums and auto-renewal.
fn read_spec<'a>(
    call: &Call<'a>,
    tariff: &'a Tariff,
    style: Style,
    form: bool,
) -> Result<Spec<'a>, ApiError> {
    let p = call.params;
    let key = period_key(style);
    let period = match p.non_empty(key).or_else(|| p.non_empty("period")) {
        Some(raw) => tariff
            .period(parse_num(key, raw)?)
            .ok_or_else(|| ApiError::invalid(key, raw))?,
        None if form => tariff.periods[0],
        None => return Err(ApiError::invalid(key, "")),
    };
    let datacenter = match p.non_empty("datacenter") {
        Some(raw) if !tariff.datacenters.is_empty() => {
            let dc: u32 = parse_num("datacenter", raw)?;
            if !tariff.datacenters.contains(&dc) {
                return Err(ApiError::invalid("datacenter", raw));
            }
            Some(dc)
        }
        _ => tariff.datacenters.first().copied(),
    };
    let (ostempl, recipe) = read_os(tariff, p)?;
    let (addons, enums) = read_options(tariff, p)?;
    let autoprolong = read_autoprolong(tariff, p.non_empty("autoprolong"))?;
    let cost_cents = tariff.price_cents(period.months, &addons, &enums);
    Ok(Spec {
        tariff,
        period,
        datacenter,
        ostempl,
        recipe,
        addons,
        enums,
        autoprolong,
        cost_cents,
    })
}

/// The OS template and recipe, checked against the catalog.
fn read_os(tariff: &Tariff, p: &Params) -> Result<(Option<String>, Option<String>), ApiError> {
    let ostempl = match p.non_empty("ostempl") {
        Some(os) if tariff.has_os && catalog::OS_TEMPLATES.contains(&os) => Some(os.to_owned()),
        Some(os) => return Err(ApiError::invalid("ostempl", os)),
        None => None,
    };
    let recipe = match p
        .non_empty("recipe")
        .filter(|r| !matches!(*r, "null" | "none"))
    {
        Some(r) if tariff.has_os && catalog::RECIPES.iter().any(|(k, _)| *k == r) => {
            Some(r.to_owned())
        }
        Some(r) => return Err(ApiError::invalid("recipe", r)),
        None => None,
    };
    Ok((ostempl, recipe))
}

/// Addon and enum values: the tariff defaults overlaid with the checked parameters.
fn read_options(tariff: &Tariff, p: &Params) -> Result<Options, ApiError> {
    let mut addons: Vec<(u32, i64)> = tariff.addons.iter().map(|a| (a.id, a.default)).collect();
    for (id, value) in p.prefixed("addon_") {
        let (id, v) = check_addon(tariff, &id, &value)?;
        addons.retain(|(i, _)| *i != id);
        addons.push((id, v));
    }
    let mut enums: Vec<(u32, String)> = tariff
        .enums
        .iter()
        .map(|e| (e.id, e.default.to_owned()))
        .collect();
    for (id, value) in p.prefixed("enum_") {
        let field = format!("enum_{id}");
        let def = id
            .parse::<u32>()
            .ok()
            .and_then(|n| tariff.enum_def(n))
            .filter(|d| d.values.iter().any(|(v, _, _)| *v == value))
            .ok_or_else(|| ApiError::invalid(&field, &value))?;
        enums.retain(|(i, _)| *i != def.id);
        enums.push((def.id, value));
    }
    Ok((addons, enums))
}

/// `null`/`off` = no auto-renewal; months, or a BILLmanager 4 period id.
pub(crate) fn read_autoprolong(
    tariff: &Tariff,
    raw: Option<&str>,
) -> Result<Option<u32>, ApiError> {
    match raw {
        None | Some("null" | "off" | "0" | "none") => Ok(None),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .and_then(|w| tariff.period(w))
            .filter(|p| p.months > 0)
            .map(|p| Some(p.months))
            .ok_or_else(|| ApiError::invalid("autoprolong", raw)),
    }
}

fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `<type>.order.param`, `v2.<type>.order.param`, `<type>.order.7`: the form without `sok`,
/// an order with it.
pub(crate) fn order(
    call: &mut Call<'_>,
    account: &str,
    item_type: &str,
    style: Style,
) -> Result<Reply, ApiError> {
    let form = call.params.non_empty("sok").is_none();
    let Some(tariff) = find_tariff(call, item_type, style)? else {
        if form {
            return Ok(order_start(call, item_type));
        }
        return Err(ApiError::invalid(pricelist_key(style), ""));
    };
    let spec = read_spec(call, tariff, style, form)?;
    if form {
        return Ok(Reply::Doc(order_form(call, &spec, style)));
    }
    match style {
        // Only the web interface's cart (`theme=dragon`) asks for the agreement; the documented
        // API calls order without it.
        Style::V2
            if call.params.get("theme") == Some("dragon")
                && !call.params.is_on("licence_agreement") =>
        {
            return Err(ApiError::invalid(
                "licence_agreement",
                call.params.get("licence_agreement").unwrap_or(""),
            ));
        }
        Style::Legacy if !call.params.is_on("agree") => {
            return Err(ApiError::invalid(
                "agree",
                call.params.get("agree").unwrap_or(""),
            ));
        }
        _ => {}
    }
    let id = place(call, account, item_type, style, &spec)?;
    Ok(match style {
        Style::Legacy => Reply::Html(format!(
            "<script language='JavaScript'>fr_master('startpage={item_type}', 'top.');</script>\n"
        )),
        Style::V2 => Reply::Doc(Node::doc().field("item.id", id.to_string())),
        Style::Bm5 if matches!(item_type, "soft" | "platform") => {
            Reply::Doc(Node::doc().field("id", id.to_string()))
        }
        Style::Bm5 => {
            let order_id = call.core.state.next_order();
            Reply::Doc(
                Node::doc()
                    .child(Node::new("ok"))
                    .field("id", id.to_string())
                    .field("billorder.id", order_id.to_string()),
            )
        }
    })
}

/// Checks the domain and the balance, charges, and records the service.
fn place(
    call: &mut Call<'_>,
    account: &str,
    item_type: &str,
    style: Style,
    spec: &Spec<'_>,
) -> Result<u64, ApiError> {
    let state = &mut call.core.state;
    let domain = match call.params.non_empty("domain") {
        Some(d) => {
            let d = d.to_ascii_lowercase();
            if !valid_domain(&d) {
                return Err(ApiError::invalid("domain", &d));
            }
            if state.domain_taken(&d, item_type) {
                return Err(
                    ApiError::new("exists", "domain", "The domain is already in use").value(d),
                );
            }
            Some(d)
        }
        None => None,
    };
    let pay = style == Style::Legacy || call.params.is_on("skipbasket");
    if pay {
        charge(state, account, spec.cost_cents)?;
    }
    let id = state.next_id();
    let now = call.now;
    let activate = now + ChronoDuration::from_std(call.config.activation).unwrap_or_default();
    let service = Service {
        id,
        account: account.to_owned(),
        item_type: item_type.to_owned(),
        domain: domain.unwrap_or_else(|| format!("{item_type}{id}.example.net")),
        remoteid: call.params.non_empty("remoteid").map(str::to_owned),
        status: if pay { 5 } else { 1 },
        ip: match call.params.non_empty("ip") {
            // A license is bound to the address its order names.
            Some(ip) if is_license(item_type) => Some(ip.to_owned()),
            _ => pay.then(|| state.next_ip()),
        },
        pricelist: spec.tariff.id,
        datacenter: spec.datacenter,
        period: spec.period.months,
        autoprolong: spec.autoprolong,
        addons: spec.addons.iter().copied().collect(),
        enums: spec.enums.iter().cloned().collect(),
        ostempl: spec.ostempl.clone(),
        recipe: spec.recipe.clone(),
        opened_ms: now.timestamp_millis(),
        activate_ms: pay.then(|| activate.timestamp_millis()),
        expiredate: add_months(now.date_naive(), spec.period.months.max(1)),
        cost_cents: spec.cost_cents,
        lickey: is_license(item_type).then(new_lickey),
        licname: call.params.non_empty("licname").map(str::to_owned),
        cart: (!pay).then(|| super::cart::which_cart(call.params).to_owned()),
    };
    state.services.insert(id, service);
    call.core.dirty = true;
    Ok(id)
}
