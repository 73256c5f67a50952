use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::tls::{ClientTls, ServerTls};
use crate::config::units::Flag;

/// The server config of an input's `tls` table, as the input builds it.
fn server_config(c: &ServerTls) -> Result<Arc<ServerConfig>, Vec<TlsProblem>> {
    super::server_config(&c.settings())
}

/// The client config of an output's `tls` table, as config validation builds it.
fn build_client_config(c: &ClientTls) -> Result<Arc<ClientConfig>, Vec<TlsProblem>> {
    super::build_client_config(&c.settings())
}

#[path = "../../../tests/e2e/common/certs.rs"]
mod certs;
use certs::{TestCerts, s};

fn server(c: &TestCerts) -> ServerTls {
    ServerTls {
        enabled: Flag(true),
        crt_file: Some(s(&c.server_crt).to_owned()),
        key_file: Some(s(&c.server_key).to_owned()),
        ..ServerTls::default()
    }
}

fn client(c: &TestCerts) -> ClientTls {
    ClientTls {
        enabled: Flag(true),
        ca_file: Some(s(&c.ca).to_owned()),
        ..ClientTls::default()
    }
}

fn problems_of(r: Result<impl Sized, Vec<TlsProblem>>) -> Vec<String> {
    match r {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn enabled_without_files_names_both() {
    let got = problems_of(server_config(&ServerTls {
        enabled: Flag(true),
        ..ServerTls::default()
    }));
    assert_eq!(
        got,
        [
            "tls.crt_file: missing: tls.enabled needs the server's certificate",
            "tls.key_file: missing: tls.enabled needs the certificate's private key",
        ]
    );
}

#[test]
fn unreadable_and_empty_files_are_reported_together() {
    let c = TestCerts::new();
    let got = problems_of(server_config(&ServerTls {
        crt_file: Some("/nonexistent/server.pem".to_owned()),
        // A key file holds no certificate.
        ca_file: Some(s(&c.server_key).to_owned()),
        key_passwd: Some(crate::secret::Secret::new("pw")),
        ..server(&c)
    }));
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("tls.key_passwd: encrypted private keys are not supported"));
    assert!(
        got[1].starts_with("tls.crt_file: cannot read /nonexistent/server.pem: No such file"),
        "{got:?}"
    );
    assert!(got[2].contains("holds no certificate"), "{got:?}");
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let c = TestCerts::new();
    let got = problems_of(server_config(&ServerTls {
        key_file: Some(s(&c.client_key).to_owned()),
        ..server(&c)
    }));
    assert_eq!(
        got,
        ["tls.key_file: the private key does not belong to the certificate in crt_file"]
    );
}

#[test]
fn a_certificate_file_is_not_a_key_and_encrypted_keys_are_refused() {
    let c = TestCerts::new();
    let encrypted = c.dir.path().join("enc.key");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let got = problems_of(server_config(&ServerTls {
        key_file: Some(s(&c.server_crt).to_owned()),
        ..server(&c)
    }));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("holds no private key"), "{got:?}");
    let got = problems_of(server_config(&ServerTls {
        key_file: Some(s(&encrypted).to_owned()),
        ..server(&c)
    }));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("is encrypted"), "{got:?}");
}

#[test]
fn client_problems_name_their_keys() {
    let c = TestCerts::new();
    let got = problems_of(build_client_config(&ClientTls {
        ca_file: Some("/nonexistent/ca.pem".to_owned()),
        crt_file: Some(s(&c.client_crt).to_owned()),
        vhost: Some("not a name".to_owned()),
        ..client(&c)
    }));
    let keys: Vec<&str> = got.iter().map(|g| g.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        ["tls.vhost", "tls.ca_file", "tls.key_file"],
        "{got:?}"
    );
    assert!(problems_of(build_client_config(&client(&c))).is_empty());
}

/// One TLS connection over an in-memory pipe: what the client sends, the server reads.
async fn exchange(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: &str,
) -> io::Result<Vec<u8>> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let srv = tokio::spawn(async move {
        let mut tls = tokio_rustls::TlsAcceptor::from(server).accept(a).await?;
        let mut got = Vec::new();
        tls.read_to_end(&mut got).await?;
        io::Result::Ok(got)
    });
    let sent = async {
        let mut conn = connect_tls(b, &client, name).await?;
        conn.write_all(b"hello over tls").await?;
        conn.shutdown().await?;
        io::Result::Ok(conn)
    };
    // The client's end stays open until the server is done (it may still send session tickets).
    let client_result = sent.await;
    let server_result = srv.await.unwrap();
    client_result.map(drop).and(server_result)
}

#[tokio::test]
async fn client_and_server_talk_and_mutual_tls_needs_the_right_ca() {
    let c = TestCerts::new();
    let plain = server_config(&server(&c)).unwrap();
    let cfg = build_client_config(&client(&c)).unwrap();
    assert_eq!(
        exchange(plain.clone(), cfg.clone(), "localhost")
            .await
            .unwrap(),
        b"hello over tls"
    );
    assert_eq!(
        exchange(plain.clone(), cfg.clone(), "127.0.0.1")
            .await
            .unwrap(),
        b"hello over tls"
    );
    // The certificate is not for this name.
    assert!(
        exchange(plain.clone(), cfg.clone(), "example.com")
            .await
            .is_err()
    );
    // Unless verification is off.
    let any = build_client_config(&ClientTls {
        verify: Flag(false),
        ca_file: None,
        ..client(&c)
    })
    .unwrap();
    assert!(exchange(plain, any, "example.com").await.is_ok());

    let mutual = server_config(&ServerTls {
        ca_file: Some(s(&c.ca).to_owned()),
        ..server(&c)
    })
    .unwrap();
    assert!(exchange(mutual.clone(), cfg, "localhost").await.is_err());
    let with_cert = |crt: &std::path::Path, key: &std::path::Path| {
        build_client_config(&ClientTls {
            crt_file: Some(s(crt).to_owned()),
            key_file: Some(s(key).to_owned()),
            ..client(&c)
        })
        .unwrap()
    };
    let good = with_cert(&c.client_crt, &c.client_key);
    let stranger = with_cert(&c.other_client_crt, &c.other_client_key);
    assert_eq!(
        exchange(mutual.clone(), good, "localhost").await.unwrap(),
        b"hello over tls"
    );
    assert!(exchange(mutual, stranger, "localhost").await.is_err());
}

#[tokio::test]
async fn tls13_minimum_refuses_a_tls12_client() {
    let c = TestCerts::new();
    let srv = server_config(&ServerTls {
        min_version: TlsVersion::V1_3,
        ..server(&c)
    })
    .unwrap();
    let tls12_only = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(load_roots(s(&c.ca), "ca_file", &mut Problems::default()).unwrap())
        .with_no_client_auth();
    assert!(
        exchange(srv.clone(), Arc::new(tls12_only), "localhost")
            .await
            .is_err()
    );
    let default = build_client_config(&client(&c)).unwrap();
    assert!(exchange(srv, default, "localhost").await.is_ok());
}
