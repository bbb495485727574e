//! Validated runtime options: where the billing is, who we are there, and how we get the
//! password. Every default and precedence rule lives here.
//!
//! Precedence, highest first: command-line flags, environment (`BILLFLEET_URL`,
//! `BILLFLEET_USER`, `BILLFLEET_PASSWORD`), the profile (`--profile NAME`, else a profile
//! named `default` when one exists), the manifest's `billing.url`. The password is never a
//! flag (it would show in `ps`) and never in the manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::BillingArgs;
use crate::secret::Secret;

/// Environment variable holding the password.
pub const ENV_PASSWORD: &str = "BILLFLEET_PASSWORD";
/// Environment variable holding the billing URL.
pub const ENV_URL: &str = "BILLFLEET_URL";
/// Environment variable holding the user name.
pub const ENV_USER: &str = "BILLFLEET_USER";

/// A configuration problem: bad input, exit code 2, nothing sent.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `--profile NAME` names no profile.
    #[error("no profile `{name}` in {searched}")]
    NoProfile {
        /// The profile asked for.
        name: String,
        /// The files looked at.
        searched: String,
    },
    /// Something required is not set anywhere.
    #[error("{what} is not set; {hint}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// Where to set it.
        hint: &'static str,
    },
    /// `password_command` failed.
    #[error("password_command of profile `{profile}` failed: {message}")]
    PasswordCommand {
        /// The profile.
        profile: String,
        /// What happened (never the command's output).
        message: String,
    },
    /// A bad value.
    #[error("{0}")]
    Invalid(String),
}

/// The config file: `[profiles.NAME]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Billing base URL.
    pub url: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// A shell command that prints the password (e.g. `pass show billing/acme`).
    pub password_command: Option<String>,
    /// The password itself (discouraged; the file must then be readable by its owner only).
    pub password: Option<Secret>,
    /// Name of an environment variable holding a login key (`func=auth&key=…`, issued by
    /// `session.newkey`); with a key no password is needed.
    pub key_env: Option<String>,
    /// A shell command that prints the login key.
    pub key_command: Option<String>,
    /// Skip TLS certificate verification.
    #[serde(default)]
    pub insecure: bool,
}

/// Where the billing is and who we are there, fully resolved.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL.
    pub url: String,
    /// User name.
    pub user: String,
    /// Password (empty when a login key is used).
    pub password: Secret,
    /// Login key, when the profile gives one: the client logs in with it instead.
    pub key: Option<Secret>,
    /// Skip TLS verification (explicit opt-out only).
    pub insecure: bool,
}

/// The config files looked at, in order: `./billfleet.toml`, then
/// `$XDG_CONFIG_HOME/billfleet/config.toml` (or `~/.config/billfleet/config.toml`).
pub fn config_paths() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("billfleet.toml")];
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(dir) = xdg {
        paths.push(dir.join("billfleet").join("config.toml"));
    }
    paths
}

