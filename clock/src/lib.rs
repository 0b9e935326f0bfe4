//! The one injected clock shared by the Stratus crates.
//!
//! Every piece of Stratus that depends on time (object `Last-Modified`, lifecycle rules, restore delays,
//! function timeouts and retry delays, cache TTLs) asks a [`Clock`] instead of the operating system. In
//! production that is [`Clock::system`]; in tests it is a [`ManualClock`] that only moves when the test says
//! so, which makes "expire after 365 days" or "retry after 2 minutes" testable without sleeping.
//!
//! A clock answers two questions:
//! - [`Clock::now`]: the wall-clock time ([`SystemTime`]), for timestamps that users see;
//! - [`Clock::instant`]: a monotonic [`Instant`], for measuring durations and deadlines.
//!
//! and it can wait: [`Clock::sleep`], [`Clock::sleep_until`] and [`Clock::timeout`] complete when *this
//! clock* reaches the deadline. On a manual clock they complete when [`ManualClock::advance`] moves past it.
//!
//! ```
//! use std::time::Duration;
//! use stratus_clock::{Clock, ManualClock};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let manual = ManualClock::new();
//! let clock: Clock = manual.clock();
//! let start = clock.instant();
//!
//! let sleeper = tokio::spawn({
//!     let clock = clock.clone();
//!     async move { clock.sleep(Duration::from_secs(60)).await }
//! });
//! manual.wait_for_sleepers(1).await; // the task is now parked on the clock
//! manual.advance(Duration::from_secs(60));
//! sleeper.await.unwrap();
//! assert_eq!(clock.instant() - start, Duration::from_secs(60));
//! # }
//! ```
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use parking_lot::Mutex;

/// A point on a clock's monotonic timeline, measured from the clock's origin.
///
/// Instants from different clocks are not comparable; instants from one [`Clock`] (and its clones) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The instant `d` after the clock's origin.
    pub const fn from_origin(d: Duration) -> Self {
        Instant(d)
    }

    /// Time since the clock's origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl std::ops::Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: an earlier minus a later instant is zero.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// What a clock implementation provides. Implement it to plug in another time source; most code uses
/// [`Clock`], a cheap cloneable handle over one of these.
pub trait TimeSource: Send + Sync + fmt::Debug + 'static {
    /// Wall-clock time.
    fn now(&self) -> SystemTime;
    /// Monotonic time since this source's origin.
    fn instant(&self) -> Instant;
    /// A future that completes once [`TimeSource::instant`] has reached `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
}

/// A cloneable handle to a time source; the thing every Stratus component is given.
///
/// [`Clock::default`] is the system clock.
#[derive(Clone, Debug)]
pub struct Clock(Arc<dyn TimeSource>);

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The operating system's clock: [`SystemTime::now`] and [`std::time::Instant`], sleeping with tokio's
    /// timer (so sleeping needs a tokio runtime with time enabled).
    pub fn system() -> Self {
        Clock(Arc::new(SystemSource {
            origin: std::time::Instant::now(),
        }))
    }

    /// A clock over any [`TimeSource`].
    pub fn from_source(source: Arc<dyn TimeSource>) -> Self {
        Clock(source)
    }

    /// Wall-clock time.
    pub fn now(&self) -> SystemTime {
        self.0.now()
    }

    /// Monotonic time.
    pub fn instant(&self) -> Instant {
        self.0.instant()
    }

    /// Completes after `d` has passed on this clock.
    pub fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.0.sleep_until(self.instant() + d)
    }

    /// Completes once this clock reaches `deadline`.
    pub fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        self.0.sleep_until(deadline)
    }

    /// Runs `fut` for at most `d` on this clock.
    ///
    /// # Errors
    /// [`Elapsed`] when the deadline passes first; `fut` is dropped (cancelled) then.
    pub async fn timeout<F: Future>(&self, d: Duration, fut: F) -> Result<F::Output, Elapsed> {
        self.timeout_at(self.instant() + d, fut).await
    }

    /// Runs `fut` until this clock reaches `deadline`.
    ///
    /// # Errors
    /// [`Elapsed`] when the deadline passes first; `fut` is dropped (cancelled) then.
    pub async fn timeout_at<F: Future>(
        &self,
        deadline: Instant,
        fut: F,
    ) -> Result<F::Output, Elapsed> {
        let sleep = self.sleep_until(deadline);
        tokio::select! {
            biased;
            out = fut => Ok(out),
            () = sleep => Err(Elapsed(())),
        }
    }
}

/// The error of [`Clock::timeout`]: the deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

#[derive(Debug)]
struct SystemSource {
    origin: std::time::Instant,
}

impl TimeSource for SystemSource {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant(self.origin.elapsed())
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        let at = self.origin + deadline.0;
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(at)))
    }
}

