#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const SALT: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fixed_helo(users: bool) -> Helo {
    Helo {
        nonce: (0u8..16).collect(),
        auth_salt: if users {
            (0xa0u8..0xb0).collect()
        } else {
            Vec::new()
        },
        keepalive: true,
    }
}

fn server(users: &[(&str, &str)]) -> ServerAuth {
    ServerAuth {
        self_hostname: "firelane-server".to_owned(),
        shared_key: Secret::new("secret-key"),
        users: users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), Secret::new(*p)))
            .collect(),
    }
}

fn client(key: &str, user: Option<(&str, &str)>) -> ClientAuth {
    ClientAuth {
        self_hostname: "client.example".to_owned(),
        shared_key: Secret::new(key),
        username: user.map(|(u, _)| u.to_owned()),
        password: user.map(|(_, p)| Secret::new(p)),
    }
}

fn ping_of(c: &ClientAuth, helo: &Helo) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode_ping(helo, SALT, &mut out);
    out
}

fn verify(s: &ServerAuth, helo: &Helo, ping: &[u8]) -> Result<(), Rejection> {
    s.verify_ping(helo, &Ping::decode(ping)?)
}

/// A msgpack array of str elements.
fn str_array(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    write_array_len(&mut out, items.len() as u32);
    for i in items {
        write_str(&mut out, i);
    }
    out
}

#[test]
fn digests_match_independently_computed_vectors() {
    // python3: hashlib.sha512(b"0123456789abcdef0123456789abcdef" + b"client.example"
    //          + bytes(range(16)) + b"secret-key").hexdigest()
    let ping = "6547db3f42e18b8d7b36756e84142d6bbd41297591833743513f460954cbc5f585c28a3546c288523ed8ff2da5e2a9e2edbcb70321a6431000fc579733592800";
    // Same with b"firelane-server" as the hostname.
    let pong = "7b0fe5e7163799ed903171b19dd7c7f8da4c6aaca5e7c90529e92fa2bf5d88b29cdcba9eacb704dba4a7dbeee0ec7d2547990ebd83532ab16edaa9a4501d92ea";
    // python3: hashlib.sha512(bytes(range(0xa0, 0xb0)) + b"alice" + b"pass1").hexdigest()
    let user = "448e70875dbf4e1f88b0df769999c463a6c6690673cd1c4ddc0d2b0353d62b83e452193d2726a238850813cba7440d6c671a4d319fa1d8186f41c4f198c57a6c";
    let helo = fixed_helo(true);
    let msg = ping_of(&client("secret-key", Some(("alice", "pass1"))), &helo);
    let p = Ping::decode(&msg).unwrap();
    assert_eq!(p.client_hostname, b"client.example");
    assert_eq!(p.shared_key_salt, SALT);
    assert_eq!(p.shared_key_digest, ping.as_bytes());
    assert_eq!(p.username, b"alice");
    assert_eq!(p.password_digest, user.as_bytes());

    let mut out = Vec::new();
    server(&[]).encode_pong_ok(&helo, SALT, &mut out);
    let mut want = Vec::new();
    write_array_len(&mut want, 5);
    write_str(&mut want, b"PONG");
    want.push(0xc3);
    write_str(&mut want, b"");
    write_str(&mut want, b"firelane-server");
    write_str(&mut want, pong.as_bytes());
    assert_eq!(out, want);
}

#[test]
fn a_right_key_and_password_pass_and_the_client_accepts_the_pong() {
    let helo = fixed_helo(true);
    let s = server(&[("bob", "x"), ("alice", "pass1")]);
    let c = client("secret-key", Some(("alice", "pass1")));
    assert_eq!(verify(&s, &helo, &ping_of(&c, &helo)), Ok(()));
    let mut pong = Vec::new();
    s.encode_pong_ok(&helo, SALT, &mut pong);
    c.verify_pong(&helo, SALT, &pong).unwrap();
}

#[test]
fn shared_key_only_ignores_the_user_fields() {
    let helo = fixed_helo(false);
    let c = client("secret-key", None);
    let msg = ping_of(&c, &helo);
    assert_eq!(Ping::decode(&msg).unwrap().username, b"");
    assert_eq!(verify(&server(&[]), &helo, &msg), Ok(()));
}

