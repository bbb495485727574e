use std::path::Path;

use super::*;
use crate::exit;
use crate::manifest::Scalar;
use crate::money::Money;

fn choice(key: &str, label: &str) -> Choice {
    Choice {
        key: key.into(),
        label: label.into(),
        cost: None,
    }
}

fn vds_form() -> OrderForm {
    OrderForm {
        addons: vec![AddonInfo {
            id: "10".into(),
            name: Some("CPU cores".into()),
            default: Some("1".into()),
            min: Some("1".into()),
            max: Some("32".into()),
            step: Some("1".into()),
            measure: Some("pcs".into()),
            price: Some(Money::new(200, "EUR")),
            options: Vec::new(),
        }],
        enums: vec![EnumInfo {
            id: "1112".into(),
            name: Some("NS servers".into()),
            default: Some("21".into()),
            options: vec![choice("21", "ns1/ns2")],
        }],
        ostempls: vec![
            choice("centos7", "centos7"),
            choice("debian12", "Debian 12"),
        ],
        recipes: vec![choice("null", "None"), choice("lamp", "LAMP")],
        periods: vec![choice("1210", "1 month"), choice("1211", "1 year")],
        datacenters: vec![choice("2", "Frankfurt")],
        total: Some(Money::new(500, "EUR")),
        ..OrderForm::default()
    }
}

fn spec<'a>(kind: &'a str, domain: &'a str) -> InitSpec<'a> {
    InitSpec {
        dialect: Dialect::Bm4,
        kind,
        name: "web",
        count: 3,
        domain,
        pricelist: "1100",
        tariff_name: Some("KVM Ferrum"),
        file: Some("web.yaml"),
    }
}

#[test]
fn the_manifest_is_valid_and_carries_the_form_defaults() {
    let text = render_manifest(&spec("vds", "web-{seq:03}.example.com"), &vds_form());
    assert!(text.starts_with(&format!("# yaml-language-server: $schema={SCHEMA_URL}\n")));
    assert!(text.contains("    10: 1   # CPU cores, 1..32 step 1 pcs, 2.00 EUR/unit\n"));
    assert!(text.contains("  # other OS templates: debian12 (Debian 12)\n"));
    assert!(text.contains("  # recipe: lamp   # offered: lamp (LAMP)\n"));
    let loaded = crate::manifest::load_str(Path::new("web.yaml"), text.clone()).unwrap();
    let group = loaded.manifest.fleet.as_ref().unwrap();
    assert_eq!(loaded.manifest.billing.dialect, Dialect::Bm4);
    assert_eq!(loaded.manifest.billing.url, None);
    assert_eq!(group.count, 3);
    assert_eq!(group.pricelist, Scalar::from("1100"));
    assert_eq!(group.period, Some(Scalar::from("1210")));
    assert_eq!(group.datacenter, Some(Scalar::from("2")));
    assert_eq!(group.ostempl.as_deref(), Some("centos7"));
    assert_eq!(group.recipe, None);
    assert_eq!(
        group.addons.get(&Scalar::from("10")),
        Some(&Scalar::from("1"))
    );
    assert_eq!(
        group.enums.get(&Scalar::from("1112")),
        Some(&Scalar::from("21"))
    );
    assert_eq!(group.domain.as_deref(), Some("web-{seq:03}.example.com"));
    assert!(!text.to_ascii_lowercase().contains("password:"));
}

#[test]
fn a_license_without_os_templates_gets_no_domain() {
    let form = OrderForm {
        periods: vec![choice("1", "1 month"), choice("-100", "Trial")],
        ..OrderForm::default()
    };
    let text = render_manifest(&spec("platform", "vm-{seq}.example.com"), &form);
    let loaded = crate::manifest::load_str(Path::new("m.yaml"), text).unwrap();
    let group = loaded.manifest.fleet.as_ref().unwrap();
    assert_eq!(group.domain, None);
    assert_eq!(group.ostempl, None);
    assert_eq!(group.datacenter, None);
    assert_eq!(group.period, Some(Scalar::from("1")));
}

#[test]
fn long_lists_wrap_at_commas() {
    assert_eq!(wrap("aaaa, bbbb, cccc", 11), ["aaaa, bbbb,", "cccc"]);
    assert_eq!(wrap("", 11), Vec::<String>::new());
}

#[test]
fn one_month_prefers_value_one_then_the_label() {
    let p = [choice("3", "3 months"), choice("1", "1 month")];
    assert_eq!(one_month(&p).unwrap().key, "1");
    let p = [choice("1213", "3 months"), choice("1210", "1 month")];
    assert_eq!(one_month(&p).unwrap().key, "1210");
    let p = [choice("-100", "Trial"), choice("12", "1 year")];
    assert_eq!(one_month(&p).unwrap().key, "12");
    assert!(one_month(&[]).is_none());
}

#[test]
fn scalars_are_quoted_only_when_needed() {
    assert_eq!(
        scalar("ISPsystem__CentOS-7-amd64"),
        "ISPsystem__CentOS-7-amd64"
    );
    assert_eq!(scalar("on"), "\"on\"");
    assert_eq!(scalar("a b"), "\"a b\"");
    assert_eq!(scalar("7zip"), "\"7zip\"");
    assert_eq!(number_or_scalar("-100"), "-100");
    assert_eq!(number_or_scalar("1.5"), "\"1.5\"");
}

#[test]
fn a_bad_domain_is_refused_before_writing() {
    let text = render_manifest(&spec("vds", "web.example.com"), &vds_form());
    let e = check_generated(Some(Path::new("web.yaml")), &text).unwrap_err();
    assert_eq!(e.code, exit::BAD_INPUT);
    assert!(e.message.contains("has no `{seq}`"), "{}", e.message);
}

#[test]
fn an_existing_file_is_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, "old").unwrap();
    assert_eq!(
        refuse_overwrite(&path, false).unwrap_err().code,
        exit::BAD_INPUT
    );
    assert_eq!(
        write_file(&path, "new", false).unwrap_err().code,
        exit::BAD_INPUT
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    write_file(&path, "new", true).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
}