/// Reads a config file; warns when it holds a password and others may read it.
pub fn read_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })?;
    if file.profiles.values().any(|p| p.password.is_some()) && readable_by_others(path) {
        tracing::warn!(
            "{} holds a password and is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(file)
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

/// Finds the profile to use: the one named by `--profile` (an error when absent), else
/// `default` when a file has it, else none.
pub fn find_profile(name: Option<&str>) -> Result<Option<(String, Profile)>, ConfigError> {
    let paths = config_paths();
    for path in paths.iter().filter(|p| p.is_file()) {
        let file = read_config(path)?;
        let wanted = name.unwrap_or("default");
        if let Some(profile) = file.profiles.get(wanted) {
            return Ok(Some((wanted.to_owned(), profile.clone())));
        }
    }
    match name {
        Some(name) => Err(ConfigError::NoProfile {
            name: name.to_owned(),
            searched: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        None => Ok(None),
    }
}

/// Resolves the billing target from flags/environment, the profile and the manifest's URL.
/// `env` looks up environment variables (tests pass their own).
pub fn resolve_target(
    args: &BillingArgs,
    manifest_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, ConfigError> {
    let profile = find_profile(args.profile.as_deref())?;
    let (profile_name, profile) = profile.unwrap_or_default();
    let url = args
        .url
        .clone()
        .or_else(|| profile.url.clone())
        .or_else(|| manifest_url.map(str::to_owned))
        .ok_or(ConfigError::Missing {
            what: "the billing URL",
            hint: "set billing.url in the manifest, BILLFLEET_URL, --url or a profile's url (or try --sandbox)",
        })?;
    check_url(&url)?;
    if let Some(host) = cleartext_host(&url) {
        tracing::warn!(
            "the billing URL uses http:// to {host}: the password would cross the network unencrypted; use https://"
        );
    }
    let user = args
        .user
        .clone()
        .or_else(|| profile.user.clone())
        .ok_or(ConfigError::Missing {
            what: "the billing user",
            hint: "set BILLFLEET_USER, --user or a profile's user",
        })?;
    let key = login_key(&profile_name, &profile, env)?;
    let password = match password(&profile_name, &profile, env) {
        Err(ConfigError::Missing { .. }) if key.is_some() => Secret::default(),
        other => other?,
    };
    Ok(Target {
        url,
        user,
        password,
        key,
        insecure: args.insecure || profile.insecure,
    })
}

/// The profile's login key, from `key_env` or `key_command`, when it names one.
fn login_key(
    profile_name: &str,
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(var) = &profile.key_env {
        return env(var)
            .filter(|k| !k.is_empty())
            .map(|k| Some(Secret::new(k)))
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "profile `{profile_name}` reads the login key from ${var}, which is not set"
                ))
            });
    }
    match &profile.key_command {
        Some(command) => run_password_command(profile_name, command).map(Some),
        None => Ok(None),
    }
}

fn password(
    profile_name: &str,
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, ConfigError> {
    if let Some(p) = env(ENV_PASSWORD).filter(|p| !p.is_empty()) {
        return Ok(Secret::new(p));
    }
    if let Some(var) = &profile.password_env {
        return env(var)
            .filter(|p| !p.is_empty())
            .map(Secret::new)
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "profile `{profile_name}` reads the password from ${var}, which is not set"
                ))
            });
    }
    if let Some(command) = &profile.password_command {
        return run_password_command(profile_name, command);
    }
    profile.password.clone().ok_or(ConfigError::Missing {
        what: "the billing password",
        hint: "set BILLFLEET_PASSWORD, or password_env / password_command in a profile of billfleet.toml",
    })
}

fn run_password_command(profile: &str, command: &str) -> Result<Secret, ConfigError> {
    let fail = |message: String| ConfigError::PasswordCommand {
        profile: profile.to_owned(),
        message,
    };
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !output.status.success() {
        return Err(fail(format!("it exited with {}", output.status)));
    }
    let text =
        String::from_utf8(output.stdout).map_err(|_| fail("its output is not UTF-8".into()))?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(fail("it printed nothing".into()));
    }
    Ok(Secret::new(password))
}

/// The host of an `http://` URL that is not on this machine (credentials would travel in clear).
pub fn cleartext_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() != "http" {
        return None;
    }
    let loopback = match parsed.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    (!loopback).then(|| parsed.host_str().unwrap_or_default().to_owned())
}