#[test]
fn wrong_key_wrong_password_and_unknown_user_are_refused() {
    let helo = fixed_helo(true);
    let s = server(&[("alice", "pass1")]);
    let cases = [
        (
            client("other-key", Some(("alice", "pass1"))),
            Rejection::SharedKeyMismatch,
        ),
        (
            client("secret-key", Some(("alice", "nope"))),
            Rejection::UserMismatch,
        ),
        (
            client("secret-key", Some(("mallory", "pass1"))),
            Rejection::UserMismatch,
        ),
        (client("secret-key", None), Rejection::UserMismatch),
    ];
    for (c, want) in cases {
        assert_eq!(verify(&s, &helo, &ping_of(&c, &helo)), Err(want), "{c:?}");
    }
    // A digest for another nonce (a replayed PING) fails too.
    let mut other = fixed_helo(true);
    other.nonce[0] ^= 1;
    let replay = ping_of(&client("secret-key", Some(("alice", "pass1"))), &other);
    assert_eq!(
        verify(&s, &helo, &replay),
        Err(Rejection::SharedKeyMismatch)
    );
}

#[test]
fn malformed_pings_are_refused_as_such() {
    let good = ping_of(&client("k", None), &fixed_helo(false));
    let mut trailing = good.clone();
    trailing.push(0xc0);
    let mut int_host = Vec::new();
    write_array_len(&mut int_host, 6);
    write_str(&mut int_host, b"PING");
    int_host.push(0x07);
    for _ in 0..4 {
        write_str(&mut int_host, b"x");
    }
    let mut nested = str_array(&[b"PING", b"h", b"s", b"d", b"u"]);
    nested[0] = 0x96;
    nested.push(0x90);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "five elements",
            str_array(&[b"PING", b"h", b"s", b"d", b"u"]),
        ),
        (
            "seven elements",
            str_array(&[b"PING", b"h", b"s", b"d", b"u", b"p", b"x"]),
        ),
        (
            "not PING",
            str_array(&[b"PONG", b"h", b"s", b"d", b"u", b"p"]),
        ),
        (
            "PING missing",
            str_array(&[b"h", b"s", b"d", b"u", b"p", b"q"]),
        ),
        ("int hostname", int_host),
        ("nested array", nested),
        ("map root", vec![0x81, 0xa1, b'a', 0x01]),
        ("str root", str_array(&[b"PING"])[1..].to_vec()),
        ("nil", vec![0xc0]),
        ("empty", Vec::new()),
        ("truncated", good[..good.len() - 1].to_vec()),
        ("trailing bytes", trailing),
    ];
    for (what, msg) in cases {
        assert_eq!(Ping::decode(&msg), Err(Rejection::MalformedPing), "{what}");
    }
}

#[test]
fn the_client_rejects_a_bad_pong() {
    let helo = fixed_helo(false);
    let c = client("secret-key", None);
    let mut wrong_key = Vec::new();
    ServerAuth {
        shared_key: Secret::new("other"),
        ..server(&[])
    }
    .encode_pong_ok(&helo, SALT, &mut wrong_key);
    assert!(matches!(
        c.verify_pong(&helo, SALT, &wrong_key),
        Err(HandshakeError::PongDigestMismatch)
    ));

    let mut own_host = Vec::new();
    ServerAuth {
        self_hostname: "client.example".to_owned(),
        ..server(&[])
    }
    .encode_pong_ok(&helo, SALT, &mut own_host);
    let e = c.verify_pong(&helo, SALT, &own_host).unwrap_err();
    assert_eq!(e.reason(), "hostname");

    let mut refused = Vec::new();
    encode_pong_rejected(Rejection::UserMismatch, &mut refused);
    match c.verify_pong(&helo, SALT, &refused) {
        Err(HandshakeError::Refused(r)) => assert_eq!(r, "username/password mismatch"),
        other => panic!("{other:?}"),
    }
    let short = str_array(&[b"PONG", b"x"]);
    assert!(matches!(
        c.verify_pong(&helo, SALT, &short),
        Err(HandshakeError::Malformed("PONG"))
    ));
}

