//! The simulator settings `billfleet sandbox` flags describe: users, balance, fault
//! injection ([`Faults`]) and answer shapes ([`FormShapes`]). Every fault flag of
//! `FaultArgs` (src/cli.rs) is wired in [`faults_from_args`]. A bad value is an error
//! message; the command reports it as bad input (exit 2).

use std::time::Duration;

use super::{Faults, FormShapes, PriceShape, SimConfig};
use crate::cli::{FaultArgs, SandboxArgs};
use crate::money::Money;

/// The simulator settings the flags describe; a bad value is bad input (exit 2).
pub fn from_args(args: &SandboxArgs) -> Result<SimConfig, String> {
    let balance = Money::parse(&args.balance)
        .filter(|m| !m.is_negative())
        .ok_or_else(|| {
            format!(
                "--balance: '{}' is not an amount (e.g. 10000 or 250.50)",
                args.balance
            )
        })?;
    if args.user.trim().is_empty() || args.user.contains(':') {
        return Err("--user must be non-empty and without ':'".to_owned());
    }
    let defaults = SimConfig::default();
    let currency = if balance.currency.is_empty() {
        defaults.currency.clone()
    } else {
        balance.currency.clone()
    };
    Ok(SimConfig {
        user: args.user.clone(),
        password: args.password.clone(),
        balance_cents: balance.cents(),
        currency,
        faults: faults_from_args(&args.faults)?,
        activation: Duration::from_millis(args.faults.activation_ms),
        state_file: args.state.clone(),
        ..defaults
    })
}

/// The faults the flags ask for; a share outside 0..=1 or an unknown login refusal is refused.
pub fn faults_from_args(f: &FaultArgs) -> Result<Faults, String> {
    for (flag, share) in [
        ("--fail-before", f.fail_before),
        ("--drop-after", f.drop_after),
        ("--after-work-503", f.after_work_503),
        ("--busy-share", f.busy_share),
    ] {
        if !(0.0..=1.0).contains(&share) {
            return Err(format!("{flag}: {share} is not a share between 0 and 1"));
        }
    }
    const LOGIN_REFUSALS: &[&str] = &["captcha", "blockgeoip", "blocked_ip", "blocklogon", "totp"];
    if let Some(how) = f.login_refusal.as_deref()
        && !LOGIN_REFUSALS.contains(&how)
    {
        return Err(format!(
            "--login-refusal: `{how}` is not one of {}",
            LOGIN_REFUSALS.join(", ")
        ));
    }
    Ok(Faults {
        seed: f.seed,
        latency: Duration::from_millis(f.latency_ms),
        jitter: Duration::from_millis(f.jitter_ms),
        fail_before: f.fail_before,
        drop_after: f.drop_after,
        throttle_rps: f.throttle_rps,
        session_expiry_requests: f.session_expiry,
        page_cap: f.page_cap,
        no_total: f.no_total,
        ignore_paging: f.ignore_paging,
        lean_rows: f.lean_rows,
        sticky_filter: f.sticky_filter,
        filter_reset_ignored: f.filter_reset_ignored,
        after_work_503: f.after_work_503,
        retry_after: f.retry_after.clone(),
        redirect_to: f.redirect_to.clone(),
        firewall: f.firewall,
        refuse_orders: f.refuse_orders.clone(),
        echo_secrets: f.echo_secrets,
        busy_share: f.busy_share,
        refuse_lists: f.refuse_lists.clone(),
        login_refusal: f.login_refusal.clone(),
        balance_text: f.balance_text.clone(),
        fail_first: f.fail_first.as_deref().map(fail_first).transpose()?,
        shapes: shapes_from_args(f)?,
        edit_price: price_shape("--edit-price-shape", &f.edit_price_shape)?,
    })
}

/// `--fail-first FUNC:N`.
fn fail_first(text: &str) -> Result<(String, u32), String> {
    let parsed = text
        .rsplit_once(':')
        .and_then(|(func, n)| Some((func.trim(), n.trim().parse::<u32>().ok()?)))
        .filter(|(func, _)| !func.is_empty());
    match parsed {
        Some((func, n)) => Ok((func.to_owned(), n)),
        None => Err(format!(
            "--fail-first: '{text}' is not FUNC:N (e.g. vds.filter:1)"
        )),
    }
}

/// The answer shapes the flags ask for.
fn shapes_from_args(f: &FaultArgs) -> Result<FormShapes, String> {
    Ok(FormShapes {
        v2_form: f.v2_forms,
        price: price_shape("--price-shape", &f.price_shape)?,
        slist_addons: f.slist_addons,
        off_values: f.off_values,
    })
}

