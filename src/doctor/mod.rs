//! The read-only probing of `billfleet doctor`: the URL and TLS, the login, the account and
//! balance, each item type's service list (all pages, which columns it has), each group's
//! tariff, order form (addon ids and ranges, OS template, period, the form shape the install
//! uses) and price. Only lists, forms without `sok`, `whoami` and the list-filter reset are
//! sent. Each finding is a [`Check`]; [`crate::report::doctor`] shows them.
//!
//! [`capture`] writes every exchange as owner-only JSON lines, secrets removed.

pub mod capture;

use crate::api::{ApiError, BillingClient, ErrorKind, OrderForm, Service};
use crate::manifest::online::addon_problem;
use crate::manifest::{Group, Manifest};
use crate::plan;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Passed.
    pub ok: bool,
    /// What was checked and found.
    pub text: String,
    /// What to do about a failure.
    pub hint: Option<String>,
}

/// The checks so far.
#[derive(Debug, Default)]
pub struct Checks(Vec<Check>);

impl Checks {
    /// Records a passed check.
    pub fn pass(&mut self, text: impl Into<String>) {
        self.0.push(Check {
            ok: true,
            text: text.into(),
            hint: None,
        });
    }

    /// Records a failed check with what to do about it.
    pub fn fail(&mut self, text: impl Into<String>, hint: impl Into<String>) {
        self.0.push(Check {
            ok: false,
            text: text.into(),
            hint: Some(hint.into()),
        });
    }

    /// True when every check passed.
    pub fn all_ok(&self) -> bool {
        self.0.iter().all(|c| c.ok)
    }

    /// The checks in the order they were made.
    pub fn list(&self) -> &[Check] {
        &self.0
    }
}

/// URL, TLS, login, account and balance: `whoami` (after logging in). False when the rest
/// cannot be checked.
pub async fn account(checks: &mut Checks, client: &BillingClient) -> bool {
    let opts = client.options();
    let url = opts.base_url.as_str();
    let tls = if !url.starts_with("https://") {
        " (plain HTTP: no TLS)"
    } else if opts.insecure_tls {
        " (TLS certificate NOT verified: --insecure)"
    } else {
        " (TLS certificate verified)"
    };
    let login = format!("{:?}", opts.login).to_ascii_lowercase();
    match client.whoami().await {
        Ok(account) => {
            checks.pass(format!("{url} reachable{tls}"));
            checks.pass(format!("login ({login}) works for user {}", opts.user));
            let name = account.name.unwrap_or_else(|| opts.user.clone());
            checks.pass(format!("account {name}: balance {}", account.balance));
            true
        }
        Err(e) => {
            refused(checks, url, tls, &login, &e);
            false
        }
    }
}

fn refused(checks: &mut Checks, url: &str, tls: &str, login: &str, e: &ApiError) {
    match &e.kind {
        ErrorKind::Transport | ErrorKind::Timeout => checks.fail(
            format!("{url} not reachable: {e}"),
            "check the URL (…/billmgr or …/manager/billmgr), the network, and the TLS \
             certificate (--insecure for a self-signed test install only)",
        ),
        ErrorKind::Server { .. } | ErrorKind::Throttled { .. } => checks.fail(
            format!("{url} answers with an HTTP error: {e}"),
            "a proxy or firewall in front of the billing refuses; try again later or ask the hoster",
        ),
        ErrorKind::Protocol => checks.fail(
            format!("{url} does not answer as a BILLmanager API: {e}"),
            "the URL must be the billing's API endpoint, e.g. https://my.example.com/billmgr",
        ),
        ErrorKind::Auth { .. } | ErrorKind::SessionExpired => {
            checks.pass(format!("{url} reachable{tls}"));
            checks.fail(
                format!("login ({login}) refused: {e}"),
                "check BILLFLEET_USER / BILLFLEET_PASSWORD or the profile; if the install \
                 restricts authinfo, use `login: session`",
            );
        }
        _ => checks.fail(
            format!("whoami failed: {e}"),
            "the account cannot read its own data",
        ),
    }
}

/// Every service list of the item types `kinds`, all pages; which columns the rows have.
/// `None` when a list is not known complete.
pub async fn service_lists(
    checks: &mut Checks,
    client: &BillingClient,
    kinds: impl IntoIterator<Item = String>,
) -> Option<Vec<(String, Service)>> {
    let mut all = Vec::new();
    let mut complete = true;
    for kind in kinds {
        match client.list_services(&kind).await {
            Ok(listing) => {
                if let Some(why) = &listing.gap {
                    complete = false;
                    checks.fail(
                        format!("service list `{kind}`: not known to be complete ({why})"),
                        "billfleet orders nothing for a group whose list it cannot read whole; \
                         attach a --capture to a bug report",
                    );
                } else {
                    list_columns(checks, &kind, &listing.services);
                }
                all.extend(listing.services.into_iter().map(|s| (kind.clone(), s)));
            }
            Err(e) => {
                complete = false;
                checks.fail(
                    format!("service list `{kind}`: {e}"),
                    "billfleet must read every service before ordering; check the item type",
                );
            }
        }
    }
    complete.then_some(all)
}