#[test]
fn helo_round_trips_and_fluent_bit_style_helo_is_read() {
    let helo = fixed_helo(true);
    let mut out = Vec::new();
    helo.encode(&mut out);
    assert_eq!(Helo::decode(&out).unwrap(), helo);
    let mut no_users = Vec::new();
    fixed_helo(false).encode(&mut no_users);
    assert_eq!(Helo::decode(&no_users).unwrap(), fixed_helo(false));

    // Fluent Bit: str nonce and salt, no keepalive.
    let mut fb = Vec::new();
    write_array_len(&mut fb, 2);
    write_str(&mut fb, b"HELO");
    write_map_len(&mut fb, 2);
    write_str(&mut fb, b"nonce");
    write_str(&mut fb, &[0xff; 16]);
    write_str(&mut fb, b"auth");
    write_str(&mut fb, &[0x01; 16]);
    let h = Helo::decode(&fb).unwrap();
    assert_eq!(
        (h.nonce, h.auth_salt, h.keepalive),
        (vec![0xff; 16], vec![1; 16], false)
    );
    assert!(Helo::decode(&str_array(&[b"HELO"])).is_err());
}

#[test]
fn fresh_helos_and_salts_are_random() {
    let s = server(&[("a", "b")]);
    let (a, b) = (Helo::new(&s).unwrap(), Helo::new(&s).unwrap());
    assert_eq!((a.nonce.len(), a.auth_salt.len()), (16, 16));
    assert_ne!(a.nonce, b.nonce);
    assert!(Helo::new(&server(&[])).unwrap().auth_salt.is_empty());
    let salt = new_shared_key_salt().unwrap();
    assert_eq!(salt.len(), 32);
    assert_ne!(salt, new_shared_key_salt().unwrap());
}

#[test]
fn errors_never_show_secrets() {
    let s = server(&[("alice", "pass1")]);
    let text = format!(
        "{s:?} {:?} {}",
        client("secret-key", Some(("alice", "pass1"))),
        HandshakeError::Rejected(Rejection::SharedKeyMismatch)
    );
    assert!(
        !text.contains("secret-key") && !text.contains("pass1"),
        "{text}"
    );
}