/// A price shape by its flag value.
fn price_shape(flag: &str, value: &str) -> Result<PriceShape, String> {
    Ok(match value {
        "pricelist_summary" => PriceShape::PricelistSummary,
        "total_summary" => PriceShape::TotalSummary,
        "orderinfo" => PriceShape::Orderinfo,
        "missing" => PriceShape::Missing,
        other => {
            return Err(format!(
                "{flag}: '{other}' is not one of pricelist_summary, total_summary, orderinfo, \
                 missing"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> SandboxArgs {
        let mut argv = vec!["billfleet", "sandbox"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Sandbox(a) => a,
            other => panic!("not sandbox: {other:?}"),
        }
    }

    #[test]
    fn flags_become_the_simulator_config() {
        let c = from_args(&args(&[
            "--user",
            "alice",
            "--password",
            "pw",
            "--balance",
            "250.50",
            "--fail-before",
            "0.25",
            "--throttle-rps",
            "3",
            "--session-expiry",
            "7",
            "--activation-ms",
            "10",
        ]))
        .unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "pw"));
        assert_eq!((c.balance_cents, c.currency.as_str()), (25_050, "EUR"));
        assert_eq!(c.faults.fail_before, 0.25);
        assert_eq!(c.faults.throttle_rps, Some(3));
        assert_eq!(c.faults.session_expiry_requests, Some(7));
        assert_eq!(c.activation, Duration::from_millis(10));
        let shaped = from_args(&args(&[
            "--v2-forms",
            "--price-shape",
            "total_summary",
            "--slist-addons",
            "--off-values",
        ]))
        .unwrap();
        let want = FormShapes {
            v2_form: true,
            price: PriceShape::TotalSummary,
            slist_addons: true,
            off_values: true,
        };
        assert_eq!(shaped.faults.shapes, want);
        let d = from_args(&args(&[])).unwrap();
        assert_eq!((d.user.as_str(), d.balance_cents), ("demo", 1_000_000));
    }

    #[test]
    fn list_fault_flags_become_faults() {
        let c = from_args(&args(&[
            "--page-cap",
            "7",
            "--no-total",
            "--ignore-paging",
            "--lean-rows",
            "--sticky-filter",
            "--filter-reset-ignored",
        ]))
        .unwrap();
        let f = &c.faults;
        assert_eq!(f.page_cap, Some(7));
        assert!(f.no_total && f.ignore_paging && f.lean_rows);
        assert!(f.sticky_filter && f.filter_reset_ignored);
        let d = from_args(&args(&[])).unwrap().faults;
        assert_eq!(d.page_cap, None);
        assert!(!(d.no_total || d.ignore_paging || d.lean_rows || d.sticky_filter));
    }

    #[test]
    fn bad_values_are_bad_input() {
        for bad in [
            &["--balance", "lots"][..],
            &["--balance=-5"],
            &["--drop-after", "1.5"],
            &["--user", "a:b"],
            &["--price-shape", "somewhere"],
            &["--edit-price-shape", "nowhere"],
        ] {
            let err = from_args(&args(bad)).unwrap_err();
            assert!(!err.is_empty(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod hostile_flags {
    use super::*;
    use clap::Parser;

    fn faults(extra: &[&str]) -> Result<Faults, String> {
        let mut argv = vec!["billfleet", "sandbox"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Sandbox(a) => faults_from_args(&a.faults),
            other => panic!("not sandbox: {other:?}"),
        }
    }

    #[test]
    fn hostile_install_flags_become_faults() {
        let f = faults(&[
            "--after-work-503",
            "0.25",
            "--retry-after",
            "18446744073709551615",
            "--redirect-to",
            "http://127.0.0.1:9/billmgr",
            "--firewall",
            "--refuse-orders",
            "access",
            "--echo-secrets",
            "--busy-share",
            "0.3",
            "--login-refusal",
            "totp",
        ])
        .unwrap();
        assert_eq!(f.after_work_503, 0.25);
        assert_eq!(f.retry_after.as_deref(), Some("18446744073709551615"));
        assert_eq!(f.redirect_to.as_deref(), Some("http://127.0.0.1:9/billmgr"));
        assert!(f.firewall && f.echo_secrets);
        assert_eq!(f.refuse_orders.as_deref(), Some("access"));
        assert_eq!(f.busy_share, 0.3);
        assert_eq!(f.login_refusal.as_deref(), Some("totp"));
        for bad in [
            &["--busy-share", "2"][..],
            &["--after-work-503=-1"],
            &["--login-refusal", "nope"],
        ] {
            assert!(!faults(bad).unwrap_err().is_empty(), "{bad:?}");
        }
    }
}
