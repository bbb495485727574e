//! The example manifests against the documented example calls, and plan output properties.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use billfleet::plan;
use billfleet::report::plan as render;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One documented call: the manifest that reproduces it, its dialect, and its URL.
struct SeedCall {
    manifest: String,
    dialect: String,
    url: String,
}

fn seed_calls() -> Vec<SeedCall> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/plan/seed_calls.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            SeedCall {
                manifest: parts.next().unwrap().to_owned(),
                dialect: parts.next().unwrap().to_owned(),
                url: parts.next().unwrap().trim().to_owned(),
            }
        })
        .collect()
}

/// The seed's func and business parameters: keys and values trimmed (the seeds hold copy
/// artefacts like `& ostempl=`), without credentials and transport parameters.
fn seed_params(url: &str) -> (String, BTreeMap<String, String>) {
    let query = url.split_once('?').unwrap().1;
    let mut params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !matches!(k.as_str(), "authinfo" | "auth" | "out" | "lang"))
        .collect();
    let func = params.remove("func").unwrap();
    (func, params)
}

/// The call of the plan's only server: func and params, minus what the dialect always adds.
fn planned_call(json: &Value, dialect: &str) -> (String, BTreeMap<String, String>) {
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["action"], "order");
    let call = &servers[0]["call"];
    let mut params: BTreeMap<String, String> = call["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    if dialect == "bm6" {
        assert_eq!(params.remove("licence_agreement").as_deref(), Some("on"));
        assert!(params.remove("remoteid").is_some());
        // A basket order (no `skipbasket`) goes to the web interface's Dragon cart
        // (`theme=dragon` with the `ISP-Client` header), which the API example leaves out.
        if !params.contains_key("skipbasket") {
            assert_eq!(params.remove("theme").as_deref(), Some("dragon"));
        }
    }
    (call["func"].as_str().unwrap().to_owned(), params)
}

fn offline_json(path: &Path) -> Value {
    let loaded = billfleet::manifest::load_file(path).unwrap();
    let plan = plan::plan_offline(&loaded.manifest);
    let mut out = Vec::new();
    render::json(&plan, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn example_manifests_reproduce_the_documented_calls() {
    let seeds = seed_calls();
    assert_eq!(seeds.len(), 8);
    for seed in seeds {
        let json = offline_json(&root().join("manifests").join(&seed.manifest));
        assert_eq!(
            planned_call(&json, &seed.dialect),
            seed_params(&seed.url),
            "{}",
            seed.manifest
        );
        assert_eq!(json["cost"], Value::Null);
        assert_eq!(json["balance"], Value::Null);
    }
}

#[test]
fn binary_plan_offline_reproduces_the_documented_calls() {
    for seed in seed_calls() {
        let output = Command::new(env!("CARGO_BIN_EXE_billfleet"))
            .args(["plan", "--offline", "--output", "json"])
            .arg(root().join("manifests").join(&seed.manifest))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", seed.manifest);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            planned_call(&json, &seed.dialect),
            seed_params(&seed.url),
            "{}",
            seed.manifest
        );
    }
}

#[test]
fn fleet_of_300_expands_in_order_with_unique_domains() {
    let json = offline_json(&root().join("manifests/fleet-300.yaml"));
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 300);
    assert_eq!(json["summary"]["order"], 300);
    let count = |g: &str| servers.iter().filter(|s| s["group"] == g).count();
    assert_eq!((count("web"), count("db"), count("cache")), (200, 60, 40));
    assert_eq!(servers[0]["domain"], "web-001.fleet.example.com");
    assert_eq!(servers[199]["key"], "web-200");
    assert_eq!(servers[200]["domain"], "db-01.fleet.example.com");
    assert_eq!(servers[299]["call"]["params"]["remoteid"], "cache-40");
    assert_eq!(servers[299]["call"]["params"]["pricelist"], "6");
    let mut domains: Vec<&str> = servers
        .iter()
        .map(|s| s["domain"].as_str().unwrap())
        .collect();
    domains.sort_unstable();
    domains.dedup();
    assert_eq!(domains.len(), 300);
}

#[test]
fn quickstart_is_five_vps_on_pricelist_6() {
    let json = offline_json(&root().join("examples/quickstart.yaml"));
    let servers = json["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 5);
    for s in servers {
        assert_eq!(s["call"]["func"], "vds.order.param");
        assert_eq!(s["call"]["params"]["pricelist"], "6");
        assert_eq!(s["call"]["params"]["datacenter"], "1");
    }
}

#[test]
fn every_manifest_starts_with_the_schema_line() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root().join("examples/quickstart.yaml"));
    assert!(files.len() >= 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/manifest.schema.json\n"),
            "{}",
            file.display()
        );
    }
}

#[test]
fn no_credentials_in_any_output() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root().join("examples/quickstart.yaml"));
    for file in files {
        let loaded = billfleet::manifest::load_file(&file).unwrap();
        let plan = plan::plan_offline(&loaded.manifest);
        let mut out = Vec::new();
        render::json(&plan, &mut out).unwrap();
        render::text(&plan, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for word in [
            "authinfo", "password", "\"auth\"", "auth=", "username", "\"out\"", "lang",
        ] {
            assert!(
                !text.contains(word),
                "{word} in the plan of {}",
                file.display()
            );
        }
    }
}
