//! Manifest loading: every diagnostic kind pinned to its line and column, several problems
//! in one pass, hostile input, the committed JSON Schema, and `billfleet validate` itself.

use std::path::Path;
use std::process::Command;

use billfleet::manifest::{self, Diagnostic, Loaded, Pos};
use proptest::prelude::*;

const GOOD: &str = "\
version: 1
fleet:
  name: web
  count: 3
  domain: \"web-{seq:03}.example.com\"
  pricelist: 6
";

fn load(src: &str) -> Result<Loaded, Vec<Diagnostic>> {
    manifest::load_str(Path::new("m.yaml"), src.to_owned()).map_err(|d| d.0)
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match load(src) {
        Ok(_) => panic!("expected diagnostics for:\n{src}"),
        Err(d) => d,
    }
}

/// The one diagnostic whose message holds `needle`, at `line:col`.
fn at(src: &str, needle: &str, line: usize, col: usize) -> Diagnostic {
    let all = errors(src);
    let found: Vec<&Diagnostic> = all.iter().filter(|d| d.message.contains(needle)).collect();
    assert_eq!(found.len(), 1, "`{needle}` in {all:#?}");
    assert_eq!(found[0].pos, Some(Pos { line, col }), "{:#?}", found[0]);
    found[0].clone()
}

fn hint(d: &Diagnostic) -> &str {
    d.hint.as_deref().unwrap_or("")
}

#[test]
fn a_good_manifest_loads() {
    let loaded = load(GOOD).unwrap();
    let group = loaded.manifest.fleet.as_ref().unwrap();
    assert_eq!(group.count, 3);
    assert_eq!(group.pricelist.as_str(), "6");
    assert_eq!(loaded.manifest.execution.rate, 2.0);
    let good = std::fs::read_to_string("tests/fixtures/manifest/good.yaml").unwrap();
    let loaded = load(&good).unwrap();
    let group = loaded.manifest.fleet.as_ref().unwrap();
    assert_eq!(group.addons.len(), 2);
    assert_eq!(group.autoprolong.as_ref().unwrap().as_str(), "1");
    assert_eq!(loaded.manifest.execution.max_spend, Some(500.0));
}

#[test]
fn positions_by_path() {
    let src = "version: 1\nfleets:\n  - name: a\n    count: 1\n    pricelist: 6\n    addons: {10: 6}\nexecution:\n  rate: 3\n";
    let loaded = load(src).unwrap();
    assert_eq!(
        loaded.pos_of("execution.rate"),
        Some(Pos { line: 8, col: 9 })
    );
    assert_eq!(
        loaded.key_pos_of("execution.rate"),
        Some(Pos { line: 8, col: 3 })
    );
    assert_eq!(
        loaded.pos_of("fleets[0].addons.10"),
        Some(Pos { line: 6, col: 18 })
    );
    assert_eq!(
        loaded.key_pos_of("fleets[0].addons.10"),
        Some(Pos { line: 6, col: 14 })
    );
    assert_eq!(loaded.pos_of("billing.dialect"), None);
    assert_eq!(loaded.group_path(0), "fleets[0]");
    let d = loaded.diagnostic_at(
        "fleets[0].pricelist",
        "no such tariff",
        Some("see catalog".into()),
    );
    assert_eq!(d.pos, Some(Pos { line: 5, col: 16 }));
    assert_eq!(d.source_line.as_deref(), Some("    pricelist: 6"));
    assert_eq!(d.file, "m.yaml");
    // Not written: the nearest written ancestor.
    let d = loaded.diagnostic_at("fleets[0].period", "period needed", None);
    assert_eq!(d.pos, Some(Pos { line: 3, col: 5 }));
    let d = loaded.diagnostic_at("billing.dialect", "not supported", None);
    assert_eq!(d.pos, Some(Pos { line: 1, col: 1 }));
}

#[test]
fn unknown_keys_at_every_level() {
    let d = at(
        &GOOD.replace("pricelist", "pricelst"),
        "unknown key `pricelst` in `fleet`",
        6,
        3,
    );
    assert_eq!(hint(&d), "did you mean `pricelist`?");
    // The typo is not reported a second time as a missing key.
    assert_eq!(errors(&GOOD.replace("pricelist", "pricelst")).len(), 1);
    let d = at(
        &format!("{GOOD}colour: red\n"),
        "unknown key `colour` at the top level",
        7,
        1,
    );
    assert!(
        hint(&d).contains("allowed keys: billing, execution, fleet, fleets, version"),
        "{d:?}"
    );
    let d = at(
        &format!("{GOOD}execution:\n  concurency: 2\n"),
        "unknown key `concurency`",
        8,
        3,
    );
    assert_eq!(hint(&d), "did you mean `concurrency`?");
    at(
        &format!("{GOOD}billing: {{dialekt: bm5}}\n"),
        "in `billing`",
        7,
        11,
    );
}

