use super::*;
use crate::api::doc::Doc;

fn classify(xml: &str) -> ErrorKind {
    let doc = Doc::decode(xml.as_bytes()).unwrap();
    BillingError::from_node(doc.error().unwrap()).classify()
}

#[test]
fn classifies_by_type_and_object() {
    let cases = [
        (
            r#"<doc><error type="auth" object="badpassword"/></doc>"#,
            ErrorKind::Auth {
                object: "badpassword".into(),
            },
        ),
        (
            r#"<doc><error type="value" object="balance"/></doc>"#,
            ErrorKind::InsufficientFunds {
                required: None,
                available: None,
            },
        ),
        (
            r#"<doc><error type="not_enough_money" object="x"/></doc>"#,
            ErrorKind::InsufficientFunds {
                required: None,
                available: None,
            },
        ),
        (
            r#"<doc><error type="value" object="period"/></doc>"#,
            ErrorKind::InvalidValue {
                object: "period".into(),
            },
        ),
        (
            r#"<doc><error type="missed" object="elid"/></doc>"#,
            ErrorKind::Missing {
                object: "elid".into(),
            },
        ),
        (
            r#"<doc><error type="exists" object="runningoperation"/></doc>"#,
            ErrorKind::Busy,
        ),
        (
            r#"<doc><error type="pricelist_min_order" object="12"/></doc>"#,
            ErrorKind::Refused {
                kind: "pricelist_min_order".into(),
                object: "12".into(),
            },
        ),
        (
            r#"<doc><error type="captcha_verification_failed"/></doc>"#,
            ErrorKind::Auth {
                object: "captcha_verification_failed".into(),
            },
        ),
    ];
    for (xml, want) in cases {
        assert_eq!(classify(xml), want, "{xml}");
    }
}

#[test]
fn legacy_access_code_naming_a_bad_password_is_an_auth_refusal() {
    let read = |xml: &str| {
        let doc = Doc::decode(xml.as_bytes()).unwrap();
        BillingError::from_node(doc.error().unwrap())
    };
    let bad = read(r#"<doc><error code="6" obj="badpassword"/></doc>"#);
    assert!(!bad.is_access());
    assert_eq!(
        bad.classify(),
        ErrorKind::Auth {
            object: "badpassword".into()
        }
    );
    assert!(read(r#"<doc><error code="6" obj="auth"/></doc>"#).is_access());
}

#[test]
fn legacy_codes_and_params() {
    assert_eq!(
        classify(r#"<doc><error code="2" obj="domain" val="a.example"/></doc>"#),
        ErrorKind::Exists {
            object: "domain".into(),
            value: Some("a.example".into())
        }
    );
    assert_eq!(
        classify(r#"<doc><error code="3" obj="site"/></doc>"#),
        ErrorKind::Missing {
            object: "site".into()
        }
    );
    assert_eq!(
        classify(
            r#"<doc><error type="exists"><param name="object">domain</param><param name="value">b.example</param></error></doc>"#
        ),
        ErrorKind::Exists {
            object: "domain".into(),
            value: Some("b.example".into())
        }
    );
}

#[test]
fn documented_funds_answer_carries_required_and_available() {
    let kind = classify(
        r#"<doc><error type="not_enough_money" lang="en" code="1"><param name="amount">25.00</param><param name="have">3.00</param><param name="currency">EUR</param><param name="deficit">22.00</param><param name="limit">0.00</param><param name="reserved">0.00</param><param name="available">3.00</param><msg>insufficient funds to complete the operation</msg></error></doc>"#,
    );
    assert_eq!(
        kind,
        ErrorKind::InsufficientFunds {
            required: Some("25.00 EUR".into()),
            available: Some("3.00 EUR".into()),
        }
    );
    assert_eq!(
        kind.to_string(),
        "insufficient funds (required 25.00 EUR, available 3.00 EUR)"
    );
}

#[test]
fn busy_message_decides_whatever_the_type() {
    for xml in [
        r#"<doc><error type="msg"><msg>Request in process, please wait</msg></error></doc>"#,
        r#"<doc><error type="access" object="x"><msg>Request in process, please wait</msg></error></doc>"#,
    ] {
        assert_eq!(classify(xml), ErrorKind::Busy, "{xml}");
    }
}

#[test]
fn other_message_text_never_decides() {
    let kind = classify(
        r#"<doc><error type="custom" object="x"><msg>Insufficient funds; access denied</msg></error></doc>"#,
    );
    assert_eq!(
        kind,
        ErrorKind::Refused {
            kind: "custom".into(),
            object: "x".into()
        }
    );
}

#[test]
fn retry_semantics() {
    let write_drop = ApiError::new(ErrorKind::Transport, "vds.order.param", true, true);
    assert!(write_drop.outcome_unknown());
    assert!(!write_drop.retryable());
    let read_drop = ApiError::new(ErrorKind::Transport, "vds", true, false);
    assert!(!read_drop.outcome_unknown());
    assert!(read_drop.retryable());
    let refused = ApiError::new(ErrorKind::Transport, "vds.order.param", false, true);
    assert!(refused.retryable() && !refused.outcome_unknown());
    let throttled = ApiError::new(
        ErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(2)),
        },
        "vds",
        true,
        true,
    );
    assert!(throttled.outcome_unknown() && !throttled.retryable());
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
    let read_throttled = ApiError::new(
        ErrorKind::Throttled { retry_after: None },
        "vds",
        true,
        false,
    );
    assert!(read_throttled.retryable() && !read_throttled.outcome_unknown());
    let busy = ApiError::new(ErrorKind::Busy, "vds.order.param", true, true);
    assert!(busy.retryable() && !busy.outcome_unknown());
    for kind in [
        ErrorKind::Server { status: 503 },
        ErrorKind::Protocol,
        ErrorKind::Timeout,
    ] {
        let e = ApiError::new(kind, "vds.order.param", true, true);
        assert!(e.outcome_unknown() && !e.retryable(), "{e}");
    }
    let redirect = ApiError::new(
        ErrorKind::Redirect {
            status: 307,
            location: "https://elsewhere/".into(),
        },
        "auth",
        true,
        false,
    );
    assert!(redirect.is_fatal() && !redirect.retryable());
    let auth = ApiError::new(ErrorKind::Auth { object: "x".into() }, "auth", true, false);
    assert!(auth.is_fatal() && !auth.retryable());
    let exists = ApiError::new(
        ErrorKind::Exists {
            object: "domain".into(),
            value: None,
        },
        "vds.order.param",
        true,
        true,
    );
    assert!(!exists.retryable() && !exists.outcome_unknown() && !exists.is_fatal());
}
