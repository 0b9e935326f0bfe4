//! [`EventQueue`]: an in-memory queue of [`Message`]s, the role SQS or SNS plays as a destination or a
//! dead-letter sink.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

/// A message in an [`EventQueue`]: a body and string attributes (SQS's shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The body.
    pub body: Value,
    /// Attributes (the dead-letter sink sets `RequestID`, `ErrorCode`, `ErrorMessage`).
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct QueueInner {
    messages: Mutex<VecDeque<Message>>,
    notify: tokio::sync::Notify,
}

/// An in-memory queue (the role of an SQS queue or SNS topic as a destination or dead-letter sink).
/// Clones share one queue.
#[derive(Debug, Clone, Default)]
pub struct EventQueue {
    inner: Arc<QueueInner>,
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a message.
    pub fn send(&self, message: Message) {
        self.inner.messages.lock().push_back(message);
        self.inner.notify.notify_one();
    }

    /// Takes the oldest message, if any.
    pub fn try_recv(&self) -> Option<Message> {
        self.inner.messages.lock().pop_front()
    }

    /// Waits for a message and takes it.
    pub async fn recv(&self) -> Message {
        loop {
            if let Some(m) = self.try_recv() {
                return m;
            }
            self.inner.notify.notified().await;
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.inner.messages.lock().len()
    }

    /// No message waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn queue_recv_waits() {
        let q = EventQueue::new();
        let q2 = q.clone();
        let t = tokio::spawn(async move { q2.recv().await });
        tokio::task::yield_now().await;
        q.send(Message {
            body: json!(1),
            attributes: BTreeMap::new(),
        });
        assert_eq!(t.await.unwrap().body, json!(1));
        assert!(q.is_empty());
    }
}