#[test]
fn wrong_types() {
    let d = at(
        &GOOD.replace("count: 3", "count: three"),
        "`fleet.count` must be an integer, found text",
        4,
        10,
    );
    assert_eq!(d.source_line.as_deref(), Some("  count: three"));
    at(
        &GOOD.replace("name: web", "name: [a, b]"),
        "`fleet.name` must be text, found a list",
        3,
        9,
    );
    let d = at(
        &GOOD.replace("name: web", "name: 12"),
        "`fleet.name` must be text, found an integer",
        3,
        9,
    );
    assert_eq!(hint(&d), "quote it to make it text: \"12\"");
    let src = "version: 1\nfleets:\n  name: a\n  count: 1\n  pricelist: 1\n";
    at(src, "`fleets` must be a list, found a map", 3, 3);
    at(
        &format!("{GOOD}execution:\n  rate: fast\n"),
        "`execution.rate` must be a number",
        8,
        9,
    );
    at(
        &format!("{GOOD}billing:\n  remoteid: maybe\n"),
        "`billing.remoteid` must be true or false",
        8,
        13,
    );
}

#[test]
fn missing_keys_point_at_their_map() {
    let d = at(
        &GOOD.replace("  count: 3\n", ""),
        "missing key `count` in `fleet`",
        3,
        3,
    );
    assert!(hint(&d).contains("How many servers"));
    at(
        &GOOD.replace("version: 1\n", ""),
        "missing key `version` in the manifest",
        1,
        1,
    );
    let src = "version: 1\nfleets:\n  - name: a\n    count: 1\n    pricelist: 1\n  - count: 2\n    pricelist: 1\n";
    at(src, "missing key `name` in `fleets[1]`", 6, 5);
}

#[test]
fn version_and_enum_values() {
    at(
        &GOOD.replace("version: 1", "version: 2"),
        "`version` must be 1, found 2",
        1,
        10,
    );
    let d = at(
        &format!("{GOOD}billing:\n  dialect: bm7\n"),
        "unknown value `bm7` for `billing.dialect`",
        8,
        12,
    );
    assert!(hint(&d).contains("bm4, bm5, bm6"), "{d:?}");
    let d = at(
        &format!("{GOOD}billing:\n  format: yaml\n"),
        "unknown value `yaml`",
        8,
        11,
    );
    assert!(hint(&d).contains("json, xml"));
    let d = at(
        &format!("{GOOD}billing:\n  login: sesion\n"),
        "`billing.login`",
        8,
        10,
    );
    assert!(hint(&d).starts_with("did you mean `session`?"), "{d:?}");
    let d = at(
        &format!("{GOOD}  payment: card\n"),
        "`fleet.payment`",
        7,
        12,
    );
    assert!(hint(&d).contains("balance, basket"));
    let d = at(
        &format!("{GOOD}execution: {{on_collision: skip}}\n"),
        "`execution.on_collision`",
        7,
        27,
    );
    assert!(hint(&d).contains("next, fail"));
}

#[test]
fn counts_and_starts() {
    at(
        &GOOD.replace("count: 3", "count: -1"),
        "`fleet.count` must be at least 0, found -1",
        4,
        10,
    );
    at(
        &GOOD.replace("count: 3", "count: 100001"),
        "`fleet.count` must be at most 100000",
        4,
        10,
    );
    at(
        &format!("{GOOD}  start: -5\n"),
        "`fleet.start` must be at least 0",
        7,
        10,
    );
    assert!(load(&GOOD.replace("count: 3", "count: 0")).is_ok());
    let mut src = "version: 1\nfleets:\n".to_owned();
    for i in 0..11 {
        src.push_str(&format!(
            "  - {{name: g{i}, count: 100000, pricelist: 1}}\n"
        ));
    }
    at(&src, "1100000 servers in all, more than 1000000", 2, 1);
}

