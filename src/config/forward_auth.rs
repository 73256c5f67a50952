//! Authentication options of the forward input (Fluent Bit's `Shared_Key`, `Empty_Shared_Key`,
//! `Self_Hostname`, `Security.Users`): their types, their checks, and the handshake settings built
//! from them.
//!
//! Invariant: keys and passwords are held as [`Secret`] from deserialization on; no check message
//! quotes one (a bad `security.users` entry is named by its index).

use serde::Deserialize;

use super::errors::Issue;
use super::model::ForwardInputConfig;
use super::spans::KeyPath;
use crate::forward::handshake::ServerAuth;
use crate::secret::Secret;

/// `security` of a forward input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardSecurity {
    /// Users a client must authenticate as, each `"USER PASSWORD"` (Fluent Bit's
    /// `Security.Users`, which may be repeated): the first word is the user name, the rest the
    /// password. Requires `shared_key` or `empty_shared_key`. Passwords are never logged.
    #[serde(default)]
    pub users: SecretList,
}

/// A string or a list of strings, each kept secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretList(pub Vec<Secret>);

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a string or a list of strings")]
        enum Raw {
            One(Secret),
            Many(Vec<Secret>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::One(s) => SecretList(vec![s]),
            Raw::Many(v) => SecretList(v),
        })
    }
}

/// Why a `security.users` entry cannot be used (never quotes the entry).
pub const USER_ENTRY_FORMAT: &str =
    "expected \"USER PASSWORD\": a user name, a space, then a non-empty password";

/// Splits a `"USER PASSWORD"` entry at its first run of whitespace. A password written as
/// exactly `${NAME}` is read from the environment variable NAME, as any secret is.
pub fn parse_user(entry: &Secret) -> Result<(String, Secret), String> {
    parse_user_in(entry, |name| std::env::var(name).ok())
}

fn parse_user_in(
    entry: &Secret,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, Secret), String> {
    let text = entry.expose().trim();
    let (user, password) = text
        .split_once(char::is_whitespace)
        .ok_or(USER_ENTRY_FORMAT)?;
    let password = password.trim_start();
    if user.is_empty() || password.is_empty() {
        return Err(USER_ENTRY_FORMAT.to_owned());
    }
    let password = crate::secret::from_written(password.to_owned(), env)?;
    Ok((user.to_owned(), password))
}

impl ForwardInputConfig {
    /// What a client must prove, for the start-up log: `none`, `shared_key` or
    /// `shared_key+users`.
    pub fn authentication(&self) -> &'static str {
        match (self.server_auth(), self.security.users.0.is_empty()) {
            (None, _) => "none",
            (Some(_), true) => "shared_key",
            (Some(_), false) => "shared_key+users",
        }
    }

    /// The handshake this input requires, if any: with `shared_key` or `empty_shared_key`.
    /// Entries that do not parse are left out (the loader refuses them before this is called).
    pub fn server_auth(&self) -> Option<ServerAuth> {
        let shared_key = match (&self.shared_key, self.empty_shared_key.0) {
            (_, true) => Secret::default(),
            (Some(key), false) => key.clone(),
            (None, false) => return None,
        };
        Some(ServerAuth {
            self_hostname: self.self_hostname.clone(),
            shared_key,
            users: (self.security.users.0.iter())
                .filter_map(|e| parse_user(e).ok())
                .collect(),
        })
    }
}

/// Checks the authentication and timeout options of a forward input.
pub fn check(c: &ForwardInputConfig, path: &KeyPath, issues: &mut Vec<Issue>) {
    let users = &c.security.users.0;
    match (&c.shared_key, c.empty_shared_key.0) {
        (Some(_), true) => issues.push(Issue::new(
            path.key("empty_shared_key"),
            "set either shared_key or empty_shared_key, not both",
        )),
        (Some(key), false) if key.is_empty() => issues.push(Issue::new(
            path.key("shared_key"),
            "must not be empty; for an empty key set empty_shared_key = true",
        )),
        (None, false) if !users.is_empty() => issues.push(Issue::new(
            path.key("security").key("users"),
            "user authentication requires shared_key or empty_shared_key",
        )),
        _ => {}
    }
    for (i, entry) in users.iter().enumerate() {
        if let Err(why) = parse_user(entry) {
            issues.push(Issue::new(path.key("security").key("users").index(i), why));
        }
    }
    if c.self_hostname.trim().is_empty() {
        issues.push(Issue::new(path.key("self_hostname"), "must not be empty"));
    }
    if c.handshake_timeout.0.is_zero() {
        issues.push(Issue::new(
            path.key("handshake_timeout"),
            "must be more than 0",
        ));
    }
    if c.idle_timeout.is_some_and(|d| d.0.is_zero()) {
        issues.push(Issue::new(
            path.key("idle_timeout"),
            "must be more than 0 (leave it unset to keep idle connections open)",
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn user_entries_split_at_the_first_space() {
        let (u, p) = parse_user(&Secret::new("alice pass word")).unwrap();
        assert_eq!((u.as_str(), p.expose()), ("alice", "pass word"));
        let (u, p) = parse_user(&Secret::new("  bob\t s3cret ")).unwrap();
        assert_eq!((u.as_str(), p.expose()), ("bob", "s3cret"));
        for bad in ["alice", "", "   ", "alice   "] {
            assert_eq!(
                parse_user(&Secret::new(bad)),
                Err(USER_ENTRY_FORMAT.to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_password_naming_a_variable_reads_the_environment() {
        let env = |n: &str| (n == "PW").then(|| "from env".to_owned());
        let (u, p) = parse_user_in(&Secret::new("alice ${PW}"), env).unwrap();
        assert_eq!((u.as_str(), p.expose()), ("alice", "from env"));
        let err = parse_user_in(&Secret::new("alice ${NOPE}"), env).unwrap_err();
        assert!(err.contains("NOPE") && err.contains("not set"), "{err}");
    }
}
