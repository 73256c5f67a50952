//! Component health: every input and output registers here; /health reads a snapshot.
//!
//! A component is healthy while it runs and has had at most `errors_threshold` failures within
//! the last `period` (Fluent Bit's HC_Errors_Count / HC_Period). Pure bookkeeping: callers pass `now`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Kind of component, shown in the /health body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Input,
    Output,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
        }
    }
}

#[derive(Debug)]
struct State {
    running: bool,
    /// Times of recent failures, oldest first, trimmed to `period` and capped in length.
    failures: VecDeque<Instant>,
    last_error: Option<String>,
}

#[derive(Debug)]
struct Component {
    kind: ComponentKind,
    name: Arc<str>,
    state: Mutex<State>,
}

/// Handle a component uses to report its state.
#[derive(Debug, Clone)]
pub struct ComponentHealth {
    inner: Arc<Component>,
}

/// Snapshot of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentStatus {
    pub kind: ComponentKind,
    pub name: Arc<str>,
    pub running: bool,
    pub recent_errors: usize,
    pub last_error: Option<String>,
    pub healthy: bool,
}

/// All components of the running pipeline.
#[derive(Debug, Clone)]
pub struct Registry {
    components: Arc<Mutex<Vec<Arc<Component>>>>,
    errors_threshold: usize,
    period: Duration,
}

/// Failures remembered per component; more than any sane threshold.
const MAX_REMEMBERED_FAILURES: usize = 1024;

impl Registry {
    pub fn new(errors_threshold: u32, period: Duration) -> Self {
        Self {
            components: Arc::default(),
            errors_threshold: errors_threshold as usize,
            period,
        }
    }

    /// Registers a component, initially running.
    pub fn register(&self, kind: ComponentKind, name: Arc<str>) -> ComponentHealth {
        let inner = Arc::new(Component {
            kind,
            name,
            state: Mutex::new(State {
                running: true,
                failures: VecDeque::new(),
                last_error: None,
            }),
        });
        lock(&self.components).push(inner.clone());
        ComponentHealth { inner }
    }

    /// Status of every component at `now`.
    pub fn snapshot(&self, now: Instant) -> Vec<ComponentStatus> {
        lock(&self.components)
            .iter()
            .map(|c| {
                let mut st = lock(&c.state);
                trim(&mut st.failures, now, self.period);
                let recent = st.failures.len();
                ComponentStatus {
                    kind: c.kind,
                    name: c.name.clone(),
                    running: st.running,
                    recent_errors: recent,
                    last_error: st.last_error.clone(),
                    healthy: st.running && recent <= self.errors_threshold,
                }
            })
            .collect()
    }

    /// True when every component is healthy.
    pub fn healthy(&self, now: Instant) -> bool {
        self.snapshot(now).iter().all(|c| c.healthy)
    }
}

impl ComponentHealth {
    pub fn name(&self) -> &Arc<str> {
        &self.inner.name
    }

    pub fn set_running(&self, running: bool) {
        lock(&self.inner.state).running = running;
    }

    /// Records a failed delivery or a fault, with a short reason (never a secret).
    pub fn record_error(&self, now: Instant, reason: impl Into<String>) {
        let mut st = lock(&self.inner.state);
        if st.failures.len() == MAX_REMEMBERED_FAILURES {
            st.failures.pop_front();
        }
        st.failures.push_back(now);
        st.last_error = Some(reason.into());
    }
}

fn trim(failures: &mut VecDeque<Instant>, now: Instant, period: Duration) {
    while let Some(&t) = failures.front() {
        if now.saturating_duration_since(t) > period {
            failures.pop_front();
        } else {
            break;
        }
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain counters: keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_beyond_threshold_within_period_then_recovers() {
        let reg = Registry::new(2, Duration::from_secs(60));
        let out = reg.register(ComponentKind::Output, "cw".into());
        let t0 = Instant::now();
        for _ in 0..3 {
            out.record_error(t0, "throttled");
        }
        assert!(!reg.healthy(t0));
        assert!(reg.healthy(t0 + Duration::from_secs(61)));
        out.set_running(false);
        assert!(!reg.healthy(t0 + Duration::from_secs(61)));
    }
}
