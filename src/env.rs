//! The environment as configuration loading reads it: through [`Env`], so that tests pass their
//! own variables and never read or change the process's, and so that start-up can add variables
//! (the ECS task's, see [`crate::init`]) without mutating the process environment.
//!
//! Invariant: an [`Overlay`] never hides a variable of its base: what the user set wins.

use std::collections::BTreeMap;

/// Where `${VAR}` values and other environment settings come from.
pub trait Env: Send + Sync {
    /// The value of `name`, if it is set (to anything, the empty string included) and UTF-8.
    fn var(&self, name: &str) -> Option<String>;
    /// Every variable whose name and value are UTF-8, in no particular order.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

/// A fixed set of variables (tests, and anything built in memory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapEnv(pub BTreeMap<String, String>);

impl MapEnv {
    pub fn new<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn vars(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// `base`, plus `extra` for the names `base` does not have.
pub struct Overlay<'a> {
    pub base: &'a dyn Env,
    pub extra: &'a [(String, String)],
}

impl Env for Overlay<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.base.var(name).or_else(|| {
            self.extra
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn vars(&self) -> Vec<(String, String)> {
        let mut all = self.base.vars();
        for (k, v) in self.extra {
            if self.base.var(k).is_none() {
                all.push((k.clone(), v.clone()));
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_adds_variables_but_never_hides_the_base() {
        let base = MapEnv::new([("ECS_CLUSTER", "mine"), ("EMPTY", "")]);
        let extra = [
            ("ECS_CLUSTER".to_owned(), "from-metadata".to_owned()),
            ("EMPTY".to_owned(), "from-metadata".to_owned()),
            ("ECS_TASK_ID".to_owned(), "abc".to_owned()),
        ];
        let env = Overlay {
            base: &base,
            extra: &extra,
        };
        assert_eq!(env.var("ECS_CLUSTER").as_deref(), Some("mine"));
        assert_eq!(env.var("EMPTY").as_deref(), Some(""), "set to empty is set");
        assert_eq!(env.var("ECS_TASK_ID").as_deref(), Some("abc"));
        assert_eq!(env.var("NOPE"), None);
        let mut all = env.vars();
        all.sort();
        assert_eq!(
            all,
            [
                ("ECS_CLUSTER".to_owned(), "mine".to_owned()),
                ("ECS_TASK_ID".to_owned(), "abc".to_owned()),
                ("EMPTY".to_owned(), String::new()),
            ]
        );
    }
}
