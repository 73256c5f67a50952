use super::*;

fn issues_of(text: &str) -> Vec<String> {
    let cfg: Config = toml::from_str(text).unwrap();
    validate(&cfg)
        .into_iter()
        .map(|i| format!("{}: {}", i.path, i.message))
        .collect()
}

const OUT: &str = "[[outputs]]\nname = \"null\"\nmatch = \"*\"\n";

#[test]
fn a_minimal_config_is_valid() {
    assert_eq!(
        issues_of(&format!("[[inputs]]\nname = \"forward\"\n{OUT}")),
        Vec::<String>::new()
    );
}

#[test]
fn empty_config_needs_inputs_and_outputs() {
    assert_eq!(
        issues_of(""),
        [
            "inputs: at least one [[inputs]] is required",
            "outputs: at least one [[outputs]] is required",
        ]
    );
    assert_eq!(
        issues_of(OUT),
        ["inputs: at least one [[inputs]] is required"],
        "each is asked for on its own"
    );
}

#[test]
fn outputs_need_exactly_one_valid_matcher() {
    let got = issues_of(
        "[[inputs]]\nname = \"forward\"\n[[outputs]]\nname = \"stdout\"\n\
         [[outputs]]\nname = \"null\"\nmatch = \"a\"\nmatch_regex = \"b\"\n\
         [[outputs]]\nname = \"file\"\nmatch_regex = \"(\"\n",
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("outputs[0]: output matches nothing"));
    assert!(got[1].starts_with("outputs[1].match_regex: set either"));
    assert!(got[2].starts_with("outputs[2].match_regex: invalid regex"));
}

#[test]
fn forward_limits_and_permissions() {
    let got = issues_of(&format!(
        "[[inputs]]\nname = \"forward\"\nport = 0\nunix_perm = \"999\"\nbuffer_max_size = 10\n\
         mem_buf_limit = \"1K\"\nmax_connections = 0\noverflow = \"drop_newest\"\n\
         overflow_timeout = \"5s\"\n{OUT}"
    ));
    let keys: Vec<&str> = got.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "inputs[0].unix_perm",
            "inputs[0].port",
            "inputs[0].buffer_max_size",
            "inputs[0].mem_buf_limit",
            "inputs[0].max_connections",
            "inputs[0].overflow_timeout"
        ]
    );
}

#[test]
fn duplicate_aliases_ports_and_unix_paths() {
    let got = issues_of(&format!(
        "[[inputs]]\nname = \"forward\"\nunix_path = \"/tmp/a.sock\"\n\
         [[inputs]]\nname = \"forward\"\nalias = \"forward.0\"\nlisten = \"127.0.0.1\"\nport = 24224\nunix_path = \"/tmp/a.sock\"\n\
         [[inputs]]\nname = \"tcp\"\nport = 2020\n{OUT}"
    ));
    // 127.0.0.1:24224 does not clash with inputs[0], which only has a Unix socket.
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].starts_with("inputs[1].alias: alias `forward.0` is already used by inputs[0]"));
    assert!(
        got.iter()
            .any(|g| g.starts_with("inputs[2].port: 0.0.0.0:2020 is already used by service"))
    );
    assert!(got.iter().any(|g| g.starts_with("inputs[1].unix_path")));
}

#[test]
fn service_values() {
    let got = issues_of(&format!(
        "[service]\nlog_level = \"verbose\"\nhttp_port = 0\nhttp_listen = \"localhost\"\nflush = 0\n\
         [[inputs]]\nname = \"forward\"\n{OUT}"
    ));
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn disk_buffers_need_a_path_and_bring_their_own_overflow() {
    let got = issues_of(&format!(
        "[[inputs]]\nname = \"forward\"\nstorage.type = \"filesystem\"\nack = \"delivered\"\n\
         overflow = \"drop_newest\"\nstorage.total_limit_size = \"10K\"\n\
         [[inputs]]\nname = \"tcp\"\nport = 5171\noverflow_timeout = \"1s\"\nstorage.type = \"filesystem\"\n\
         [[inputs]]\nname = \"forward\"\nport = 24225\nack = \"durable\"\n{OUT}"
    ));
    let keys: Vec<&str> = got.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "inputs[0].storage.type",
            "inputs[0].ack",
            "inputs[0].overflow",
            "inputs[0].storage.total_limit_size",
            "inputs[1].storage.type",
            "inputs[1].overflow_timeout",
            "inputs[2].ack",
        ],
        "{got:?}"
    );
    let ok = issues_of(&format!(
        "[service]\nstorage.path = \"/var/lib/firelane\"\n\
         [[inputs]]\nname = \"forward\"\nack = \"durable\"\nstorage.type = \"filesystem\"\n{OUT}"
    ));
    assert_eq!(ok, Vec::<String>::new());
}

