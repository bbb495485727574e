use super::*;

#[test]
fn last_record_per_key_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".billfleet/web.journal");
    {
        let (j, replay) = Journal::open(&path).unwrap();
        assert!(replay.is_empty());
        j.record_intent("web-1", "web-001.example.com", "vds.order.param", 1)
            .unwrap();
        j.record_outcome(
            "web-1",
            Recorded::Ordered,
            Some("4242"),
            "web-001.example.com",
        )
        .unwrap();
        j.record_intent("web-2", "web-002.example.com", "vds.order.param", 1)
            .unwrap();
        j.record_outcome("web-2", Recorded::Failed, None, "web-002.example.com")
            .unwrap();
        j.record_intent("web-2", "web-002.example.com", "vds.order.param", 2)
            .unwrap();
        j.record_intent("web-3", "web-003.example.com", "vds.order.param", 1)
            .unwrap();
        j.record_outcome("web-3", Recorded::Failed, None, "web-003.example.com")
            .unwrap();
    }
    let (_, replay) = Journal::open(&path).unwrap();
    assert_eq!(replay.len(), 3);
    assert_eq!(replay.skipped_lines, 0);
    assert_eq!(
        replay.state("web-1"),
        Some(&KeyState::Ordered {
            service_id: Some("4242".into()),
            domain: "web-001.example.com".into()
        })
    );
    assert_eq!(
        replay.state("web-2"),
        Some(&KeyState::Pending {
            domain: "web-002.example.com".into(),
            func: "vds.order.param".into(),
            attempt: 2
        })
    );
    assert_eq!(
        replay.state("web-3"),
        Some(&KeyState::Failed {
            domain: "web-003.example.com".into()
        })
    );
    assert_eq!(replay.pending(), vec!["web-2"]);
}

#[test]
fn concurrent_intents_share_syncs_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.journal");
    let (j, _) = Journal::open(&path).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let j = &j;
            scope.spawn(move || {
                for n in 0..50 {
                    let key = format!("web-{t}-{n}");
                    j.record_intent(&key, "d", "vds.order.param", 1).unwrap();
                }
            });
        }
    });
    let (written, synced) = (j.file.lock().unwrap().1, j.synced.lock().unwrap().1);
    assert_eq!((written, synced), (400, 400), "every intent synced");
    drop(j);
    let (_, replay) = Journal::open(&path).unwrap();
    let pending = (0..8)
        .flat_map(|t| (0..50).map(move |n| format!("web-{t}-{n}")))
        .filter(|k| matches!(replay.state(k), Some(KeyState::Pending { .. })))
        .count();
    assert_eq!(pending, 400);
}

#[test]
fn records_carry_run_id_and_utc_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.journal");
    let (j, _) = Journal::open(&path).unwrap();
    j.record_intent("a-1", "a.example.com", "vds.order.param", 1)
        .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(value["kind"], "intent");
    assert_eq!(value["run"], j.run_id());
    assert_eq!(value["attempt"], 1);
    let ts = value["ts"].as_str().unwrap();
    assert!(ts.ends_with('Z'), "{ts}");
    assert!(DateTime::parse_from_rfc3339(ts).is_ok());
}

#[test]
fn torn_last_line_is_ignored_and_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.journal");
    {
        let (j, _) = Journal::open(&path).unwrap();
        j.record_intent("a-1", "a.example.com", "vds.order.param", 1)
            .unwrap();
        j.record_outcome("a-1", Recorded::Ordered, Some("7"), "a.example.com")
            .unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"kind":"intent","run":"x","ts":"2025-01-0"#)
        .unwrap();
    drop(f);

    let (j, replay) = Journal::open(&path).unwrap();
    assert_eq!(replay.skipped_lines, 1);
    assert!(matches!(
        replay.state("a-1"),
        Some(KeyState::Ordered { .. })
    ));
    j.record_intent("a-2", "b.example.com", "vds.order.param", 1)
        .unwrap();
    drop(j);
    let (_, replay) = Journal::open(&path).unwrap();
    assert_eq!(replay.skipped_lines, 0, "the torn line was cut off");
    assert_eq!(replay.pending(), vec!["a-2"]);
}

#[test]
fn path_is_beside_the_manifest() {
    assert_eq!(
        Journal::path_for(Path::new("fleets/web.yaml")),
        Path::new("fleets/.billfleet/web.journal")
    );
    assert_eq!(
        Journal::path_for(Path::new("web.yaml")),
        Path::new(".billfleet/web.journal")
    );
}
