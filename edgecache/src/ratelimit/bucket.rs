//! One token bucket: a rate, a burst, and the tokens left at the last time it was looked at.

use std::time::Duration;

use stratus_clock::Instant;

use crate::error::{Error, Result};

/// A rate limit: `rate` requests per second on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Tokens added per second (requests per second allowed on average). Must be finite and above zero.
    pub rate: f64,
    /// The most tokens a bucket holds (requests allowed at once after a quiet period). At least 1.
    pub burst: u32,
}

impl Limit {
    /// `rate` per second with a burst of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Limit { rate, burst }
    }

    /// Checks the limit's values.
    ///
    /// # Errors
    /// [`Error::Config`] naming `field` for a rate that is not finite and positive, or a burst of zero.
    pub fn validate(&self, field: &'static str) -> Result<()> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(Error::Config {
                field,
                reason: format!("rate {} is not a finite number above zero", self.rate),
            });
        }
        if self.burst == 0 {
            return Err(Error::Config {
                field,
                reason: "burst 0: no request could ever pass".into(),
            });
        }
        Ok(())
    }
}

/// A token bucket, refilled lazily from the time it was last looked at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub(crate) fn full(limit: &Limit, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    fn refill(&mut self, limit: &Limit, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.rate).min(f64::from(limit.burst));
        if now > self.last {
            self.last = now;
        }
    }

    /// Takes one token at `now`: `Ok(())`, or `Err(wait)` with how long until a token is there.
    pub(crate) fn take(
        &mut self,
        limit: &Limit,
        now: Instant,
    ) -> std::result::Result<(), Duration> {
        self.refill(limit, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - self.tokens;
            Err(Duration::from_secs_f64(missing / limit.rate))
        }
    }

    /// Whether the bucket is full at `now` (its client has been quiet long enough to forget).
    pub(crate) fn is_full(&self, limit: &Limit, now: Instant) -> bool {
        let mut b = *self;
        b.refill(limit, now);
        b.tokens >= f64::from(limit.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_one_per_interval() {
        let limit = Limit::new(2.0, 3);
        let t0 = Instant::from_origin(Duration::ZERO);
        let mut b = Bucket::full(&limit, t0);
        for _ in 0..3 {
            assert!(b.take(&limit, t0).is_ok());
        }
        assert_eq!(b.take(&limit, t0), Err(Duration::from_millis(500)));
        let t1 = t0 + Duration::from_millis(500);
        assert!(b.take(&limit, t1).is_ok());
        assert!(b.take(&limit, t1).is_err());
        assert!(b.is_full(&limit, t1 + Duration::from_secs(2)));
        assert!(!b.is_full(&limit, t1 + Duration::from_secs(1)));
    }

    #[test]
    fn bad_limits_are_config_errors() {
        assert!(Limit::new(0.0, 1).validate("x").is_err());
        assert!(Limit::new(f64::NAN, 1).validate("x").is_err());
        assert!(Limit::new(1.0, 0).validate("x").is_err());
        assert!(Limit::new(1.0, 1).validate("x").is_ok());
    }
}
