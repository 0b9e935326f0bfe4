//! The watchdog: one process-wide OS thread that wakes callers whose handler has held its instance's thread
//! for [`BLOCKED_AFTER`] of wall time without suspending, so they arm their deadline timer.
//!
//! Why wall time: a caller arms the timer of its deadline (on the runtime's clock) as soon as its handler
//! suspends at an `.await`, exactly as an inline call does, so a handler that finishes without waiting
//! registers no timer (tests on a manual clock count sleepers). A handler that never suspends (it blocks
//! its thread) would then never time out; the watchdog is what notices it, by the wall clock, since the
//! runtime's clock may be a manual one that only a test moves. Arming late costs nothing: the deadline is
//! absolute, and [`BLOCKED_AFTER`] is Lambda's shortest timeout (1 s), so on the system clock a deadline
//! is never passed before its timer is armed. It is that long, rather than a few milliseconds, because
//! a handler can hold its thread legitimately for a while without blocking (a panic printing its
//! backtrace on a loaded machine takes hundreds of milliseconds), and on a manual clock an early timer is
//! one more sleeper than a test expects.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long (wall time) a handler may hold its thread without suspending before its caller arms the
/// deadline timer anyway: Lambda's shortest timeout.
pub(crate) const BLOCKED_AFTER: Duration = Duration::from_secs(1);

/// What the watchdog rings when its time comes.
pub(crate) trait Alarm: Send + Sync {
    fn ring(&self);
}

struct Watchdog {
    due: Mutex<VecDeque<(Instant, Weak<dyn Alarm>)>>,
    thread: Thread,
}

static WATCHDOG: OnceLock<Option<Watchdog>> = OnceLock::new();

fn watchdog() -> Option<&'static Watchdog> {
    WATCHDOG
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("funcrt-watchdog".into())
                .spawn(run)
                .ok()
                .map(|h| Watchdog {
                    due: Mutex::new(VecDeque::new()),
                    thread: h.thread().clone(),
                })
        })
        .as_ref()
}

/// Rings `alarm` at (or soon after) `at`, unless it has been dropped by then. Returns false if the
/// watchdog could not be started (the caller should then not rely on it).
pub(crate) fn ring_at(alarm: &Arc<dyn Alarm>, at: Instant) -> bool {
    let Some(w) = watchdog() else {
        return false;
    };
    let mut due = w.due.lock();
    let was_empty = due.is_empty();
    due.push_back((at, Arc::downgrade(alarm)));
    drop(due);
    if was_empty {
        w.thread.unpark();
    }
    true
}

fn run() {
    let w = loop {
        // The spawner stores the handle right after spawning; wait for it.
        match WATCHDOG.get() {
            Some(Some(w)) => break w,
            Some(None) => return,
            None => std::thread::park_timeout(Duration::from_millis(1)),
        }
    };
    let mut ready = Vec::new();
    loop {
        let now = Instant::now();
        let next = {
            let mut due = w.due.lock();
            while due.front().is_some_and(|(at, _)| *at <= now) {
                if let Some((_, alarm)) = due.pop_front() {
                    ready.push(alarm);
                }
            }
            due.front().map(|(at, _)| *at)
        };
        for alarm in ready.drain(..) {
            if let Some(alarm) = alarm.upgrade() {
                alarm.ring();
            }
        }
        match next {
            Some(at) => std::thread::park_timeout(at.saturating_duration_since(now)),
            None => std::thread::park(),
        }
    }
}