#[test]
fn domain_patterns() {
    // The caret goes under the `{` of the bad placeholder, quoted or plain.
    let d = at(
        &GOOD.replace("{seq:03}", "{sq}"),
        "bad placeholder in `fleet.domain`",
        5,
        16,
    );
    assert!(d.message.contains("`{sq}`"));
    at(
        &GOOD.replace("\"web-{seq:03}.example.com\"", "web-{seq:3}.example.com"),
        "bad placeholder",
        5,
        15,
    );
    let d = at(
        &GOOD.replace("{seq:03}", "one"),
        "has no `{seq}`, so its 3 servers would share one domain",
        5,
        11,
    );
    assert!(hint(&d).contains("{seq:03}"));
    assert!(
        load(
            &GOOD
                .replace("{seq:03}", "one")
                .replace("count: 3", "count: 1")
        )
        .is_ok()
    );
    let d = at(
        &GOOD.replace("web-{seq:03}", "web_{seq}"),
        "server `web-1` would get a domain that is not a valid host name",
        5,
        11,
    );
    assert!(d.message.contains("`web_1.example.com`"));
}

#[test]
fn duplicates_and_group_presence() {
    let src = "\
version: 1
fleets:
  - {name: a, count: 3, pricelist: 1, domain: \"n{seq}.ex.com\"}
  - {name: b, count: 3, pricelist: 1, domain: \"n{seq}.ex.com\", start: 3}
  - {name: a, count: 1, pricelist: 1, domain: other.ex.com}
";
    let d = at(
        src,
        "domain `n3.ex.com` of server `b-3` is also the domain of `a-3`",
        4,
        47,
    );
    assert_eq!(hint(&d), "`a-3` is declared on line 3");
    let d = at(src, "duplicate group name `a`", 5, 12);
    assert_eq!(hint(&d), "`a` is first used on line 3");
    at("version: 1\n", "neither `fleet` nor `fleets`", 1, 1);
    at("version: 1\nfleet:\n", "`fleet` is empty", 2, 1);
    assert!(
        load("version: 1\nfleets: []\n")
            .unwrap()
            .manifest
            .groups()
            .next()
            .is_none()
    );
    let both = format!("{GOOD}fleets: []\n");
    at(&both, "`fleet` and `fleets` are both given", 7, 1);
}

#[test]
fn execution_bounds() {
    let cases = [
        ("rate: 0", "`execution.rate` must be more than 0"),
        ("rate: -1.5", "`execution.rate` must be more than 0"),
        ("rate: .inf", "`execution.rate` must be a finite number"),
        ("rate: .nan", "`execution.rate` must be a finite number"),
        (
            "concurrency: 0",
            "`execution.concurrency` must be at least 1",
        ),
        (
            "concurrency: 1025",
            "`execution.concurrency` must be at most 1024",
        ),
        ("burst: 0", "`execution.burst` must be at least 1"),
        ("retries: -1", "`execution.retries` must be at least 0"),
        ("retries: 101", "`execution.retries` must be at most 100"),
        ("timeout: 0", "`execution.timeout` must be more than 0"),
        ("max_spend: -1", "`execution.max_spend` must be at least 0"),
    ];
    for (line, message) in cases {
        let col = line.find(':').unwrap() + 5;
        at(&format!("{GOOD}execution:\n  {line}\n"), message, 8, col);
    }
    assert!(
        load(&format!(
            "{GOOD}execution:\n  rate: 0.5\n  burst: 3\n  max_spend: 0\n"
        ))
        .is_ok()
    );
}

#[test]
fn credentials_are_refused_and_never_shown() {
    let src = format!(
        "{GOOD}  params:\n    username: bob\n    extra: 1\nbilling:\n  password: hunter2secret\n  auth: {{token: s3cr3tvalue}}\n"
    );
    let all = errors(&src);
    let creds: Vec<&Diagnostic> = all
        .iter()
        .filter(|d| d.message.contains("credentials never go in the manifest"))
        .collect();
    let positions: Vec<Option<Pos>> = creds.iter().map(|d| d.pos).collect();
    assert_eq!(
        positions,
        vec![
            Some(Pos { line: 8, col: 5 }),
            Some(Pos { line: 11, col: 3 }),
            Some(Pos { line: 12, col: 3 })
        ]
    );
    assert!(hint(creds[0]).contains("BILLFLEET_PASSWORD"));
    assert!(hint(creds[0]).contains("password_env/password_command"));
    assert_eq!(creds[1].source_line.as_deref(), Some("  password: ***"));
    assert_eq!(creds[2].source_line.as_deref(), Some("  auth: ***"));
    // Only the credential problems: the keys are not also "unknown".
    assert_eq!(all.len(), 3, "{all:#?}");
    let shown = manifest::Diagnostics(all).to_string();
    assert!(
        !shown.contains("hunter2secret")
            && !shown.contains("s3cr3tvalue")
            && !shown.contains("bob")
    );
    // At any depth, and a URL with a password.
    at(
        &GOOD.replace(
            "  pricelist: 6\n",
            "  pricelist: 6\n  ostempl: x\n  addons: {10: 1}\n  authinfo: u:p\n",
        ),
        "`fleet.authinfo`",
        9,
        3,
    );
    let d = at(
        &format!("{GOOD}billing:\n  url: https://u:pw1234@h.example.com/billmgr\n"),
        "`billing.url`: credentials",
        8,
        3,
    );
    assert_eq!(d.source_line.as_deref(), Some("  url: ***"));
}

#[test]
fn billing_url_and_ids() {
    at(
        &format!("{GOOD}billing:\n  url: ftp://h.example.com\n"),
        "`billing.url` must use http or https, not `ftp`",
        8,
        8,
    );
    assert!(
        load(&format!(
            "{GOOD}billing:\n  url: http://127.0.0.1:1500/billmgr\n"
        ))
        .is_ok()
    );
    assert!(load(&format!("{GOOD}billing:\n  url: my.example.com/billmgr\n")).is_ok());
    let d = at(
        &format!("{GOOD}  addons: {{10: 6, ram: 2}}\n"),
        "`ram` in `fleet.addons` is not an id",
        7,
        19,
    );
    assert!(hint(&d).contains("billfleet catalog"));
    at(
        &format!("{GOOD}  enums:\n    0: 1\n"),
        "`0` in `fleet.enums`",
        8,
        5,
    );
    at(
        &GOOD.replace("pricelist: 6", "pricelist: small"),
        "`fleet.pricelist` must be a tariff id",
        6,
        14,
    );
}

#[test]
fn every_problem_in_one_pass() {
    let src = "\
version: 3
billing:
  dialect: bm9
fleets:
  - name: web
    count: -2
    domain: \"w-{x}.ex.com\"
    pricelist: 6
    colour: red
  - name: web
    count: 2
    domain: db.ex.com
    pricelist: 7
execution:
  rate: 0
";
    let all = errors(src);
    let got: Vec<(usize, usize)> = all
        .iter()
        .map(|d| d.pos.map(|p| (p.line, p.col)).unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 10),
            (3, 12),
            (6, 12),
            (7, 16),
            (9, 5),
            (10, 11),
            (12, 13),
            (15, 9)
        ],
        "{all:#?}"
    );
    assert!(
        manifest::Diagnostics(all)
            .to_string()
            .ends_with("8 errors found; nothing was sent to the billing")
    );
}

