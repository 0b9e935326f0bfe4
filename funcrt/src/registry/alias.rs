//! A resolved alias: the versions it routes to, and the weighted pick of one per invocation.

use std::sync::Arc;

use crate::registry::version::VersionState;
use crate::types::alias::AliasInfo;
use crate::types::context::fast_random;

/// A resolved alias, ready for routing.
#[derive(Debug)]
pub(crate) struct AliasState {
    pub(crate) info: AliasInfo,
    pub(crate) primary: Arc<VersionState>,
    pub(crate) additional: Option<(Arc<VersionState>, f64)>,
}

impl AliasState {
    /// Picks the version for one invocation.
    pub(crate) fn pick(&self) -> &Arc<VersionState> {
        match &self.additional {
            Some((v, w)) if unit_random() < *w => v,
            _ => &self.primary,
        }
    }

    /// Does the alias route to version `n`?
    pub(crate) fn uses(&self, n: u32) -> bool {
        self.primary.number == Some(n)
            || self
                .additional
                .as_ref()
                .is_some_and(|(v, _)| v.number == Some(n))
    }
}

/// A uniform random number in `[0, 1)`.
fn unit_random() -> f64 {
    (fast_random() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_random_is_in_range_and_spread() {
        let mut below = 0;
        for _ in 0..100_000 {
            let x = unit_random();
            assert!((0.0..1.0).contains(&x));
            if x < 0.25 {
                below += 1;
            }
        }
        assert!((23_000..27_000).contains(&below), "{below}");
    }
}
