//! TLS configs from plain settings (an input's or output's `tls.*` options, which
//! `config::tls` turns into [`ServerSettings`] and [`ClientSettings`]): PEM files read and
//! checked, rustls server and client configs built, and the client connector the forward output
//! uses.
//!
//! The crypto provider is aws-lc-rs (the AWS SDK builds it anyway), passed explicitly to every
//! builder so no process-wide default has to be installed. Problems come back as a list, each
//! with the `tls.*` key it concerns, so config validation reports them all at once.

use std::io;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::net::listener::{BoxConn, Conn};

const NO_ENCRYPTED_KEYS: &str = "encrypted private keys are not supported: decrypt the key (openssl pkey -in key.pem -out plain.pem), protect the file, and remove key_passwd";

/// Oldest TLS version a connection may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    #[default]
    V1_2,
    V1_3,
}

/// What a TLS server is built from: file paths as given (absolute or relative to the working
/// directory).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerSettings<'a> {
    pub crt_file: Option<&'a str>,
    pub key_file: Option<&'a str>,
    /// Clients must present a certificate chaining to these CAs (mutual TLS) when set.
    pub ca_file: Option<&'a str>,
    /// A key password was given: refused, encrypted keys are not supported.
    pub key_passwd_set: bool,
    pub min_version: TlsVersion,
}

/// What a TLS client is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientSettings<'a> {
    /// Check the server's certificate and name; false accepts any certificate.
    pub verify: bool,
    /// The CAs the server's certificate must chain to (default: the system's).
    pub ca_file: Option<&'a str>,
    /// A client certificate to present, with its key.
    pub crt_file: Option<&'a str>,
    pub key_file: Option<&'a str>,
    /// A key password was given: refused, encrypted keys are not supported.
    pub key_passwd_set: bool,
    /// The server name to check, when it is not the host connected to.
    pub vhost: Option<&'a str>,
    pub min_version: TlsVersion,
}

/// A problem with one `tls.*` option (`key`), or with the table as a whole (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsProblem {
    pub key: Option<&'static str>,
    pub message: String,
}

impl std::fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key {
            Some(key) => write!(f, "tls.{key}: {}", self.message),
            None => write!(f, "tls: {}", self.message),
        }
    }
}

/// Problems found while building one config.
#[derive(Debug, Default)]
struct Problems(Vec<TlsProblem>);

impl Problems {
    fn add(&mut self, key: &'static str, message: impl Into<String>) {
        self.0.push(TlsProblem {
            key: Some(key),
            message: message.into(),
        });
    }
}

/// The server config of an input's `tls` table (whose `enabled` the caller has checked).
pub fn server_config(c: &ServerSettings) -> Result<Arc<ServerConfig>, Vec<TlsProblem>> {
    let mut p = Problems::default();
    if c.key_passwd_set {
        p.add("key_passwd", NO_ENCRYPTED_KEYS);
    }
    let certs = required(
        c.crt_file,
        "crt_file",
        "tls.enabled needs the server's certificate",
        &mut p,
    )
    .and_then(|path| load_certs(path, "crt_file", &mut p));
    let key = required(
        c.key_file,
        "key_file",
        "tls.enabled needs the certificate's private key",
        &mut p,
    )
    .and_then(|path| load_key(path, "key_file", &mut p));
    let provider = provider();
    let verifier = match c.ca_file {
        None => Some(WebPkiClientVerifier::no_client_auth()),
        Some(path) => load_roots(path, "ca_file", &mut p).and_then(|roots| {
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| p.add("ca_file", format!("{path}: {e}")))
                .ok()
        }),
    };
    let (Some(certs), Some(key), Some(verifier)) = (certs, key, verifier) else {
        return Err(p.0);
    };
    if !p.0.is_empty() {
        return Err(p.0);
    }
    let built = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions(c.min_version))
        .map_err(|e| vec![whole(e)])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| vec![key_problem(e)])?;
    Ok(Arc::new(built))
}

/// The client config of an output's `tls` table, for [`connect_tls`]. Logs a warning for
/// `component` when certificates are not verified.
pub fn client_config(
    component: &str,
    c: &ClientSettings,
) -> Result<Arc<ClientConfig>, Vec<TlsProblem>> {
    if !c.verify {
        tracing::warn!(
            component,
            "tls.verify is off: any server certificate is accepted, so the connection can be read and changed by anyone on the path"
        );
    }
    build_client_config(c)
}

