//! Logging in and out: the session shared by every clone of a client, single-flight logins,
//! the refusals that stop a run (and are remembered, so that no caller sends credentials
//! again), and the hints a user needs to act on a refused login.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::client::BillingClient;
use super::doc::{Doc, Node};
use super::error::{ApiError, BillingError, ErrorKind};
use crate::protocol::LoginMode;
use crate::secret::Secret;

/// The session shared by every clone of a client.
#[derive(Default)]
pub(crate) struct Session {
    sid: Option<Secret>,
    /// Bumped at every login, so a caller holding a stale session id can tell.
    generation: u64,
    /// A refusal that stops every further call (credentials, a firewall, a redirect).
    refused: Option<ApiError>,
}

/// The credential one request carries.
pub(crate) enum Credential {
    /// A session id (`auth=`) and the login it came from.
    Session {
        /// The session id.
        sid: Secret,
        /// [`Session::generation`] when it was issued.
        generation: u64,
    },
    /// `authinfo=user:password` on every call.
    Authinfo(Secret),
    /// `func=auth` itself: username and password in the body.
    Login,
    /// `func=auth` with a login key: username and key in the body.
    Key,
}

/// How long answers in flight get to land before a refusal is judged.
const SETTLE: Duration = Duration::from_millis(250);

/// How long ending the session may take at the end of a run.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

impl BillingClient {
    /// Makes sure a session exists (logging in once if none does). In `authinfo` mode there is
    /// nothing to do: credentials travel with every call.
    pub async fn login(&self) -> Result<(), ApiError> {
        if self.inner.opts.login == LoginMode::Session {
            self.session(None).await.map_err(|e| self.scrub_error(e))?;
        }
        Ok(())
    }

    /// Ends the session, best effort: `func=logon` with the session and `sok=ok` is what
    /// BILLmanager 6's own client front end sends to log out (public repo
    /// Karantir-dev/billing-typescript, `src/Redux/auth/authOperations.js`, `logout`); no
    /// `session.delete` or `logout` function is documented for clients. Unpaced and bounded
    /// by a short timeout, never after a firewall or a redirect (nothing more is sent then).
    pub async fn logout(&self) {
        let (sid, generation) = {
            let mut session = self.inner.session.lock().await;
            let blocked = session.refused.as_ref().is_some_and(|e| {
                matches!(
                    e.kind,
                    ErrorKind::Blocked { .. } | ErrorKind::Redirect { .. }
                )
            });
            if blocked {
                return;
            }
            match session.sid.take() {
                Some(sid) => (sid, session.generation),
                None => return,
            }
        };
        let credential = Credential::Session { sid, generation };
        let ended = tokio::time::timeout(
            LOGOUT_TIMEOUT,
            self.exchange("logon", &[("sok", "ok")], false, &credential),
        )
        .await;
        match ended {
            Ok(Ok(_)) => tracing::debug!("session ended"),
            Ok(Err(e)) => tracing::debug!("ending the session failed: {}", self.scrub_error(e)),
            Err(_) => tracing::debug!("ending the session timed out"),
        }
    }

    pub(super) async fn credential(&self, stale: Option<u64>) -> Result<Credential, ApiError> {
        let opts = &self.inner.opts;
        match opts.login {
            LoginMode::Authinfo => {
                if let Some(err) = &self.inner.session.lock().await.refused {
                    return Err(err.clone());
                }
                Ok(Credential::Authinfo(Secret::new(format!(
                    "{}:{}",
                    opts.user,
                    opts.password.expose()
                ))))
            }
            LoginMode::Session => {
                let (sid, generation) = self.session(stale).await?;
                Ok(Credential::Session { sid, generation })
            }
        }
    }

    /// Records that a call succeeded with this credential's session.
    pub(super) fn proven(&self, credential: &Credential) {
        if let Credential::Session { generation, .. } = credential {
            self.inner.proven.fetch_max(*generation, Ordering::SeqCst);
        }
    }

