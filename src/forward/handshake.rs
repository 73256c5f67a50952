//! Forward protocol handshake (shared key and user authentication), both halves: the server's
//! HELO, PING check and PONG, and the client's PING and PONG check. Pure encode/decode/verify
//! functions, plus one async driver per side that runs over any byte stream.
//!
//! Wire format (fluentd's in_forward/out_forward, Forward protocol spec v1):
//! 1. server: `["HELO", {"nonce": bin16, "auth": bin16 or "", "keepalive": true}]`
//! 2. client: `["PING", client_hostname, shared_key_salt, hex(sha512(salt + client_hostname +
//!    nonce + shared_key)), username, hex(sha512(auth + username + password))]`
//! 3. server: `["PONG", true, "", server_hostname, hex(sha512(salt + server_hostname + nonce +
//!    shared_key))]`, or `["PONG", false, reason, "", ""]` and the connection is closed.
//!
//! Invariants: digests are compared in constant time; a handshake message larger than
//! [`MAX_HANDSHAKE_MESSAGE_BYTES`], malformed, or not finished within the caller's timeout ends
//! the handshake; no key, password or digest appears in an error's text; decoding never panics.

use std::time::Duration;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::msgpack::reader::{Token, read_token, skip_value};
use crate::msgpack::writer::{write_array_len, write_map_len, write_str};
use crate::secret::Secret;

/// Random bytes of the server's nonce (fluentd and Fluent Bit send 16).
pub const NONCE_BYTES: usize = 16;
/// Random bytes of the user-auth salt and of the client's shared-key salt.
pub const SALT_BYTES: usize = 16;
/// Largest HELO, PING or PONG read; real ones are a few hundred bytes.
pub const MAX_HANDSHAKE_MESSAGE_BYTES: usize = 64 * 1024;
/// Client hostnames and usernames are cut to this many characters in [`ServerFailure`] and
/// [`Accepted`] (they go to logs).
const MAX_NAME_CHARS: usize = 64;

/// How the server checks clients: `users` empty means shared key only.
#[derive(Debug, Clone)]
pub struct ServerAuth {
    pub self_hostname: String,
    /// May be empty (Fluent Bit's `empty_shared_key`).
    pub shared_key: Secret,
    /// (username, password) pairs; a client must match one when not empty.
    pub users: Vec<(String, Secret)>,
}

/// How a client authenticates to a server.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub self_hostname: String,
    pub shared_key: Secret,
    /// Sent only when the server asks for user auth (a non-empty `auth` salt in its HELO).
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// Why the server refused a PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MalformedPing,
    SharedKeyMismatch,
    UserMismatch,
}

impl Rejection {
    /// Short stable name for the `reason` metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::MalformedPing => "malformed_ping",
            Rejection::SharedKeyMismatch => "shared_key_mismatch",
            Rejection::UserMismatch => "user_mismatch",
        }
    }

    /// The reason sent in the PONG, fluentd's words (clients show them to their users).
    pub fn message(self) -> &'static str {
        match self {
            Rejection::MalformedPing => "invalid ping message",
            Rejection::SharedKeyMismatch => "shared_key mismatch",
            Rejection::UserMismatch => "username/password mismatch",
        }
    }
}

