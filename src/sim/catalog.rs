//! The simulator's seed catalog: tariffs, addons, enums, periods, OS templates, recipes and
//! the price rule (base per month × months + units above the default × unit price × months).

/// Which order functions may order a tariff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Era {
    /// `*.order.param` and `v2.*.order.param` (BILLmanager 5 and 6).
    Modern,
    /// `*.order.7` with period ids (BILLmanager 4).
    Legacy,
}

/// One order period: the value sent on the wire and its length in months (0 = trial).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    pub wire: i64,
    pub months: u32,
    pub label: &'static str,
}

/// A numeric addon (slider) of a tariff.
#[derive(Debug, Clone)]
pub(crate) struct Addon {
    pub id: u32,
    pub name: &'static str,
    pub measure: &'static str,
    pub min: i64,
    pub max: i64,
    pub step: i64,
    pub default: i64,
    /// Price per unit above the default, per month, in cents.
    pub unit_cents: i64,
}

/// An enumerated option (`enum_<id>`) of a tariff: (value, label, cents per month).
#[derive(Debug, Clone)]
pub(crate) struct EnumDef {
    pub id: u32,
    pub name: &'static str,
    pub values: Vec<(&'static str, &'static str, i64)>,
    pub default: &'static str,
}

/// A tariff (pricelist).
#[derive(Debug, Clone)]
pub(crate) struct Tariff {
    pub id: u32,
    pub item_type: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub era: Era,
    pub base_cents: i64,
    pub periods: Vec<Period>,
    pub datacenters: Vec<u32>,
    pub addons: Vec<Addon>,
    pub enums: Vec<EnumDef>,
    /// Services of this tariff cannot be deleted during their first N months.
    pub min_order_months: u32,
    /// Whether the order form offers OS templates and recipes.
    pub has_os: bool,
}

impl Addon {
    /// A switch: an addon taking only 0 and 1 (shown as `off`/`on` by some installs).
    pub fn is_switch(&self) -> bool {
        self.min == 0 && self.max == 1
    }
}

impl Tariff {
    /// The period matching a wire value (months, or a BILLmanager 4 period id).
    pub fn period(&self, wire: i64) -> Option<Period> {
        self.periods.iter().copied().find(|p| p.wire == wire)
    }

    /// The addon with this id.
    pub fn addon(&self, id: u32) -> Option<&Addon> {
        self.addons.iter().find(|a| a.id == id)
    }

    /// The enum with this id.
    pub fn enum_def(&self, id: u32) -> Option<&EnumDef> {
        self.enums.iter().find(|e| e.id == id)
    }

    /// Price in cents of `months` months with these addon and enum values.
    pub fn price_cents(&self, months: u32, addons: &[(u32, i64)], enums: &[(u32, String)]) -> i64 {
        let months = i64::from(months);
        let mut monthly = self.base_cents;
        for addon in &self.addons {
            let value = addons
                .iter()
                .find(|(id, _)| *id == addon.id)
                .map_or(addon.default, |(_, v)| *v);
            monthly += (value - addon.default).max(0) * addon.unit_cents;
        }
        for def in &self.enums {
            let chosen = enums
                .iter()
                .find(|(id, _)| *id == def.id)
                .map_or(def.default, |(_, v)| v.as_str());
            if let Some((_, _, cents)) = def.values.iter().find(|(v, _, _)| *v == chosen) {
                monthly += cents;
            }
        }
        monthly * months
    }
}

/// The operating system templates every server tariff offers.
pub(crate) const OS_TEMPLATES: &[&str] = &[
    "ISPsystem__CentOS-7-amd64",
    "ISPsystem__Debian-11-amd64",
    "ISPsystem__Debian-12-amd64",
    "ISPsystem__Ubuntu-22.04-amd64",
    "ISPsystem__Ubuntu-24.04-amd64",
    "FreeBSD-11-amd64-minimal",
    "Centos-6.7-x86_64-minimal",
    "Debian-7-x86_64-minimal",
    "Debian-8-x86_64-ispconfig",
    "Ubuntu-16.04-x86_64-minimal",
    "CentOS-7-x86_64-ispmgr5",
];

