//! A version's idle slots, sharded per thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use stratus_clock::Instant;

use crate::instance::environment::Slot;
use crate::instance::revision::VersionConfig;
use crate::shard::{Padded, SHARDS, home};

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
    /// Instances alive; each instance holds a clone and decrements it when dropped.
    pub(super) live: Arc<AtomicUsize>,
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
