//! A lock-free duration histogram whose memory is allocated only where durations fall.
//!
//! The buckets are those of `histogram::AtomicHistogram::new(7, 36)` (microseconds; 2^7 sub-buckets per
//! power of two, so a bucket's upper bound is at most 0.8 % above any value in it; up to 2^36 us), so the
//! percentiles reported are the same. But where that histogram is one dense array of 3,840 counters
//! (30 KiB) made up front, this one is 30 pages of 128 counters (1 KiB each), each allocated on the first
//! duration that falls in it, behind a table that is itself allocated on the first duration. A version
//! never invoked costs 16 bytes; one whose durations span a few powers of two (say 200 us to 3 ms: 4
//! pages) costs a few KiB per recording thread shard, instead of 30 KiB.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two, as a power of two.
pub(crate) const GROUPING_POWER: u8 = 7;
/// Largest value, as a power of two (2^36 us is 19 hours; larger values go to the last bucket).
pub(crate) const MAX_POWER: u8 = 36;
const PAGE: usize = 1 << GROUPING_POWER;
/// `(2^(GROUPING_POWER + 1) + (MAX_POWER - GROUPING_POWER - 1) * 2^GROUPING_POWER)` buckets.
const BUCKETS: usize = (2 << GROUPING_POWER) + (MAX_POWER - GROUPING_POWER - 1) as usize * PAGE;
const PAGES: usize = BUCKETS / PAGE;

type Page = [AtomicU64; PAGE];

/// Durations in microseconds, counted per bucket.
#[derive(Debug, Default)]
pub(crate) struct Durations {
    pages: OnceLock<Box<[OnceLock<Box<Page>>; PAGES]>>,
}

/// The bucket of `value` (as `histogram::Config::bucket_index` computes it), clamped to the last one.
fn bucket(value: u64) -> usize {
    let cutoff = 2u64 << GROUPING_POWER;
    if value < cutoff {
        return value as usize;
    }
    let s = (63 - (value | 1).leading_zeros()) - GROUPING_POWER as u32;
    let index = ((s as u64) << GROUPING_POWER) + (value >> s);
    usize::try_from(index).map_or(BUCKETS - 1, |i| i.min(BUCKETS - 1))
}

impl Durations {
    /// Counts one duration of `us` microseconds.
    pub(crate) fn record(&self, us: u64) {
        let b = bucket(us);
        let pages = self
            .pages
            .get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        let page =
            pages[b / PAGE].get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        page[b % PAGE].fetch_add(1, Relaxed);
    }

    /// Adds these counts into `into`, a dense bucket array (see [`Durations::dense`]).
    pub(crate) fn add_to(&self, into: &mut [u64]) {
        let Some(pages) = self.pages.get() else {
            return;
        };
        for (p, page) in pages.iter().enumerate() {
            if let Some(page) = page.get() {
                for (i, c) in page.iter().enumerate() {
                    into[p * PAGE + i] += c.load(Relaxed);
                }
            }
        }
    }

    /// An empty dense bucket array of the right size for [`Durations::add_to`].
    pub(crate) fn dense() -> Vec<u64> {
        vec![0; BUCKETS]
    }

    /// The dense array as a `histogram::Histogram` (for its quantiles).
    pub(crate) fn histogram(dense: Vec<u64>) -> histogram::Histogram {
        histogram::Histogram::from_buckets(GROUPING_POWER, MAX_POWER, dense)
            .unwrap_or_else(|_| histogram::Histogram::with_config(&config()))
    }

    /// Bytes this histogram has allocated.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.pages.get().map_or(0, |pages| {
            std::mem::size_of_val(&**pages)
                + pages.iter().filter(|p| p.get().is_some()).count() * std::mem::size_of::<Page>()
        })
    }
}

fn config() -> histogram::Config {
    // 7 < 36 <= 64: a valid shape, checked by the tests below.
    histogram::Config::new(GROUPING_POWER, MAX_POWER).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shape_matches_the_histogram_crate() {
        assert_eq!(config().total_buckets(), BUCKETS);
        assert_eq!(BUCKETS % PAGE, 0);
    }

    proptest! {
        /// Every value lands in the bucket `AtomicHistogram::new(7, 36)` would count it in, so percentiles
        /// are those the dense histogram reported.
        #[test]
        fn buckets_are_the_histogram_crates(v in prop_oneof![0u64..100_000, 0u64..(1 << 36), any::<u64>()]) {
            let mut h = histogram::Histogram::new(GROUPING_POWER, MAX_POWER).unwrap();
            h.increment(v.min((1 << MAX_POWER) - 1)).unwrap();
            let expected = h.as_slice().iter().position(|&c| c == 1).unwrap();
            prop_assert_eq!(bucket(v), expected);
        }
    }

    #[test]
    fn memory_grows_only_where_durations_fall() {
        let d = Durations::default();
        assert_eq!(d.allocated(), 0);
        for us in 200..3_000 {
            d.record(us);
        }
        assert!(d.allocated() < 8 * 1024, "{}", d.allocated());
        let mut dense = Durations::dense();
        d.add_to(&mut dense);
        let h = Durations::histogram(dense);
        let p50 = h.quantile_bucket(0.5).unwrap().unwrap().end();
        assert!((1590..=1610).contains(&p50), "{p50}");
    }
}