/// A clock that moves only when told to: the test clock.
///
/// Clones share one timeline. [`ManualClock::clock`] hands out the [`Clock`] to inject into components.
#[derive(Clone, Debug)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    state: Mutex<ManualState>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct ManualState {
    epoch: SystemTime,
    elapsed: Duration,
    /// Parked sleepers by (deadline, id).
    sleepers: BTreeMap<(Duration, u64), Waker>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A manual clock whose wall time starts at 2024-01-01T00:00:00Z, a fixed and round date so tests are
    /// reproducible.
    pub fn new() -> Self {
        Self::starting_at(UNIX_EPOCH + Duration::from_secs(1_704_067_200))
    }

    /// A manual clock whose wall time starts at `epoch`.
    pub fn starting_at(epoch: SystemTime) -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                state: Mutex::new(ManualState {
                    epoch,
                    elapsed: Duration::ZERO,
                    sleepers: BTreeMap::new(),
                }),
                next_id: AtomicU64::new(0),
            }),
        }
    }

    /// The [`Clock`] handle that reads this manual clock.
    pub fn clock(&self) -> Clock {
        Clock(Arc::new(self.clone()))
    }

    /// Moves time forward by `d` and wakes every sleeper whose deadline has come.
    pub fn advance(&self, d: Duration) {
        let due = {
            let mut st = self.inner.state.lock();
            st.elapsed = st.elapsed.saturating_add(d);
            let now = st.elapsed;
            let rest = st.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut st.sleepers, rest)
        };
        for (_, waker) in due {
            waker.wake();
        }
    }

    /// How many futures are parked on this clock (sleeps and timeouts not yet due).
    pub fn sleepers(&self) -> usize {
        self.inner.state.lock().sleepers.len()
    }

    /// Yields to the runtime until at least `n` futures are parked on this clock, so a test can advance
    /// time knowing the task under test is waiting on it.
    pub async fn wait_for_sleepers(&self, n: usize) {
        while self.sleepers() < n {
            tokio::task::yield_now().await;
        }
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> SystemTime {
        let st = self.inner.state.lock();
        st.epoch + st.elapsed
    }

    fn instant(&self) -> Instant {
        Instant(self.inner.state.lock().elapsed)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(ManualSleep {
            clock: self.inner.clone(),
            deadline: deadline.0,
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            registered: false,
        })
    }
}

struct ManualSleep {
    clock: Arc<ManualInner>,
    deadline: Duration,
    id: u64,
    registered: bool,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.clock.state.lock();
        if st.elapsed >= self.deadline {
            st.sleepers.remove(&(self.deadline, self.id));
            drop(st);
            self.registered = false;
            return Poll::Ready(());
        }
        st.sleepers
            .insert((self.deadline, self.id), cx.waker().clone());
        drop(st);
        self.registered = true;
        Poll::Pending
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        if self.registered {
            self.clock
                .state
                .lock()
                .sleepers
                .remove(&(self.deadline, self.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_completes_only_when_advanced() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let t0 = clock.now();
        let task = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep(Duration::from_secs(10)).await }
        });
        manual.wait_for_sleepers(1).await;
        manual.advance(Duration::from_secs(9));
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        assert_eq!(manual.sleepers(), 1);
        manual.advance(Duration::from_secs(1));
        task.await.unwrap();
        assert_eq!(manual.sleepers(), 0);
        assert_eq!(
            clock.now().duration_since(t0).unwrap(),
            Duration::from_secs(10)
        );
    }

    #[tokio::test]
    async fn manual_timeout_cancels_and_unregisters() {
        let manual = ManualClock::new();
        let clock = manual.clock();
        let task = tokio::spawn({
            let clock = clock.clone();
            async move {
                clock
                    .timeout(Duration::from_secs(5), futures::future::pending::<()>())
                    .await
            }
        });
        manual.wait_for_sleepers(1).await;
        manual.advance(Duration::from_secs(5));
        assert_eq!(task.await.unwrap(), Err(Elapsed(())));
        // A future that finishes first wins and leaves no sleeper behind.
        assert_eq!(
            clock.timeout(Duration::from_secs(5), async { 7 }).await,
            Ok(7)
        );
        assert_eq!(manual.sleepers(), 0);
    }

    #[tokio::test]
    async fn zero_sleep_is_immediate() {
        let clock = ManualClock::new().clock();
        clock.sleep(Duration::ZERO).await;
    }

    #[tokio::test]
    async fn system_clock_sleeps_on_tokio_time() {
        let clock = Clock::system();
        let before = clock.instant();
        clock.sleep(Duration::from_millis(20)).await;
        assert!(clock.instant() - before >= Duration::from_millis(20));
        assert!(
            clock
                .timeout(Duration::from_millis(5), futures::future::pending::<()>())
                .await
                .is_err()
        );
    }

    #[test]
    fn instant_arithmetic_saturates() {
        let a = Instant::from_origin(Duration::from_secs(1));
        let b = a + Duration::from_secs(2);
        assert_eq!(b - a, Duration::from_secs(2));
        assert_eq!(a - b, Duration::ZERO);
    }
}