/// Why a handshake failed, on either side.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("handshake not finished within {0:?}")]
    Timeout(Duration),
    #[error("connection closed during the handshake")]
    Closed,
    #[error("I/O error during the handshake: {0}")]
    Io(#[from] std::io::Error),
    #[error("handshake message larger than {MAX_HANDSHAKE_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("malformed {0} message")]
    Malformed(&'static str),
    /// Server side: the client's PING did not pass.
    #[error("{}", .0.message())]
    Rejected(Rejection),
    /// Client side: the server answered PONG false with this reason.
    #[error("the server refused the handshake: {0}")]
    Refused(String),
    #[error("the server's PONG carries our own hostname: both ends have the same self_hostname")]
    SameHostname,
    #[error("the server's PONG digest does not match: it does not hold our shared key")]
    PongDigestMismatch,
    #[error("no random bytes from the operating system: {0}")]
    Random(getrandom::Error),
}

impl HandshakeError {
    /// Short stable name for the `reason` metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            HandshakeError::Timeout(_) => "handshake_timeout",
            HandshakeError::Closed => "closed",
            HandshakeError::Io(_) => "io",
            HandshakeError::TooLarge => "message_too_large",
            HandshakeError::Malformed(_) => "malformed_message",
            HandshakeError::Rejected(r) => r.reason(),
            HandshakeError::Refused(_) => "refused",
            HandshakeError::SameHostname => "hostname",
            HandshakeError::PongDigestMismatch => "shared_key_mismatch",
            HandshakeError::Random(_) => "random",
        }
    }
}

/// The server's HELO: what it sent, kept to check the PING (server) or answer it (client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helo {
    pub nonce: Vec<u8>,
    /// Salt of the password digests; empty when the server does not check users.
    pub auth_salt: Vec<u8>,
    pub keepalive: bool,
}

impl Helo {
    /// A fresh HELO for `auth`: a random nonce, and a random auth salt when users are configured.
    pub fn new(auth: &ServerAuth) -> Result<Self, HandshakeError> {
        let nonce = random_bytes(NONCE_BYTES)?;
        let auth_salt = if auth.users.is_empty() {
            Vec::new()
        } else {
            random_bytes(SALT_BYTES)?
        };
        Ok(Self {
            nonce,
            auth_salt,
            keepalive: true,
        })
    }

    /// Appends the HELO. Nonce and salt are random bytes, so they go as bin, as fluentd sends
    /// them (fluent-logger for Node only does user auth when `auth` decodes as bytes); no salt is
    /// the empty str, as fluentd.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_array_len(out, 2);
        write_str(out, b"HELO");
        write_map_len(out, 3);
        write_str(out, b"nonce");
        write_bin(out, &self.nonce);
        write_str(out, b"auth");
        if self.auth_salt.is_empty() {
            write_str(out, b"");
        } else {
            write_bin(out, &self.auth_salt);
        }
        write_str(out, b"keepalive");
        out.push(if self.keepalive { 0xc3 } else { 0xc2 });
    }

    /// Reads a HELO (client side). As fluentd, options may be nil and a missing nonce or auth is
    /// empty; str and bin are both accepted (Fluent Bit sends str).
    pub fn decode(msg: &[u8]) -> Result<Self, HandshakeError> {
        decode_helo(msg).ok_or(HandshakeError::Malformed("HELO"))
    }
}

fn decode_helo(msg: &[u8]) -> Option<Helo> {
    let (Token::Array(2), p) = read_token(msg, 0).ok()? else {
        return None;
    };
    let (name, p) = read_token(msg, p).ok()?;
    if text(name)? != b"HELO" {
        return None;
    }
    let mut helo = Helo {
        nonce: Vec::new(),
        auth_salt: Vec::new(),
        keepalive: false,
    };
    let (opts, mut p) = read_token(msg, p).ok()?;
    let pairs = match opts {
        Token::Nil => 0,
        Token::Map(n) => n,
        _ => return None,
    };
    for _ in 0..pairs {
        let (key, value_at) = read_token(msg, p).ok()?;
        let (value, _) = read_token(msg, value_at).ok()?;
        p = skip_value(msg, value_at).ok()?;
        match (text(key), value) {
            (Some(b"nonce"), v) => helo.nonce = text(v)?.to_vec(),
            (Some(b"auth"), v) => helo.auth_salt = text(v)?.to_vec(),
            (Some(b"keepalive"), Token::Bool(b)) => helo.keepalive = b,
            _ => {}
        }
    }
    (p == msg.len()).then_some(helo)
}

