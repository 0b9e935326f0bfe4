//! Instances (Lambda's execution environments) and the idle pool of each version.
//!
//! An instance is created by running the code's init once (the cold start). It serves one invocation at a
//! time, or `per_instance_concurrency` at once; each of those places is a *slot*. Idle slots wait in a
//! stack behind a mutex held only for a push or a pop (never across an `.await`, never while user code
//! runs): the most recently used slot is reused first, so the warmest instance serves and the oldest ones
//! age out. Slots idle past the keep-alive are reaped, when checked out or by
//! [`crate::Runtime::reap_idle_instances`]; provisioned slots are never reaped.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use parking_lot::Mutex;
use stratus_clock::{Clock, Instant};

use crate::config::INIT_TIMEOUT;
use crate::context::{EnvConfig, SlotShared, fast_random};
use crate::function::{Function, HandlerError, InitContext};
use crate::shard::{Padded, SHARDS, home};
use crate::version::{VersionConfig, VersionState};

/// One execution environment: the handler its init produced and the configuration it was started with.
pub(crate) struct Instance {
    pub(crate) handler: Arc<dyn Function>,
    pub(crate) config: Arc<VersionConfig>,
    pub(crate) env: Arc<EnvConfig>,
    /// The function's name and version label, owned by this instance so that reports share them without
    /// touching a reference count other threads use.
    pub(crate) function_name: Arc<str>,
    pub(crate) version_label: Arc<str>,
    pub(crate) provisioned: bool,
    poisoned: AtomicBool,
    live: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("log_stream", &self.env.log_stream)
            .field("provisioned", &self.provisioned)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Marks the instance as broken (a panic or a timeout ran in it): none of its slots is reused.
    pub(crate) fn discard(&self) {
        self.poisoned.store(true, Ordering::Relaxed);
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Relaxed)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One place to run an invocation in an instance.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) instance: Arc<Instance>,
    pub(crate) shared: Arc<SlotShared>,
    last_used: Instant,
}

#[derive(Debug, Default)]
struct Idle {
    provisioned: Vec<Slot>,
    on_demand: Vec<Slot>,
}

/// A version's idle slots, sharded per thread: a thread checks its own shard first and steals from the
/// others only when its own is empty, so two threads reusing warm instances touch different locks.
#[derive(Debug)]
pub(crate) struct Pool {
    shards: [Padded<Mutex<Idle>>; SHARDS],
    live: Arc<AtomicUsize>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            shards: std::array::from_fn(|_| Padded::default()),
            live: Arc::default(),
        }
    }
}

fn stale(slot: &Slot, current: &Arc<VersionConfig>) -> bool {
    slot.instance.is_poisoned() || !Arc::ptr_eq(&slot.instance.config, current)
}

impl Pool {
    /// A warm slot for an invocation at `now`, if there is one. Slots of retired, broken or expired
    /// instances met on the way are dropped (after the lock is released).
    pub(crate) fn checkout(
        &self,
        now: Instant,
        keep_alive: Duration,
        current: &Arc<VersionConfig>,
    ) -> Option<Slot> {
        let home = home();
        let mut dead = Vec::new();
        let mut found = None;
        for k in 0..SHARDS {
            let mut idle = self.shards[(home + k) % SHARDS].lock();
            while let Some(slot) = idle.provisioned.pop() {
                if stale(&slot, current) {
                    dead.push(slot);
                } else {
                    found = Some(slot);
                    break;
                }
            }
            if found.is_none() {
                while let Some(slot) = idle.on_demand.pop() {
                    if stale(&slot, current) {
                        dead.push(slot);
                    } else if slot.last_used + keep_alive <= now {
                        // The stack is most-recent-first: everything below is older still.
                        dead.push(slot);
                        dead.append(&mut idle.on_demand);
                    } else {
                        found = Some(slot);
                        break;
                    }
                }
            }
            drop(idle);
            if found.is_some() {
                break;
            }
        }
        drop(dead);
        found
    }

    /// Returns a slot after an invocation that left its instance healthy.
    pub(crate) fn checkin(&self, mut slot: Slot, now: Instant) {
        if slot.instance.is_poisoned() {
            return;
        }
        slot.last_used = now;
        let mut idle = self.shards[home()].lock();
        if slot.instance.provisioned {
            idle.provisioned.push(slot);
        } else {
            idle.on_demand.push(slot);
        }
    }

