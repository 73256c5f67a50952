//! How much a Forward connection offers each read. A read returns what the socket holds, so the
//! space offered caps a batch, never delays one: a quiet connection reads small batches whatever
//! the space.
//!
//! A connection with a filter stage offers more when few connections share the input: while its
//! stage filters one batch, the socket fills, and the next read takes it all. Each batch handed
//! to the stage costs two wake-ups (the connection's, the output's) and a round of per-batch
//! work, so bigger batches leave more of the cores to the filters (measured in
//! docs/perf/notebook.md, 2026-12-03, second session). A staged connection holds up to three batches its input's budget has
//! not charged yet (decoding, queued, filtering; see `submit`), so the extra space is a share of
//! that budget split over the input's connections, and never below the configured chunk.

/// Keep at least this much free space for the next read (smaller reads cost syscalls).
pub(super) const MIN_READ_SPACE_BYTES: usize = 64 * 1024;

/// The most a staged connection reserves at once, unless `buffer_chunk_size` is larger.
pub(super) const STAGED_CHUNK_MAX_BYTES: usize = 512 * 1024;

/// Share of the input's budget that the reads of all its staged connections may reserve at
/// once: 1/8, so the three uncharged batches of every connection stay within 3/8 of it.
const BUDGET_SHARE_DIVISOR: usize = 8;

/// Bytes to reserve when the read space runs low: the configured `buffer_chunk_size`, or for a
/// connection with a filter stage, its share of the input's budget (`limit_bytes` split over
/// `active` connections) up to [`STAGED_CHUNK_MAX_BYTES`], whichever is larger.
pub(super) fn chunk_bytes(
    configured: usize,
    staged: bool,
    limit_bytes: usize,
    active: usize,
) -> usize {
    let configured = configured.max(MIN_READ_SPACE_BYTES);
    if !staged {
        return configured;
    }
    let share = limit_bytes / BUDGET_SHARE_DIVISOR / active.max(1);
    share.min(STAGED_CHUNK_MAX_BYTES).max(configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;

    #[test]
    fn without_a_stage_the_configured_chunk_is_used() {
        assert_eq!(chunk_bytes(128 * KIB, false, 32 * MIB, 1), 128 * KIB);
        assert_eq!(
            chunk_bytes(4 * KIB, false, 32 * MIB, 1),
            MIN_READ_SPACE_BYTES
        );
    }

    #[test]
    fn a_lone_staged_connection_reads_up_to_the_cap() {
        assert_eq!(
            chunk_bytes(128 * KIB, true, 32 * MIB, 1),
            STAGED_CHUNK_MAX_BYTES
        );
        // A count of zero (read between accept and the count) is taken as one.
        assert_eq!(
            chunk_bytes(128 * KIB, true, 32 * MIB, 0),
            STAGED_CHUNK_MAX_BYTES
        );
    }

    #[test]
    fn the_budget_share_shrinks_with_connections_and_small_budgets_but_not_below_the_chunk() {
        // 32 MiB / 8 / 16 = 256 KiB each.
        assert_eq!(chunk_bytes(128 * KIB, true, 32 * MIB, 16), 256 * KIB);
        // 100 connections: the share (40 KiB) is under the configured chunk.
        assert_eq!(chunk_bytes(128 * KIB, true, 32 * MIB, 100), 128 * KIB);
        // A 2 MiB budget: 256 KiB for one connection.
        assert_eq!(chunk_bytes(128 * KIB, true, 2 * MIB, 1), 256 * KIB);
        assert_eq!(chunk_bytes(128 * KIB, true, 512 * KIB, 1), 128 * KIB);
    }

    #[test]
    fn a_configured_chunk_above_the_cap_is_kept() {
        assert_eq!(chunk_bytes(2 * MIB, true, 32 * MIB, 1), 2 * MIB);
        assert_eq!(chunk_bytes(2 * MIB, false, 32 * MIB, 1), 2 * MIB);
    }

    /// Whatever the connection count, every staged connection's three uncharged batches together
    /// stay within 3/8 of the budget, or within what the configured chunk alone would give.
    #[test]
    fn uncharged_reads_stay_bounded() {
        for limit in [512 * KIB, 8 * MIB, 32 * MIB, 1024 * MIB] {
            for active in [1, 2, 7, 64, 1000] {
                let chunk = chunk_bytes(128 * KIB, true, limit, active);
                let total = 3 * chunk * active;
                assert!(
                    total <= (3 * limit / 8).max(3 * 128 * KIB * active),
                    "limit {limit} active {active}: {total}"
                );
            }
        }
    }
}