/// Recipes (software installed after the OS): (key, label).
pub(crate) const RECIPES: &[(&str, &str)] = &[
    ("ISPsystem__LAMP", "LAMP"),
    ("ISPsystem__Docker", "Docker"),
    ("ISPsystem__ispmanager-lite", "ispmanager 6 lite"),
];

/// Datacenters: (id, name).
pub(crate) const DATACENTERS: &[(u32, &str)] = &[(1, "Amsterdam"), (2, "Frankfurt")];

/// The name of a datacenter id.
pub(crate) fn datacenter_name(id: u32) -> &'static str {
    DATACENTERS
        .iter()
        .find(|(d, _)| *d == id)
        .map_or("", |(_, n)| n)
}

const fn months(m: u32, label: &'static str) -> Period {
    Period {
        wire: m as i64,
        months: m,
        label,
    }
}

fn standard_periods() -> Vec<Period> {
    vec![
        months(1, "1 month"),
        months(3, "3 months"),
        months(6, "6 months"),
        months(12, "1 year"),
    ]
}

fn license_periods() -> Vec<Period> {
    vec![
        months(1, "1 month"),
        months(12, "1 year"),
        Period {
            wire: -100,
            months: 0,
            label: "Trial",
        },
    ]
}

fn legacy_periods(ids: [i64; 4]) -> Vec<Period> {
    let labels = [
        (1, "1 month"),
        (3, "3 months"),
        (6, "6 months"),
        (12, "1 year"),
    ];
    ids.iter()
        .zip(labels)
        .map(|(&wire, (months, label))| Period {
            wire,
            months,
            label,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // a table row; named fields would triple the table
const fn addon(
    id: u32,
    name: &'static str,
    measure: &'static str,
    min: i64,
    max: i64,
    step: i64,
    default: i64,
    unit_cents: i64,
) -> Addon {
    Addon {
        id,
        name,
        measure,
        min,
        max,
        step,
        default,
        unit_cents,
    }
}

fn server_tariff(id: u32, item_type: &'static str, title: &'static str, base: i64) -> Tariff {
    Tariff {
        id,
        item_type,
        title,
        description: title,
        era: Era::Modern,
        base_cents: base,
        periods: standard_periods(),
        datacenters: vec![1, 2],
        addons: Vec::new(),
        enums: Vec::new(),
        min_order_months: 0,
        has_os: item_type != "vhost",
    }
}

fn vds_addons() -> Vec<Addon> {
    vec![
        addon(7, "Traffic", "GB", 1000, 100_000, 1000, 5000, 1),
        addon(9, "Backup space", "GB", 0, 1000, 1, 5, 5),
        addon(10, "CPU cores", "pcs", 1, 32, 1, 1, 200),
        addon(11, "RAM", "MB", 256, 65536, 256, 1024, 1),
        addon(12, "Disk", "GB", 10, 2000, 10, 20, 5),
        addon(13, "IPv4 addresses", "pcs", 1, 16, 1, 1, 150),
        addon(14, "IPv6 addresses", "pcs", 0, 64, 1, 0, 0),
        addon(15, "DDoS protection", "pcs", 0, 1, 1, 0, 500),
        addon(28, "Control panel", "pcs", 0, 1, 1, 0, 300),
    ]
}

fn legacy_vds(id: u32, title: &'static str, base: i64, periods: [i64; 4], ids: [u32; 7]) -> Tariff {
    let [disk, ram, cpu, ipv4, ipv6, ns, panel] = ids;
    Tariff {
        id,
        item_type: "vds",
        title,
        description: title,
        era: Era::Legacy,
        base_cents: base,
        periods: legacy_periods(periods),
        datacenters: vec![1],
        addons: vec![
            addon(disk, "Disk", "GB", 20, 500, 10, 20, 5),
            addon(ram, "RAM", "GB", 1, 64, 1, 1, 250),
            addon(cpu, "CPU", "pcs", 1, 16, 1, 1, 200),
            addon(ipv4, "IPv4", "pcs", 1, 8, 1, 1, 150),
            addon(ipv6, "IPv6", "pcs", 4, 64, 4, 4, 0),
        ],
        enums: vec![
            EnumDef {
                id: ns,
                name: "NS servers",
                values: vec![("21", "ns1/ns2 of the hoster", 0)],
                default: "21",
            },
            EnumDef {
                id: panel,
                name: "ISPmanager",
                values: vec![("1", "ISPmanager Lite", 400), ("25", "No control panel", 0)],
                default: "25",
            },
        ],
        min_order_months: 0,
        has_os: true,
    }
}

fn license(id: u32, item_type: &'static str, title: &'static str, base: i64) -> Tariff {
    Tariff {
        id,
        item_type,
        title,
        description: title,
        era: Era::Modern,
        base_cents: base,
        periods: license_periods(),
        datacenters: Vec::new(),
        addons: Vec::new(),
        enums: Vec::new(),
        min_order_months: 0,
        has_os: false,
    }
}

/// The whole seed catalog.
pub(crate) fn seed() -> Vec<Tariff> {
    let mut vhost = server_tariff(2, "vhost", "Hosting Start", 250);
    vhost.addons = vec![
        addon(5, "Websites", "pcs", 1, 100, 1, 5, 20),
        addon(34, "Disk space", "MB", 1024, 102_400, 1024, 2048, 1),
    ];
    let mut vds = server_tariff(6, "vds", "VDS Start", 500);
    vds.addons = vds_addons();
    let mut promo = server_tariff(8, "vds", "VDS Promo (3 months minimum)", 350);
    promo.addons = vds_addons();
    promo.min_order_months = 3;
    let mut dedic = server_tariff(32, "dedic", "Dedicated E3-1230", 6900);
    dedic.addons = vec![
        addon(33, "IPv4 addresses", "pcs", 1, 16, 1, 1, 200),
        addon(35, "KVM over IP", "pcs", 0, 1, 1, 0, 500),
        addon(26, "Port speed", "Mbit/s", 10, 1000, 10, 100, 0),
        addon(28, "Traffic", "GB", 1000, 100_000, 1000, 10_000, 1),
    ];
    let mut vm6 = license(55163, "platform", "VMmanager 6", 1500);
    vm6.addons = vec![
        addon(55164, "Virtual machines", "pcs", 0, 10_000, 1, 0, 20),
        addon(55165, "Cluster nodes", "pcs", 1, 100, 1, 1, 1500),
    ];
    let dci6 = license(55161, "platform", "DCImanager 6", 2500);
    let soft = license(3001, "soft", "ispmanager 6 lite", 500);
    vec![
        vhost,
        vds,
        promo,
        dedic,
        vm6,
        dci6,
        soft,
        legacy_vds(
            1100,
            "KVM Ferrum",
            350,
            [1210, 1213, 1214, 1211],
            [1101, 1103, 1104, 1110, 1791, 1112, 1106],
        ),
        legacy_vds(
            1033,
            "SSD Ferrum",
            450,
            [1180, 1183, 1184, 1181],
            [1034, 1037, 1043, 1036, 1404, 1045, 1039],
        ),
        legacy_vds(
            2061,
            "OVZ Ferrum",
            250,
            [1758, 1761, 1762, 1759],
            [2062, 2065, 2071, 2064, 2074, 2073, 2067],
        ),
    ]
}

/// Item types the simulator sells (and lists).
pub(crate) const ITEM_TYPES: &[&str] = &["vds", "vhost", "dedic", "soft", "platform"];

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff(id: u32) -> Tariff {
        seed().into_iter().find(|t| t.id == id).unwrap()
    }

    #[test]
    fn price_counts_only_units_above_the_default() {
        let vds = tariff(6);
        assert_eq!(vds.price_cents(1, &[], &[]), 500);
        // 6 cores: 5 above the default at 2.00; RAM below the default costs nothing.
        assert_eq!(
            vds.price_cents(3, &[(10, 6), (11, 256)], &[]),
            (500 + 1000) * 3
        );
    }

    #[test]
    fn legacy_enums_and_period_ids() {
        let kvm = tariff(1100);
        assert_eq!(kvm.period(1211).map(|p| p.months), Some(12));
        assert!(kvm.period(1).is_none());
        let with_panel = kvm.price_cents(1, &[], &[(1106, "1".into())]);
        assert_eq!(with_panel, 350 + 400);
    }
}
