//! Concurrency limits: the account's pool and per-function reserved concurrency.
//!
//! Lambda's model: a function with reserved concurrency `R` runs at most `R` invocations at once and draws
//! only from its reserve; every other function shares the account's *unreserved* pool, which is the
//! account limit minus all reservations and never less than 100. Admission is a compare-and-swap on one
//! counter, so it is exact (never one invocation past a limit, never a spurious throttle) and takes no lock.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::ThrottleReason;

const NO_RESERVATION: u32 = u32::MAX;

/// The account's limits and the unreserved pool's usage.
#[derive(Debug)]
pub(crate) struct Account {
    pub(crate) limit: u32,
    pub(crate) reserved_total: AtomicU32,
    unreserved_in_use: AtomicU32,
}

impl Account {
    pub(crate) fn new(limit: u32) -> Self {
        Account {
            limit,
            reserved_total: AtomicU32::new(0),
            unreserved_in_use: AtomicU32::new(0),
        }
    }

    /// The size of the pool that functions without a reservation share.
    pub(crate) fn unreserved_capacity(&self) -> u32 {
        self.limit
            .saturating_sub(self.reserved_total.load(Ordering::Relaxed))
    }

    pub(crate) fn unreserved_in_use(&self) -> u32 {
        self.unreserved_in_use.load(Ordering::Relaxed)
    }
}

/// One function's concurrency: its reservation and how many invocations run now.
#[derive(Debug)]
pub(crate) struct FunctionConcurrency {
    reserved: AtomicU32,
    in_use: AtomicU32,
    max_seen: AtomicU32,
}

impl FunctionConcurrency {
    pub(crate) fn new(reserved: Option<u32>) -> Self {
        FunctionConcurrency {
            reserved: AtomicU32::new(reserved.unwrap_or(NO_RESERVATION)),
            in_use: AtomicU32::new(0),
            max_seen: AtomicU32::new(0),
        }
    }

    pub(crate) fn reserved(&self) -> Option<u32> {
        match self.reserved.load(Ordering::Relaxed) {
            NO_RESERVATION => None,
            n => Some(n),
        }
    }

    pub(crate) fn set_reserved(&self, r: Option<u32>) {
        self.reserved
            .store(r.unwrap_or(NO_RESERVATION), Ordering::Relaxed);
    }

    pub(crate) fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Records `now` running at once; writes only when it is a new maximum, so the common case is a read.
    fn saw(&self, now: u32) {
        if now > self.max_seen.load(Ordering::Relaxed) {
            self.max_seen.fetch_max(now, Ordering::Relaxed);
        }
    }

    pub(crate) fn max_seen(&self) -> u32 {
        self.max_seen.load(Ordering::Relaxed)
    }
}

/// Increments `counter` if it is below `limit`; exact under contention.
fn try_acquire(counter: &AtomicU32, limit: u32) -> Option<u32> {
    let mut cur = counter.load(Ordering::Relaxed);
    loop {
        if cur >= limit {
            return None;
        }
        match counter.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Some(cur + 1),
            Err(actual) => cur = actual,
        }
    }
}

/// A running invocation's hold on concurrency; released on drop (also when the invoke future is dropped).
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    account: &'a Account,
    function: &'a FunctionConcurrency,
    from_unreserved: bool,
}

/// A rejected admission: which limit, and its value.
pub(crate) type Throttle = (ThrottleReason, u32);

/// Admits one invocation of a function, or says which limit throttles it.
pub(crate) fn admit<'a>(
    account: &'a Account,
    function: &'a FunctionConcurrency,
) -> Result<Permit<'a>, Throttle> {
    let permit = match function.reserved() {
        Some(reserved) => {
            let now = try_acquire(&function.in_use, reserved).ok_or((
                ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
                reserved,
            ))?;
            function.saw(now);
            Permit {
                account,
                function,
                from_unreserved: false,
            }
        }
        None => {
            let cap = account.unreserved_capacity();
            try_acquire(&account.unreserved_in_use, cap)
                .ok_or((ThrottleReason::ConcurrentInvocationLimitExceeded, cap))?;
            let now = function.in_use.fetch_add(1, Ordering::AcqRel) + 1;
            function.saw(now);
            Permit {
                account,
                function,
                from_unreserved: true,
            }
        }
    };
    Ok(permit)
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.function.in_use.fetch_sub(1, Ordering::AcqRel);
        if self.from_unreserved {
            self.account
                .unreserved_in_use
                .fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_limit_is_exact_and_released() {
        let account = Account::new(1000);
        let f = FunctionConcurrency::new(Some(2));
        let a = admit(&account, &f).unwrap();
        let b = admit(&account, &f).unwrap();
        let e = admit(&account, &f).unwrap_err();
        assert_eq!(
            e,
            (
                ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
                2
            )
        );
        assert_eq!(
            account.unreserved_in_use(),
            0,
            "reserved functions do not use the shared pool"
        );
        drop(a);
        let c = admit(&account, &f).unwrap();
        drop((b, c));
        assert_eq!((f.in_use(), f.max_seen()), (0, 2));
    }

    #[test]
    fn zero_reserved_always_throttles() {
        let account = Account::new(1000);
        let f = FunctionConcurrency::new(Some(0));
        assert!(admit(&account, &f).is_err());
    }

    #[test]
    fn unreserved_pool_shrinks_with_reservations() {
        let account = Account::new(102);
        account.reserved_total.store(100, Ordering::Relaxed);
        let f = FunctionConcurrency::new(None);
        let g = FunctionConcurrency::new(None);
        let _a = admit(&account, &f).unwrap();
        let _b = admit(&account, &g).unwrap();
        assert_eq!(
            admit(&account, &f).unwrap_err(),
            (ThrottleReason::ConcurrentInvocationLimitExceeded, 2)
        );
    }

    #[test]
    fn cas_admission_is_exact_across_threads() {
        let account = Account::new(1000);
        let f = FunctionConcurrency::new(Some(7));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        if let Ok(p) = admit(&account, &f) {
                            assert!(f.in_use() <= 7);
                            drop(p);
                        }
                    }
                });
            }
        });
        assert_eq!(f.in_use(), 0);
        assert!(f.max_seen() <= 7);
    }
}
