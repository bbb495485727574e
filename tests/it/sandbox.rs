//! `billfleet sandbox` as a user runs it: the real binary, the URL read from its stdout, the
//! documented example calls (GET query strings with `authinfo`) against it, Ctrl-C, bad flags.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_billfleet");

/// A running `billfleet sandbox` and the URL it announced.
struct Sandbox {
    child: Child,
    url: String,
}

impl Sandbox {
    async fn start(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(BIN)
            .args(["sandbox", "--listen", "127.0.0.1:0", "--activation-ms", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // A guard against a hang, not a speed check.
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .expect("the sandbox announces its address")
            .unwrap()
            .expect("a line on stdout");
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        let port = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/billmgr"))
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected URL: {url}"));
        assert_ne!(port, 0, "the real bound port is announced");
        Sandbox { child, url }
    }

    /// GET `url?query` as the seeds do, answer as text.
    async fn get_text(&self, query: &str) -> String {
        let resp = reqwest::get(format!("{}?{query}", self.url)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        resp.text().await.unwrap()
    }

    /// GET with `out=json` appended, the answer parsed.
    async fn get(&self, query: &str) -> Value {
        let text = self.get_text(&format!("{query}&out=json")).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v["doc"][key]["$"].as_str().unwrap_or("")
}

fn no_error(v: &Value) {
    assert!(v["doc"].get("error").is_none(), "{v}");
}

/// The rows of a list answer (one row is an object, several a list).
fn rows(v: &Value) -> Vec<Value> {
    match &v["doc"]["elem"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

#[tokio::test]
async fn the_documented_calls_work_against_the_sandbox() {
    let mut sb = Sandbox::start(&["--balance", "250.50"]).await;
    // BILLmanager 5 documentation: a shared hosting order, paid from the balance.
    let v = sb
        .get("authinfo=demo:demo&func=vhost.order.param&autoprolong=1&datacenter=1&domain=domain.name&period=1&pricelist=2&skipbasket=on&addon_5=10&sok=ok")
        .await;
    no_error(&v);
    assert!(text(&v, "id").parse::<u64>().is_ok(), "{v}");
    // BILLmanager 6 documentation: a VPS (with the stray space before `ostempl`) and a
    // dedicated server that goes to the basket; both may use `domain.name` like the vhost.
    let v = sb
        .get("authinfo=demo:demo&func=v2.vds.order.param&addon_10=6&addon_11=256&addon_12=500&addon_13=1&addon_14=28&addon_15=0&addon_28=1&addon_7=5000&addon_9=5&autoprolong=1& ostempl=ISPsystem%5F%5FCentOS%2D7%2Damd64&order_period=1&pricelist=6&skipbasket=on&domain=vds.test&sok=ok")
        .await;
    no_error(&v);
    let vds = text(&v, "item.id").to_owned();
    let v = sb
        .get("authinfo=demo:demo&func=v2.dedic.order.param&order_period=1&pricelist=32&datacenter=1&domain=domain.name&addon_33=1&addon_35=1&sok=ok")
        .await;
    no_error(&v);

    // The list shows the VPS, active with an address.
    let list = sb.get("authinfo=demo:demo&func=vds").await;
    let vps = rows(&list);
    assert_eq!(vps.len(), 1);
    assert_eq!(vps[0]["id"]["$"], vds.as_str());
    assert_eq!(vps[0]["domain"]["$"], "vds.test");
    assert_eq!(vps[0]["status"]["$"], "2");
    assert!(vps[0]["ip"]["$"].is_string());
    // Active services only: the unpaid dedic is not among them.
    let active = sb
        .get("authinfo=demo:demo&func=dedic&filter=on&status=2")
        .await;
    assert_eq!(text(&active, "p_elems"), "0");
    let all = sb.get("authinfo=demo:demo&func=dedic&clickstat=yes").await;
    assert_eq!(rows(&all)[0]["status"]["$"], "1");

    // Renewal for a month, paid at once: the new date comes in a nested doc.
    let before = vps[0]["expiredate"]["$"].as_str().unwrap().to_owned();
    let v = sb
        .get(&format!(
            "authinfo=demo:demo&func=service.prolong&period=1&elid={vds}&skipbasket=on&sok=ok"
        ))
        .await;
    let after = v["doc"]["doc"]["newexpiredate"]["$"].as_str().unwrap();
    let expected = chrono::NaiveDate::parse_from_str(&before, "%Y-%m-%d")
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    assert_eq!(after, expected.format("%Y-%m-%d").to_string());

    // Edit an addon, then read it back from the form.
    let v = sb
        .get(&format!(
            "authinfo=demo:demo&func=vds.edit&addon_11=512&elid={vds}&sok=ok"
        ))
        .await;
    no_error(&v);
    let form = sb
        .get(&format!("authinfo=demo:demo&func=vds.edit&elid={vds}"))
        .await;
    assert_eq!(text(&form, "addon_11"), "512");

    // The license reselling example answers XML with the new id.
    let xml = sb
        .get_text("authinfo=demo:demo&out=xml&func=platform.order.param&clicked_button=finish&period=1&pricelist=55163&addon_55165=1&autoprolong=1&sok=ok&skipbasket=on")
        .await;
    assert!(xml.contains("<id>"), "{xml}");

    // Money: 250.50 less the vhost 3.50, the VPS 42.00 twice (order, renewal), the license 15.00.
    let me = sb.get("authinfo=demo:demo&func=whoami").await;
    assert_eq!(me["doc"]["user"]["$balance"], "148.00");

    // Delete; the list shows it deleted.
    let v = sb
        .get(&format!(
            "authinfo=demo:demo&func=vds.delete&elid={vds}&sok=ok"
        ))
        .await;
    no_error(&v);
    let list = sb.get("authinfo=demo:demo&func=vds").await;
    assert_eq!(rows(&list)[0]["status"]["$"], "4");

    sb.child.kill().await.unwrap();
}

#[tokio::test]
async fn ctrl_c_stops_the_sandbox_with_exit_0() {
    let mut sb = Sandbox::start(&[]).await;
    let v = sb.get("authinfo=demo:demo&func=whoami").await;
    assert_eq!(v["doc"]["user"]["$balance"], "10 000.00");
    let pid = sb.child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(60), sb.child.wait())
        .await
        .expect("the sandbox stops on Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_flags_exit_2() {
    for bad in [
        &["--balance", "lots"][..],
        &["--fail-before", "2"],
        &["--listen", "not-an-address"],
    ] {
        let out = std::process::Command::new(BIN)
            .arg("sandbox")
            .args(bad)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "nothing announced for {bad:?}");
        assert!(!out.stderr.is_empty());
    }
}