/// A decoded PING; every field borrows from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping<'a> {
    pub client_hostname: &'a [u8],
    pub shared_key_salt: &'a [u8],
    pub shared_key_digest: &'a [u8],
    pub username: &'a [u8],
    pub password_digest: &'a [u8],
}

impl<'a> Ping<'a> {
    /// Reads a PING: exactly one 6-element array, "PING" then five str or bin (fluentd's
    /// out_forward sends its salt as bin, others as str).
    pub fn decode(msg: &'a [u8]) -> Result<Self, Rejection> {
        let f = read_flat_array::<6>(msg, b"PING").ok_or(Rejection::MalformedPing)?;
        let field = |i: usize| text(f[i]).ok_or(Rejection::MalformedPing);
        Ok(Ping {
            client_hostname: field(1)?,
            shared_key_salt: field(2)?,
            shared_key_digest: field(3)?,
            username: field(4)?,
            password_digest: field(5)?,
        })
    }
}

impl ServerAuth {
    /// Checks `ping` against the HELO this server sent: the shared-key digest first, then (when
    /// users are configured) the username and password digest, as fluentd does.
    pub fn verify_ping(&self, helo: &Helo, ping: &Ping<'_>) -> Result<(), Rejection> {
        let expected = shared_key_digest(
            ping.shared_key_salt,
            ping.client_hostname,
            &helo.nonce,
            &self.shared_key,
        );
        if !bool::from(expected.as_slice().ct_eq(ping.shared_key_digest)) {
            return Err(Rejection::SharedKeyMismatch);
        }
        if self.users.is_empty() {
            return Ok(());
        }
        // Every user is checked, so the time taken does not tell which names exist.
        let mut found = subtle::Choice::from(0);
        for (name, password) in &self.users {
            let digest = password_digest(&helo.auth_salt, ping.username, password);
            found |= name.as_bytes().ct_eq(ping.username)
                & digest.as_slice().ct_eq(ping.password_digest);
        }
        if bool::from(found) {
            Ok(())
        } else {
            Err(Rejection::UserMismatch)
        }
    }

    /// Appends the PONG accepting a PING whose salt was `shared_key_salt`.
    pub fn encode_pong_ok(&self, helo: &Helo, shared_key_salt: &[u8], out: &mut Vec<u8>) {
        let digest = shared_key_digest(
            shared_key_salt,
            self.self_hostname.as_bytes(),
            &helo.nonce,
            &self.shared_key,
        );
        write_array_len(out, 5);
        write_str(out, b"PONG");
        out.push(0xc3);
        write_str(out, b"");
        write_str(out, self.self_hostname.as_bytes());
        write_str(out, &digest);
    }
}

/// Appends the PONG refusing a PING: `["PONG", false, reason, "", ""]`, as fluentd.
pub fn encode_pong_rejected(rejection: Rejection, out: &mut Vec<u8>) {
    write_array_len(out, 5);
    write_str(out, b"PONG");
    out.push(0xc2);
    write_str(out, rejection.message().as_bytes());
    write_str(out, b"");
    write_str(out, b"");
}

impl ClientAuth {
    /// Appends the PING answering `helo`. User fields are filled only when the server asked for
    /// them (non-empty `auth`), as fluentd's out_forward does.
    pub fn encode_ping(&self, helo: &Helo, shared_key_salt: &[u8], out: &mut Vec<u8>) {
        let host = self.self_hostname.as_bytes();
        let digest = shared_key_digest(shared_key_salt, host, &helo.nonce, &self.shared_key);
        write_array_len(out, 6);
        write_str(out, b"PING");
        write_str(out, host);
        write_str(out, shared_key_salt);
        write_str(out, &digest);
        if helo.auth_salt.is_empty() {
            write_str(out, b"");
            write_str(out, b"");
        } else {
            let user = self.username.as_deref().unwrap_or("").as_bytes();
            let empty = Secret::default();
            let password = self.password.as_ref().unwrap_or(&empty);
            write_str(out, user);
            write_str(out, &password_digest(&helo.auth_salt, user, password));
        }
    }