/// Accepts `http(s)://host[:port][/path]`; refuses URLs with credentials in them.
pub fn check_url(url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| ConfigError::Invalid(format!("billing URL `{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ConfigError::Invalid(format!(
            "billing URL `{url}` must start with https://"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::Invalid(
            "the billing URL must not hold credentials; set BILLFLEET_USER and BILLFLEET_PASSWORD"
                .into(),
        ));
    }
    if parsed
        .query_pairs()
        .any(|(k, _)| matches!(k.as_ref(), "authinfo" | "auth" | "password"))
    {
        return Err(ConfigError::Invalid(
            "the billing URL must not hold credentials (authinfo/auth/password in its query)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn flags_and_env_win_over_profile_and_manifest() {
        let args = BillingArgs {
            url: Some("https://flag.example/billmgr".into()),
            user: Some("alice".into()),
            ..BillingArgs::default()
        };
        let env = |k: &str| (k == ENV_PASSWORD).then(|| "s3cret".to_owned());
        let t = resolve_target(&args, Some("https://manifest.example/billmgr"), &env).unwrap();
        assert_eq!(t.url, "https://flag.example/billmgr");
        assert_eq!(t.user, "alice");
        assert_eq!(t.password.expose(), "s3cret");
        assert!(!t.insecure);
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn missing_password_names_where_to_put_it() {
        let args = BillingArgs {
            user: Some("bob".into()),
            ..BillingArgs::default()
        };
        let err = resolve_target(&args, Some("https://m.example/billmgr"), &no_env).unwrap_err();
        assert!(err.to_string().contains("BILLFLEET_PASSWORD"), "{err}");
    }

    #[test]
    fn profile_password_sources() {
        let p = Profile {
            password_env: Some("ACME_PW".into()),
            ..Profile::default()
        };
        let env = |k: &str| (k == "ACME_PW").then(|| "pw-from-env".to_owned());
        assert_eq!(password("acme", &p, &env).unwrap().expose(), "pw-from-env");
        let p = Profile {
            password_command: Some("printf 'pw-cmd\\n'".into()),
            ..Profile::default()
        };
        assert_eq!(password("acme", &p, &no_env).unwrap().expose(), "pw-cmd");
        let p = Profile {
            password_command: Some("exit 3".into()),
            ..Profile::default()
        };
        assert!(password("acme", &p, &no_env).is_err());
    }

    #[test]
    fn profile_key_sources_make_the_password_optional() {
        let p = Profile {
            key_env: Some("ACME_KEY".into()),
            ..Profile::default()
        };
        let env = |k: &str| (k == "ACME_KEY").then(|| "k3y-from-env-0123456".to_owned());
        let key = login_key("acme", &p, &env).unwrap().unwrap();
        assert_eq!(key.expose(), "k3y-from-env-0123456");
        assert!(login_key("acme", &p, &no_env).is_err());
        let p = Profile {
            key_command: Some("printf 'k3y-cmd\\n'".into()),
            ..Profile::default()
        };
        assert_eq!(
            login_key("acme", &p, &no_env).unwrap().unwrap().expose(),
            "k3y-cmd"
        );
        assert!(
            login_key("acme", &Profile::default(), &no_env)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://my.example.com/billmgr").is_ok());
        assert!(check_url("http://127.0.0.1:1500/manager/billmgr").is_ok());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://u:p@x.example").is_err());
        assert!(check_url("https://x.example/billmgr?authinfo=u:p").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn cleartext_only_off_this_machine() {
        assert_eq!(
            cleartext_host("http://my.example.com/billmgr").as_deref(),
            Some("my.example.com")
        );
        assert_eq!(cleartext_host("https://my.example.com/billmgr"), None);
        assert_eq!(cleartext_host("http://127.0.0.1:1500/billmgr"), None);
        assert_eq!(cleartext_host("http://localhost/billmgr"), None);
        assert_eq!(cleartext_host("http://[::1]:1500/billmgr"), None);
    }

    #[test]
    fn config_file_parses_profiles() {
        let file: ConfigFile = toml::from_str(
            "[profiles.acme]\nurl = \"https://my.acme.example/billmgr\"\nuser = \"ops\"\npassword_env = \"ACME_PW\"\n",
        )
        .unwrap();
        let p = &file.profiles["acme"];
        assert_eq!(p.user.as_deref(), Some("ops"));
        assert!(toml::from_str::<ConfigFile>("[profiles.x]\npasword = \"typo\"\n").is_err());
    }
}
