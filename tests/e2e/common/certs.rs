//! Test certificates made with rcgen, written as PEM files in a temp dir: a CA, a server
//! certificate for 127.0.0.1 and localhost and a client certificate both signed by it, and an
//! unrelated CA with a client certificate of its own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// PEM files of one test PKI; removed with `dir`.
pub struct TestCerts {
    pub dir: tempfile::TempDir,
    /// The CA the server and `client_crt` are signed by.
    pub ca: PathBuf,
    pub server_crt: PathBuf,
    pub server_key: PathBuf,
    pub client_crt: PathBuf,
    pub client_key: PathBuf,
    /// A CA unrelated to `ca`.
    pub other_ca: PathBuf,
    /// A client certificate signed by `other_ca`.
    pub other_client_crt: PathBuf,
    pub other_client_key: PathBuf,
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCerts {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let ca = new_ca("firelane test CA");
        let other = new_ca("unrelated test CA");
        let (server_crt, server_key) = leaf(
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_crt, client_key) =
            leaf(&ca, "client", &[], ExtendedKeyUsagePurpose::ClientAuth);
        let (other_crt, other_key) =
            leaf(&other, "intruder", &[], ExtendedKeyUsagePurpose::ClientAuth);
        TestCerts {
            ca: write("ca.pem", ca.cert.pem()),
            server_crt: write("server.crt", server_crt),
            server_key: write("server.key", server_key),
            client_crt: write("client.crt", client_crt),
            client_key: write("client.key", client_key),
            other_ca: write("other-ca.pem", other.cert.pem()),
            other_client_crt: write("other-client.crt", other_crt),
            other_client_key: write("other-client.key", other_key),
            dir,
        }
    }

    /// `tls.*` lines of an input: TLS with the server certificate, plus `extra` lines.
    pub fn server_toml(&self, extra: &str) -> String {
        format!(
            "tls.enabled = true\ntls.crt_file = \"{}\"\ntls.key_file = \"{}\"\n{extra}",
            s(&self.server_crt),
            s(&self.server_key)
        )
    }
}

impl Default for TestCerts {
    fn default() -> Self {
        Self::new()
    }
}

/// A path as a string, for configs and command lines.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A certificate signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &Ca, name: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}
