//! `billfleet` against installs that are not friendly: gateways failing after the work,
//! redirects, firewalls, refused orders and logins, absurd `Retry-After` values, servers
//! echoing secrets, busy answers, a funds refusal. Every test runs the real binary against
//! the simulator (or a bare loopback listener).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use billfleet::report::RowOutcome;
use billfleet::sim::{Faults, LoggedRequest, Sim, SimConfig, SimDialect, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::harness::{self, Billfleet, Ran};

/// A one-group BILLmanager 5 VPS manifest of `count` servers.
fn manifest(count: u32, login: &str, execution: &str) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm5\n  login: {login}\nfleet:\n  name: web\n  \
         type: vds\n  count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n  \
         pricelist: 6\n  datacenter: 1\n  period: 1\n  autoprolong: 1\n  \
         ostempl: ISPsystem__CentOS-7-amd64\n  addons: {{10: 1, 11: 1024}}\n  \
         payment: balance\nexecution:\n  rate: 100\n{execution}"
    )
}

async fn sim(faults: Faults) -> SimHandle {
    sim_with(faults, harness::PASSWORD, 1_000_000).await
}

async fn sim_with(faults: Faults, password: &str, balance_cents: i64) -> SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        activation: Duration::from_millis(100),
        password: password.to_owned(),
        balance_cents,
        faults,
        ..SimConfig::default()
    })
    .await
}

fn live(sim: &Sim) -> usize {
    sim.services()
        .iter()
        .filter(|s| s.account == harness::USER && matches!(s.status, 1 | 2 | 3 | 5))
        .count()
}

fn calls(requests: &[LoggedRequest], func: &str) -> usize {
    requests.iter().filter(|r| r.func == func).count()
}

fn orders(requests: &[LoggedRequest]) -> usize {
    requests
        .iter()
        .filter(|r| {
            r.func.ends_with(".order.param")
                && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
        })
        .count()
}

fn apply(sim: &SimHandle, text: &str) -> Billfleet {
    Billfleet::new()
        .manifest("web.yaml", text)
        .billing(sim)
        .args(["apply", "web.yaml", "--yes"])
}

/// True when `text` holds a run of `n` hex digits (the simulator's session ids are 32).
fn has_hex_run(text: &str, n: usize) -> bool {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= n {
            return true;
        }
    }
    false
}

