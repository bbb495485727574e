use std::path::Path;

use super::*;
use crate::api::EnumInfo;
use crate::manifest::Pos;

fn choice(key: &str, label: &str) -> Choice {
    Choice {
        key: key.into(),
        label: label.into(),
        cost: None,
    }
}

fn form() -> OrderForm {
    OrderForm {
        addons: vec![AddonInfo {
            id: "12".into(),
            name: Some("Disk".into()),
            default: Some("20".into()),
            min: Some("10".into()),
            max: Some("2000".into()),
            step: Some("10".into()),
            measure: Some("GB".into()),
            price: None,
            options: Vec::new(),
        }],
        enums: vec![EnumInfo {
            id: "1112".into(),
            name: Some("NS".into()),
            default: Some("21".into()),
            options: vec![choice("21", "hoster")],
        }],
        ostempls: vec![choice("ISPsystem__CentOS-7-amd64", "CentOS 7")],
        recipes: vec![choice("null", "None")],
        periods: vec![choice("1", "1 month"), choice("-100", "Trial")],
        datacenters: vec![choice("1", "Amsterdam")],
        total: None,
        ..OrderForm::default()
    }
}

const MANIFEST: &str = "version: 1
fleet:
  name: web
  count: 2
  domain: \"web-{seq}.example.com\"
  pricelist: 6
  datacenter: 3
  period: 1
  autoprolong: -100
  ostempl: ISPsystem__CentOS-7-amd46
  addons:
    12: 25
    99: 1
  enums: {1112: 22}
";

fn problems(text: &str) -> Vec<Diagnostic> {
    let loaded = crate::manifest::load_str(Path::new("m.yaml"), text.to_owned()).unwrap();
    let group = loaded.manifest.fleet.clone().unwrap();
    let mut out = Vec::new();
    check_group(&loaded, "fleet", &group, &form(), &mut out);
    out.sort_by_key(|d| d.pos);
    out
}

#[test]
fn every_problem_is_found_at_its_position() {
    let found = problems(MANIFEST);
    let at: Vec<(usize, usize)> = found
        .iter()
        .map(|d| d.pos.map(|Pos { line, col }| (line, col)).unwrap())
        .collect();
    assert_eq!(at, [(7, 15), (9, 16), (10, 12), (12, 9), (13, 5), (14, 17)]);
    assert!(
        found[0].message.contains("datacenter: `3`"),
        "{}",
        found[0].message
    );
    assert_eq!(found[0].hint.as_deref(), Some("offered: 1 (Amsterdam)"));
    assert!(
        found[2]
            .hint
            .as_deref()
            .unwrap()
            .starts_with("did you mean `ISPsystem__CentOS-7-amd64`?")
    );
    assert!(
        found[3]
            .message
            .contains("`25` is not a step of 10 from 10"),
        "{}",
        found[3].message
    );
    assert_eq!(found[4].message, "tariff 6 (vds) has no addon `99`");
    assert_eq!(found[4].source_line.as_deref(), Some("    99: 1"));
    assert_eq!(found[4].hint.as_deref(), Some("its addons: 12 (Disk)"));
    assert!(found[5].message.contains("`22` is not one of its values"));
}

#[test]
fn a_manifest_that_matches_the_form_has_no_problems() {
    let text = MANIFEST
        .replace("datacenter: 3", "datacenter: 1")
        .replace("autoprolong: -100", "autoprolong: 1")
        .replace("amd46", "amd64")
        .replace("12: 25", "12: 30")
        .replace("    99: 1\n", "")
        .replace("1112: 22", "1112: 21");
    assert_eq!(problems(&text), []);
}

#[test]
fn addon_values_outside_the_range_or_off_step() {
    let addon = &form().addons[0];
    assert_eq!(
        addon_problem(addon, "5").unwrap(),
        "`5` is outside 10..2000"
    );
    assert_eq!(
        addon_problem(addon, "2010").unwrap(),
        "`2010` is outside 10..2000"
    );
    assert_eq!(
        addon_problem(addon, "x").unwrap(),
        "`x` is not a whole number"
    );
    assert_eq!(addon_problem(addon, "2000"), None);
    assert_eq!(addon_problem(&AddonInfo::default(), "7"), None);
}
