//! License keys. The call sequence of ISPsystem's own license-reselling module
//! (`460s/ispsystem_whmcs_modules`, `servers/billmanager_noc/billmanager_noc.php`) replayed
//! against the simulator over HTTP with this test's own requests and XML reading; then
//! `apply --wait` and `status` collecting each license's key into the report and inventory.

use std::time::Duration;

use billfleet::sim::{SimConfig, SimHandle};
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::harness::{self, Billfleet};

/// POSTs what the module posts: `out=xml`, `func`, `authinfo=user:password`, then the params.
async fn module_call(h: &SimHandle, func: &str, params: &[(&str, &str)]) -> String {
    let mut form = vec![("out", "xml"), ("func", func), ("authinfo", "demo:demo")];
    form.extend_from_slice(params);
    reqwest::Client::new()
        .post(&h.url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The text of the element at an absolute path such as `/doc/doc/newexpiredate` (the first
/// match), like the module's `SimpleXMLElement::xpath(...)[0]`.
fn xpath(xml: &str, path: &str) -> Option<String> {
    let want: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                stack.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                text.clear();
            }
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(t.as_ref())),
            Event::Empty(e) => {
                let mut full = stack.clone();
                full.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                if full == want {
                    return Some(String::new());
                }
            }
            Event::End(_) => {
                if stack == want {
                    return Some(text.trim().to_owned());
                }
                stack.pop();
                text.clear();
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The module's `billmanager_noc_find_error`: `$xml->error["type"]`.
fn error_type(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"error" => {
                return e
                    .attributes()
                    .filter_map(Result::ok)
                    .find(|a| a.key.as_ref() == b"type")
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

fn ok(xml: &str) {
    assert_eq!(error_type(xml), None, "{xml}");
}

/// `billmanager_noc_get_param`: polls `soft.edit elid=ID` until `/doc/lickey` is not empty.
async fn poll_key(h: &SimHandle, id: &str) -> (String, String) {
    for _ in 0..100 {
        let answer = module_call(h, "soft.edit", &[("elid", id)]).await;
        ok(&answer);
        if let Some(key) = xpath(&answer, "/doc/lickey").filter(|k| !k.is_empty()) {
            let expires = xpath(&answer, "/doc/expiredate").unwrap_or_default();
            return (key, expires);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the key of license {id} never appeared");
}

#[tokio::test]
async fn the_license_module_call_sequence_completes() {
    let h = harness::sim(SimConfig {
        activation: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await;
    // billmanager_noc_LicenseOrder
    let order = [
        ("pricelist", "3001"),
        ("period", "1"),
        ("pid", "42"),
        ("ip", "192.0.2.50"),
        ("licname", "shop.example.com"),
        ("project", "1"),
        ("sok", "ok"),
        ("skipbasket", "on"),
        ("remoteid", "l42"),
        ("clicked_button", "finish"),
    ];
    let answer = module_call(&h, "soft.order.param", &order).await;
    ok(&answer);
    let id = xpath(&answer, "/doc/id").expect("/doc/id");
    // No key while the license is being processed.
    let first = module_call(&h, "soft.edit", &[("elid", &id)]).await;
    assert_eq!(xpath(&first, "/doc/lickey"), None, "{first}");
    let (key, expires) = poll_key(&h, &id).await;
    assert_eq!(key.len(), 32);
    assert!(!expires.is_empty());
    // billmanager_noc_LicenseEdit
    let edit = [
        ("elid", id.as_str()),
        ("licname", "shop2.example.com"),
        ("ip", "192.0.2.51"),
        ("remoteid", "l43"),
        ("sok", "ok"),
    ];
    ok(&module_call(&h, "soft.edit", &edit).await);
    let service = h.sim.services().into_iter().find(|s| s.id == id).unwrap();
    assert_eq!(service.remoteid.as_deref(), Some("l43"));
    assert_eq!(service.ip.as_deref(), Some("192.0.2.51"));
    // billmanager_noc_LicenseProlong
    let prolong = [("elid", id.as_str()), ("period", "1"), ("sok", "ok")];
    let answer = module_call(&h, "service.prolong", &prolong).await;
    ok(&answer);
    let new_expiry = xpath(&answer, "/doc/doc/newexpiredate").expect("newexpiredate");
    assert!(new_expiry > expires, "{new_expiry} after {expires}");
    // billmanager_noc_LicenseSuspend / UnSuspend, then the key again.
    ok(&module_call(&h, "soft.suspend", &[("elid", &id)]).await);
    ok(&module_call(&h, "soft.resume", &[("elid", &id)]).await);
    let (again, _) = poll_key(&h, &id).await;
    assert_eq!(again, key);
    // billmanager_noc_Newkey
    let newkey = [
        ("elid", id.as_str()),
        ("clicked_button", "newkey"),
        ("sok", "ok"),
    ];
    let answer = module_call(&h, "soft.edit", &newkey).await;
    ok(&answer);
    let fresh = xpath(&answer, "/doc/lickey").expect("a new key");
    assert_ne!(fresh, key);
    // A trial license (period -100) is ordered the same way.
    let trial = [
        ("pricelist", "3001"),
        ("period", "-100"),
        ("sok", "ok"),
        ("skipbasket", "on"),
        ("clicked_button", "finish"),
    ];
    let answer = module_call(&h, "soft.order.param", &trial).await;
    ok(&answer);
    assert!(xpath(&answer, "/doc/id").is_some());
}

const LICENSES: &str = "version: 1
billing:
  dialect: bm6
  format: xml
fleet:
  name: lic
  type: soft
  count: 2
  domain: \"lic-{seq}.example.com\"
  pricelist: 3001
  period: 1
";

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn apply_wait_and_status_collect_every_license_key() {
    let h = harness::sim(SimConfig {
        activation: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
    let bf = Billfleet::new()
        .manifest("lic.yaml", LICENSES)
        .billing(&h)
        .args([
            "apply",
            "lic.yaml",
            "--yes",
            "--wait",
            "--inventory",
            "hosts.yml",
        ]);
    let out = bf.run().await;
    out.code(0);
    let keys: Vec<(String, String)> = h
        .sim
        .services()
        .into_iter()
        .map(|s| (s.id, s.lickey.expect("an active license has a key")))
        .collect();
    assert_eq!(keys.len(), 2);
    let rows = out.report("lic.results.csv");
    for row in &rows {
        let id = row.service_id.clone().unwrap();
        let want = keys.iter().find(|(i, _)| *i == id).map(|(_, k)| k.clone());
        assert_eq!(row.lickey, want, "row {}", row.seq);
    }
    let inventory = std::fs::read_to_string(bf.path("hosts.yml")).unwrap();
    for (_, key) in &keys {
        assert!(inventory.contains(key.as_str()), "{inventory}");
        assert!(!out.stderr.contains(key.as_str()), "a key in the log");
    }
    #[cfg(unix)]
    {
        assert_eq!(mode(&bf.path("lic.results.csv")), 0o600);
        assert_eq!(mode(&bf.path("hosts.yml")), 0o600);
    }
    // Even the trace log (-vv, answer bodies included) holds no key.
    let status = bf
        .args(["status", "lic.yaml", "--output", "csv", "-vv"])
        .run()
        .await;
    status.code(0);
    assert!(
        status.stderr.contains("lickey"),
        "a traced body: {}",
        status.stderr
    );
    let header = status.stdout.lines().next().unwrap();
    assert!(header.ends_with(",lickey"), "{header}");
    for (_, key) in &keys {
        assert!(status.stdout.contains(key.as_str()), "{}", status.stdout);
        assert!(!status.stderr.contains(key.as_str()), "{}", status.stderr);
    }
}
