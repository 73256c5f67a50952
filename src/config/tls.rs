//! TLS options (Fluent Bit's `tls` / `tls.*`): the `tls` table of an input (`ServerTls`: we accept
//! connections) or of an output (`ClientTls`: we connect). The files they name are read and checked
//! at config load ([`check_server`], [`check_client`]) so `firelane validate` reports a missing or
//! mismatched certificate with its key path; [`crate::net::tls`] builds the rustls configs from them.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::errors::Issue;
use super::spans::KeyPath;
use super::units::{DurationValue, Flag};
pub use crate::net::tls::TlsVersion;
use crate::net::tls::{ClientSettings, ServerSettings};
use crate::secret::Secret;

/// An input's `tls.*`: the TCP port accepts TLS connections only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// Accept TLS connections only (default false; Fluent Bit's `tls on`). Needs `crt_file` and
    /// `key_file`. Applies to the TCP port; the forward input's Unix socket stays plain (it is
    /// reachable only through the file system). The other `tls.*` options are ignored while this
    /// is false.
    #[serde(default)]
    pub enabled: Flag,
    /// PEM file with this server's certificate, followed by any intermediate certificates. Paths
    /// of `tls.*` files are absolute or relative to the working directory.
    pub crt_file: Option<String>,
    /// PEM file with the private key of `crt_file` (PKCS#8, PKCS#1 or SEC1; not encrypted).
    pub key_file: Option<String>,
    /// PEM file of the CA certificates clients' certificates must chain to. When set, every client
    /// must present a valid certificate (mutual TLS); when not set, none is asked for.
    pub ca_file: Option<String>,
    /// Password of an encrypted `key_file`: not supported, an error when set (decrypt the key
    /// with `openssl pkey -in key.pem -out plain.pem` and protect the file instead).
    pub key_passwd: Option<Secret>,
    /// Oldest TLS version accepted: `1.2` (default) or `1.3` (`TLSv1.2` / `TLSv1.3` too).
    #[serde(default)]
    pub min_version: TlsVersion,
    /// A connection whose TLS handshake has not finished after this long is closed and counted
    /// (default 10s), so silent or slow clients cannot hold connection slots.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout: DurationValue,
}

impl Default for ServerTls {
    fn default() -> Self {
        Self {
            enabled: Flag(false),
            crt_file: None,
            key_file: None,
            ca_file: None,
            key_passwd: None,
            min_version: TlsVersion::default(),
            handshake_timeout: default_handshake_timeout(),
        }
    }
}

/// An output's `tls.*`: connect with TLS and check the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// Connect with TLS (default false; Fluent Bit's `tls on`).
    #[serde(default)]
    pub enabled: Flag,
    /// Check the server's certificate and name (default true). `false` accepts any certificate,
    /// which lets anyone on the path read and change the traffic; a warning is logged at start.
    #[serde(default = "default_true")]
    pub verify: Flag,
    /// PEM file of the CA certificates the server's certificate must chain to (default: the
    /// system's CA certificates). Paths of `tls.*` files are absolute or relative to the working
    /// directory.
    pub ca_file: Option<String>,
    /// PEM file with a client certificate to present (for servers that require mutual TLS);
    /// needs `key_file`.
    pub crt_file: Option<String>,
    /// PEM file with the private key of `crt_file` (PKCS#8, PKCS#1 or SEC1; not encrypted).
    pub key_file: Option<String>,
    /// Password of an encrypted `key_file`: not supported, an error when set.
    pub key_passwd: Option<Secret>,
    /// Server name sent in SNI and checked against the certificate (default: the output's host).
    pub vhost: Option<String>,
    /// Oldest TLS version accepted: `1.2` (default) or `1.3`.
    #[serde(default)]
    pub min_version: TlsVersion,
}

impl Default for ClientTls {
    fn default() -> Self {
        Self {
            enabled: Flag(false),
            verify: default_true(),
            ca_file: None,
            crt_file: None,
            key_file: None,
            key_passwd: None,
            vhost: None,
            min_version: TlsVersion::default(),
        }
    }
}

impl ServerTls {
    /// The files and versions to build the server's TLS config from.
    pub fn settings(&self) -> ServerSettings<'_> {
        ServerSettings {
            crt_file: self.crt_file.as_deref(),
            key_file: self.key_file.as_deref(),
            ca_file: self.ca_file.as_deref(),
            key_passwd_set: self.key_passwd.is_some(),
            min_version: self.min_version,
        }
    }
}

impl ClientTls {
    /// The files and versions to build the client's TLS config from.
    pub fn settings(&self) -> ClientSettings<'_> {
        ClientSettings {
            verify: self.verify.0,
            ca_file: self.ca_file.as_deref(),
            crt_file: self.crt_file.as_deref(),
            key_file: self.key_file.as_deref(),
            key_passwd_set: self.key_passwd.is_some(),
            vhost: self.vhost.as_deref(),
            min_version: self.min_version,
        }
    }

    /// The name to send in SNI and verify: `vhost`, else `host`.
    pub fn server_name<'a>(&'a self, host: &'a str) -> &'a str {
        self.vhost.as_deref().unwrap_or(host)
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            F(f64),
            S(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::F(f) => f.to_string(),
            Raw::S(s) => s,
        };
        let t = text.trim().to_ascii_lowercase();
        match t.strip_prefix("tlsv").unwrap_or(&t) {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a supported TLS version: use 1.2 or 1.3"
            ))),
        }
    }
}

/// Checks an input's `tls` (at `path`, the `tls` table): required files present, readable, and
/// matching. Nothing is checked while TLS is off.
pub fn check_server(c: &ServerTls, path: &KeyPath, issues: &mut Vec<Issue>) {
    if !c.enabled.0 {
        return;
    }
    if c.handshake_timeout.0 < Duration::from_millis(1) {
        issues.push(Issue::new(
            path.key("handshake_timeout"),
            "must be more than 0",
        ));
    }
    if let Err(problems) = crate::net::tls::server_config(&c.settings()) {
        push(problems, path, issues);
    }
}

/// Checks an output's `tls` (at `path`, the `tls` table), as [`check_server`] does.
pub fn check_client(c: &ClientTls, path: &KeyPath, issues: &mut Vec<Issue>) {
    if !c.enabled.0 {
        return;
    }
    if let Err(problems) = crate::net::tls::build_client_config(&c.settings()) {
        push(problems, path, issues);
    }
}

fn push(problems: Vec<crate::net::tls::TlsProblem>, path: &KeyPath, issues: &mut Vec<Issue>) {
    for p in problems {
        let at = match p.key {
            Some(key) => path.key(key),
            None => path.clone(),
        };
        issues.push(Issue::new(at, p.message));
    }
}

fn default_handshake_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(10))
}

fn default_true() -> Flag {
    Flag(true)
}
