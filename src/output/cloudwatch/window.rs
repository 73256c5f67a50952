//! CloudWatch Logs' acceptance window for event timestamps; pure.

/// CloudWatch rejects events older than 14 days.
pub const MAX_AGE_MS: i64 = 14 * 86_400_000;
/// CloudWatch rejects events more than 2 hours in the future.
pub const MAX_AHEAD_MS: i64 = 2 * 3_600_000;

/// Where a timestamp stands against CloudWatch's acceptance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Ok,
    /// More than 14 days before now: CloudWatch would reject it.
    TooOld,
    /// More than 2 hours after now: CloudWatch would reject it.
    TooNew,
}

/// Checks an event against the window CloudWatch accepts, at `now_ms` (ms since the Unix epoch).
pub fn check_window(timestamp_ms: i64, now_ms: i64) -> Window {
    if timestamp_ms < now_ms.saturating_sub(MAX_AGE_MS) {
        Window::TooOld
    } else if timestamp_ms > now_ms.saturating_add(MAX_AHEAD_MS) {
        Window::TooNew
    } else {
        Window::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_edges() {
        let now = 1_700_000_000_000;
        assert_eq!(check_window(now, now), Window::Ok);
        assert_eq!(check_window(now - MAX_AGE_MS, now), Window::Ok);
        assert_eq!(check_window(now - MAX_AGE_MS - 1, now), Window::TooOld);
        assert_eq!(check_window(now + MAX_AHEAD_MS, now), Window::Ok);
        assert_eq!(check_window(now + MAX_AHEAD_MS + 1, now), Window::TooNew);
        assert_eq!(check_window(i64::MIN, i64::MIN), Window::Ok);
        assert_eq!(check_window(i64::MAX, i64::MAX), Window::Ok);
    }
}
