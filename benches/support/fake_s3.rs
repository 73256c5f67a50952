//! A local HTTP endpoint that accepts S3 uploads at once (PutObject, CreateMultipartUpload,
//! UploadPart, CompleteMultipartUpload), reading and discarding every body: it measures the S3
//! output's own cost (staging, compression, fsync, SDK), not a server's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// Starts the endpoint on a free port (one thread per connection); returns the port.
pub fn start() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    port
}

/// Keep-alive loop: read the head (answering `Expect: 100-continue`), read the body, answer.
fn serve(conn: TcpStream) {
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::with_capacity(1 << 20, conn);
    let mut line = String::new();
    let mut body = vec![0u8; 1 << 20];
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut content_length = 0u64;
        let mut expect_continue = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("expect") {
                    expect_continue = value.trim().eq_ignore_ascii_case("100-continue");
                }
            }
        }
        if expect_continue && writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return;
        }
        let mut left = content_length;
        while left > 0 {
            let n = body.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            if reader.read_exact(&mut body[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/");
        let xml = if request_line.starts_with("POST") && path.contains("uploads") {
            let id = UPLOADS.fetch_add(1, Ordering::Relaxed);
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>upload-{id}</UploadId></InitiateMultipartUploadResult>"
            )
        } else if request_line.starts_with("POST") {
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><ETag>\"done\"</ETag></CompleteMultipartUploadResult>".to_owned()
        } else {
            String::new()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nETag: \"0123456789abcdef\"\r\nx-amz-request-id: bench\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
            xml.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(xml.as_bytes()).is_err() {
            return;
        }
    }
}