    /// Drops on-demand slots idle past the keep-alive; returns how many.
    pub(crate) fn reap(&self, now: Instant, keep_alive: Duration) -> usize {
        let mut n = 0;
        for shard in &self.shards {
            let dead: Vec<Slot> = {
                let mut idle = shard.lock();
                let (keep, dead) = std::mem::take(&mut idle.on_demand)
                    .into_iter()
                    .partition(|s| s.last_used + keep_alive > now && !s.instance.is_poisoned());
                idle.on_demand = keep;
                dead
            };
            n += dead.len();
        }
        n
    }

    /// Drops every idle provisioned slot (provisioned concurrency changed).
    pub(crate) fn clear_provisioned(&self) -> usize {
        let mut n = 0;
        for shard in &self.shards {
            let dead = std::mem::take(&mut shard.lock().provisioned);
            n += dead.len();
        }
        n
    }

    /// Instances alive (idle or busy).
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

/// Why an instance could not be started.
#[derive(Debug)]
pub(crate) struct InitFailure {
    pub(crate) error: HandlerError,
    pub(crate) duration: Duration,
}

/// A started instance: the slot for the invocation that asked for it, and how long init took.
pub(crate) struct Started {
    pub(crate) slot: Slot,
    pub(crate) init_duration: Duration,
}

fn new_shared(clock: &Clock) -> Arc<SlotShared> {
    Arc::new(SlotShared::new(clock.clone()))
}

fn log_stream(clock: &Clock, version: &str) -> String {
    let date = chrono::DateTime::<chrono::Utc>::from(clock.now()).format("%Y/%m/%d");
    format!(
        "{date}/[{version}]{:016x}{:016x}",
        fast_random(),
        fast_random()
    )
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("Lambda panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("Lambda panicked: {s}")
    } else {
        "Lambda panicked".to_owned()
    }
}

/// Runs the code's init for a new instance of `version` (the cold start), under Lambda's 10 s init limit,
/// with panics caught. Extra slots (per-instance concurrency above 1) go to the pool at once.
pub(crate) async fn start_instance(
    clock: &Clock,
    version: &VersionState,
    config: Arc<VersionConfig>,
    provisioned: bool,
) -> Result<Started, InitFailure> {
    let started = clock.instant();
    let mut env = config.env.clone();
    env.log_stream = log_stream(clock, &version.label);
    let init_ctx = InitContext {
        function_name: env.function_name.clone(),
        version: env.version.clone(),
        memory_mb: config.config.memory_mb,
        environment: env.environment.clone(),
        clock: clock.clone(),
    };
    let init = match std::panic::catch_unwind(AssertUnwindSafe(|| config.code.init(init_ctx))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind(),
        Err(p) => {
            return Err(InitFailure {
                error: HandlerError::new("Runtime.InitError", panic_message(&*p)),
                duration: Duration::ZERO,
            });
        }
    };
    let outcome = clock.timeout(INIT_TIMEOUT, init).await;
    let duration = clock.instant() - started;
    let handler = match outcome {
        Ok(Ok(Ok(h))) => h,
        Ok(Ok(Err(e))) => {
            return Err(InitFailure {
                error: HandlerError::new(
                    "Runtime.InitError",
                    format!("{}: {}", e.error_type, e.error_message),
                ),
                duration,
            });
        }
        Ok(Err(p)) => {
            return Err(InitFailure {
                error: HandlerError::new("Runtime.InitError", panic_message(&*p)),
                duration,
            });
        }
        Err(_) => {
            return Err(InitFailure {
                error: HandlerError::new(
                    "Runtime.InitError",
                    format!(
                        "Init timed out after {:.2} seconds",
                        INIT_TIMEOUT.as_secs_f64()
                    ),
                ),
                duration,
            });
        }
    };
    version.pool.live.fetch_add(1, Ordering::Relaxed);
    let slots = config.config.per_instance_concurrency.max(1);
    let instance = Arc::new(Instance {
        handler,
        config,
        function_name: env.function_name.as_str().into(),
        version_label: version.label.as_ref().into(),
        env: Arc::new(env),
        provisioned,
        poisoned: AtomicBool::new(false),
        live: version.pool.live.clone(),
    });
    let now = clock.instant();
    for _ in 1..slots {
        version.pool.checkin(
            Slot {
                instance: instance.clone(),
                shared: new_shared(clock),
                last_used: now,
            },
            now,
        );
    }
    Ok(Started {
        slot: Slot {
            instance,
            shared: new_shared(clock),
            last_used: now,
        },
        init_duration: duration,
    })
}
