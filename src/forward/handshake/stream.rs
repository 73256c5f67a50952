//! The async drivers of the handshake: each side's exchange over any byte stream, bounded in
//! time (the caller's timeout) and in size ([`MAX_HANDSHAKE_MESSAGE_BYTES`] per message).

use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{
    ClientAuth, HandshakeError, Helo, MAX_HANDSHAKE_MESSAGE_BYTES, MAX_NAME_CHARS, Ping, Rejection,
    ServerAuth, encode_pong_rejected, new_shared_key_salt, printable,
};
use crate::forward::codec::{DecodeLimits, FrameError, FrameScanner};

/// Runs the client half on `stream`: reads the HELO, sends a PING, checks the PONG, all within
/// `timeout`. On `Ok` the stream is ready for Forward requests (a server sends nothing after its
/// PONG until the first request, so no byte read here belongs to what follows).
pub async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    auth: &ClientAuth,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    let run = async {
        let mut buf = BytesMut::with_capacity(1024);
        let len = read_message(stream, &mut buf, HandshakeError::Malformed("HELO")).await?;
        let helo = Helo::decode(&buf[..len])?;
        buf.advance(len);
        let salt = new_shared_key_salt()?;
        let mut ping = Vec::with_capacity(512);
        auth.encode_ping(&helo, &salt, &mut ping);
        stream.write_all(&ping).await?;
        stream.flush().await?;
        let len = read_message(stream, &mut buf, HandshakeError::Malformed("PONG")).await?;
        auth.verify_pong(&helo, &salt, &buf[..len])
    };
    tokio::time::timeout(timeout, run)
        .await
        .unwrap_or(Err(HandshakeError::Timeout(timeout)))
}

/// A client that passed the server handshake.
#[derive(Debug)]
pub struct Accepted {
    /// As the client gave it, lossy UTF-8, cut to 64 characters (for logs).
    pub client_hostname: String,
    pub username: String,
    /// Bytes the client sent after its PING: the start of its Forward requests.
    pub leftover: BytesMut,
}

/// A failed server handshake, with who the client said it was when it got that far (for logs).
#[derive(Debug)]
pub struct ServerFailure {
    pub error: HandshakeError,
    pub client_hostname: Option<String>,
    pub username: Option<String>,
}

impl From<HandshakeError> for ServerFailure {
    fn from(error: HandshakeError) -> Self {
        Self {
            error,
            client_hostname: None,
            username: None,
        }
    }
}

/// Runs the server half on `stream`: sends a HELO, reads one PING, answers PONG, all within
/// `timeout`. A refused PING is answered with PONG false and its reason; the caller closes.
pub async fn server_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    auth: &ServerAuth,
    timeout: Duration,
) -> Result<Accepted, ServerFailure> {
    let run = async {
        let helo = Helo::new(auth)?;
        let mut out = Vec::with_capacity(256);
        helo.encode(&mut out);
        stream.write_all(&out).await.map_err(HandshakeError::Io)?;
        stream.flush().await.map_err(HandshakeError::Io)?;
        let mut buf = BytesMut::with_capacity(1024);
        let malformed = HandshakeError::Rejected(Rejection::MalformedPing);
        let verdict = match read_message(stream, &mut buf, malformed).await {
            Ok(len) => check_ping(auth, &helo, &buf[..len]).map(|ok| (ok, len)),
            Err(e @ (HandshakeError::TooLarge | HandshakeError::Rejected(_))) => Err(e.into()),
            Err(e) => return Err(e.into()),
        };
        out.clear();
        match verdict {
            Ok(((salt, mut accepted), len)) => {
                auth.encode_pong_ok(&helo, &salt, &mut out);
                stream.write_all(&out).await.map_err(HandshakeError::Io)?;
                stream.flush().await.map_err(HandshakeError::Io)?;
                buf.advance(len);
                accepted.leftover = buf;
                Ok(accepted)
            }
            Err(failure) => {
                let rejection = match failure.error {
                    HandshakeError::Rejected(r) => r,
                    _ => Rejection::MalformedPing,
                };
                encode_pong_rejected(rejection, &mut out);
                // The client may already be gone; the failure is what matters.
                let _ = stream.write_all(&out).await;
                let _ = stream.flush().await;
                Err(failure)
            }
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(HandshakeError::Timeout(timeout).into()),
    }
}

/// Decodes and verifies a PING; on success, its salt (for the PONG) and who the client is.
fn check_ping(
    auth: &ServerAuth,
    helo: &Helo,
    msg: &[u8],
) -> Result<(Vec<u8>, Accepted), ServerFailure> {
    let ping = Ping::decode(msg).map_err(|r| ServerFailure::from(HandshakeError::Rejected(r)))?;
    let client_hostname = printable(ping.client_hostname, MAX_NAME_CHARS);
    let username = printable(ping.username, MAX_NAME_CHARS);
    match auth.verify_ping(helo, &ping) {
        Ok(()) => Ok((
            ping.shared_key_salt.to_vec(),
            Accepted {
                client_hostname,
                username,
                leftover: BytesMut::new(),
            },
        )),
        Err(r) => Err(ServerFailure {
            error: HandshakeError::Rejected(r),
            client_hostname: Some(client_hostname),
            username: Some(username),
        }),
    }
}

/// Reads until `buf` starts with one whole msgpack array (or nil), returning its length. Bytes
/// after it stay in `buf`.
async fn read_message<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    malformed: HandshakeError,
) -> Result<usize, HandshakeError> {
    let limits = DecodeLimits {
        max_frame_bytes: MAX_HANDSHAKE_MESSAGE_BYTES,
        max_decompressed_bytes: 0,
    };
    let mut scanner = FrameScanner::new();
    loop {
        match scanner.check(buf, &limits) {
            Ok(Some(len)) => return Ok(len),
            Ok(None) => {}
            Err(FrameError::FrameTooLarge { .. }) => return Err(HandshakeError::TooLarge),
            Err(_) => return Err(malformed),
        }
        buf.reserve(4096);
        if rd.read_buf(buf).await? == 0 {
            return Err(HandshakeError::Closed);
        }
    }
}
