//! The arena's operations: allocating and freeing slots, and linking them into and out of the queues.

use super::TinyLfu;
use super::arena::{Deque, NIL, Queue, Slot};

impl<K, V> TinyLfu<K, V> {
    pub(super) fn alloc(&mut self, hash: u64, key: K, value: V, weight: u32) -> u32 {
        let slot = Slot {
            prev: NIL,
            next: NIL,
            queue: Queue::Window,
            weight,
            hash,
            entry: Some((key, value)),
        };
        match self.free.pop() {
            Some(idx) => {
                self.slots[idx as usize] = slot;
                idx
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub(super) fn deque_mut(&mut self, queue: Queue) -> &mut Deque {
        match queue {
            Queue::Window => &mut self.window,
            Queue::Probation => &mut self.probation,
            Queue::Protected => &mut self.protected,
        }
    }

    pub(super) fn unlink(&mut self, idx: u32) {
        let (prev, next, queue) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next, s.queue)
        };
        if prev == NIL {
            self.deque_mut(queue).head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.deque_mut(queue).tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    pub(super) fn push_back(&mut self, queue: Queue, idx: u32) {
        let tail = self.deque_mut(queue).tail;
        {
            let s = &mut self.slots[idx as usize];
            s.queue = queue;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.deque_mut(queue).head = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.deque_mut(queue).tail = idx;
    }

    /// Links `idx` into `queue` just before `next` (at the MRU end if `next` is `NIL`).
    pub(super) fn insert_before(&mut self, queue: Queue, next: u32, idx: u32) {
        if next == NIL {
            self.push_back(queue, idx);
            return;
        }
        let prev = self.slots[next as usize].prev;
        {
            let s = &mut self.slots[idx as usize];
            s.queue = queue;
            s.prev = prev;
            s.next = next;
        }
        self.slots[next as usize].prev = idx;
        if prev == NIL {
            self.deque_mut(queue).head = idx;
        } else {
            self.slots[prev as usize].next = idx;
        }
    }

    pub(super) fn move_to_back(&mut self, queue: Queue, idx: u32) {
        if self.deque_mut(queue).tail == idx && self.slots[idx as usize].queue == queue {
            return;
        }
        self.unlink(idx);
        self.push_back(queue, idx);
    }

    /// Unlinks and frees a slot, fixing the weights; returns its entry.
    pub(super) fn remove_slot(&mut self, idx: u32) -> (K, V) {
        let (hash, weight, queue) = {
            let s = &self.slots[idx as usize];
            (s.hash, u64::from(s.weight), s.queue)
        };
        self.unlink(idx);
        if let Ok(found) = self.table.find_entry(hash, |&i| i == idx) {
            found.remove();
        }
        self.weight -= weight;
        match queue {
            Queue::Window => self.window_weight -= weight,
            Queue::Protected => self.protected_weight -= weight,
            Queue::Probation => {}
        }
        self.len -= 1;
        self.free.push(idx);
        match self.slots[idx as usize].entry.take() {
            Some(entry) => entry,
            None => unreachable!("a linked slot is live"),
        }
    }
}
