//! Onboarding through the real binary: `catalog`, `init`, `validate --online`, shell
//! completions and the man page, against a simulator on a free port.

use std::path::Path;
use std::process::Output;

use billfleet::sim::{self, SimConfig, SimDialect, SimHandle};
use serde_json::Value;

/// The binary with a clean billing environment, pointed at `sim` when given.
fn billfleet(dir: &Path, sim: Option<&SimHandle>) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_billfleet"));
    cmd.current_dir(dir)
        .env_remove("BILLFLEET_URL")
        .env_remove("BILLFLEET_USER")
        .env_remove("BILLFLEET_PASSWORD")
        .env("XDG_CONFIG_HOME", dir)
        .env("RUST_LOG", "error")
        .arg("-q");
    if let Some(sim) = sim {
        cmd.env("BILLFLEET_URL", &sim.url)
            .env("BILLFLEET_USER", "demo")
            .env("BILLFLEET_PASSWORD", "demo");
    }
    cmd
}

async fn run(dir: &Path, sim: Option<&SimHandle>, args: &[&str]) -> Output {
    billfleet(dir, sim).args(args).output().await.unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

async fn start(dialect: SimDialect) -> SimHandle {
    sim::start(SimConfig {
        dialect,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn catalog_lists_the_tariffs_of_a_type_with_prices() {
    let dir = tempfile::tempdir().unwrap();
    for dialect in [SimDialect::Bm5, SimDialect::Bm6] {
        let sim = start(dialect).await;
        let name = if dialect == SimDialect::Bm5 {
            "bm5"
        } else {
            "bm6"
        };
        let text = run(dir.path(), Some(&sim), &["catalog", "--dialect", name]).await;
        assert_eq!(code(&text), 0, "{}", stderr(&text));
        let text = stdout(&text);
        assert!(text.contains("vds tariffs (2):"), "{text}");
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with("6 "))
            .unwrap();
        assert!(row.contains("VDS Start"), "{row}");
        assert!(row.contains("5.00 EUR / 1 month"), "{row}");
        assert!(row.contains("60.00 EUR / "), "{row}");

        let args = ["catalog", "--dialect", name, "--output", "json"];
        let json = run(dir.path(), Some(&sim), &args).await;
        assert_eq!(code(&json), 0, "{}", stderr(&json));
        let json: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(json["type"], "vds");
        let ids: Vec<&str> = json["tariffs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["6", "8"]);
        let first = &json["tariffs"][0]["prices"][0];
        assert_eq!(
            (&first["period"], &first["amount"], &first["currency"]),
            (&"1".into(), &"5.00".into(), &"EUR".into())
        );
        assert_eq!(json["tariffs"][1]["prices"][3]["amount"], "42.00");
    }
}

#[tokio::test]
async fn catalog_of_one_tariff_lists_addons_and_os_templates() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(SimDialect::Bm5).await;
    let args = ["catalog", "--dialect", "bm5", "--pricelist", "6"];
    let text = run(dir.path(), Some(&sim), &args).await;
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.starts_with("vds tariff 6: VDS Start\n"), "{text}");
    let cpu = text
        .lines()
        .find(|l| l.trim_start().starts_with("10 "))
        .unwrap();
    let cells: Vec<&str> = cpu.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "10", "CPU", "cores", "1", "1", "32", "1", "pcs", "2.00", "EUR"
        ]
    );
    assert!(text.contains("  ISPsystem__CentOS-7-amd64 "), "{text}");

    let json = run(
        dir.path(),
        Some(&sim),
        &[&args[..], &["--output", "json"]].concat(),
    )
    .await;
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let addons: Vec<&str> = json["addons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(addons, ["7", "9", "10", "11", "12", "13", "14", "15", "28"]);
    let ram = &json["addons"][3];
    assert_eq!(
        (&ram["min"], &ram["max"], &ram["step"]),
        (&"256".into(), &"65536".into(), &"256".into())
    );
    assert_eq!(ram["unit"], "MB");
    assert_eq!(json["ostempls"].as_array().unwrap().len(), 11);
    assert_eq!(json["ostempls"][0]["key"], "ISPsystem__CentOS-7-amd64");
    assert_eq!(json["periods"][0]["cost"]["currency"], "EUR");
    assert_eq!(json["price"]["amount"], "5.00");
}

#[tokio::test]
async fn catalog_of_an_unknown_tariff_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(SimDialect::Bm6).await;
    let args = ["catalog", "--dialect", "bm6", "--pricelist", "999"];
    let out = run(dir.path(), Some(&sim), &args).await;
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("no vds tariff with id `999`"), "{err}");
    assert!(err.contains("6 (VDS Start)"), "{err}");
    assert!(stdout(&out).is_empty());
    let args = [
        "catalog",
        "--dialect",
        "bm6",
        "--type",
        "cdn",
        "--pricelist",
        "1",
    ];
    let out = run(dir.path(), Some(&sim), &args).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("no cdn tariff with id `1`; cdn tariffs: none"));
    let out = run(dir.path(), Some(&sim), &args[..5]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "The billing offers no cdn tariffs.\n");
}