    /// True when a call has succeeded with session `generation` (or a newer one), allowing
    /// answers still on their way a moment to land (a busy session expires under concurrent
    /// calls, and their answers arrive in any order).
    pub(super) async fn served_after_settling(&self, generation: u64) -> bool {
        let served = || self.inner.proven.load(Ordering::SeqCst) >= generation;
        if served() {
            return true;
        }
        tokio::time::sleep(SETTLE).await;
        served()
    }

    /// A fatal refusal is remembered, so that no caller sends anything that would meet it
    /// again (a login lockout, a firewall, a redirect). Returns the error.
    pub(super) async fn remember(&self, err: ApiError) -> ApiError {
        let remembered = matches!(
            err.kind,
            ErrorKind::Auth { .. } | ErrorKind::Blocked { .. } | ErrorKind::Redirect { .. }
        );
        if remembered {
            let mut session = self.inner.session.lock().await;
            session.refused.get_or_insert_with(|| err.clone());
        }
        err
    }

    /// The current session, logging in when there is none or the caller's one is `stale`.
    /// Single-flight: the lock is held during the login, so concurrent callers wait and reuse
    /// it. Two logins in a row that served no call are not followed by a third: the refusals
    /// mean the account may not do this, and the run stops.
    async fn session(&self, stale: Option<u64>) -> Result<(Secret, u64), ApiError> {
        let mut session = self.inner.session.lock().await;
        if let Some(err) = &session.refused {
            return Err(err.clone());
        }
        if let Some(sid) = &session.sid
            && stale != Some(session.generation)
        {
            return Ok((sid.clone(), session.generation));
        }
        let proven = self.inner.proven.load(Ordering::SeqCst);
        if stale.is_some() && session.generation >= 2 && proven + 1 < session.generation {
            let err = refused_after_login("auth", false, "type=access");
            session.refused = Some(err.clone());
            return Err(err);
        }
        match self.authenticate().await {
            Ok(sid) => {
                session.sid = Some(sid.clone());
                session.generation += 1;
                Ok((sid, session.generation))
            }
            Err(err) => {
                session.sid = None;
                if err.is_fatal() {
                    session.refused = Some(err.clone());
                }
                Err(err)
            }
        }
    }

    /// `func=auth` (with the password, or the login key when one is configured): returns
    /// the session id. Every refusal is fatal: [`ErrorKind::Auth`] with a hint, or
    /// [`ErrorKind::Blocked`] for a firewall.
    async fn authenticate(&self) -> Result<Secret, ApiError> {
        let credential = if self.inner.extras.login_key.is_some() {
            Credential::Key
        } else {
            Credential::Login
        };
        let doc = self.send("auth", &[], false, &credential).await?;
        if let Some(error) = doc.error() {
            let billing = BillingError::from_node(error);
            let detail = format!("{} — {}", billing.describe(), hint_for(&billing));
            return match billing.classify() {
                kind @ (ErrorKind::Busy | ErrorKind::Throttled { .. }) => {
                    Err(ApiError::new(kind, "auth", true, false).with_detail(detail))
                }
                ErrorKind::Auth { object } => Err(refused(&object, &detail)),
                _ if billing.object.is_empty() => Err(refused(&billing.kind, &detail)),
                _ => Err(refused(&billing.object, &detail)),
            };
        }
        if doc.attr("func") == Some("logon") {
            return Err(refused("logon", "the login form came back"));
        }
        let sid = session_id(&doc).ok_or_else(|| {
            ApiError::new(ErrorKind::Protocol, "auth", true, false)
                .with_detail("no session id in the auth answer")
        })?;
        tracing::debug!("logged in");
        Ok(Secret::new(sid))
    }
}

fn refused(object: &str, detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Auth {
            object: object.to_owned(),
        },
        "auth",
        true,
        false,
    )
    .with_detail(detail)
}