/// Everything a run left for people to read: stderr, stdout and the CSV report.
fn everything(ran: &Ran) -> String {
    let report = std::fs::read_to_string(ran.dir.join("web.results.csv")).unwrap_or_default();
    format!("{}\n{}\n{report}", ran.stderr, ran.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_503_after_the_work_leaves_exactly_n_and_a_rerun_orders_nothing() {
    let sim = sim(Faults {
        seed: 3,
        after_work_503: 0.25,
        retry_after: Some("1".into()),
        ..Faults::default()
    })
    .await;
    let text = manifest(40, "session", "  concurrency: 4\n  retries: 8\n");
    let ran = apply(&sim, &text).run().await;
    ran.code(0);
    let requests = sim.sim.requests();
    let after_work = requests
        .iter()
        .filter(|r| r.outcome == "fault:503-after-work")
        .count();
    assert!(after_work > 0, "no 503 after the work was injected");
    assert_eq!(live(&sim.sim), 40);
    let ordered = orders(&requests);
    let ran = apply(&sim, &text).run().await;
    ran.code(0);
    assert_eq!(orders(&sim.sim.requests()), ordered, "the rerun ordered");
    assert_eq!(live(&sim.sim), 40);
}

/// A loopback listener that records every byte sent to it and answers nothing useful.
async fn recorder() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                    let _ = stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            });
        }
    });
    (format!("http://{addr}/billmgr"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_never_followed_and_no_credential_leaves() {
    let (elsewhere, seen) = recorder().await;
    let password = "Redirect-Pa55";
    let sim = sim_with(
        Faults {
            redirect_to: Some(format!("{elsewhere}?token=abc123")),
            ..Faults::default()
        },
        password,
        1_000_000,
    )
    .await;
    for login in ["session", "authinfo"] {
        let ran = Billfleet::new()
            .manifest("web.yaml", &manifest(3, login, ""))
            .credentials(&sim.url, harness::USER, password)
            .args(["apply", "web.yaml", "--yes"])
            .run()
            .await;
        ran.code(3);
        assert!(ran.stderr.contains("307"), "{}", ran.stderr);
        assert!(ran.stderr.contains(&elsewhere), "{}", ran.stderr);
        assert!(!ran.stderr.contains("abc123"), "{}", ran.stderr);
        assert!(ran.stderr.contains("billing URL"), "{}", ran.stderr);
    }
    let seen = seen.lock().unwrap().clone();
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        !seen.contains(password),
        "the password reached the other origin"
    );
    assert!(
        seen.is_empty(),
        "something reached the other origin: {seen}"
    );
    assert!(
        sim.sim.requests().len() <= 2,
        "{:?}",
        sim.sim.requests().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_refused_with_access_stop_the_run_after_at_most_three_logins() {
    let sim = sim(Faults {
        refuse_orders: Some("access".into()),
        ..Faults::default()
    })
    .await;
    let ran = apply(&sim, &manifest(20, "session", "  concurrency: 4\n"))
        .run()
        .await;
    ran.code(3);
    let requests = sim.sim.requests();
    assert!(
        calls(&requests, "auth") <= 3,
        "{} logins",
        calls(&requests, "auth")
    );
    assert!(orders(&requests) <= 8, "{} order calls", orders(&requests));
    assert!(
        ran.stderr.contains("right after a fresh login"),
        "{}",
        ran.stderr
    );
    assert_eq!(live(&sim.sim), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_refused_in_authinfo_mode_says_to_use_session_login() {
    let sim = sim(Faults {
        refuse_orders: Some("access".into()),
        ..Faults::default()
    })
    .await;
    let ran = apply(&sim, &manifest(6, "authinfo", "  concurrency: 2\n"))
        .run()
        .await;
    ran.code(3);
    assert!(ran.stderr.contains("login: session"), "{}", ran.stderr);
    assert!(orders(&sim.sim.requests()) <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_firewall_gets_at_most_three_requests() {
    let sim = sim(Faults {
        firewall: true,
        ..Faults::default()
    })
    .await;
    for login in ["session", "authinfo"] {
        let before = sim.sim.requests().len();
        let ran = apply(&sim, &manifest(5, login, "")).run().await;
        ran.code(3);
        assert!(sim.sim.requests().len() - before <= 3, "{login}");
        assert!(ran.stderr.contains("403"), "{}", ran.stderr);
        assert!(ran.stderr.contains(&sim.url), "{}", ran.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_never_panics() {
    let sim = sim(Faults {
        seed: 5,
        after_work_503: 0.3,
        throttle_rps: Some(30),
        retry_after: Some("18446744073709551615".into()),
        ..Faults::default()
    })
    .await;
    let bf = apply(
        &sim,
        &manifest(8, "session", "  concurrency: 4\n  retries: 8\n"),
    )
    .env("BILLFLEET_MAX_RETRY_AFTER", "1");
    let ran = bf.run().await;
    assert_ne!(ran.code, Some(101), "{}", ran.stderr);
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    ran.code(0);
    assert!(ran.dir.join("web.results.csv").exists());
    assert!(ran.stderr.contains("Retry-After"), "{}", ran.stderr);
    assert_eq!(live(&sim.sim), 8);
}

#[tokio::test]
async fn absurd_wait_timeouts_and_rates_are_refused_before_sending() {
    let sim = sim(Faults::default()).await;
    for extra in [
        ["--wait-timeout", "999999999"],
        ["--rate", "0.001"],
        ["--rate", "NaN"],
    ] {
        let ran = apply(&sim, &manifest(2, "session", "")).args(
            ["apply", "web.yaml", "--yes"]
                .into_iter()
                .chain(extra)
                .collect::<Vec<_>>(),
        );
        ran.run().await.code(2);
    }
    let ran = apply(&sim, &manifest(2, "session", ""))
        .manifest(
            "slow.yaml",
            &manifest(2, "session", "").replace("rate: 100", "rate: 0.001"),
        )
        .args(["apply", "slow.yaml", "--yes"])
        .run()
        .await;
    ran.code(2);
    assert!(sim.sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_id_never_shows_at_trace_level_and_the_session_is_ended() {
    let sim = sim(Faults {
        echo_secrets: true,
        ..Faults::default()
    })
    .await;
    let ran = apply(&sim, &manifest(2, "session", ""))
        .arg("-vv")
        .run()
        .await;
    ran.code(0);
    assert!(ran.stderr.contains("response body"), "no trace at -vv");
    assert!(
        !has_hex_run(&ran.stderr, 32),
        "a session id in:\n{}",
        ran.stderr
    );
    let requests = sim.sim.requests();
    let last = requests.last().map(|r| r.func.as_str());
    assert_eq!(last, Some("logon"), "the session was not ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_echoed_by_the_server_appear_nowhere() {
    let password = "Ech0 s3cret&pw";
    let sim = sim_with(
        Faults {
            echo_secrets: true,
            refuse_orders: Some("value".into()),
            ..Faults::default()
        },
        password,
        1_000_000,
    )
    .await;
    let encoded: String = form_urlencoded::byte_serialize(password.as_bytes()).collect();
    for login in ["session", "authinfo"] {
        let bf = Billfleet::new()
            .manifest("web.yaml", &manifest(3, login, ""))
            .credentials(&sim.url, harness::USER, password)
            .args(["apply", "web.yaml", "--yes", "-v"]);
        let ran = bf.run().await;
        assert_eq!(ran.code, Some(1), "{login}: {}", ran.stderr);
        let text = everything(&ran);
        assert!(
            text.contains("[request:"),
            "{login}: no echo reached the test:\n{text}"
        );
        for secret in [password, encoded.as_str(), "s3cret"] {
            assert!(!text.contains(secret), "{login}: `{secret}` in:\n{text}");
        }
        assert!(!has_hex_run(&text, 32), "{login}: a session id in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funds_refusal_stops_the_run_showing_required_and_available() {
    let sim = harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        faults: Faults {
            latency: Duration::from_millis(40),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let bf = apply(&sim, &manifest(12, "session", "  concurrency: 1\n"));
    let drain = async {
        // Once the first order has landed, the money is gone (spent elsewhere).
        while live(&sim.sim) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sim.sim.add_account(harness::USER, harness::PASSWORD, 0);
    };
    let (ran, ()) = tokio::join!(bf.run(), drain);
    ran.code(3);
    assert!(ran.stderr.contains("insufficient funds"), "{}", ran.stderr);
    assert!(ran.stderr.contains("required"), "{}", ran.stderr);
    assert!(ran.stderr.contains("available 0.00 EUR"), "{}", ran.stderr);
    assert!(live(&sim.sim) < 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_answers_are_retried_until_every_server_is_ordered() {
    let sim = sim(Faults {
        seed: 11,
        busy_share: 0.3,
        ..Faults::default()
    })
    .await;
    let bf = apply(&sim, &manifest(20, "session", "  concurrency: 4\n"));
    let ran = bf.run().await;
    ran.code(0);
    let requests = sim.sim.requests();
    assert!(requests.iter().any(|r| r.outcome == "fault:busy"));
    assert_eq!(live(&sim.sim), 20);
    // Every order call that was not refused as busy made one service (a busy price preview,
    // the same function without `sok`, is no order).
    let busy_orders = requests
        .iter()
        .filter(|r| r.outcome == "fault:busy")
        .filter(|r| orders(std::slice::from_ref(r)) == 1)
        .count();
    assert_eq!(orders(&requests) - busy_orders, 20);
    let rows = ran.report("web.results.csv");
    assert!(rows.iter().all(|r| r.outcome != RowOutcome::Failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_logins_stop_at_once_with_a_hint() {
    let cases = [
        ("captcha", "captcha"),
        ("blockgeoip", "region"),
        ("blocked_ip", "unblock"),
        ("blocklogon", "locked"),
        ("totp", "two-factor"),
    ];
    for (how, hint) in cases {
        let sim = sim(Faults {
            login_refusal: Some(how.into()),
            ..Faults::default()
        })
        .await;
        let ran = apply(&sim, &manifest(3, "session", "")).run().await;
        ran.code(3);
        assert!(ran.stderr.contains(hint), "{how}: {}", ran.stderr);
        let requests = sim.sim.requests();
        assert!(calls(&requests, "auth") <= 2, "{how}");
        assert_eq!(orders(&requests), 0, "{how}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_a_login_key_logs_in_with_the_key() {
    let sim = sim(Faults::default()).await;
    let profile = format!(
        "[profiles.default]\nurl = \"{}\"\nuser = \"{}\"\nkey_env = \"ACME_KEY\"\n",
        sim.url,
        harness::USER
    );
    // The simulator's stand-in for a key issued by session.newkey: `key-` + password reversed.
    let ran = Billfleet::new()
        .manifest("web.yaml", &manifest(2, "session", ""))
        .manifest("billfleet.toml", &profile)
        .env("ACME_KEY", "key-omed")
        .args(["apply", "web.yaml", "--yes", "-vv"])
        .run()
        .await;
    ran.code(0);
    assert!(!ran.stderr.contains("key-omed"), "{}", ran.stderr);
    let requests = sim.sim.requests();
    let auth: Vec<_> = requests.iter().filter(|r| r.func == "auth").collect();
    assert_eq!(auth.len(), 1);
    let names: Vec<&str> = auth[0].params.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        names.contains(&"key") && !names.contains(&"password"),
        "{names:?}"
    );
    assert_eq!(live(&sim.sim), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_32_mib_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/billmgr", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = stream.read(&mut buf).await;
                // No length: the body runs until the connection closes.
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 1 << 20];
                for _ in 0..40 {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let ran = Billfleet::new()
        .manifest("web.yaml", &manifest(1, "session", "  retries: 0\n"))
        .credentials(&url, harness::USER, harness::PASSWORD)
        .args(["plan", "web.yaml"])
        .run()
        .await;
    assert_ne!(ran.code, Some(101), "{}", ran.stderr);
    assert_ne!(ran.code, Some(0));
    assert!(ran.stderr.contains("32 MiB"), "{}", ran.stderr);
}

/// A loopback listener answering every request with `answer`; returns its URL and a count of
/// the requests it saw.
async fn answering(answer: &'static [u8]) -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/billmgr", listener.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0usize));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                    *seen.lock().unwrap() += 1;
                    let _ = stream.write_all(answer).await;
                }
            });
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waf_page_or_status_460_on_the_login_stops_at_once() {
    let answers: [(&[u8], &str); 3] = [
        (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 50\r\nconnection: close\r\n\r\n<html><body>Please solve the captcha</body></html>",
            "web page",
        ),
        (
            b"HTTP/1.1 460 Blocked\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "460",
        ),
        (
            b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "401",
        ),
    ];
    for (answer, named) in answers {
        let (url, count) = answering(answer).await;
        let bf = Billfleet::new()
            .manifest("web.yaml", &manifest(3, "session", ""))
            .credentials(&url, harness::USER, harness::PASSWORD)
            .args(["apply", "web.yaml", "--yes"]);
        let ran = bf.run().await;
        ran.code(3);
        assert!(ran.stderr.contains(named), "{}", ran.stderr);
        assert!(ran.stderr.contains(&url), "{}", ran.stderr);
        assert!(
            *count.lock().unwrap() <= 2,
            "{named}: {} requests",
            count.lock().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_expire_often_are_renewed_without_stopping_the_run() {
    let sim = sim(Faults {
        session_expiry_requests: Some(3),
        ..Faults::default()
    })
    .await;
    let ran = apply(&sim, &manifest(20, "session", "  concurrency: 4\n"))
        .run()
        .await;
    ran.code(0);
    assert_eq!(live(&sim.sim), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_after_a_paid_call_is_reconciled_after_the_pause_it_asked_for() {
    let sim = sim(Faults {
        after_work_503: 1.0,
        retry_after: Some("1".into()),
        ..Faults::default()
    })
    .await;
    let ran = apply(&sim, &manifest(3, "session", "  concurrency: 1\n"))
        .run()
        .await;
    ran.code(0);
    let requests = sim.sim.requests();
    assert_eq!(orders(&requests), 3, "an order was sent again unseen");
    assert_eq!(live(&sim.sim), 3);
    for (i, r) in requests.iter().enumerate() {
        if r.outcome != "fault:503-after-work" {
            continue;
        }
        let next = &requests[i + 1];
        assert_eq!(
            next.func, "vds",
            "the next call is not the reconcile's list"
        );
        assert!(
            next.at_ms >= r.at_ms + 950,
            "the Retry-After pause was not honoured: {} ms",
            next.at_ms - r.at_ms
        );
    }
}
