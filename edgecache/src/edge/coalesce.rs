//! Request coalescing: one origin fetch per key at a time; later requests for the key wait for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::Error;

/// How a fetch others waited on ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The leader got a response (and stored it if it could): waiters look in the cache again.
    Done,
    /// The origin failed: waiters get the same error.
    Failed(Error),
}

type Slot = watch::Receiver<Option<Outcome>>;

/// The fetches in progress, by cache key.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, (u64, Slot)>>,
    next_id: AtomicU64,
}

/// What a request is for a key's fetch.
pub(crate) enum Role {
    /// It makes the fetch; it must call [`Leader::finish`] (dropping it tells waiters to fetch themselves).
    Leader(Leader),
    /// Another request is fetching: wait on this.
    Waiter(Slot),
}

/// The leader's handle on its flight.
pub(crate) struct Leader {
    flights: Arc<Flights>,
    key: String,
    id: u64,
    tx: watch::Sender<Option<Outcome>>,
}

impl Flights {
    /// Becomes the leader for `key`, or a waiter on the fetch in progress.
    pub(crate) fn join(self: &Arc<Self>, key: &str) -> Role {
        let mut map = self.map.lock();
        if let Some((_, rx)) = map.get(key) {
            return Role::Waiter(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        map.insert(key.to_string(), (id, rx));
        Role::Leader(Leader {
            flights: self.clone(),
            key: key.to_string(),
            id,
            tx,
        })
    }

    /// The number of fetches in progress.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

impl Leader {
    /// Publishes the outcome to every waiter and ends the flight.
    pub(crate) fn finish(self, outcome: Outcome) {
        self.tx.send_replace(Some(outcome));
        // Drop removes the flight.
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let mut map = self.flights.map.lock();
        if map.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            map.remove(&self.key);
        }
    }
}

/// Waits for the flight's outcome; `None` when the leader went away without one.
pub(crate) async fn wait(mut rx: Slot) -> Option<Outcome> {
    match rx.wait_for(Option::is_some).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    }
}
