use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const TASK: &[u8] = include_bytes!("../../../tests/data/ecs_task_v4.json");
const MS: Duration = Duration::from_millis(1);

/// A local HTTP server that answers its n-th connection with `responses[n]` (the last one
/// repeats) and records each request head.
async fn serve(responses: Vec<Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let response = &responses[n.min(responses.len() - 1)];
            let _ = sock.write_all(response).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}/v4/0d5e2e3c-7b1f"), seen)
}

fn with_length(status: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(700) {
        r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        r.extend_from_slice(chunk);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

#[tokio::test]
async fn gets_the_task_endpoint_with_content_length() {
    let (uri, seen) = serve(vec![with_length("200 OK", TASK)]).await;
    let meta = fetch_task_metadata(&uri, 1, MS).await.unwrap();
    assert_eq!(meta, TaskMetadata::from_json(TASK).unwrap());
    let seen = seen.lock().unwrap();
    assert!(
        seen[0].starts_with("GET /v4/0d5e2e3c-7b1f/task HTTP/1.1\r\n"),
        "{}",
        seen[0]
    );
    let host = uri.trim_start_matches("http://").split('/').next().unwrap();
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains(&format!("host: {host}\r\n"))
    );
}

#[tokio::test]
async fn retries_after_a_500_and_reads_a_chunked_body() {
    let (uri, seen) = serve(vec![
        with_length("500 Internal Server Error", b"agent not ready"),
        chunked(TASK),
    ])
    .await;
    let meta = fetch_task_metadata(&format!("{uri}/"), 3, MS)
        .await
        .unwrap();
    assert_eq!(meta.task_id, "e9028f8d5d8e4f258373e7b93ce9a3c3");
    assert_eq!(meta.cluster_name, "prod-web");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].starts_with("GET /v4/0d5e2e3c-7b1f/task "),
        "{}",
        seen[1]
    );
}

#[tokio::test]
async fn gives_up_after_the_last_attempt_with_the_last_reason() {
    let (uri, seen) = serve(vec![with_length("503 Service Unavailable", b"")]).await;
    let err = fetch_task_metadata(&uri, 3, MS).await.unwrap_err();
    let MetadataError::Fetch {
        uri: shown,
        attempts,
        last,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(shown, &format!("{uri}/task"));
    assert_eq!(*attempts, 3);
    assert_eq!(last, "HTTP status 503 Service Unavailable");
    assert_eq!(seen.lock().unwrap().len(), 3);
    // A body that is not task metadata is retried too, and says why it failed.
    let (uri, _) = serve(vec![with_length("200 OK", b"{\"Cluster\":\"c\"}")]).await;
    let err = fetch_task_metadata(&uri, 0, MS)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("after 1 attempt(s)"), "{err}");
    assert!(err.ends_with("no `TaskARN` field"), "{err}");
}

#[tokio::test]
async fn a_closed_port_and_an_oversized_body_are_failures() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = fetch_task_metadata(&format!("http://{addr}/v4/x"), 2, MS)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("connect: "), "{err}");
    let (uri, _) = serve(vec![with_length(
        "200 OK",
        &vec![b' '; MAX_METADATA_BYTES + 1],
    )])
    .await;
    let err = fetch_task_metadata(&uri, 1, MS)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("response body"), "{err}");
}

#[tokio::test]
async fn only_http_uris_with_a_host_are_accepted() {
    for bad in [
        "",
        "not a uri",
        "https://169.254.170.2/v4/x",
        "/v4/x",
        "http:///v4",
    ] {
        assert_eq!(
            fetch_task_metadata(bad, 1, MS).await.unwrap_err(),
            MetadataError::BadUri(bad.to_owned()),
            "{bad}"
        );
    }
    let t = Target::parse("http://169.254.170.2/v4/abc").unwrap();
    assert_eq!((t.host.as_str(), t.port), ("169.254.170.2", 80));
    assert_eq!(t.path, "/v4/abc/task");
    let t = Target::parse("http://[::1]:51679").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("::1", 51679, "/task")
    );
}
