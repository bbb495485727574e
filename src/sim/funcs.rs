//! Dispatch on `func`, authentication (sessions, `authinfo`, lockout), `whoami`, service
//! lists with paging, and sticky list filters.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::catalog::{self, Tariff};
use super::doc::{self, ApiError, Node};
use super::http::Params;
use super::state::Service;
use super::{Core, LoginFails, Session, SimConfig, form, manage, orders};

/// Everything one call may touch.
pub(crate) struct Call<'a> {
    pub core: &'a mut Core,
    pub catalog: &'a [Tariff],
    pub config: &'a SimConfig,
    pub params: &'a Params,
    pub now: DateTime<Utc>,
}

impl<'a> Call<'a> {
    /// A tariff by id.
    pub fn tariff(&self, id: u32) -> Option<&'a Tariff> {
        let catalog: &'a [Tariff] = self.catalog;
        catalog.iter().find(|t| t.id == id)
    }
}

/// A successful answer.
pub(crate) enum Reply {
    /// A `<doc>`, rendered as asked with `out=`.
    Doc(Node),
    /// A literal HTML page (BILLmanager 4 order success).
    Html(String),
}

/// The result of a call and how to treat it.
pub(crate) struct Done {
    pub result: Result<Reply, ApiError>,
    /// Errors in the BILLmanager 4 form.
    pub legacy: bool,
    /// A write call (subject to `drop_after`).
    pub write: bool,
}

/// Which order dialect a function belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `<type>.order.param` with `period`.
    Bm5,
    /// `v2.<type>.order.param` with `order_period` and `licence_agreement`.
    V2,
    /// `<type>.order.7` with `price`, a period id and `agree`.
    Legacy,
}

/// List actions taking `elid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Suspend,
    Resume,
    Delete,
}