#[test]
fn tls_problems_name_their_keys_and_come_all_at_once() {
    let got = issues_of(&format!(
        "[[inputs]]\nname = \"forward\"\ntls.enabled = \"on\"\ntls.crt_file = \"/nonexistent/server.pem\"\n\
         tls.handshake_timeout = 0\n\
         [[inputs]]\nname = \"tcp\"\ntls.enabled = true\ntls.key_passwd = \"pw\"\n\
         [[inputs]]\nname = \"tcp\"\nport = 5171\ntls.crt_file = \"/nonexistent/ignored-while-off.pem\"\n{OUT}"
    ));
    let keys: Vec<&str> = got.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "inputs[0].tls.handshake_timeout",
            "inputs[0].tls.crt_file",
            "inputs[0].tls.key_file",
            "inputs[1].tls.key_passwd",
            "inputs[1].tls.crt_file",
            "inputs[1].tls.key_file",
        ],
        "{got:?}"
    );
    assert!(
        got[1].starts_with(
            "inputs[0].tls.crt_file: cannot read /nonexistent/server.pem: No such file"
        ),
        "{got:?}"
    );
}

#[test]
fn tls_versions_and_unknown_tls_keys() {
    let cfg: Config = toml::from_str(&format!(
        "[[inputs]]\nname = \"forward\"\ntls.min_version = \"TLSv1.3\"\n{OUT}"
    ))
    .unwrap();
    let InputConfig::Forward(f) = &cfg.inputs[0] else {
        panic!("a forward input")
    };
    assert_eq!(f.tls.min_version, crate::config::tls::TlsVersion::V1_3);
    assert!(!f.tls.enabled.0);
    for bad in ["tls.min_version = \"1.1\"", "tls.verify = true"] {
        let text = format!("[[inputs]]\nname = \"forward\"\n{bad}\n{OUT}");
        assert!(toml::from_str::<Config>(&text).is_err(), "{bad}");
    }
}

#[test]
fn forward_authentication_problems_name_the_key_never_the_secret() {
    let got = issues_of(&format!(
        "[[inputs]]\nname = \"forward\"\nsecurity.users = [\"alice pass1\", \"bob\", \"carol  \"]\n\
         self_hostname = \"\"\nhandshake_timeout = 0\nidle_timeout = \"0s\"\n\
         [[inputs]]\nname = \"forward\"\nport = 24225\nshared_key = \"k\"\nempty_shared_key = true\n\
         [[inputs]]\nname = \"forward\"\nport = 24226\nshared_key = \"\"\n{OUT}"
    ));
    let keys: Vec<&str> = got.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "inputs[0].security.users",
            "inputs[0].security.users[1]",
            "inputs[0].security.users[2]",
            "inputs[0].self_hostname",
            "inputs[0].handshake_timeout",
            "inputs[0].idle_timeout",
            "inputs[1].empty_shared_key",
            "inputs[2].shared_key",
        ],
        "{got:?}"
    );
    assert!(got[0].contains("requires shared_key or empty_shared_key"));
    assert!(got[1].contains("USER PASSWORD") && !got.join("\n").contains("pass1"));
}

#[test]
fn a_valid_forward_authentication_builds_its_server_settings() {
    let text = format!(
        "[[inputs]]\nname = \"forward\"\nshared_key = \"k3y\"\nsecurity.users = \"alice pass 1\"\n{OUT}"
    );
    assert_eq!(issues_of(&text), Vec::<String>::new());
    let cfg: Config = toml::from_str(&text).unwrap();
    let InputConfig::Forward(c) = &cfg.inputs[0] else {
        panic!("forward")
    };
    let auth = c.server_auth().unwrap();
    assert_eq!(auth.self_hostname, "localhost", "Fluent Bit's default");
    assert_eq!(auth.shared_key.expose(), "k3y");
    assert_eq!(auth.users.len(), 1);
    assert_eq!(
        (auth.users[0].0.as_str(), auth.users[0].1.expose()),
        ("alice", "pass 1")
    );
    assert!(!format!("{cfg:?}").contains("k3y") && !format!("{cfg:?}").contains("pass 1"));
    assert_eq!(c.handshake_timeout.0, std::time::Duration::from_secs(10));
    assert_eq!(c.idle_timeout, None);

    let cfg: Config = toml::from_str(&format!("[[inputs]]\nname = \"forward\"\n{OUT}")).unwrap();
    let InputConfig::Forward(c) = &cfg.inputs[0] else {
        panic!("forward")
    };
    assert!(c.server_auth().is_none(), "no key: no handshake");
}
