//! Reads what moto's S3 holds, through the real SDK (path-style, static test credentials).

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

use super::moto::{ACCESS_KEY, Moto, REGION, SECRET_KEY};

/// One object as stored.
#[derive(Debug, Clone)]
pub struct Object {
    pub key: String,
    pub body: Vec<u8>,
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
    pub storage_class: Option<String>,
    /// The ETag S3 gave the object: a PutObject's is the body's MD5, a multipart upload's ends
    /// with `-<number of parts>`.
    pub e_tag: Option<String>,
}

impl Object {
    /// Whether the object was created by a multipart upload (its ETag says so).
    pub fn is_multipart(&self) -> bool {
        self.e_tag.as_deref().is_some_and(|t| t.contains('-'))
    }
}

impl Object {
    /// The body decompressed by its Content-Encoding.
    pub fn text(&self) -> String {
        use std::io::Read as _;
        let raw = match self.content_encoding.as_deref() {
            Some("gzip") => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
                out
            }
            Some("zstd") => zstd::decode_all(&self.body[..]).unwrap(),
            _ => self.body.clone(),
        };
        String::from_utf8(raw).unwrap()
    }

    /// The JSON lines of the object.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// A bucket in moto.
pub struct Bucket {
    rt: tokio::runtime::Runtime,
    pub client: Client,
    pub name: String,
}

impl Bucket {
    /// Creates `name` in `moto`.
    pub fn create(moto: &Moto, name: &str) -> Self {
        let b = Self::absent(moto, name);
        b.create_now();
        b
    }

    /// A reader of `name`, which does not exist yet ([`Bucket::create_now`] creates it).
    pub fn absent(moto: &Moto, name: &str) -> Self {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
            .build();
        Bucket {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: Client::from_conf(conf),
            name: name.to_owned(),
        }
    }

    pub fn create_now(&self) {
        self.rt
            .block_on(self.client.create_bucket().bucket(&self.name).send())
            .unwrap();
    }

    /// Keys in the bucket, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.rt.block_on(async {
            let mut keys = Vec::new();
            let mut token = None;
            loop {
                let Ok(resp) = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.name)
                    .set_continuation_token(token)
                    .send()
                    .await
                else {
                    return keys;
                };
                keys.extend(
                    resp.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_owned)),
                );
                match resp.next_continuation_token() {
                    Some(t) => token = Some(t.to_owned()),
                    None => break,
                }
            }
            keys.sort();
            keys
        })
    }

    /// Every object, sorted by key.
    pub fn objects(&self) -> Vec<Object> {
        self.keys().into_iter().map(|k| self.get(&k)).collect()
    }

    pub fn get(&self, key: &str) -> Object {
        self.rt.block_on(async {
            let resp = self
                .client
                .get_object()
                .bucket(&self.name)
                .key(key)
                .send()
                .await
                .unwrap();
            let content_encoding = resp.content_encoding().map(str::to_owned);
            let content_type = resp.content_type().map(str::to_owned);
            let storage_class = resp.storage_class().map(|s| s.as_str().to_owned());
            let e_tag = resp.e_tag().map(str::to_owned);
            let body = resp.body.collect().await.unwrap().into_bytes().to_vec();
            Object {
                key: key.to_owned(),
                body,
                content_encoding,
                content_type,
                storage_class,
                e_tag,
            }
        })
    }

    /// Starts a multipart upload; returns its id.
    pub fn create_multipart(&self, key: &str) -> String {
        self.rt.block_on(async {
            let out = self
                .client
                .create_multipart_upload()
                .bucket(&self.name)
                .key(key)
                .send()
                .await
                .unwrap();
            out.upload_id().unwrap().to_owned()
        })
    }

    /// Uploads one part; returns its ETag.
    pub fn upload_part(&self, key: &str, upload_id: &str, number: i32, body: Vec<u8>) -> String {
        self.rt.block_on(async {
            let out = self
                .client
                .upload_part()
                .bucket(&self.name)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body.into())
                .send()
                .await
                .unwrap();
            out.e_tag().unwrap().to_owned()
        })
    }

    /// Multipart uploads still open.
    pub fn open_uploads(&self) -> usize {
        self.rt.block_on(async {
            self.client
                .list_multipart_uploads()
                .bucket(&self.name)
                .send()
                .await
                .map(|r| r.uploads().len())
                .unwrap_or(0)
        })
    }
}

/// Files in an S3 output's store directory other than its own dot files (lock, reserve): what
/// is still staged.
pub fn staged_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}
