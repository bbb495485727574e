//! Dispatch on `func`, authentication (sessions, `authinfo`, lockout) and `whoami`; service
//! lists and their filters are answered in `lists`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::catalog::{self, Tariff};
use super::doc::{self, ApiError, Node};
use super::http::Params;
use super::{Core, LoginFails, Session, SimConfig, form, lists, manage, orders};

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
    Logon,
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
        "logon" => return Func::Logon,
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
    } else if let Some(ok) = super::refusals::totp_pending(call.core) {
        authenticate(&mut call).map(|_| Reply::Doc(ok))
    } else if let (Func::Order(..), true, Some(e)) = (&func, sok, super::refusals::order(call.core))
    {
        authenticate(&mut call).and(Err(e))
    } else {
        authenticate(&mut call).and_then(|account| match func {
            Func::Auth | Func::Keepalive => Ok(Reply::Doc(Node::doc().child(Node::new("ok")))),
            // Logging out, as the BILLmanager 6 web front end does: `func=logon` with the session.
            Func::Logon => {
                if let Some(sid) = params.non_empty("auth") {
                    call.core.sessions.remove(sid);
                }
                Ok(Reply::Doc(Node::doc().child(Node::new("ok"))))
            }
            Func::Whoami => Ok(whoami(&call, &account)),
            Func::Cart => super::cart::cart(&mut call, &account),
            Func::Prolong => manage::prolong(&mut call, &account),
            Func::Pricelist(t) => Ok(Reply::Doc(form::pricelist(&call, t))),
            Func::Order(t, style) => orders::order(&mut call, &account, t, style),
            Func::OrderStart(t) => Ok(form::order_start(&call, t)),
            Func::Filter(t) => Ok(lists::filter(&mut call, &account, t)),
            Func::Edit(t) => manage::edit(&mut call, &account, t),
            Func::Act(t, action) => manage::act(&mut call, &account, t, action),
            Func::List(t) => match super::refusals::list(call.core) {
                Some(refused) => Err(refused),
                None => Ok(lists::list(&call, &account, t)),
            },
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

/// A login key (`func=auth&username=…&key=…`): the simulator accepts the account's password
/// reversed and prefixed `key-` (a stand-in for a key issued by `session.newkey`).
fn check_key(core: &mut Core, user: &str, key: &str) -> Result<(), ApiError> {
    let good =
        core.state.accounts.get(user).is_some_and(|a| {
            key == format!("key-{}", a.password.chars().rev().collect::<String>())
        });
    if good {
        Ok(())
    } else {
        Err(ApiError::new("auth", "badpassword", "Invalid key"))
    }
}

fn login(call: &mut Call<'_>) -> Result<Reply, ApiError> {
    let user = call.params.get("username").unwrap_or("");
    if let Some(refusal) = super::refusals::login(call.core) {
        return Err(refusal);
    }
    match call.params.non_empty("key") {
        Some(key) => check_key(call.core, user, key)?,
        None => check_password(call.core, user, call.params.get("password").unwrap_or(""))?,
    }
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
    let shown = match &call.core.faults.balance_text {
        Some(text) => text.clone(),
        None => doc::cents_localized(balance),
    };
    let user = Node::text("user", account)
        .attr("name", account)
        .attr("balance", shown)
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