#[test]
fn rendering_points_at_the_column() {
    let d = at(&GOOD.replace("pricelist", "pricelst"), "pricelst", 6, 3);
    let text = d.to_string();
    assert_eq!(
        text,
        "error: unknown key `pricelst` in `fleet`\n --> m.yaml:6:3\n  |\n6 |   pricelst: 6\n  |   ^^^^^^^^\n  |\n  = hint: did you mean `pricelist`?\n"
    );
}

type LineCol = (usize, usize);

#[test]
fn hostile_input() {
    let cases: [(&str, &str, Option<LineCol>); 9] = [
        ("", "the manifest is empty", None),
        ("# nothing\n\n", "the manifest is empty", None),
        ("---\n", "the manifest is empty", None),
        ("version: [1\n", "not valid YAML", Some((2, 1))),
        ("- a\n- b\n", "must be a map of keys", Some((1, 1))),
        ("just text\n", "found a single value", Some((1, 1))),
        (
            "version: 1\n---\nversion: 1\n",
            "more than one YAML document",
            Some((2, 1)),
        ),
        ("a: &x [1]\nb: *x\n", "aliases", Some((2, 4))),
        ("version: 1\0\n", "not a text file", Some((1, 11))),
    ];
    for (src, message, pos) in cases {
        let all = errors(src);
        assert_eq!(all.len(), 1, "{src:?}: {all:#?}");
        assert!(all[0].message.contains(message), "{src:?}: {all:#?}");
        assert_eq!(
            all[0].pos,
            pos.map(|(line, col)| Pos { line, col }),
            "{src:?}"
        );
    }
    let deep = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
    assert!(errors(&deep)[0].message.contains("nested too deeply"));
    let big = format!("version: 1\n#{}\n", "x".repeat(8 * 1024 * 1024));
    assert!(errors(&big)[0].message.contains("too large"));
}

