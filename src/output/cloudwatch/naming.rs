//! Which (log group, log stream) an event goes to, from the static names, the prefix + tag rule and
//! the templates, with a fallback to the static name whenever a template cannot be rendered.
//!
//! Names are interned (`Arc<str>`), so a stream key is two refcount increments per event. When no
//! template reads the record, the key depends on the tag only and is cached for the last tag seen
//! (batches reach an output one tag at a time). The interner is cleared when it grows past
//! [`MAX_INTERNED`], which is how names of streams gone idle are forgotten.

use std::collections::HashMap;
use std::sync::Arc;

use super::batcher::StreamKey;
use super::sanitize::{sanitize_group, sanitize_stream};
use crate::config::output::cloudwatch::CloudWatchOutputConfig;
use crate::template::log_name::{NameTemplate, TemplateError};

/// Distinct names kept before the interner starts over.
pub const MAX_INTERNED: usize = 10_000;

#[derive(Debug)]
enum StreamRule {
    /// `log_stream_name`.
    Fixed(Arc<str>),
    /// `log_stream_prefix` + tag.
    Prefix(String),
}

/// Resolves the stream key of each event.
#[derive(Debug)]
pub struct Naming {
    group: Arc<str>,
    group_template: Option<NameTemplate>,
    stream: StreamRule,
    stream_template: Option<NameTemplate>,
    reads_record: bool,
    last: Option<(Arc<str>, StreamKey)>,
    interned: HashMap<Box<str>, Arc<str>>,
    scratch: String,
}

impl Naming {
    /// From validated options (`log_group_name` and one of `log_stream_name` / `log_stream_prefix`).
    pub fn new(cfg: &CloudWatchOutputConfig) -> Result<Self, TemplateError> {
        let group_template = cfg
            .log_group_template
            .as_deref()
            .map(NameTemplate::parse)
            .transpose()?;
        let stream_template = cfg
            .log_stream_template
            .as_deref()
            .map(NameTemplate::parse)
            .transpose()?;
        let stream = match (&cfg.log_stream_name, &cfg.log_stream_prefix) {
            (Some(name), _) => StreamRule::Fixed(Arc::from(name.as_str())),
            (None, prefix) => StreamRule::Prefix(prefix.clone().unwrap_or_default()),
        };
        let reads_record = group_template
            .as_ref()
            .is_some_and(NameTemplate::uses_record)
            || stream_template
                .as_ref()
                .is_some_and(NameTemplate::uses_record);
        Ok(Self {
            group: Arc::from(cfg.log_group_name.as_deref().unwrap_or_default()),
            group_template,
            stream,
            stream_template,
            reads_record,
            last: None,
            interned: HashMap::new(),
            scratch: String::new(),
        })
    }

    /// The stream key of an event with this tag and record (one msgpack map).
    pub fn key(&mut self, tag: &Arc<str>, record: &[u8]) -> StreamKey {
        if !self.reads_record
            && let Some((last_tag, key)) = &self.last
            && (Arc::ptr_eq(last_tag, tag) || **last_tag == **tag)
        {
            return key.clone();
        }
        let group = self.group_name(tag, record);
        let stream = self.stream_name(tag, record);
        let key = StreamKey { group, stream };
        if !self.reads_record {
            self.last = Some((tag.clone(), key.clone()));
        }
        key
    }

    fn group_name(&mut self, tag: &str, record: &[u8]) -> Arc<str> {
        if let Some(t) = &self.group_template
            && t.render(tag, record, &mut self.scratch)
            && sanitize_group(&mut self.scratch)
        {
            return self.intern_scratch();
        }
        self.group.clone()
    }

    fn stream_name(&mut self, tag: &str, record: &[u8]) -> Arc<str> {
        if let Some(t) = &self.stream_template
            && t.render(tag, record, &mut self.scratch)
            && sanitize_stream(&mut self.scratch)
        {
            return self.intern_scratch();
        }
        match &self.stream {
            StreamRule::Fixed(name) => name.clone(),
            StreamRule::Prefix(prefix) => {
                self.scratch.clear();
                self.scratch.push_str(prefix);
                self.scratch.push_str(tag);
                sanitize_stream(&mut self.scratch);
                self.intern_scratch()
            }
        }
    }

    fn intern_scratch(&mut self) -> Arc<str> {
        if let Some(name) = self.interned.get(self.scratch.as_str()) {
            return name.clone();
        }
        if self.interned.len() >= MAX_INTERNED {
            self.interned.clear();
        }
        let name: Arc<str> = Arc::from(self.scratch.as_str());
        self.interned
            .insert(Box::from(self.scratch.as_str()), name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml_body: &str) -> CloudWatchOutputConfig {
        toml::from_str(&format!("match = \"*\"\n{toml_body}")).unwrap()
    }

    fn record(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::msgpack::writer::write_map_len(&mut out, pairs.len() as u32);
        for (k, v) in pairs {
            crate::msgpack::writer::write_str(&mut out, k.as_bytes());
            crate::msgpack::writer::write_str(&mut out, v.as_bytes());
        }
        out
    }

    #[test]
    fn prefix_plus_tag_is_the_firelens_form() {
        let mut n = Naming::new(&cfg(
            "log_group_name = \"/ecs/app\"\nlog_stream_prefix = \"app/\"",
        ))
        .unwrap();
        let tag: Arc<str> = Arc::from("web-firelens-1234");
        let k = n.key(&tag, &record(&[]));
        assert_eq!(&*k.group, "/ecs/app");
        assert_eq!(&*k.stream, "app/web-firelens-1234");
        let other: Arc<str> = Arc::from("db:firelens*9");
        assert_eq!(&*n.key(&other, &record(&[])).stream, "app/db_firelens_9");
    }

    #[test]
    fn templates_read_the_record_and_fall_back_to_static_names() {
        let mut n = Naming::new(&cfg(
            "log_group_name = \"fallback\"\nlog_group_template = \"/ecs/$cluster\"\n\
             log_stream_name = \"static\"\nlog_stream_template = \"$TAG[1]/$container_name\"",
        ))
        .unwrap();
        let tag: Arc<str> = Arc::from("ecs.web");
        let k = n.key(
            &tag,
            &record(&[("cluster", "prod"), ("container_name", "nginx")]),
        );
        assert_eq!((&*k.group, &*k.stream), ("/ecs/prod", "web/nginx"));
        let k = n.key(&tag, &record(&[("log", "x")]));
        assert_eq!((&*k.group, &*k.stream), ("fallback", "static"));
    }

    #[test]
    fn names_are_interned() {
        let mut n = Naming::new(&cfg(
            "log_group_name = \"g\"\nlog_stream_name = \"s\"\nlog_stream_template = \"$c\"",
        ))
        .unwrap();
        let tag: Arc<str> = Arc::from("t");
        let a = n.key(&tag, &record(&[("c", "one")]));
        let b = n.key(&tag, &record(&[("c", "one")]));
        assert!(Arc::ptr_eq(&a.stream, &b.stream));
    }
}
