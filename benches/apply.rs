//! `billfleet apply` benchmark: the release binary against an in-process simulator.
//!
//! Run with `cargo bench --bench apply` (add `-- makespan`, `-- cpu` or `-- memory` for one).
//! Prints:
//! - makespan: 200 servers, 100 ms latency, concurrency 8, rate 50 (burst 1); the ideal of the
//!   orders is max(N / rate, N × latency / concurrency) = 4 s, and the floor of a whole run
//!   (process start to exit) is login + complete list + (N - 1) / rate + the last answer =
//!   4.28 s (target: within 3 %);
//! - CPU per call: 2,000 servers, no latency, high rate; user + system CPU of the client
//!   process alone (from `wait4`), divided by the calls the simulator answered;
//! - peak memory of a 10,000-server apply (the client's maximum resident set; target < 100 MB).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use billfleet::sim::{Faults, LoggedRequest, SimConfig, SimDialect, SimHandle};

/// What one run of the client cost.
struct Usage {
    exit: i32,
    wall: Duration,
    user: Duration,
    system: Duration,
    max_rss_kib: i64,
}

fn manifest(count: u32, concurrency: u32, rate: u32) -> String {
    format!(
        "version: 1\nbilling:\n  dialect: bm5\nfleet:\n  name: bench\n  type: vds\n  \
         count: {count}\n  domain: \"bench-{{seq:05}}.example.com\"\n  pricelist: 6\n  \
         datacenter: 1\n  period: 1\n  ostempl: ISPsystem__CentOS-7-amd64\n  \
         addons: {{10: 1, 11: 1024}}\nexecution:\n  concurrency: {concurrency}\n  \
         rate: {rate}\n  retries: 2\n"
    )
}

async fn simulator(latency: Duration) -> SimHandle {
    let config = SimConfig {
        dialect: SimDialect::Bm5,
        balance_cents: 1_000_000_000_000,
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SimConfig::default()
    };
    match billfleet::sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => panic!("cannot start the simulator: {e}"),
    }
}

/// Runs `billfleet apply` on `manifest_text` against `sim` and waits for it with `wait4`, so
/// the CPU time and peak memory are the client's alone.
async fn apply(sim: &SimHandle, manifest_text: &str) -> Usage {
    let dir = tempfile::tempdir().expect("temporary directory");
    let manifest = dir.path().join("bench.yaml");
    std::fs::write(&manifest, manifest_text).expect("write the manifest");
    let started = Instant::now();
    let child = client(&sim.url, dir.path(), &manifest);
    let pid = child.id() as libc::pid_t;
    let (exit, user, system, max_rss_kib) = tokio::task::spawn_blocking(move || reap(pid))
        .await
        .expect("wait4 task");
    // The child was reaped by wait4; dropping the handle does not wait again.
    drop(child);
    Usage {
        exit,
        wall: started.elapsed(),
        user,
        system,
        max_rss_kib,
    }
}

fn client(url: &str, dir: &Path, manifest: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_billfleet"))
        .args(["-q", "apply"])
        .arg(manifest)
        .arg("--yes")
        .current_dir(dir)
        .env("BILLFLEET_URL", url)
        .env("BILLFLEET_USER", "demo")
        .env("BILLFLEET_PASSWORD", "demo")
        .env("XDG_CONFIG_HOME", dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start billfleet")
}

/// Waits for `pid`; returns its exit code, user and system CPU and maximum resident set (KiB).
fn reap(pid: libc::pid_t) -> (i32, Duration, Duration, i64) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not waited for elsewhere; both pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4 failed: {}", std::io::Error::last_os_error());
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (
        exit,
        time(usage.ru_utime),
        time(usage.ru_stime),
        usage.ru_maxrss,
    )
}

fn is_order(r: &LoggedRequest) -> bool {
    r.func.ends_with(".order.param") && r.params.iter().any(|(k, v)| k == "sok" && v == "ok")
}

async fn makespan() {
    const N: u32 = 200;
    const RATE: u32 = 50;
    const CONCURRENCY: u32 = 8;
    let latency = Duration::from_millis(100);
    let sim = simulator(latency).await;
    let usage = apply(&sim, &manifest(N, CONCURRENCY, RATE)).await;
    let orders: Vec<u64> = sim
        .sim
        .requests()
        .iter()
        .filter(|r| is_order(r))
        .map(|r| r.at_ms)
        .collect();
    let ideal = (f64::from(N) / f64::from(RATE))
        .max(f64::from(N) * latency.as_secs_f64() / f64::from(CONCURRENCY));
    // The log holds answer times: the first order was sent one latency before its answer.
    let first = orders.iter().min().copied().unwrap_or(0) as f64 / 1000.0 - latency.as_secs_f64();
    let last = orders.iter().max().copied().unwrap_or(0) as f64 / 1000.0;
    let phase = last - first;
    // The physical floor of a whole run: the login, then the complete list, then the orders
    // at the rate ((N - 1) / R after the first one leaves), then the last answer.
    let floor = (f64::from(N) - 1.0) / f64::from(RATE) + 3.0 * latency.as_secs_f64();
    let wall = usage.wall.as_secs_f64();
    let calls = sim.sim.requests().len();
    println!(
        "makespan       {N} servers, latency {}ms, concurrency {CONCURRENCY}, rate {RATE}: \
         orders {phase:.2}s (ideal {ideal:.2}s, ratio {:.3}); whole run {wall:.2}s (floor \
         {floor:.2}s, ratio {:.3}); {calls} calls, {} orders; exit {}",
        latency.as_millis(),
        phase / ideal,
        wall / floor,
        orders.len(),
        usage.exit,
    );
}

async fn cpu_per_call() {
    const N: u32 = 2_000;
    let sim = simulator(Duration::ZERO).await;
    let usage = apply(&sim, &manifest(N, 16, 100_000)).await;
    let calls = sim.sim.requests().len();
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / calls.max(1) as f64;
    println!(
        "cpu per call   {N} servers: {:.1} µs of client CPU per call ({:.1} µs user + {:.1} µs \
         system, much of it the journal's fdatasync before each order; {calls} calls, {:.2}s wall, \
         exit {})",
        per_call(usage.user + usage.system),
        per_call(usage.user),
        per_call(usage.system),
        usage.wall.as_secs_f64(),
        usage.exit
    );
}

async fn peak_memory() {
    const N: u32 = 10_000;
    let sim = simulator(Duration::ZERO).await;
    let usage = apply(&sim, &manifest(N, 16, 100_000)).await;
    let live = sim.sim.services().len();
    println!(
        "peak memory    {N} servers: {:.1} MB maximum resident set of the client (target < 100 \
         MB); {live} services, {:.2}s wall, exit {}",
        usage.max_rss_kib as f64 / 1024.0,
        usage.wall.as_secs_f64(),
        usage.exit
    );
}

fn main() {
    // `cargo bench --bench apply -- NAME` runs the measurements whose name contains NAME.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        if wanted("makespan") {
            makespan().await;
        }
        if wanted("cpu") {
            cpu_per_call().await;
        }
        if wanted("memory") {
            peak_memory().await;
        }
    });
}