    /// Checks the server's PONG: refused, our own hostname (both ends misconfigured alike), or a
    /// digest that proves nothing are all errors.
    pub fn verify_pong(
        &self,
        helo: &Helo,
        shared_key_salt: &[u8],
        msg: &[u8],
    ) -> Result<(), HandshakeError> {
        let malformed = HandshakeError::Malformed("PONG");
        let Some(f) = read_flat_array::<5>(msg, b"PONG") else {
            return Err(malformed);
        };
        let (Token::Bool(ok), Some(reason), Some(host), Some(digest)) =
            (f[1], text(f[2]), text(f[3]), text(f[4]))
        else {
            return Err(malformed);
        };
        if !ok {
            return Err(HandshakeError::Refused(printable(reason, 256)));
        }
        if host == self.self_hostname.as_bytes() {
            return Err(HandshakeError::SameHostname);
        }
        let expected = shared_key_digest(shared_key_salt, host, &helo.nonce, &self.shared_key);
        if bool::from(expected.as_slice().ct_eq(digest)) {
            Ok(())
        } else {
            Err(HandshakeError::PongDigestMismatch)
        }
    }
}

/// A fresh client shared-key salt: 16 random bytes as 32 hex characters (a str, which every
/// server accepts; Fluent Bit refuses a bin salt).
pub fn new_shared_key_salt() -> Result<Vec<u8>, HandshakeError> {
    Ok(hex(&random_bytes(SALT_BYTES)?))
}

mod stream;
pub use stream::{Accepted, ServerFailure, client_handshake, server_handshake};

/// The elements of a one-level array of `N` scalars whose first is the str or bin `name`, with
/// nothing after it.
fn read_flat_array<'a, const N: usize>(msg: &'a [u8], name: &[u8]) -> Option<[Token<'a>; N]> {
    let (Token::Array(len), mut p) = read_token(msg, 0).ok()? else {
        return None;
    };
    if len as usize != N {
        return None;
    }
    let mut out = [Token::Nil; N];
    for slot in &mut out {
        let (tok, next) = read_token(msg, p).ok()?;
        if matches!(tok, Token::Array(_) | Token::Map(_)) {
            return None;
        }
        *slot = tok;
        p = next;
    }
    (p == msg.len() && text(out[0]) == Some(name)).then_some(out)
}

/// The bytes of a str or bin.
fn text<'a>(tok: Token<'a>) -> Option<&'a [u8]> {
    match tok {
        Token::Str(s) | Token::Bin(s) => Some(s),
        _ => None,
    }
}

/// `hex(sha512(salt + hostname + nonce + shared_key))`.
fn shared_key_digest(salt: &[u8], hostname: &[u8], nonce: &[u8], key: &Secret) -> Vec<u8> {
    sha512_hex(&[salt, hostname, nonce, key.expose().as_bytes()])
}

/// `hex(sha512(auth_salt + username + password))`.
fn password_digest(auth_salt: &[u8], username: &[u8], password: &Secret) -> Vec<u8> {
    sha512_hex(&[auth_salt, username, password.expose().as_bytes()])
}

fn sha512_hex(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    hex(&h.finalize())
}

/// Lower-case hex, as fluentd's `hexdigest`.
fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0x0f)]])
        .collect()
}

fn random_bytes(n: usize) -> Result<Vec<u8>, HandshakeError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(HandshakeError::Random)?;
    Ok(b)
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    match u8::try_from(b.len()) {
        Ok(n) => out.extend_from_slice(&[0xc4, n]),
        Err(_) => {
            // Never for the 16-byte nonces and salts firelane makes; kept whole if ever longer.
            out.push(0xc6);
            out.extend_from_slice(&(b.len().min(u32::MAX as usize) as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(b);
}

/// A peer-supplied name for logs: lossy UTF-8, at most `max_chars` characters.
fn printable(b: &[u8], max_chars: usize) -> String {
    String::from_utf8_lossy(b).chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests;
