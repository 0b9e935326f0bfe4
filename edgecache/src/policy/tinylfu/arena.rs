//! The arena's data: the slots entries live in (indexed by `u32`, freed slots reused, so each key is stored
//! once and the hash table holds only indices) and the intrusive queues (window, probation, protected) linked
//! through them. The operations on them are in `queues.rs`.

/// No entry.
pub(super) const NIL: u32 = u32::MAX;

/// The queue an entry sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    Window,
    Probation,
    Protected,
}

/// One arena slot: links, policy data and (when live) the entry.
#[derive(Debug)]
pub(super) struct Slot<K, V> {
    pub(super) prev: u32,
    pub(super) next: u32,
    pub(super) queue: Queue,
    pub(super) weight: u32,
    pub(super) hash: u64,
    pub(super) entry: Option<(K, V)>,
}

/// An intrusive doubly linked queue: `head` is the least recently used end, `tail` the most recently used.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deque {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl Deque {
    pub(super) const EMPTY: Deque = Deque {
        head: NIL,
        tail: NIL,
    };
}
