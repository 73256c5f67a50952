//! `name = "throttle"`: the filter's options and how they build it.

use serde::Deserialize;

use crate::config::common::entry_options;
use crate::config::units::Flag;
use crate::filter::throttle::{DEFAULT_INTERVAL, DEFAULT_WINDOW, Throttle, parse_interval};

entry_options! {
    /// `name = "throttle"`.
    #[derive(Debug, Clone, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ThrottleConfig ["throttle"] {
        /// Records allowed per interval, averaged over the window.
        #[serde(default)]
        pub rate: u64,
        /// Intervals in the sliding window (default 5).
        pub window: Option<u32>,
        /// Length of one interval: `1s` (default), `500ms`, `1m`, `1h`.
        pub interval: Option<String>,
        /// Log the current rate every interval (default false).
        #[serde(default)]
        pub print_status: Flag,
    }
}

impl ThrottleConfig {
    pub fn build(&self) -> Result<Throttle, String> {
        let interval = match &self.interval {
            Some(i) => parse_interval(i).map_err(|e| e.to_string())?,
            None => DEFAULT_INTERVAL,
        };
        Throttle::new(self.rate, self.window.unwrap_or(DEFAULT_WINDOW), interval)
            .map_err(|e| e.to_string())
    }
}
