//! moto's server mode as the CloudWatch Logs endpoint of end-to-end tests, and a reader of what it
//! received through the real AWS SDK.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};

use super::{free_port, python};

/// Static test credentials; moto accepts any.
pub const ACCESS_KEY: &str = "AKIDFIRELANETEST";
pub const SECRET_KEY: &str = "firelane-test-secret";
pub const REGION: &str = "us-east-1";

/// Whether something on `port` answers an HTTP request with a status line and closes.
fn answers_http(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if conn.set_read_timeout(Some(Duration::from_secs(5))).is_err() {
        return false;
    }
    let request = b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut answer = Vec::new();
    conn.write_all(request).is_ok()
        && conn.read_to_end(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.")
}

/// A running `moto_server`, killed on drop. Each test starts its own (moto keeps everything in memory).
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    log: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts moto on `port` (used to restart it where firelane expects it).
    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let mut m = Moto {
            child: None,
            port,
            log,
            dir,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(python())
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("moto_server starts (scripts/test.sh installs moto[server])");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Accepting connections is not enough: right after a restart the first requests can be
        // cut off, so wait for a whole HTTP answer.
        while !answers_http(self.port) {
            assert!(
                Instant::now() < deadline,
                "moto did not start: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (its data is lost, as after a real outage of a stand-in).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// What the server logged so far, one line per request it served.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for firelane: static credentials, no instance metadata, empty shared config files.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let empty = self.dir.path().join("aws-empty");
        std::fs::write(&empty, "").unwrap();
        let empty = empty.to_str().unwrap().to_owned();
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", empty.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", empty),
        ]
    }

    /// A reader of the logs moto holds, through the real SDK.
    pub fn logs(&self) -> Logs {
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
            .build();
        Logs {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: Client::from_conf(conf),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads groups, streams and events back from moto.
pub struct Logs {
    rt: tokio::runtime::Runtime,
    pub client: Client,
}

impl Logs {
    /// A reader through `client` (another region, say).
    pub fn with_client(client: Client) -> Self {
        Logs {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client,
        }
    }

    /// Every event of a stream, oldest first: (timestamp ms, message). Empty if the stream is missing.
    pub fn events(&self, group: &str, stream: &str) -> Vec<(i64, String)> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let resp = self
                    .client
                    .get_log_events()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await;
                let Ok(resp) = resp else { return out };
                let before = out.len();
                for e in resp.events() {
                    out.push((
                        e.timestamp().unwrap_or_default(),
                        e.message().unwrap_or_default().to_owned(),
                    ));
                }
                let next = resp.next_forward_token().map(str::to_owned);
                if out.len() == before || next.is_none() || next == token {
                    return out;
                }
                token = next;
            }
        })
    }

    /// Names of the streams of a group (empty if the group is missing).
    pub fn streams(&self, group: &str) -> Vec<String> {
        self.rt.block_on(async {
            let resp = self
                .client
                .describe_log_streams()
                .log_group_name(group)
                .send()
                .await;
            resp.map(|r| {
                r.log_streams()
                    .iter()
                    .filter_map(|s| s.log_stream_name().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
        })
    }

    /// Retention in days of a group, `None` if unset; panics if the group is missing.
    pub fn retention(&self, group: &str) -> Option<i32> {
        self.rt.block_on(async {
            let resp = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(group)
                .send()
                .await
                .unwrap();
            let g = resp
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(group))
                .unwrap_or_else(|| panic!("group {group} not found"));
            g.retention_in_days()
        })
    }

    pub fn create_group(&self, group: &str) {
        self.rt.block_on(async {
            self.client
                .create_log_group()
                .log_group_name(group)
                .send()
                .await
                .unwrap();
        });
    }
}