proptest! {
    #[test]
    fn right_credentials_always_pass_and_another_key_never_does(
        key in "\\PC{0,40}",
        other in "\\PC{0,40}",
        host in "[a-z0-9.-]{1,40}",
        user in "[a-z]{1,12}",
        pass in "\\PC{1,24}",
    ) {
        let helo = Helo::new(&server(&[("x", "y")])).unwrap();
        let s = ServerAuth {
            self_hostname: "firelane-server".to_owned(),
            shared_key: Secret::new(key.clone()),
            users: vec![(user.clone(), Secret::new(pass.clone()))],
        };
        let c = ClientAuth {
            self_hostname: host,
            shared_key: Secret::new(key.clone()),
            username: Some(user),
            password: Some(Secret::new(pass)),
        };
        prop_assert_eq!(verify(&s, &helo, &ping_of(&c, &helo)), Ok(()));
        let mut pong = Vec::new();
        s.encode_pong_ok(&helo, SALT, &mut pong);
        prop_assert!(c.verify_pong(&helo, SALT, &pong).is_ok());
        if other != key {
            let wrong = ClientAuth { shared_key: Secret::new(other), ..c };
            prop_assert_eq!(
                verify(&s, &helo, &ping_of(&wrong, &helo)),
                Err(Rejection::SharedKeyMismatch)
            );
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Ping::decode(&bytes);
        let _ = Helo::decode(&bytes);
        let _ = client("k", None).verify_pong(&fixed_helo(false), SALT, &bytes);
    }

    #[test]
    fn ping_decoder_never_panics_on_ping_shaped_bytes(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut msg = vec![0x96, 0xa4, b'P', b'I', b'N', b'G'];
        msg.extend_from_slice(&tail);
        let _ = Ping::decode(&msg);
    }
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn client_and_server_halves_agree_over_a_stream() {
    let (mut a, mut b) = tokio::io::duplex(4096);
    let s = server(&[("alice", "pass1")]);
    let c = client("secret-key", Some(("alice", "pass1")));
    let srv = async {
        let ok = server_handshake(&mut b, &s, T).await.unwrap();
        let mut rest = ok.leftover.to_vec();
        while rest.len() < 5 {
            let mut more = [0u8; 16];
            let n = b.read(&mut more).await.unwrap();
            rest.extend_from_slice(&more[..n]);
        }
        (ok.client_hostname, ok.username, rest)
    };
    let cli = async {
        client_handshake(&mut a, &c, T).await.unwrap();
        a.write_all(b"after").await.unwrap();
    };
    let ((host, user, rest), ()) = tokio::join!(srv, cli);
    assert_eq!((host.as_str(), user.as_str()), ("client.example", "alice"));
    assert_eq!(
        rest, b"after",
        "bytes after the PING are the client's requests"
    );
}

#[tokio::test]
async fn a_refused_client_sees_the_reason_and_the_server_who_it_was() {
    let (mut a, mut b) = tokio::io::duplex(4096);
    let s = server(&[]);
    let c = client("wrong", None);
    let (srv, cli) = tokio::join!(
        server_handshake(&mut b, &s, T),
        client_handshake(&mut a, &c, T)
    );
    let f = srv.unwrap_err();
    assert_eq!(f.error.reason(), "shared_key_mismatch");
    assert_eq!(f.client_hostname.as_deref(), Some("client.example"));
    match cli {
        Err(HandshakeError::Refused(r)) => assert_eq!(r, "shared_key mismatch"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_times_out_and_an_oversized_ping_is_refused() {
    let (_a, mut b) = tokio::io::duplex(1 << 20);
    let f = server_handshake(&mut b, &server(&[]), T).await.unwrap_err();
    assert_eq!(f.error.reason(), "handshake_timeout");

    let (mut a, mut b) = tokio::io::duplex(1 << 20);
    let mut huge = Vec::new();
    write_array_len(&mut huge, 6);
    write_str(&mut huge, b"PING");
    write_str(&mut huge, &vec![b'h'; MAX_HANDSHAKE_MESSAGE_BYTES]);
    a.write_all(&huge).await.unwrap();
    let f = server_handshake(&mut b, &server(&[]), T).await.unwrap_err();
    assert_eq!(f.error.reason(), "message_too_large");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_the_client_out() {
    let (mut a, _b) = tokio::io::duplex(4096);
    let e = client_handshake(&mut a, &client("k", None), T)
        .await
        .unwrap_err();
    assert!(matches!(e, HandshakeError::Timeout(_)), "{e:?}");
}

#[tokio::test]
async fn a_ping_arriving_one_byte_at_a_time_is_read_whole() {
    let (mut a, mut b) = tokio::io::duplex(4096);
    let s = server(&[("alice", "pass1")]);
    let c = client("secret-key", Some(("alice", "pass1")));
    let cli = async {
        let mut buf = vec![0u8; 256];
        let n = a.read(&mut buf).await.unwrap();
        let helo = Helo::decode(&buf[..n]).unwrap();
        let mut ping = Vec::new();
        c.encode_ping(&helo, SALT, &mut ping);
        for byte in ping {
            a.write_all(&[byte]).await.unwrap();
            tokio::task::yield_now().await;
        }
        let n = a.read(&mut buf).await.unwrap();
        c.verify_pong(&helo, SALT, &buf[..n]).unwrap();
    };
    let (srv, ()) = tokio::join!(server_handshake(&mut b, &s, T), cli);
    assert!(srv.unwrap().leftover.is_empty());
}

#[tokio::test]
async fn a_helo_over_the_size_cap_ends_the_client_handshake() {
    let (mut a, mut b) = tokio::io::duplex(1 << 20);
    let mut huge = Vec::new();
    write_array_len(&mut huge, 2);
    write_str(&mut huge, b"HELO");
    write_str(&mut huge, &vec![b'n'; MAX_HANDSHAKE_MESSAGE_BYTES]);
    b.write_all(&huge).await.unwrap();
    let e = client_handshake(&mut a, &client("k", None), T)
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "message_too_large", "{e:?}");
}
