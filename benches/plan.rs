//! Planner benchmark: a 100,000-server manifest through load, plan and JSON rendering.
//!
//! Run with `cargo bench --bench plan`. Prints the minimum and median time of each stage and
//! the process's peak resident memory. Targets: under 1 s in all and under 200 MB.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const GROUPS: usize = 4;
const PER_GROUP: usize = 25_000;
const ITERATIONS: usize = 5;

fn manifest_text() -> String {
    let mut text = String::from("version: 1\nbilling:\n  dialect: bm5\nfleets:\n");
    for g in 0..GROUPS {
        let _ = write!(
            text,
            "  - name: g{g}\n    type: vds\n    count: {PER_GROUP}\n    \
             domain: \"g{g}-{{seq:05}}.bench.example.com\"\n    pricelist: 6\n    \
             datacenter: 1\n    period: 1\n    autoprolong: 1\n    \
             ostempl: ISPsystem__CentOS-7-amd64\n    \
             addons: {{7: 5000, 9: 5, 10: 6, 11: 256, 12: 500, 13: 1, 14: 28, 15: 0, 28: 1}}\n"
        );
    }
    text
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(stage: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let min = times.first().copied().unwrap_or_default();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    println!("{stage:<14} min {min:>10.2?}  median {median:>10.2?}");
}

fn main() {
    let text = manifest_text();
    let path = Path::new("bench.yaml");
    let (mut load, mut plan, mut json, mut total) = (vec![], vec![], vec![], vec![]);
    let mut servers = 0;
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let loaded = match billfleet::manifest::load_str(path, text.clone()) {
            Ok(loaded) => loaded,
            Err(diags) => {
                eprintln!("the benchmark manifest is invalid:\n{diags:?}");
                return;
            }
        };
        let loaded_at = Instant::now();
        let p = billfleet::plan::plan_offline(&loaded.manifest);
        let planned_at = Instant::now();
        if let Err(e) = billfleet::report::plan::json(&p, std::io::sink()) {
            eprintln!("rendering failed: {e}");
            return;
        }
        let rendered_at = Instant::now();
        servers = p.servers.len();
        load.push(loaded_at - start);
        plan.push(planned_at - loaded_at);
        json.push(rendered_at - planned_at);
        total.push(rendered_at - start);
    }
    println!("plan benchmark: {servers} servers in {GROUPS} groups, {ITERATIONS} iterations");
    report("load_str", &mut load);
    report("plan_offline", &mut plan);
    report("render::json", &mut json);
    report("total", &mut total);
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS       {:.1} MB", kib as f64 / 1024.0),
        None => println!("peak RSS       unknown (no /proc/self/status)"),
    }
}
