//! Per-connection tag interning: the same tag bytes give the same `Arc<str>` without allocating.
//!
//! Invariants: a tag is resolved once per frame, not per event; the cache holds at most
//! [`TAG_CACHE_SLOTS`] tags (a peer sending ever-new tags costs one allocation per frame, never
//! unbounded memory); tag bytes that are not UTF-8 are converted lossily (U+FFFD).

use std::sync::Arc;

/// Recent distinct tags remembered per connection. Docker sends one tag per connection; fluentd
/// forwarders send a handful.
pub const TAG_CACHE_SLOTS: usize = 8;

/// Resolves the raw tag of each frame to the tag events carry (override, prefix), per connection.
#[derive(Debug, Clone)]
pub struct TagCache {
    tag_override: Option<Arc<str>>,
    prefix: Option<Arc<str>>,
    /// (raw tag bytes as received, resolved tag), most recently used first.
    recent: Vec<(Box<[u8]>, Arc<str>)>,
}

impl TagCache {
    /// `tag_override` replaces every tag; `prefix` is prepended to received tags (not to the
    /// override). Remembers recent tags so the same tag bytes give the same `Arc<str>` without
    /// allocating (Docker sends one tag per connection).
    pub fn new(tag_override: Option<Arc<str>>, prefix: Option<Arc<str>>) -> Self {
        Self {
            tag_override,
            prefix,
            recent: Vec::with_capacity(TAG_CACHE_SLOTS),
        }
    }

    /// The tag for events of a frame whose tag bytes are `raw`.
    pub fn resolve(&mut self, raw: &[u8]) -> Arc<str> {
        if let Some(tag) = &self.tag_override {
            return Arc::clone(tag);
        }
        if let Some(i) = self.recent.iter().position(|(k, _)| &**k == raw) {
            // Keep the most recent first so the common single-tag case is one comparison.
            if i > 0 {
                self.recent[..=i].rotate_right(1);
            }
            return Arc::clone(&self.recent[0].1);
        }
        let text = String::from_utf8_lossy(raw);
        let tag: Arc<str> = match &self.prefix {
            Some(p) => Arc::from(format!("{p}{text}")),
            None => Arc::from(text.as_ref()),
        };
        if self.recent.len() == TAG_CACHE_SLOTS {
            self.recent.pop();
        }
        self.recent.insert(0, (raw.into(), Arc::clone(&tag)));
        tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_give_the_same_arc() {
        let mut c = TagCache::new(None, None);
        let a = c.resolve(b"app");
        let _ = c.resolve(b"other");
        let b = c.resolve(b"app");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "app");
    }

    #[test]
    fn prefix_is_prepended_and_override_wins() {
        let mut c = TagCache::new(None, Some(Arc::from("docker.")));
        assert_eq!(&*c.resolve(b"web"), "docker.web");
        let mut c = TagCache::new(Some(Arc::from("fixed")), Some(Arc::from("p.")));
        assert_eq!(&*c.resolve(b"web"), "fixed");
    }

    #[test]
    fn non_utf8_tag_is_converted_lossily() {
        let mut c = TagCache::new(None, None);
        assert_eq!(&*c.resolve(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn cache_stays_bounded_and_evicts_the_least_recent() {
        let mut c = TagCache::new(None, None);
        let first = c.resolve(b"t0");
        for i in 1..=TAG_CACHE_SLOTS {
            let _ = c.resolve(format!("t{i}").as_bytes());
        }
        assert_eq!(c.recent.len(), TAG_CACHE_SLOTS);
        // "t0" was evicted: resolving it again allocates a new Arc with the same text.
        let again = c.resolve(b"t0");
        assert_eq!(first, again);
        assert!(!Arc::ptr_eq(&first, &again));
    }
}
