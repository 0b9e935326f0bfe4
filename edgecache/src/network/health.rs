//! Health of a point of presence: marked down by an operator, or failing its health check.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;

use super::topology::Pop;
use crate::edge::Edge;

/// A health check of one point of presence, run by [`Network::check_health`](super::Network::check_health).
#[async_trait]
pub trait HealthCheck: Send + Sync + fmt::Debug {
    /// Whether `pop` (whose cache is `edge`) is healthy now.
    async fn check(&self, pop: &Pop, edge: &Edge) -> bool;
}

/// A [`HealthCheck`] made from an async closure; see [`from_fn`].
pub struct FnHealthCheck<F> {
    f: F,
}

impl<F> fmt::Debug for FnHealthCheck<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnHealthCheck").finish_non_exhaustive()
    }
}

/// A health check that calls `f` with the point of presence's name.
pub fn from_fn<F, Fut>(f: F) -> FnHealthCheck<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    FnHealthCheck { f }
}

#[async_trait]
impl<F, Fut> HealthCheck for FnHealthCheck<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    async fn check(&self, pop: &Pop, _edge: &Edge) -> bool {
        (self.f)(pop.name.clone()).await
    }
}

/// The health of one point of presence (lock-free: read on every request).
#[derive(Debug, Default)]
pub(crate) struct Health {
    marked_down: AtomicBool,
    failing: AtomicBool,
    fails: AtomicU32,
    passes: AtomicU32,
}

impl Health {
    pub(crate) fn is_up(&self) -> bool {
        !self.marked_down.load(Ordering::Acquire) && !self.failing.load(Ordering::Acquire)
    }

    pub(crate) fn is_marked_down(&self) -> bool {
        self.marked_down.load(Ordering::Acquire)
    }

    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    pub(crate) fn mark_down(&self, down: bool) {
        self.marked_down.store(down, Ordering::Release);
    }

    /// Records one check: `fall` consecutive failures make it fail, `rise` consecutive passes make it pass
    /// again (HAProxy's `fall` and `rise`).
    pub(crate) fn record(&self, ok: bool, fall: u32, rise: u32) {
        if ok {
            self.fails.store(0, Ordering::Relaxed);
            let n = self
                .passes
                .fetch_add(1, Ordering::Relaxed)
                .saturating_add(1);
            if n >= rise {
                self.failing.store(false, Ordering::Release);
            }
        } else {
            self.passes.store(0, Ordering::Relaxed);
            let n = self.fails.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            if n >= fall {
                self.failing.store(true, Ordering::Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Health;

    #[test]
    fn fall_and_rise() {
        let h = Health::default();
        h.record(false, 2, 3);
        assert!(h.is_up());
        h.record(false, 2, 3);
        assert!(!h.is_up());
        h.record(true, 2, 3);
        h.record(true, 2, 3);
        assert!(!h.is_up());
        h.record(true, 2, 3);
        assert!(h.is_up());
        h.mark_down(true);
        assert!(!h.is_up() && h.is_marked_down() && !h.is_failing());
    }
}