/// The login answered by an HTML page (a WAF, a captcha page, a moved site): fatal.
pub(super) fn html_login(url: &str) -> ApiError {
    refused(
        "html page",
        &format!("HTTP 200 from {url}: {}", hint("html")),
    )
}

/// A call refused with `access` again right after a fresh login: fatal, never a loop.
pub(super) fn refused_after_login(func: &str, write: bool, detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Auth {
            object: "access".into(),
        },
        func,
        true,
        write,
    )
    .with_detail(format!(
        "{detail} — refused again right after a fresh login: this account may lack the rights \
         for `{func}` (ask the provider), or the billing ends sessions at once; the run stops \
         instead of logging in again"
    ))
}

/// An `access` refusal in `authinfo` mode: the install may restrict `authinfo`.
pub(super) fn authinfo_refused(func: &str, write: bool, detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Auth {
            object: "access".into(),
        },
        func,
        true,
        write,
    )
    .with_detail(format!(
        "{detail} — refused with `authinfo`: many installs restrict `authinfo` to whitelisted \
         addresses; use `login: session` in the manifest's billing section"
    ))
}

/// What a user can do about a refused login, by the error's type or object.
pub(super) fn hint(what: &str) -> &'static str {
    match what {
        "badpassword" => "check the user and password (a few more failures lock the login)",
        "blocklogon" => "the login is locked after failed attempts; wait, then check the password",
        "blocked_ip" | "badip" => {
            "this address is blocked after failed logins or not allowed; ask the provider to \
             unblock it"
        }
        "blockgeoip" => {
            "login from this region is blocked; unlock it with the link the billing e-mailed, \
             then rerun"
        }
        "totp" | "extraconfirm" => {
            "the account has two-factor confirmation (func=totp.confirm); use an account without \
             it, or a login key (key_env / key_command in a profile)"
        }
        "html" => {
            "the login was answered by a web page (a firewall, a captcha page or a wrong URL); \
             open the URL in a browser and fix billing.url"
        }
        w if w.contains("captcha") => {
            "the billing demands a captcha; log in once in a browser, or use a login key \
             (key_env / key_command in a profile)"
        }
        _ => "check the credentials in the profile or environment",
    }
}

fn hint_for(billing: &BillingError) -> &'static str {
    let object = billing.object.to_ascii_lowercase();
    let kind = billing.kind.to_ascii_lowercase();
    if kind.contains("captcha") || kind == "extraconfirm" {
        return hint(&kind);
    }
    hint(if object.is_empty() { &kind } else { &object })
}

/// `doc.auth@id`, else `doc.session@id`, else the text of `doc.auth`.
pub(super) fn session_id(doc: &Doc) -> Option<String> {
    let auth = doc.child("auth");
    auth.and_then(|a| a.attr("id"))
        .or_else(|| doc.child("session").and_then(|s| s.attr("id")))
        .or_else(|| auth.and_then(Node::text))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_forms() {
        let bm5 = Doc::decode(br#"<doc><auth id="a1"/></doc>"#).unwrap();
        let bm6 = Doc::decode(br#"<doc><auth id="b2" level="16">b2</auth></doc>"#).unwrap();
        let text = Doc::decode(br#"{"doc":{"auth":{"$":"c3"}}}"#).unwrap();
        let session = Doc::decode(br#"{"doc":{"session":{"$id":"d4"}}}"#).unwrap();
        let ids: Vec<_> = [bm5, bm6, text, session].iter().map(session_id).collect();
        assert_eq!(
            ids,
            [
                Some("a1".into()),
                Some("b2".into()),
                Some("c3".into()),
                Some("d4".into())
            ]
        );
    }

    #[test]
    fn login_refusals_have_hints() {
        for what in [
            "captcha_verification_failed",
            "blockgeoip",
            "totp",
            "blocked_ip",
        ] {
            assert_ne!(hint(what), hint("something else"), "{what}");
        }
    }
}