fn list_columns(checks: &mut Checks, kind: &str, services: &[Service]) {
    let n = services.len();
    let text = format!(
        "service list `{kind}`: {n} services, every page read (a saved list filter was reset \
         first)"
    );
    if n == 0 {
        checks.pass(format!("{text}; columns unknown (no services yet)"));
        return;
    }
    let count = |f: &dyn Fn(&Service) -> bool| services.iter().filter(|s| f(s)).count();
    let status = count(&|s| s.status != 0);
    let remoteid = count(&|s| s.remoteid.is_some());
    let domain = count(&|s| s.domain.is_some());
    let columns =
        format!("columns: status {status}/{n}, remoteid {remoteid}/{n}, domain {domain}/{n}");
    if status < n {
        checks.fail(
            format!("{text}; {columns}"),
            "rows without a status cannot be told live or deleted; report this install's \
             list with --capture",
        );
    } else {
        checks.pass(format!("{text}; {columns}"));
    }
}

/// The group's tariff, order form and price.
pub async fn order_form(
    checks: &mut Checks,
    client: &BillingClient,
    manifest: &Manifest,
    g: &Group,
) {
    let (kind, tariff) = (g.kind.as_str(), g.pricelist.as_str());
    let who = format!("group `{}`", g.name);
    let catalog = format!("`billfleet catalog --type {kind}` lists what is sold");
    match client.pricelists(kind).await {
        Ok(list) if !list.is_empty() && !list.iter().any(|t| t.id == tariff) => {
            let ids: Vec<&str> = list.iter().map(|t| t.id.as_str()).collect();
            checks.fail(
                format!(
                    "{who}: tariff {tariff} is not sold for `{kind}` (sold: {})",
                    ids.join(", ")
                ),
                catalog,
            );
            return;
        }
        Ok(list) if list.is_empty() => checks.pass(format!(
            "{who}: the billing lists no tariffs of `{kind}`; the order form of {tariff} decides"
        )),
        Ok(_) => checks.pass(format!("{who}: tariff {tariff} of `{kind}` is sold")),
        Err(e) => checks.fail(format!("{who}: cannot list the tariffs: {e}"), catalog),
    }
    match client.order_form(kind, tariff).await {
        Ok(form) => form_checks(checks, &who, g, &form),
        Err(e) => {
            let hint = format!("`billfleet catalog --type {kind} --pricelist {tariff}`");
            checks.fail(format!("{who}: cannot read the order form: {e}"), hint);
            return;
        }
    }
    let call = plan::preview_call(manifest, g);
    let params: Vec<(&str, &str)> = call.params().collect();
    let price = client
        .quote(&call.func, &params)
        .await
        .and_then(|q| Ok((q.require_total(&call.func)?, q.source)));
    match price {
        Ok((money, source)) => checks.pass(format!(
            "{who}: price {money} per server ({}, read from {})",
            call.func,
            source.unwrap_or("?")
        )),
        Err(e) => checks.fail(
            format!("{who}: no price for {}: {e}", call.func),
            "billfleet never orders what it cannot price; attach a --capture to a bug report",
        ),
    }
}

fn form_checks(checks: &mut Checks, who: &str, g: &Group, form: &OrderForm) {
    let addons: Vec<String> = form
        .addons
        .iter()
        .map(|a| match (&a.min, &a.max) {
            _ if !a.options.is_empty() => {
                let keys: Vec<&str> = a.options.iter().map(|o| o.key.as_str()).collect();
                format!("{} [{}]", a.id, keys.join("|"))
            }
            (Some(min), Some(max)) => format!("{} ({min}..{max})", a.id),
            _ => a.id.clone(),
        })
        .collect();
    let periods: Vec<&str> = form.periods.iter().map(|p| p.key.as_str()).collect();
    let shape = &form.shape;
    checks.pass(format!(
        "{who}: order form: addons {}; {} OS templates; periods {}; form shape: limits {}, \
         labels {}, price {}",
        if addons.is_empty() {
            "none".into()
        } else {
            addons.join(", ")
        },
        form.ostempls.len(),
        if periods.is_empty() {
            "none".into()
        } else {
            periods.join(", ")
        },
        shape.limits.unwrap_or("none"),
        shape.labels.unwrap_or("none"),
        shape.price.unwrap_or("none"),
    ));
    let mut problems: Vec<String> = Vec::new();
    for (id, value) in &g.addons {
        match form.addons.iter().find(|a| a.id == id.as_str()) {
            None => problems.push(format!("addon {id} is not in the form")),
            Some(a) => problems
                .extend(addon_problem(a, value.as_str()).map(|p| format!("addon {id}: {p}"))),
        }
    }
    let offered =
        |list: &[crate::api::Choice], v: &str| list.is_empty() || list.iter().any(|c| c.key == v);
    if let Some(os) = g.ostempl.as_deref().filter(|o| *o != "null")
        && !offered(&form.ostempls, os)
    {
        problems.push(format!("OS template {os} is not offered"));
    }
    if let Some(period) = &g.period
        && !offered(&form.periods, period.as_str())
    {
        problems.push(format!(
            "period {} is not offered (periods: {})",
            period.as_str(),
            periods.join(", ")
        ));
    }
    if !problems.is_empty() {
        checks.fail(
            format!(
                "{who}: the manifest does not fit the form: {}",
                problems.join("; ")
            ),
            "`billfleet validate --online` shows each problem at its line",
        );
    }
}
