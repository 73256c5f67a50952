//! Where a row's record landed: read back from moto (CloudWatch Logs, S3, any region) or from the
//! aggregator's file, found by the row's unique marker, and checked against what the row wants.
//! When it is not where the row says, the report says where it went instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};

use super::row::Want;
use crate::common::moto::{ACCESS_KEY, SECRET_KEY};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Credentials of the test's account, or of `role` assumed through moto's STS (moto keeps each
/// account's resources apart, as AWS does).
pub fn credentials(endpoint: &str, role: Option<&str>) -> Credentials {
    let Some(role) = role else {
        return Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    };
    let body = format!("Action=AssumeRole&Version=2011-06-15&RoleSessionName=test&RoleArn={role}");
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read as _, Write as _};
    write!(
        conn,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let tag = |name: &str| {
        let start = answer
            .find(&format!("<{name}>"))
            .unwrap_or_else(|| panic!("{answer}"))
            + name.len()
            + 2;
        let end = answer[start..].find('<').unwrap() + start;
        answer[start..end].to_owned()
    };
    Credentials::new(
        tag("AccessKeyId"),
        tag("SecretAccessKey"),
        Some(tag("SessionToken")),
        None,
        "role",
    )
}

/// Every CloudWatch event of `region` whose message contains `marker`: (group, stream, message).
pub fn cloudwatch_events(
    endpoint: &str,
    region: &str,
    marker: &str,
    credentials: Credentials,
) -> Vec<(String, String, String)> {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .build();
    let client = aws_sdk_cloudwatchlogs::Client::from_conf(conf);
    runtime().block_on(async {
        let mut found = Vec::new();
        let groups = client.describe_log_groups().send().await.unwrap();
        for g in groups.log_groups() {
            let group = g.log_group_name().unwrap_or_default().to_owned();
            // filter_log_events searches every stream of the group.
            let mut token = None;
            loop {
                let resp = client
                    .filter_log_events()
                    .log_group_name(&group)
                    .set_next_token(token)
                    .send()
                    .await
                    .unwrap();
                for e in resp.events() {
                    let message = e.message().unwrap_or_default();
                    if message.contains(marker) {
                        let stream = e.log_stream_name().unwrap_or_default().to_owned();
                        found.push((group.clone(), stream, message.to_owned()));
                    }
                }
                token = resp.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        found
    })
}

/// Every line of every object of `bucket` (in `region`) that contains `marker`: (key, line).
pub fn s3_lines(endpoint: &str, region: &str, bucket: &str, marker: &str) -> Vec<(String, String)> {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    runtime().block_on(async {
        let mut found = Vec::new();
        let Ok(list) = client.list_objects_v2().bucket(bucket).send().await else {
            return found;
        };
        for o in list.contents() {
            let key = o.key().unwrap_or_default().to_owned();
            let obj = client
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            let gzip = obj.content_encoding() == Some("gzip");
            let body = obj.body.collect().await.unwrap().into_bytes().to_vec();
            let text = if gzip {
                use std::io::Read as _;
                let mut out = String::new();
                flate2::read::MultiGzDecoder::new(&body[..])
                    .read_to_string(&mut out)
                    .unwrap();
                out
            } else {
                String::from_utf8_lossy(&body).into_owned()
            };
            for line in text.lines().filter(|l| l.contains(marker)) {
                found.push((key.clone(), line.to_owned()));
            }
        }
        found
    })
}

/// Creates `bucket` in `region` (if missing) and puts `body` at `key`.
pub fn s3_put(endpoint: &str, region: &str, bucket: &str, key: &str, body: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    runtime().block_on(async {
        let mut create = client.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        // Several rows share a bucket: "already exists" is fine.
        let _ = create.send().await;
        if !key.is_empty() {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
}

/// Checks `message` against every want (already substituted); the first failure.
pub fn check_wants(message: &str, wants: &[(Want, String)]) -> Result<(), String> {
    for (want, value) in wants {
        match want {
            Want::Message(_) => {
                if message != value {
                    return Err(format!(
                        "message is {} bytes, not {}: {message:?}",
                        message.len(),
                        value.len()
                    ));
                }
            }
            Want::Field(key, _) => {
                let v: serde_json::Value = serde_json::from_str(message)
                    .map_err(|e| format!("message is not JSON ({e}): {message}"))?;
                let got = match &v[key] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => return Err(format!("no `{key}` in {message}")),
                    other => other.to_string(),
                };
                if &got != value {
                    return Err(format!(
                        "`{key}` is {} bytes, not {}: {got:?}, not {value:?}, in {message}",
                        got.len(),
                        value.len()
                    ));
                }
            }
        }
    }
    Ok(())
}