/// `init`, then `validate`, `validate --online` and `plan` with no edits.
async fn round_trip(sim: &SimHandle, dialect: &str, kind: &str, pricelist: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "init",
        "--dialect",
        dialect,
        "--type",
        kind,
        "--pricelist",
        pricelist,
        "--count",
        "3",
        "--domain",
        "srv-{seq:02}.example.com",
        "--name",
        "grp",
        "-o",
        "m.yaml",
    ];
    let out = run(d, Some(sim), &args).await;
    assert_eq!(code(&out), 0, "{kind} {pricelist}: {}", stderr(&out));
    let text = std::fs::read_to_string(d.join("m.yaml")).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    assert!(
        !text.contains("demo"),
        "credentials leaked into the manifest:\n{text}"
    );
    let out = run(d, None, &["validate", "m.yaml"]).await;
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    assert_eq!(stdout(&out), "ok: 3 servers in 1 group\n");
    let out = run(d, Some(sim), &["validate", "--online", "m.yaml"]).await;
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ok: 3 servers in 1 group (checked against the billing)\n"
    );
    let out = run(d, Some(sim), &["plan", "m.yaml", "--output", "json"]).await;
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["order"], 3, "{plan}");
    assert!(
        plan["cost"]["total"].is_string(),
        "{kind} {pricelist}: {plan}"
    );
}

#[tokio::test]
async fn init_writes_manifests_that_validate_and_plan_as_written() {
    let bm5 = start(SimDialect::Bm5).await;
    round_trip(&bm5, "bm5", "vds", "6").await;
    round_trip(&bm5, "bm5", "vhost", "2").await;
    round_trip(&bm5, "bm5", "soft", "3001").await;
    let bm6 = start(SimDialect::Bm6).await;
    round_trip(&bm6, "bm6", "dedic", "32").await;
    round_trip(&bm6, "bm6", "platform", "55163").await;
    let bm4 = start(SimDialect::Bm4).await;
    round_trip(&bm4, "bm4", "vds", "1100").await;
}

#[tokio::test]
async fn init_then_plan_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "init",
        "--sandbox",
        "--pricelist",
        "6",
        "--count",
        "2",
        "--domain",
        "web-{seq}.example.com",
        "-o",
        "web.yaml",
    ];
    let out = run(d, None, &args).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(d, None, &["plan", "--sandbox", "web.yaml"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("estimated cost: 10.00 EUR"), "{text}");
}

#[tokio::test]
async fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.yaml"), "keep me\n").unwrap();
    let sim = start(SimDialect::Bm5).await;
    let args = [
        "init",
        "--pricelist",
        "6",
        "--count",
        "1",
        "--domain",
        "a.example.com",
        "-o",
        "m.yaml",
    ];
    let out = run(d, Some(&sim), &args).await;
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("m.yaml already exists; pass --force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("m.yaml")).unwrap(),
        "keep me\n"
    );
    let out = run(d, Some(&sim), &[&args[..], &["--force"]].concat()).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(d.join("m.yaml")).unwrap();
    assert!(text.contains("  pricelist: 6   # VDS Start\n"), "{text}");
    // Without -o the manifest goes to stdout.
    let out = run(d, Some(&sim), &args[..7]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("  domain: \"a.example.com\""));
}

const WRONG: &str = "version: 1
billing:
  dialect: bm5
fleet:
  name: web
  count: 2
  domain: \"web-{seq}.example.com\"
  pricelist: 6
  period: 1
  ostempl: Windows-2022
  addons:
    10: 2
    99: 1
    11: 100
";

#[tokio::test]
async fn validate_online_points_at_what_the_tariff_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.yaml"), WRONG).unwrap();
    let sim = start(SimDialect::Bm5).await;
    let offline = run(d, None, &["validate", "m.yaml"]).await;
    assert_eq!(code(&offline), 0, "{}", stderr(&offline));
    let out = run(d, Some(&sim), &["validate", "--online", "m.yaml"]).await;
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    let at: Vec<&str> = err
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--> "))
        .collect();
    assert_eq!(at, ["m.yaml:10:12", "m.yaml:13:5", "m.yaml:14:9"], "{err}");
    assert!(
        err.contains("OS template: `Windows-2022` is not offered by tariff 6 (vds)"),
        "{err}"
    );
    assert!(err.contains("tariff 6 (vds) has no addon `99`"), "{err}");
    assert!(err.contains("`100` is outside 256..65536"), "{err}");
    assert!(err.contains("3 errors found"), "{err}");
    assert!(stdout(&out).is_empty());

    let unknown = WRONG.replace("pricelist: 6", "pricelist: 77");
    std::fs::write(d.join("m.yaml"), unknown).unwrap();
    let out = run(d, Some(&sim), &["validate", "--online", "m.yaml"]).await;
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("--> m.yaml:8:14"), "{err}");
    assert!(err.contains("no vds tariff with id `77`"), "{err}");
}

#[tokio::test]
async fn completions_and_the_man_page() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(dir.path(), None, &["completions", shell]).await;
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.len() > 200, "{shell}: {script}");
        assert!(script.contains("billfleet"), "{shell}");
        assert!(
            script.contains("catalog") && script.contains("init"),
            "{shell}"
        );
    }
    let out = run(dir.path(), None, &["manpage"]).await;
    assert_eq!(code(&out), 0);
    let page = stdout(&out);
    assert!(page.contains(".TH billfleet"), "{page}");
}
