//! fluent-logger for Node (tests/node), a Forward client with the handshake that we did not write.

use std::path::Path;
use std::process::Command;

/// What a `tests/node/send.js` run reported.
pub struct NodeRun {
    pub ok: bool,
    pub stderr: String,
}

/// Sends `n` records under `tag` to 127.0.0.1:`port` with fluent-logger for Node, handshaking with
/// `key` and `user`/`pass` (empty: none). Panics with a clear message when node or the pinned
/// package is missing: run scripts/test.sh (it runs `npm ci --prefix tests/node`).
pub fn node_send(port: u16, tag: &str, n: usize, key: &str, user: &str, pass: &str) -> NodeRun {
    node_send_env(port, tag, n, key, user, pass, &[])
}

/// As [`node_send`], with environment variables for send.js (`FLUENT_TLS_CA`, `FLUENT_TLS_CERT`,
/// `FLUENT_TLS_KEY`: connect over TLS).
pub fn node_send_env(
    port: u16,
    tag: &str,
    n: usize,
    key: &str,
    user: &str,
    pass: &str,
    envs: &[(&str, &str)],
) -> NodeRun {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    assert!(
        dir.join("node_modules/fluent-logger/package.json").exists(),
        "fluent-logger for Node is not installed in tests/node/node_modules: run scripts/test.sh \
         (or `npm ci --prefix tests/node`)"
    );
    let node = std::env::var("FIRELANE_NODE").unwrap_or_else(|_| "node".to_owned());
    let out = Command::new(&node)
        .arg(dir.join("send.js"))
        .args([&port.to_string(), tag, &n.to_string(), key, user, pass])
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{node}` (set FIRELANE_NODE to a Node.js 18+ binary): {e}")
        });
    NodeRun {
        ok: out.status.success(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
