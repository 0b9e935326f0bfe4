//! Routing: the points of presence ranked by round-trip time from a client.

use std::time::Duration;

use super::topology::{LatencyModel, Place, Pop};

/// The indexes of `pops` ordered nearest first (ties by position), with their round-trip times.
pub(crate) fn rank(
    model: &LatencyModel,
    from: &Place<'_>,
    pops: &[&Pop],
) -> Vec<(usize, Duration)> {
    let mut ranked: Vec<(usize, Duration)> = pops
        .iter()
        .enumerate()
        .map(|(i, p)| (i, model.rtt(from, &p.place())))
        .collect();
    ranked.sort_by_key(|&(i, d)| (d, i));
    ranked
}

/// The nearest of `pops` for which `up` holds (ties by position).
pub(crate) fn nearest<'a>(
    model: &LatencyModel,
    from: &Place<'_>,
    pops: impl IntoIterator<Item = &'a Pop>,
    up: impl Fn(usize) -> bool,
) -> Option<(usize, Duration)> {
    pops.into_iter()
        .enumerate()
        .filter(|&(i, _)| up(i))
        .map(|(i, p)| (i, model.rtt(from, &p.place())))
        .min_by_key(|&(i, d)| (d, i))
}
