//! Sends a row's records the way the application would: Docker's fluentd log driver on the Unix
//! socket (Forward message mode, the record shape Docker writes, partial messages for split
//! lines), a raw TCP line, or a fluent logger's Forward message on TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::generate::SOCKET_PATH;
use super::point::Pointed;
use super::row::Send;

/// Docker's 64-hex container id of the app container (any will do).
const CONTAINER_ID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef";

/// The connections of one application run: Docker keeps one to the socket per container, and
/// a logger one per server; records on one connection keep their order.
#[derive(Default)]
pub struct Connections {
    socket: Option<UnixStream>,
    tcp: HashMap<u16, TcpStream>,
}

/// Sends `s`; returns how many records the router's inputs should count.
pub fn send(
    conns: &mut Connections,
    root: &Path,
    tags: &HashMap<String, String>,
    pointed: &Pointed,
    s: &Send,
    fill: &dyn Fn(&str) -> String,
) -> f64 {
    fn socket<'a>(conns: &'a mut Connections, root: &Path) -> &'a mut UnixStream {
        conns.socket.get_or_insert_with(|| {
            let path = format!("{}{SOCKET_PATH}", root.display());
            UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {path}: {e}"))
        })
    }
    match s {
        Send::Stdout { container, line } => {
            let frame = docker_frame(&tags[*container], container, &fill(line), None);
            socket(conns, root).write_all(&frame).unwrap();
            1.0
        }
        Send::Partial { container, parts } => {
            let sock = socket(conns, root);
            for (i, part) in parts.iter().enumerate() {
                let meta = (i + 1, i + 1 == parts.len());
                let frame = docker_frame(&tags[*container], container, &fill(part), Some(meta));
                sock.write_all(&frame).unwrap();
            }
            parts.len() as f64
        }
        Send::Tcp { port: p, line } => {
            let conn = tcp(conns, pointed, *p);
            conn.write_all(format!("{}\n", fill(line)).as_bytes())
                .unwrap();
            1.0
        }
        Send::Forward { port: p, tag, line } => {
            let conn = tcp(conns, pointed, *p);
            let mut frame = Vec::new();
            rmp::encode::write_array_len(&mut frame, 3).unwrap();
            rmp::encode::write_str(&mut frame, tag).unwrap();
            crate::common::event_time(&mut frame, now_secs(), 0);
            rmp::encode::write_map_len(&mut frame, 1).unwrap();
            rmp::encode::write_str(&mut frame, "log").unwrap();
            rmp::encode::write_str(&mut frame, &fill(line)).unwrap();
            conn.write_all(&frame).unwrap();
            1.0
        }
    }
}

/// The connection to the input the config put on port `p`.
fn tcp<'a>(conns: &'a mut Connections, pointed: &Pointed, p: u16) -> &'a mut TcpStream {
    let port = *pointed
        .ports
        .get(&p)
        .unwrap_or_else(|| panic!("no input on port {p} in the config"));
    conns
        .tcp
        .entry(port)
        .or_insert_with(|| TcpStream::connect(("127.0.0.1", port)).unwrap())
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// `[tag, EventTime, record]` as Docker's fluentd driver writes it: `container_id`,
/// `container_name`, `source`, `log`, and for a piece of a split line `partial_message`,
/// `partial_id`, `partial_ordinal`, `partial_last` (strings, as Docker sets them).
fn docker_frame(tag: &str, container: &str, log: &str, partial: Option<(usize, bool)>) -> Vec<u8> {
    let name = format!("/ecs-firelens-examples-7-{container}-a1b2c3d4e5f6");
    let mut fields: Vec<(&str, String)> = vec![
        ("container_id", CONTAINER_ID.to_owned()),
        ("container_name", name),
        ("source", "stdout".to_owned()),
        ("log", log.to_owned()),
    ];
    if let Some((ordinal, last)) = partial {
        fields.push(("partial_message", "true".to_owned()));
        fields.push(("partial_id", "5c1f3a0e2b7d4c6a9e8f".to_owned()));
        fields.push(("partial_ordinal", ordinal.to_string()));
        fields.push(("partial_last", last.to_string()));
    }
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 3).unwrap();
    rmp::encode::write_str(&mut out, tag).unwrap();
    crate::common::event_time(&mut out, now_secs(), 0);
    rmp::encode::write_map_len(&mut out, fields.len() as u32).unwrap();
    for (k, v) in &fields {
        rmp::encode::write_str(&mut out, k).unwrap();
        rmp::encode::write_str(&mut out, v).unwrap();
    }
    out
}
