//! Ansible inventory (YAML) of a fleet: one group per fleet group, each host keyed by its
//! domain (or its server key when it has none) with `ansible_host` set to its IP, and a
//! license's activation key as `billfleet_lickey`. Never any password: only names, addresses
//! and license keys are given to it; a file holding a key is written owner-only (0600).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::Serialize;

/// One host of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryHost {
    /// Fleet group name (becomes the Ansible group).
    pub group: String,
    /// The server's key `<group>-<seq>`.
    pub key: String,
    /// The server's domain, when it has one.
    pub domain: Option<String>,
    /// The server's IP address.
    pub ip: String,
    /// A license's activation key.
    pub lickey: Option<String>,
}

#[derive(Serialize)]
struct Inventory<'a> {
    all: All<'a>,
}

#[derive(Serialize)]
struct All<'a> {
    children: BTreeMap<String, Hosts<'a>>,
}

#[derive(Serialize)]
struct Hosts<'a> {
    hosts: BTreeMap<&'a str, HostVars<'a>>,
}

#[derive(Serialize)]
struct HostVars<'a> {
    ansible_host: &'a str,
    billfleet_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    billfleet_lickey: Option<&'a str>,
}

/// Ansible group names may not hold `-` or `.`: they become `_`.
fn ansible_group(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders the inventory as YAML text.
pub fn render(hosts: &[InventoryHost]) -> Result<String, io::Error> {
    let mut children: BTreeMap<String, Hosts<'_>> = BTreeMap::new();
    for host in hosts {
        let name = host.domain.as_deref().unwrap_or(&host.key);
        children
            .entry(ansible_group(&host.group))
            .or_insert_with(|| Hosts {
                hosts: BTreeMap::new(),
            })
            .hosts
            .insert(
                name,
                HostVars {
                    ansible_host: &host.ip,
                    billfleet_key: &host.key,
                    billfleet_lickey: host.lickey.as_deref(),
                },
            );
    }
    serde_norway::to_string(&Inventory {
        all: All { children },
    })
    .map_err(io::Error::other)
}

/// Writes the inventory to `path` atomically (temporary file + rename).
pub fn write(path: &Path, hosts: &[InventoryHost]) -> Result<(), io::Error> {
    let text = render(hosts)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map_or_else(|| "inventory".into(), |n| n.to_string_lossy())
    ));
    let owner_only = hosts.iter().any(|h| h.lickey.is_some());
    write_new(&tmp, text.as_bytes(), owner_only)?;
    std::fs::rename(&tmp, path)
}

/// Writes a fresh file (replacing a stale temporary one); owner-only when it holds keys.
fn write_new(path: &Path, bytes: &[u8], owner_only: bool) -> io::Result<()> {
    use std::io::Write;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = super::csv::create_new(path, owner_only)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_hosts_by_fleet_group() {
        let hosts = vec![
            InventoryHost {
                group: "web".into(),
                key: "web-1".into(),
                domain: Some("web-001.example.com".into()),
                ip: "203.0.113.10".into(),
                lickey: None,
            },
            InventoryHost {
                group: "db-main".into(),
                key: "db-main-1".into(),
                domain: None,
                ip: "203.0.113.11".into(),
                lickey: None,
            },
        ];
        let text = render(&hosts).unwrap();
        let value: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let web = &value["all"]["children"]["web"]["hosts"]["web-001.example.com"];
        assert_eq!(web["ansible_host"].as_str(), Some("203.0.113.10"));
        let db = &value["all"]["children"]["db_main"]["hosts"]["db-main-1"];
        assert_eq!(db["ansible_host"].as_str(), Some("203.0.113.11"));
        assert!(!text.contains("password"));
        assert!(!text.contains("lickey"));
    }

    #[cfg(unix)]
    #[test]
    fn an_inventory_with_keys_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts.yml");
        let host = InventoryHost {
            group: "lic".into(),
            key: "lic-1".into(),
            domain: None,
            ip: "203.0.113.5".into(),
            lickey: Some("K3Y".into()),
        };
        write(&path, &[host]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("billfleet_lickey: K3Y"), "{text}");
    }
}
