//! The process's allocator: jemalloc, with background purging so that memory freed after a burst
//! goes back to the kernel within about a second.
//!
//! Why: with glibc's malloc, firelane's RSS stayed ~50 MiB above what was in use after an output
//! came back from an outage (per-thread arenas keep freed memory), which is what took it past a
//! 64 MiB container's limit; jemalloc with these options went back to ~6 MiB above it, and
//! mimalloc kept more than glibc (docs/guide/delivery.md, Memory). The options are compiled in: the crate's
//! `background_threads` feature, and [`EXPECTED_CONF`] from `.cargo/config.toml`.

use tikv_jemalloc_ctl::{config, epoch, stats};

use crate::telemetry::{ALLOCATOR_ALLOCATED, ALLOCATOR_RESIDENT};

/// The allocator of every binary linked with this library (the router, its tests and benches).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The decay options `.cargo/config.toml` compiles in.
pub const EXPECTED_CONF: &str = "dirty_decay_ms:1000,muzzy_decay_ms:0";

/// jemalloc's compiled-in options, e.g. `background_thread:true,dirty_decay_ms:1000,...`.
pub fn compiled_conf() -> &'static str {
    config::malloc_conf::read().unwrap_or("")
}

/// A one-line description for the start-up log and `firelane validate`, with a warning when the
/// binary was built without the project's `.cargo/config.toml` (RSS then lags ~10 s behind use).
pub fn describe() -> (String, Option<String>) {
    let conf = compiled_conf();
    // jemalloc's string may carry its terminating NUL.
    let line = format!("jemalloc ({})", conf.trim_end_matches('\0').trim());
    let warning = (!conf.contains(EXPECTED_CONF)).then(|| {
        format!(
            "this binary's allocator lacks `{EXPECTED_CONF}` (built without the project's \
             .cargo/config.toml?): freed memory returns to the kernel more slowly"
        )
    });
    (line, warning)
}

/// Sets the allocator gauges: bytes the program has allocated (capacity not written yet included,
/// which is not resident), and the pages of the allocator's active extents, metadata and freed
/// pages not yet purged.
pub fn sample_gauges() {
    if epoch::advance().is_err() {
        return;
    }
    if let Ok(n) = stats::allocated::read() {
        metrics::gauge!(ALLOCATOR_ALLOCATED).set(n as f64);
    }
    if let Ok(n) = stats::resident::read() {
        metrics::gauge!(ALLOCATOR_RESIDENT).set(n as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decay_options_are_compiled_in_with_background_purging() {
        let conf = compiled_conf();
        assert!(conf.contains(EXPECTED_CONF), "{conf}");
        assert!(conf.contains("background_thread:true"), "{conf}");
        let (line, warning) = describe();
        assert_eq!(warning, None);
        assert!(
            line.starts_with("jemalloc (") && line.ends_with(":0)"),
            "{line:?}"
        );
    }

    #[test]
    fn allocated_bytes_follow_an_allocation() {
        epoch::advance().unwrap();
        let before = stats::allocated::read().unwrap();
        let big = vec![1u8; 64 << 20];
        epoch::advance().unwrap();
        let during = stats::allocated::read().unwrap();
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        drop(big);
    }
}
