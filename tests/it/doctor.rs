//! `billfleet doctor`: read-only checks against the simulator, a capture without secrets, the
//! problem named when something does not fit, and the capture replayed by
//! `billfleet sandbox --replay`.

use std::time::Duration;

use billfleet::sim::{Faults, FormShapes, NewService, PriceShape, SimConfig, SimHandle};

use crate::harness::{self, Billfleet};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-Pw0rd";

const WEB: &str = "version: 1
billing:
  dialect: bm6
fleet:
  name: web
  type: vds
  count: 3
  domain: \"web-{seq}.example.com\"
  pricelist: 6
  period: 1
  ostempl: ISPsystem__Debian-12-amd64
  addons: {10: 2}
";

async fn sim_with(shapes: FormShapes) -> SimHandle {
    let h = harness::sim(SimConfig {
        user: USER.into(),
        password: PASSWORD.into(),
        faults: Faults {
            shapes,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    h.sim.add_service(NewService {
        account: Some(USER.into()),
        domain: "web-1.example.com".into(),
        remoteid: Some("web-1".into()),
        ..NewService::default()
    });
    h
}

fn doctor(h: &SimHandle, manifest: &str, password: &str) -> Billfleet {
    Billfleet::new()
        .manifest("web.yaml", manifest)
        .credentials(&h.url, USER, password)
}

/// True for a call that changes something (an order, edit, renewal or list action).
fn mutating(func: &str, params: &[(String, String)]) -> bool {
    let sok = params.iter().any(|(k, v)| k == "sok" && !v.is_empty());
    let action = ["suspend", "resume", "delete", "cart", "basket"]
        .iter()
        .any(|a| func.ends_with(a));
    // Resetting a list filter and ending the session (`logon`) change no service.
    action || (sok && !func.ends_with(".filter") && func != "logon")
}

#[tokio::test]
async fn doctor_passes_sends_nothing_that_changes_and_captures_no_secret() {
    let h = sim_with(FormShapes::default()).await;
    let bf = doctor(&h, WEB, PASSWORD).args(["doctor", "web.yaml", "--capture", "cap.jsonl"]);
    let out = bf.run().await;
    out.code(0);
    assert!(!out.stdout.contains('✗'), "{}", out.stdout);
    for needle in [
        "reachable",
        "login (session) works",
        "balance 10000.00 EUR",
        "service list `vds`: 1 services",
        "remoteid 1/1",
        "tariff 6 of `vds` is sold",
        "addons 7 (1000..100000)",
        "price 7.00 EUR per server",
        "read from pricelist_summary",
        "apply would order 2, find 1 present",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
    assert!(
        out.stderr.contains("still holds account data"),
        "{}",
        out.stderr
    );
    let writes: Vec<String> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| mutating(&r.func, &r.params))
        .map(|r| r.func)
        .collect();
    assert_eq!(writes, Vec::<String>::new());
    assert_eq!(h.sim.services().len(), 1);
    let capture = std::fs::read_to_string(bf.path("cap.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = capture
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 5, "{capture}");
    assert!(!capture.contains(PASSWORD), "{capture}");
    let auth = lines.iter().find(|l| l["func"] == "auth").unwrap();
    assert!(auth["body"].as_str().unwrap().contains("***"), "{auth}");
    // No session id anywhere: the simulator's ids are 32 hex digits.
    let hex_run = capture
        .as_bytes()
        .split(|b| !b.is_ascii_hexdigit())
        .any(|run| run.len() >= 32);
    assert!(!hex_run, "{capture}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(bf.path("cap.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn an_authinfo_capture_holds_no_password_either() {
    let h = sim_with(FormShapes::default()).await;
    let manifest = WEB.replace(
        "  dialect: bm6\n",
        "  dialect: bm6\n  login: authinfo\n  format: xml\n",
    );
    let bf = doctor(&h, &manifest, PASSWORD).args(["doctor", "web.yaml", "--capture", "c.jsonl"]);
    let out = bf.run().await;
    out.code(0);
    assert!(
        out.stdout.contains("login (authinfo) works"),
        "{}",
        out.stdout
    );
    let capture = std::fs::read_to_string(bf.path("c.jsonl")).unwrap();
    assert!(capture.contains("<doc>"), "an XML conversation: {capture}");
    assert!(!capture.contains(PASSWORD), "{capture}");
    assert!(!capture.contains("authinfo"), "{capture}");
}

#[tokio::test]
async fn doctor_names_a_tariff_that_is_not_sold_and_a_form_that_does_not_fit() {
    let h = sim_with(FormShapes::default()).await;
    let manifest = WEB.replace("pricelist: 6", "pricelist: 99");
    let out = doctor(&h, &manifest, PASSWORD)
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(1);
    assert!(
        out.stdout
            .contains("✗ group `web`: tariff 99 is not sold for `vds` (sold: 6, 8)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("hint: `billfleet catalog --type vds`"),
        "{}",
        out.stdout
    );
    let manifest = WEB.replace("{10: 2}", "{10: 99, 404: 1}");
    let out = doctor(&h, &manifest, PASSWORD)
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(1);
    assert!(
        out.stdout.contains("addon 10: `99` is outside 1..32"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("addon 404 is not in the form"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn doctor_names_a_refused_login_and_a_missing_price() {
    let h = sim_with(FormShapes::default()).await;
    let out = doctor(&h, WEB, "wrong")
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(1);
    assert!(out.stdout.contains("✓ http://"), "{}", out.stdout);
    assert!(
        out.stdout.contains("✗ login (session) refused"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("wrong"), "{}", out.stdout);
    let h = sim_with(FormShapes {
        price: PriceShape::Missing,
        ..FormShapes::default()
    })
    .await;
    let out = doctor(&h, WEB, PASSWORD)
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(1);
    assert!(
        out.stdout.contains("✗ group `web`: no price"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn doctor_reports_the_v2_form_shape_an_install_uses() {
    let h = sim_with(FormShapes {
        v2_form: true,
        price: PriceShape::TotalSummary,
        ..FormShapes::default()
    })
    .await;
    let out = doctor(&h, WEB, PASSWORD)
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(0);
    for needle in [
        "limits metadata.form.page[].field[]",
        "labels messages.msg map",
        "price total_summary",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {}", out.stdout);
    }
}

/// Waits for the `listening on …` line of a spawned sandbox and returns its URL.
async fn listening(child: &mut tokio::process::Child) -> String {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    line.strip_prefix("listening on ").unwrap().to_owned()
}

#[tokio::test]
async fn a_doctor_capture_replayed_by_the_sandbox_passes_doctor_again() {
    let h = sim_with(FormShapes::default()).await;
    let bf = doctor(&h, WEB, PASSWORD).args(["doctor", "web.yaml", "--capture", "cap.jsonl"]);
    bf.run().await.code(0);
    let capture = bf.path("cap.jsonl");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_billfleet"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--replay"])
        .arg(&capture)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = listening(&mut child).await;
    // The plan first: its price preview is answered by the recorded preview with the same
    // parameters, not by the order form recorded under the same function and tariff.
    let plan = Billfleet::new()
        .manifest("web.yaml", WEB)
        .credentials(&url, USER, "x")
        .args(["plan", "web.yaml", "--output", "json"])
        .run()
        .await;
    plan.code(0);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(v["summary"]["order"], 2, "{v}");
    assert_eq!(v["cost"]["total"], "14.00", "{v}");
    let out = Billfleet::new()
        .manifest("web.yaml", WEB)
        .credentials(&url, USER, "any password: the replay holds no secret")
        .args(["doctor", "web.yaml"])
        .run()
        .await;
    out.code(0);
    assert!(
        out.stdout.contains("apply would order 2, find 1 present"),
        "{}",
        out.stdout
    );
    child.kill().await.unwrap();
}