#[test]
fn hostile_files() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("bin.yaml");
    std::fs::write(&binary, b"version: 1\nfleet: \xff\xfe\n").unwrap();
    let d = manifest::load_file(&binary).unwrap_err().0;
    assert!(d[0].message.contains("not a text file"), "{d:?}");
    assert_eq!(d[0].pos, Some(Pos { line: 2, col: 8 }));
    let big = dir.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(manifest::MAX_BYTES + 1).unwrap();
    assert!(
        manifest::load_file(&big).unwrap_err().0[0]
            .message
            .contains("too large")
    );
    let missing = dir.path().join("missing.yaml");
    assert!(
        manifest::load_file(&missing).unwrap_err().0[0]
            .message
            .contains("cannot read the manifest")
    );
    assert!(
        manifest::load_file(dir.path()).unwrap_err().0[0]
            .message
            .contains("directory")
    );
}

#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json");
    let schema = manifest::json_schema();
    if std::env::var("BILLFLEET_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &schema).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == schema,
        "schema/manifest.schema.json is stale: rerun with BILLFLEET_BLESS=1"
    );
    let value: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(
        value["$defs"]["Group"]["required"],
        serde_json::json!(["name", "count", "pricelist"])
    );
    assert_eq!(
        value["$defs"]["Group"]["properties"]["count"]["maximum"],
        100_000
    );
    assert!(value["$defs"]["Execution"]["properties"]["rate"]["description"].is_string());
}

fn run_validate(path: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_billfleet"))
        .arg("validate")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_validate_command() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifest");
    let (code, stdout, _) = run_validate(&fixtures.join("good.yaml"));
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), "ok: 100 servers in 1 group");
    let (code, stdout, stderr) = run_validate(&fixtures.join("bad.yaml"));
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("bad.yaml:5:16"), "{stderr}");
    assert!(stderr.contains("bad.yaml:6:3"), "{stderr}");
    assert!(stderr.contains("bad.yaml:8:9"), "{stderr}");
    assert!(
        stderr.contains("= hint: did you mean `pricelist`?"),
        "{stderr}"
    );
    assert!(stderr.contains("3 errors found"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.yaml", b"", "the manifest is empty"),
        ("binary.yaml", b"\x00\x01\x02\xff", "not a text file"),
        ("list.yaml", b"- 1\n- 2\n", "must be a map of keys"),
        (
            "broken.yaml",
            b"version: 1\nfleet: {name: [\n",
            "not valid YAML",
        ),
    ];
    for (name, bytes, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (code, _, stderr) = run_validate(&path);
        assert_eq!(code, 2, "{name}");
        assert!(stderr.contains(message), "{name}: {stderr}");
    }
}

/// A position lies inside the text: an existing line, a column up to one past its end.
fn inside(src: &str, pos: Pos) -> bool {
    let lines: Vec<&str> = src.split('\n').collect();
    pos.line >= 1
        && pos.line <= lines.len()
        && pos.col >= 1
        && pos.col <= lines[pos.line - 1].trim_end_matches('\r').chars().count() + 1
}

fn assert_well_formed(src: &str) {
    if let Err(d) = manifest::load_str(Path::new("p.yaml"), src.to_owned()) {
        assert!(!d.0.is_empty());
        for diag in &d.0 {
            if let Some(pos) = diag.pos {
                assert!(inside(src, pos), "{pos:?} outside {src:?}: {diag:?}");
            }
        }
    }
}

fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "version",
        "fleet",
        "fleets",
        "name",
        "count",
        "domain",
        "pricelist",
        "addons",
        "10",
        "execution",
        "rate",
        "billing",
        "dialect",
        "password",
        "params",
        "start",
        "- name",
        "- ",
        "x",
        "",
    ]);
    let value = prop::sample::select(vec![
        "",
        "1",
        "-1",
        "0",
        "2.5",
        ".inf",
        "bm7",
        "web-{seq:03}.ex.com",
        "\"{sq}\"",
        "[1, 2",
        "{a: 1}",
        "[]",
        "&a 1",
        "*a",
        "'q'",
        "|",
        "null",
        "~",
        "true",
        "99999999999999999999",
        "\"\\u00e9\"",
        "é",
        "\t",
        ":",
        "#c",
        "---",
    ]);
    let line = (0usize..6, key, prop::bool::ANY, value).prop_map(|(indent, k, colon, v)| {
        format!(
            "{}{k}{}{v}",
            " ".repeat(indent),
            if colon { ": " } else { " " }
        )
    });
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        assert_well_formed(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_yamlish_text_never_panics(src in yamlish()) {
        assert_well_formed(&src);
    }

    #[test]
    fn damaged_good_manifests_never_panic(extra in yamlish(), at in 0usize..7, cut in 0usize..8) {
        let mut lines: Vec<&str> = GOOD.lines().collect();
        if cut < lines.len() {
            lines.remove(cut);
        }
        let at = at.min(lines.len());
        lines.insert(at, &extra);
        assert_well_formed(&lines.join("\n"));
    }
}