enum Func<'a> {
    Auth,
    Cart,
    Whoami,
    Keepalive,
    Prolong,
    Pricelist(&'a str),
    Order(&'a str, Style),
    OrderStart(&'a str),
    Filter(&'a str),
    Edit(&'a str),
    Act(&'a str, Action),
    List(&'a str),
    Unknown,
}

fn item_type(t: &str) -> Option<&str> {
    catalog::ITEM_TYPES.contains(&t).then_some(t)
}

/// Every generation's functions are answered whatever the configured dialect: one install
/// may be called by a BILLmanager 4 script (`vds.order.7`), a BILLmanager 5 client
/// (`vds.order.param`) and a BILLmanager 6 front end (`v2.vds.order.param`) at once. The
/// dialect only chooses defaults (which tariffs `<type>.order` lists).
fn parse_func(func: &str) -> Func<'_> {
    match func {
        "auth" => return Func::Auth,
        "cart" => return Func::Cart,
        "whoami" => return Func::Whoami,
        "keepalive" => return Func::Keepalive,
        "service.prolong" => return Func::Prolong,
        _ => {}
    }
    if let Some(rest) = func.strip_prefix("v2.") {
        if let Some(t) = rest.strip_suffix(".order.pricelist").and_then(item_type) {
            return Func::Pricelist(t);
        }
        return match rest.strip_suffix(".order.param").and_then(item_type) {
            Some(t) => Func::Order(t, Style::V2),
            None => Func::Unknown,
        };
    }
    let Some((t, suffix)) = func.split_once('.') else {
        return item_type(func).map_or(Func::Unknown, Func::List);
    };
    let Some(t) = item_type(t) else {
        return Func::Unknown;
    };
    match suffix {
        "order.param" => Func::Order(t, Style::Bm5),
        "order.7" => Func::Order(t, Style::Legacy),
        "order" => Func::OrderStart(t),
        "filter" => Func::Filter(t),
        "edit" => Func::Edit(t),
        "suspend" => Func::Act(t, Action::Suspend),
        "resume" => Func::Act(t, Action::Resume),
        "delete" => Func::Act(t, Action::Delete),
        _ => Func::Unknown,
    }
}

/// Runs one call.
pub(crate) fn dispatch(mut call: Call<'_>) -> Done {
    let params = call.params;
    let name = params.get("func").unwrap_or("");
    let func = parse_func(name);
    let sok = params.non_empty("sok").is_some();
    let legacy = matches!(func, Func::Order(_, Style::Legacy));
    let write = match func {
        Func::Order(..) | Func::Prolong | Func::Edit(_) | Func::Cart => sok,
        Func::Act(..) => true,
        _ => false,
    };
    let result = if let Func::Auth = func {
        login(&mut call)
    } else {
        authenticate(&mut call).and_then(|account| match func {
            Func::Auth | Func::Keepalive => Ok(Reply::Doc(Node::doc().child(Node::new("ok")))),
            Func::Whoami => Ok(whoami(&call, &account)),
            Func::Cart => super::cart::cart(&mut call, &account),
            Func::Prolong => manage::prolong(&mut call, &account),
            Func::Pricelist(t) => Ok(Reply::Doc(form::pricelist(&call, t))),
            Func::Order(t, style) => orders::order(&mut call, &account, t, style),
            Func::OrderStart(t) => Ok(form::order_start(&call, t)),
            Func::Filter(t) => Ok(filter(&mut call, &account, t)),
            Func::Edit(t) => manage::edit(&mut call, &account, t),
            Func::Act(t, action) => manage::act(&mut call, &account, t, action),
            Func::List(t) => Ok(list(&call, &account, t)),
            Func::Unknown => {
                Err(
                    ApiError::new("missed", "func", format!("Unknown function '{name}'"))
                        .value(name),
                )
            }
        })
    };
    Done {
        result,
        legacy,
        write,
    }
}

const MAX_FAILS: u32 = 5;
const BLOCK_FOR: Duration = Duration::from_secs(20);

/// Checks a password, counting failures: the fifth failure in a row blocks the user for 20 s.
fn check_password(core: &mut Core, user: &str, password: &str) -> Result<(), ApiError> {
    let now = Instant::now();
    let fails = core.logins.entry(user.to_owned()).or_default();
    if let Some(until) = fails.blocked_until {
        if now < until {
            return Err(ApiError::new(
                "auth",
                "blocklogon",
                "Your account has been blocked for 20 seconds",
            ));
        }
        *fails = LoginFails::default();
    }
    let good = core
        .state
        .accounts
        .get(user)
        .is_some_and(|a| a.password == password);
    if good {
        fails.count = 0;
        return Ok(());
    }
    fails.count += 1;
    if fails.count >= MAX_FAILS {
        fails.blocked_until = Some(now + BLOCK_FOR);
    }
    Err(ApiError::new(
        "auth",
        "badpassword",
        "Incorrect username or password",
    ))
}

fn login(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let user = call.params.get("username").unwrap_or("");
    let password = call.params.get("password").unwrap_or("");
    check_password(call.core, user, password)?;
    let sid = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    call.core.sessions.insert(
        sid.clone(),
        Session {
            account: user.to_owned(),
            last_used: Instant::now(),
            requests: 0,
        },
    );
    let auth = Node::text("auth", &sid)
        .attr("id", &sid)
        .attr("level", "16");
    Ok(Reply::Doc(Node::doc().child(auth)))
}

/// The account a call acts for: `authinfo=user:pass`, or a live session `auth=<id>`.
fn authenticate(call: &mut Call<'_>) -> Result<String, ApiError> {
    if let Some(info) = call.params.non_empty("authinfo") {
        let (user, password) = info.split_once(':').unwrap_or((info, ""));
        check_password(call.core, user, password)?;
        return Ok(user.to_owned());
    }
    let expired = || ApiError::new("access", "auth", "Your session has expired, log in again");
    let Some(sid) = call.params.non_empty("auth") else {
        return Err(ApiError::new("access", "auth", "Authorization required"));
    };
    let limit = call.core.faults.session_expiry_requests;
    let idle = call.config.session_idle;
    let Some(session) = call.core.sessions.get_mut(sid) else {
        return Err(expired());
    };
    session.requests += 1;
    let too_old = session.last_used.elapsed() > idle;
    let too_many = limit.is_some_and(|n| session.requests > n);
    if too_old || too_many {
        call.core.sessions.remove(sid);
        return Err(expired());
    }
    session.last_used = Instant::now();
    Ok(session.account.clone())
}

fn whoami(call: &Call<'_>, account: &str) -> Reply {
    let (balance, currency) = call
        .core
        .state
        .accounts
        .get(account)
        .map_or((0, "EUR"), |a| (a.balance_cents, a.currency.as_str()));
    let user = Node::text("user", account)
        .attr("name", account)
        .attr("balance", doc::cents_localized(balance))
        .attr("currency", currency);
    Reply::Doc(Node::doc().child(user))
}

/// The status text and `$orig` code of a service row.
pub(crate) fn status_text(status: u8) -> (&'static str, &'static str) {
    match status {
        1 => ("Ordered", "1"),
        2 => ("Active", "2"),
        3 => ("Suspended", "3"),
        4 => ("Deleted", "4"),
        _ => ("Processing", "5_open"),
    }
}

fn row(call: &Call<'_>, s: &Service) -> Node {
    let tariff = call.tariff(s.pricelist);
    let (text, orig) = status_text(s.status);
    let mut elem = Node::new("elem")
        .field("id", s.id.to_string())
        .field("domain", &s.domain)
        .field("status", s.status.to_string())
        .child(Node::text("item_status", text).attr("orig", orig))
        .field("pricelist", tariff.map_or("", |t| t.title))
        .field("pricelist_id", s.pricelist.to_string())
        .field("period", s.period.to_string())
        .field(
            "autoprolong",
            s.autoprolong.map_or("null".to_owned(), |m| m.to_string()),
        )
        .field("expiredate", s.expiredate.format("%Y-%m-%d").to_string())
        .field("cost", doc::cents(s.cost_cents))
        .field("currency", "EUR");
    if let Some(ip) = s.ip.as_ref().filter(|_| matches!(s.status, 2 | 3)) {
        elem.push(Node::text("ip", ip));
    }
    if let Some(remoteid) = &s.remoteid {
        elem.push(Node::text("remoteid", remoteid));
    }
    if let Some(dc) = s.datacenter {
        elem.push(Node::text("datacenter", dc.to_string()));
        elem.push(Node::text("datacentername", catalog::datacenter_name(dc)));
    }
    if let Some(os) = &s.ostempl {
        elem.push(Node::text("ostempl", os));
    }
    elem
}

const FILTER_FIELDS: &[&str] = &[
    "id",
    "ip",
    "domain",
    "pricelist",
    "period",
    "status",
    "datacenter",
    "remoteid",
    "autoprolong",
];

fn matches_filter(s: &Service, filter: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(field, want)| match field.as_str() {
        "domain" => s
            .domain
            .to_ascii_lowercase()
            .contains(&want.to_ascii_lowercase()),
        "id" => s.id.to_string() == *want,
        "ip" => s.ip.as_deref() == Some(want),
        "pricelist" => s.pricelist.to_string() == *want,
        "period" => s.period.to_string() == *want,
        "status" => s.status.to_string() == *want,
        "datacenter" => s.datacenter.map(|d| d.to_string()).as_deref() == Some(want),
        "remoteid" => s.remoteid.as_deref() == Some(want),
        "autoprolong" => s.autoprolong.map(|m| m.to_string()).as_deref() == Some(want),
        _ => true,
    })
}

/// The filter a list applies: the account's sticky one, overlaid with the fields given inline
/// when the call says `filter=on` (`func=dedic&filter=on&status=2`).
fn list_filter(call: &Call<'_>, account: &str, item_type: &str) -> BTreeMap<String, String> {
    let mut filter = call
        .core
        .state
        .accounts
        .get(account)
        .and_then(|a| a.filters.get(item_type))
        .cloned()
        .unwrap_or_default();
    if call.params.is_on("filter") {
        for f in FILTER_FIELDS {
            if let Some(v) = call.params.non_empty(f) {
                filter.insert((*f).to_owned(), v.to_owned());
            }
        }
    }
    filter
}

fn list(call: &Call<'_>, account: &str, item_type: &str) -> Reply {
    let filter = list_filter(call, account, item_type);
    let rows: Vec<&Service> = call
        .core
        .state
        .services
        .values()
        .filter(|s| s.account == account && s.item_type == item_type)
        .filter(|s| matches_filter(s, &filter))
        .collect();
    let total = rows.len();
    let count = call
        .params
        .get("p_cnt")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0);
    let page = call
        .params
        .get("p_num")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let (skip, take) = count.map_or((0, total), |c| ((page - 1).saturating_mul(c), c));
    let mut doc = Node::doc();
    for s in rows.into_iter().skip(skip).take(take) {
        doc.push(row(call, s));
    }
    doc = doc.field("p_elems", total.to_string());
    if let Some(c) = count {
        doc = doc
            .field("p_cnt", c.to_string())
            .field("p_num", page.to_string());
    }
    Reply::Doc(doc)
}

/// `<type>.filter`: with `sok` stores (or, all fields empty, clears) the account's filter.
fn filter(call: &mut Call<'_>, account: &str, item_type: &str) -> Reply {
    let Some(acc) = call.core.state.accounts.get_mut(account) else {
        return Reply::Doc(Node::doc());
    };
    if call.params.non_empty("sok").is_some() {
        let chosen: BTreeMap<String, String> = FILTER_FIELDS
            .iter()
            .filter_map(|f| {
                call.params
                    .non_empty(f)
                    .map(|v| ((*f).to_owned(), v.to_owned()))
            })
            .collect();
        if chosen.is_empty() {
            acc.filters.remove(item_type);
        } else {
            acc.filters.insert(item_type.to_owned(), chosen);
        }
        call.core.dirty = true;
        return Reply::Doc(Node::doc().child(Node::new("ok")));
    }
    let current = acc.filters.get(item_type).cloned().unwrap_or_default();
    let mut doc = Node::doc();
    for f in FILTER_FIELDS {
        doc.push(Node::text(*f, current.get(*f).cloned().unwrap_or_default()));
    }
    Reply::Doc(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generation_is_answered() {
        assert!(matches!(
            parse_func("v2.vds.order.param"),
            Func::Order("vds", Style::V2)
        ));
        assert!(matches!(
            parse_func("vds.order.7"),
            Func::Order("vds", Style::Legacy)
        ));
        assert!(matches!(
            parse_func("vds.order.param"),
            Func::Order("vds", Style::Bm5)
        ));
        assert!(matches!(
            parse_func("soft.order.param"),
            Func::Order("soft", Style::Bm5)
        ));
        assert!(matches!(parse_func("dedic"), Func::List("dedic")));
        assert!(matches!(parse_func("nonsense"), Func::Unknown));
    }
}
