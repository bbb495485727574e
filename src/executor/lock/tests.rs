use super::key::{dir_from, fnv1a};
use super::*;

fn key(url: &str, group: &str) -> LockKey {
    LockKey::billing(url, "demo", group).unwrap()
}

#[test]
fn urls_normalise_to_scheme_host_port_and_path() {
    let cases = [
        (
            "https://my.example.com/billmgr",
            "https://my.example.com:443/billmgr",
        ),
        (
            "https://MY.Example.com:443/billmgr/",
            "https://my.example.com:443/billmgr",
        ),
        (
            "https://my.example.com/billmgr?func=auth#x",
            "https://my.example.com:443/billmgr",
        ),
        (
            "http://127.0.0.1:1500/billmgr",
            "http://127.0.0.1:1500/billmgr",
        ),
        ("http://localhost/", "http://localhost:80"),
        ("http://[::1]:8080/a/b//", "http://[::1]:8080/a/b"),
        (
            " https://h.example/billmgr ",
            "https://h.example:443/billmgr",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(normalize_url(url).as_deref(), Some(expected), "{url}");
    }
    assert_eq!(normalize_url("not a url"), None);
    assert_eq!(normalize_url("mailto:x@example.com"), None);
}

#[test]
fn equal_accounts_share_a_file_and_others_do_not() {
    let a = key("https://my.example.com/billmgr/", "web");
    let b = key("https://MY.example.com:443/billmgr", "web");
    assert_eq!(a.file_name(), b.file_name());
    assert!(
        a.file_name().starts_with("web@my.example.com-"),
        "{}",
        a.file_name()
    );
    assert!(a.file_name().ends_with(".lock"));
    let others = [
        key("https://my.example.com/billmgr", "db"),
        key("https://my.example.com:8443/billmgr", "web"),
        key("http://my.example.com/billmgr", "web"),
        key("https://other.example.com/billmgr", "web"),
        LockKey::billing("https://my.example.com/billmgr", "alice", "web").unwrap(),
    ];
    for other in others {
        assert_ne!(a.file_name(), other.file_name(), "{other:?}");
    }
}

#[test]
fn the_hash_is_stable_across_builds() {
    // FNV-1a test vectors: the file name of a key must never change between releases.
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
}

#[test]
fn the_state_directory_follows_xdg_then_home() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    let xdg = env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")]);
    assert_eq!(dir_from(&xdg), Some(PathBuf::from("/s/billfleet/locks")));
    let relative = env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")]);
    let home = dir_from(&relative).unwrap();
    assert!(home.starts_with("/h"), "{}", home.display());
    assert_eq!(dir_from(&env(&[])), None);
}

#[tokio::test]
async fn second_acquire_names_the_holder_and_drop_releases() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key("http://127.0.0.1:1/billmgr", "web")];
    let lock = FleetLock::acquire(dir.path(), &keys, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(lock.paths().count(), 1);
    lock.verify().unwrap();

    let err = FleetLock::acquire(dir.path(), &keys, Duration::from_millis(150))
        .await
        .unwrap_err();
    let LockError::Held {
        pid,
        started,
        command,
        what,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*pid, std::process::id().to_string());
    assert!(started.ends_with('Z'), "{started}");
    assert!(!command.is_empty() && command != "unknown", "{command}");
    assert!(what.contains("group `web`"), "{what}");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id()))
    );

    drop(lock);
    let again = FleetLock::acquire(dir.path(), &keys, Duration::ZERO).await;
    assert!(again.is_ok());
}

#[tokio::test]
async fn a_waiting_run_gets_the_lock_when_the_holder_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key("http://127.0.0.1:1/billmgr", "web")];
    let lock = FleetLock::acquire(dir.path(), &keys, Duration::ZERO)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(lock);
    });
    let waited = FleetLock::acquire(dir.path(), &keys, Duration::from_secs(10)).await;
    assert!(waited.is_ok(), "{waited:?}");
    release.await.unwrap();
}

#[tokio::test]
async fn clear_refuses_a_held_lock_and_removes_a_released_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        key("http://127.0.0.1:1/billmgr", "web"),
        key("http://127.0.0.1:1/billmgr", "db"),
    ];
    let lock = FleetLock::acquire(dir.path(), &keys, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(lock.paths().count(), 2);
    assert!(matches!(
        FleetLock::clear(dir.path(), &keys),
        Err(LockError::Held { .. })
    ));
    drop(lock);
    assert_eq!(FleetLock::clear(dir.path(), &keys).unwrap().len(), 2);
    assert!(FleetLock::clear(dir.path(), &keys).unwrap().is_empty());
}

#[tokio::test]
async fn a_removed_lock_file_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key("http://127.0.0.1:1/billmgr", "web")];
    let lock = FleetLock::acquire(dir.path(), &keys, Duration::ZERO)
        .await
        .unwrap();
    let path = lock.paths().next().unwrap().to_owned();
    std::fs::remove_file(&path).unwrap();
    assert!(lock.verify().is_err());
}

#[test]
fn a_sandbox_is_keyed_by_its_state_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    let direct = dir.path().join("a/sandbox.json");
    let roundabout = dir.path().join("a/../a/sandbox.json");
    let a = LockKey::sandbox(&direct, "demo", "web");
    assert_eq!(
        a.file_name(),
        LockKey::sandbox(&roundabout, "demo", "web").file_name()
    );
    assert!(
        a.file_name().starts_with("web@sandbox-"),
        "{}",
        a.file_name()
    );
    let other = dir.path().join("b/sandbox.json");
    assert_ne!(
        a.file_name(),
        LockKey::sandbox(&other, "demo", "web").file_name()
    );
}