/// [`client_config`] without the warning (config validation builds it too).
pub fn build_client_config(c: &ClientSettings) -> Result<Arc<ClientConfig>, Vec<TlsProblem>> {
    let mut p = Problems::default();
    if c.key_passwd_set {
        p.add("key_passwd", NO_ENCRYPTED_KEYS);
    }
    if let Some(vhost) = c.vhost
        && ServerName::try_from(vhost).is_err()
    {
        p.add(
            "vhost",
            format!("`{vhost}` is not a DNS name or IP address"),
        );
    }
    let provider = provider();
    let roots = match (c.verify, c.ca_file) {
        (false, _) => None,
        (true, Some(path)) => load_roots(path, "ca_file", &mut p),
        (true, None) => system_roots(&mut p),
    };
    let identity = match (c.crt_file, c.key_file) {
        (None, None) => None,
        (Some(_), None) => {
            p.add("key_file", "crt_file needs the certificate's private key");
            None
        }
        (None, Some(_)) => {
            p.add("crt_file", "key_file needs the certificate it belongs to");
            None
        }
        (Some(crt), Some(key)) => {
            let certs = load_certs(crt, "crt_file", &mut p);
            let key = load_key(key, "key_file", &mut p);
            certs.zip(key)
        }
    };
    if !p.0.is_empty() {
        return Err(p.0);
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(c.min_version))
        .map_err(|e| vec![whole(e)])?;
    let builder = match roots {
        Some(roots) => builder.with_root_certificates(roots),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(
                provider.signature_verification_algorithms,
            ))),
    };
    let built = match identity {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(|e| vec![key_problem(e)])?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(built))
}

/// Runs the TLS client handshake over `stream` (usually a connected `tokio::net::TcpStream`),
/// sending `server_name` in SNI and, unless `tls.verify` is off, checking the server's
/// certificate against it (a DNS name or an IP address; `vhost` or the host). No
/// timeout of its own: wrap it in the output's connect timeout.
pub async fn connect_tls<S: Conn>(
    stream: S,
    config: &Arc<ClientConfig>,
    server_name: &str,
) -> io::Result<BoxConn> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{server_name}` is not a TLS server name: {e}"),
        )
    })?;
    let tls = tokio_rustls::TlsConnector::from(config.clone())
        .connect(name, stream)
        .await?;
    Ok(Box::new(tls))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

fn versions(min: TlsVersion) -> &'static [&'static SupportedProtocolVersion] {
    match min {
        TlsVersion::V1_2 => rustls::ALL_VERSIONS,
        TlsVersion::V1_3 => &TLS13_ONLY,
    }
}

fn whole(e: rustls::Error) -> TlsProblem {
    TlsProblem {
        key: None,
        message: e.to_string(),
    }
}

/// The certificate and key were each readable but do not go together.
fn key_problem(e: rustls::Error) -> TlsProblem {
    let message = match e {
        rustls::Error::InconsistentKeys(_) => {
            "the private key does not belong to the certificate in crt_file".to_owned()
        }
        other => format!("the key cannot be used with crt_file: {other}"),
    };
    TlsProblem {
        key: Some("key_file"),
        message,
    }
}

fn required<'a>(
    value: Option<&'a str>,
    key: &'static str,
    why: &str,
    p: &mut Problems,
) -> Option<&'a str> {
    match value {
        Some(path) if !path.is_empty() => Some(path),
        _ => {
            p.add(key, format!("missing: {why}"));
            None
        }
    }
}

fn read(path: &str, key: &'static str, p: &mut Problems) -> Option<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| p.add(key, format!("cannot read {path}: {e}")))
        .ok()
}

fn load_certs(
    path: &str,
    key: &'static str,
    p: &mut Problems,
) -> Option<Vec<CertificateDer<'static>>> {
    let pem = read(path, key, p)?;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
    match certs {
        Err(e) => {
            p.add(key, format!("{path} is not a valid PEM file: {e}"));
            None
        }
        Ok(certs) if certs.is_empty() => {
            p.add(
                key,
                format!("{path} holds no certificate (a PEM `BEGIN CERTIFICATE` block)"),
            );
            None
        }
        Ok(certs) => Some(certs),
    }
}

fn load_key(path: &str, key: &'static str, p: &mut Problems) -> Option<PrivateKeyDer<'static>> {
    let pem = read(path, key, p)?;
    if pem.windows(9).any(|w| w == b"ENCRYPTED") {
        p.add(key, format!("{path} is encrypted: {NO_ENCRYPTED_KEYS}"));
        return None;
    }
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(k) => Some(k),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            p.add(
                key,
                format!("{path} holds no private key (a PEM `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY` block)"),
            );
            None
        }
        Err(e) => {
            p.add(key, format!("{path} is not a valid PEM file: {e}"));
            None
        }
    }
}

fn load_roots(path: &str, key: &'static str, p: &mut Problems) -> Option<RootCertStore> {
    let certs = load_certs(path, key, p)?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        p.add(key, format!("{path} holds no usable CA certificate"));
        return None;
    }
    Some(roots)
}

fn system_roots(p: &mut Problems) -> Option<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        p.add(
            "ca_file",
            format!("no system CA certificates found{why}: set tls.ca_file"),
        );
        return None;
    }
    Some(roots)
}

/// `tls.verify = false`: any certificate is accepted, but the handshake signatures are still
/// checked (the peer holds the key of the certificate it sent, whoever that is).
#[derive(Debug)]
struct AnyServerCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// TLS handshakes in front of a connection handler.
pub mod accept;

#[cfg(test)]
mod tests;
