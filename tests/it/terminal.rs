//! The terminal and the interface as people expect them, through the real binary: colour
//! only where it belongs (`NO_COLOR`, `CLICOLOR_FORCE`, a pseudo-terminal), `-q` silent on
//! success, a closed pipe ending a read-only command quietly, errors that name the URL,
//! reports that do not overwrite each other and are safe to open in a spreadsheet, and
//! snapshots of the texts people read at 80 columns.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use billfleet::commands::confirm::{Strength, prompt_text};
use billfleet::report::RowOutcome;
use billfleet::sim::{NewService, SimConfig, SimDialect};

use super::harness::{self, Billfleet};

const ESC: char = '\u{1b}';

/// A small fleet the simulator sells (tariff 6 in datacenter 1).
fn manifest(count: u32) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm5\nfleet:\n  name: web\n  type: vds\n  \
         count: {count}\n  domain: \"web-{{seq:03}}.example.com\"\n  pricelist: 6\n  \
         datacenter: 1\n  period: 1\n  autoprolong: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: 1024}}\n  payment: balance\nexecution:\n  rate: 200\n  \
         concurrency: 4\n"
    )
}

/// A manifest with an unknown key at line 6, column 3.
const BAD: &str = "version: 1\nfleet:\n  name: web\n  count: 3\n  domain: \"web-{seq:03}.example.com\"\n  pricelst: 6\n";

async fn sim() -> billfleet::sim::SimHandle {
    harness::sim(SimConfig {
        dialect: SimDialect::Bm5,
        activation: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await
}

/// The binary with a clean environment (no billing, no colour variables) in `dir`.
fn bare(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_billfleet"));
    cmd.current_dir(dir)
        .env_remove("BILLFLEET_URL")
        .env_remove("BILLFLEET_USER")
        .env_remove("BILLFLEET_PASSWORD")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("XDG_CONFIG_HOME", dir)
        .env("COLUMNS", "80")
        .stdin(Stdio::null());
    cmd
}

fn stderr_of(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_colour_off_a_terminal_or_with_no_color_and_colour_when_forced() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), BAD).unwrap();
    // stderr is a pipe: no colour.
    let (code, text) = stderr_of(bare(dir.path()).args(["validate", "bad.yaml"]));
    assert_eq!(code, 2, "{text}");
    assert!(!text.contains(ESC), "{text:?}");
    assert!(text.contains("bad.yaml:6:3"), "{text}");
    assert!(
        text.contains("^^^^^^^^"),
        "the whole key is underlined: {text}"
    );
    // CLICOLOR_FORCE turns it on even through a pipe; NO_COLOR wins over it.
    let (_, forced) = stderr_of(
        bare(dir.path())
            .env("CLICOLOR_FORCE", "1")
            .args(["validate", "bad.yaml"]),
    );
    assert!(forced.contains(ESC), "{forced:?}");
    let (_, none) = stderr_of(
        bare(dir.path())
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1")
            .args(["validate", "bad.yaml"]),
    );
    assert!(!none.contains(ESC), "{none:?}");
}

/// Runs `billfleet ARGS` under a pseudo-terminal with `script`; `None` when it is missing.
fn under_pty(dir: &Path, no_color: bool, args: &str) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let bin = env!("CARGO_BIN_EXE_billfleet");
    let mut cmd = Command::new(script);
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("COLUMNS", "80")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .stdin(Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_pseudo_terminal_unless_no_color() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), BAD).unwrap();
    let Some(coloured) = under_pty(dir.path(), false, "validate bad.yaml") else {
        eprintln!("skipped: no `script` utility for a pseudo-terminal");
        return;
    };
    assert!(coloured.contains("bad.yaml:6:3"), "{coloured:?}");
    assert!(coloured.contains(ESC), "{coloured:?}");
    let plain = under_pty(dir.path(), true, "validate bad.yaml").unwrap_or_default();
    assert!(plain.contains("bad.yaml:6:3"), "{plain:?}");
    assert!(!plain.contains(ESC), "{plain:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_apply_writes_nothing_on_stderr() {
    let sim = sim().await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(3))
        .billing(&sim)
        .args(["-q", "apply", "web.yaml", "--yes"]);
    let ran = bf.run().await;
    ran.code(0);
    assert_eq!(ran.stderr, "", "stderr with -q");
    assert_eq!(ran.report("web.results.csv").len(), 3);
    // data asked for on stdout stays
    let ran = bf
        .args(["-q", "plan", "web.yaml", "--output", "json"])
        .run()
        .await;
    ran.code(0);
    assert_eq!(ran.stderr, "");
    assert!(ran.stdout.starts_with('{'), "{}", ran.stdout);
}

#[test]
fn a_closed_pipe_ends_a_read_only_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough that the plan does not fit in the pipe's buffer.
    std::fs::write(dir.path().join("big.yaml"), manifest(3000)).unwrap();
    let mut child = bare(dir.path())
        .args(["plan", "big.yaml", "--offline", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 5];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "nothing about the pipe on stderr");
    assert!(!stderr.contains("panicked"));
}

fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/billmgr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_url_is_named_with_what_to_check() {
    let url = dead_url();
    let ran = Billfleet::new()
        .manifest("web.yaml", &manifest(2))
        .credentials(&url, "demo", "demo")
        .args(["plan", "web.yaml"])
        .run()
        .await;
    ran.code(3);
    assert!(ran.stderr.contains(&url), "{}", ran.stderr);
    assert!(ran.stderr.contains("connection refused"), "{}", ran.stderr);
    assert!(ran.stderr.contains("BILLFLEET_URL"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("os error"), "{}", ran.stderr);
    let port = url.rsplit(':').next().unwrap_or_default();
    let shown = ran.stderr.replace(port, "PORT/billmgr");
    insta::assert_snapshot!("dead_url_error", shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_names_the_user_and_the_url() {
    let sim = sim().await;
    let ran = Billfleet::new()
        .manifest("web.yaml", &manifest(2))
        .credentials(&sim.url, "demo", "wrong-password")
        .args(["plan", "web.yaml"])
        .run()
        .await;
    ran.code(3);
    assert!(ran.stderr.contains("`demo`"), "{}", ran.stderr);
    assert!(ran.stderr.contains(&sim.url), "{}", ran.stderr);
    assert!(!ran.stderr.contains("wrong-password"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_off_a_terminal_lists_the_ways_to_give_one() {
    let ran = Billfleet::new()
        .manifest("web.yaml", &manifest(2))
        .env("BILLFLEET_URL", "http://127.0.0.1:9/billmgr")
        .env("BILLFLEET_USER", "demo")
        .args(["plan", "web.yaml"])
        .run()
        .await;
    ran.code(2);
    for way in ["BILLFLEET_PASSWORD", "password_env", "password_command"] {
        assert!(ran.stderr.contains(way), "{way}: {}", ran.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prolong_keeps_the_apply_report() {
    let sim = sim().await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(3))
        .billing(&sim)
        .args([
            "apply",
            "web.yaml",
            "--yes",
            "--wait",
            "--wait-timeout",
            "30",
        ]);
    bf.run().await.code(0);
    let applied = std::fs::read(bf.path("web.results.csv")).unwrap();
    let bf = bf.args(["prolong", "web.yaml", "--period", "1", "--yes"]);
    let ran = bf.run().await;
    ran.code(0);
    assert_eq!(std::fs::read(bf.path("web.results.csv")).unwrap(), applied);
    let rows = ran.report("web.prolong.csv");
    assert!(rows.iter().all(|r| r.outcome == RowOutcome::Prolonged));
    // one status vocabulary: the code in `status`, the word in `status_text`
    let applied = ran.report("web.results.csv");
    for row in applied.iter().chain(&rows) {
        assert_eq!(row.status.as_deref(), Some("2"), "{row:?}");
        assert_eq!(row.status_text.as_deref(), Some("active"), "{row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_json_prints_rows_and_totals() {
    let sim = sim().await;
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(2))
        .billing(&sim)
        .args(["apply", "web.yaml", "--yes", "-o", "json", "--wait"]);
    let ran = bf.run().await;
    ran.code(0);
    let value: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(value["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(value["totals"]["outcomes"]["ordered"], 2);
    assert_eq!(value["report"], "web.results.csv");
    // every mutating command: the same shape
    let ran = bf
        .args(["suspend", "web.yaml", "--yes", "-o", "json"])
        .run()
        .await;
    ran.code(0);
    let value: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(value["totals"]["outcomes"]["suspended"], 2);
    assert_eq!(value["rows"][0]["status"], "3");
    assert_eq!(value["rows"][0]["status_text"], "suspended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_from_the_billing_cannot_run_as_formulas() {
    let sim = sim().await;
    let hostile = "=hyperlink(\"http://evil.example\",\"x\")";
    sim.sim.add_service(NewService {
        domain: hostile.into(),
        remoteid: Some("web-1".into()),
        ..NewService::default()
    });
    let bf = Billfleet::new()
        .manifest("web.yaml", &manifest(1))
        .billing(&sim)
        .args(["suspend", "web.yaml", "--yes"]);
    bf.run().await.code(0);
    let text = std::fs::read_to_string(bf.path("web.suspend.csv")).unwrap();
    let row = text.lines().nth(1).unwrap();
    let cells: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(row.as_bytes())
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(cells[2], format!("'{hostile}"), "{text}");
    assert!(cells.iter().all(|c| !c.starts_with('=')), "{text}");
}

/// Dates change every day; the snapshots keep their shape.
fn without_dates(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let date = chars.len() >= i + 10
            && chars[i..i + 10].iter().enumerate().all(|(j, c)| match j {
                4 | 7 => *c == '-',
                _ => c.is_ascii_digit(),
            });
        if date {
            out.push_str("YYYY-MM-DD");
            i += 10;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_plan_and_status_at_80_columns() {
    let sim = sim().await;
    // One call at a time: service ids and addresses follow the order of the servers.
    let one_by_one = manifest(3).replace("concurrency: 4", "concurrency: 1");
    let bf = Billfleet::new()
        .manifest("web.yaml", &one_by_one)
        .billing(&sim)
        .env("COLUMNS", "80")
        .args(["plan", "web.yaml"]);
    let plan = bf.run().await;
    plan.code(0);
    insta::assert_snapshot!("plan_text", plan.stdout);
    let bf = bf.args([
        "apply",
        "web.yaml",
        "--yes",
        "--wait",
        "--wait-timeout",
        "30",
    ]);
    bf.run().await.code(0);
    let bf = bf.args(["status", "web.yaml"]);
    let status = bf.run().await;
    status.code(0);
    assert!(!status.stdout.contains(ESC));
    insta::assert_snapshot!("status_text", without_dates(&status.stdout));
    let widest = status.stdout.lines().map(|l| l.chars().count()).max();
    assert!(widest <= Some(80), "{widest:?} columns:\n{}", status.stdout);
    // Tables take colour where stdout does (forced here through the pipe).
    let coloured = bf
        .env("NO_COLOR", "")
        .env("CLICOLOR_FORCE", "1")
        .run()
        .await;
    assert!(coloured.stdout.contains(ESC), "{}", coloured.stdout);
}

#[test]
fn snapshots_of_the_confirmations_and_a_diagnostic() {
    let question = "destroy: 3 services of this fleet (no cost or refund is known). Go ahead?";
    insta::assert_snapshot!("confirm_destroy", prompt_text(question, Strength::TypedYes));
    insta::assert_snapshot!(
        "confirm_order",
        prompt_text(
            "Order 3 servers for ~15.00 EUR (balance 10000.00 EUR)?",
            Strength::Short
        )
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), BAD).unwrap();
    let (_, text) = stderr_of(bare(dir.path()).args(["validate", "bad.yaml"]));
    insta::assert_snapshot!("diagnostic", text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdout_stops_destroy_like_ctrl_c() {
    let sim = sim().await;
    for seq in 1..=3 {
        sim.sim.add_service(NewService {
            domain: format!("web-{seq:03}.example.com"),
            remoteid: Some(format!("web-{seq}")),
            ..NewService::default()
        });
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest(3)).unwrap();
    let mut child = bare(dir.path())
        .env("BILLFLEET_URL", &sim.url)
        .env("BILLFLEET_USER", harness::USER)
        .env("BILLFLEET_PASSWORD", harness::PASSWORD)
        .args(["destroy", "web.yaml", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the list of what would be deleted is printed.
    drop(child.stdout.take());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(sim.sim.services().iter().all(|s| s.status == 2), "{stderr}");
    let rows = harness::read_report(&dir.path().join("web.destroy.csv"));
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r.outcome == RowOutcome::Skipped),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_is_asked_for_the_password_without_echo() {
    use std::io::Write as _;
    let Some(script) = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!("skipped: no `script` utility for a pseudo-terminal");
        return;
    };
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("web.yaml"), manifest(2)).unwrap();
    let bin = env!("CARGO_BIN_EXE_billfleet");
    let mut child = Command::new(script)
        .current_dir(dir.path())
        .env_remove("BILLFLEET_PASSWORD")
        .env("BILLFLEET_URL", &sim.url)
        .env("BILLFLEET_USER", harness::USER)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["-qec", &format!("{bin} plan web.yaml"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        // Type the password only once the prompt is up (echo is off by then).
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let mut typed = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !typed && String::from_utf8_lossy(&seen).contains("Password for demo at") {
                // The prompt is written just before echo is turned off: a person's reaction
                // time, then type.
                std::thread::sleep(Duration::from_millis(500));
                stdin.write_all(b"demo\n").unwrap();
                stdin.flush().unwrap();
                typed = true;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let seen = tokio::time::timeout(Duration::from_secs(30), seen)
        .await
        .expect("the run did not end")
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen}");
    assert!(
        seen.contains(&format!("Password for demo at {}", sim.url)),
        "{seen}"
    );
    assert!(seen.contains("2 to order"), "{seen}");
    let after_prompt = seen.split("Password for").nth(1).unwrap_or_default();
    assert!(!after_prompt.contains("demo\r\n"), "echoed: {seen}");
}

#[test]
fn validate_speaks_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), BAD).unwrap();
    std::fs::write(dir.path().join("good.yaml"), manifest(1)).unwrap();
    let out = bare(dir.path())
        .args(["validate", "good.yaml", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"valid": true, "servers": 1, "groups": 1, "online": false})
    );
    let out = bare(dir.path())
        .args(["validate", "bad.yaml", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["valid"], false);
    assert_eq!(value["errors"][0]["line"], 6);
    assert_eq!(value["errors"][0]["col"], 3);
    assert_eq!(value["errors"][0]["hint"], "did you mean `pricelist`?");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:6:3"));
}
