//! Aliases: named pointers to a version, optionally splitting traffic with a second version by weight.

use std::sync::Arc;

use crate::context::fast_random;
use crate::error::{Error, Result};
use crate::version::VersionState;

/// The second version of a weighted alias and the share of invocations it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingConfig {
    /// A published version number.
    pub version: String,
    /// The share of invocations routed to it, `0.0..=1.0`.
    pub weight: f64,
}

/// An alias to create or update (`CreateAlias` / `UpdateAlias`).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasConfig {
    /// The alias name: 1 to 128 of `[a-zA-Z0-9-_]`, not all digits.
    pub name: String,
    /// The version it points to: a number, or `$LATEST` (only without routing).
    pub function_version: String,
    /// Weighted routing to a second version.
    pub routing: Option<RoutingConfig>,
    /// Free text.
    pub description: String,
}

impl AliasConfig {
    /// An alias `name` pointing to `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        AliasConfig {
            name: name.into(),
            function_version: version.into(),
            routing: None,
            description: String::new(),
        }
    }

    /// The same alias, sending `weight` of the traffic to `version`.
    #[must_use]
    pub fn with_routing(mut self, version: impl Into<String>, weight: f64) -> Self {
        self.routing = Some(RoutingConfig {
            version: version.into(),
            weight,
        });
        self
    }
}

/// An alias as the runtime reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasInfo {
    /// The alias's ARN.
    pub arn: String,
    /// Its configuration.
    pub config: AliasConfig,
}

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

/// Checks an alias's routing weight.
pub(crate) fn validate_routing(config: &AliasConfig) -> Result<()> {
    if let Some(r) = &config.routing {
        if !(0.0..=1.0).contains(&r.weight) || r.weight.is_nan() {
            return Err(Error::invalid(
                "RoutingConfig",
                format!(
                    "weight {} for version {} is not in 0.0..=1.0",
                    r.weight, r.version
                ),
            ));
        }
        if r.version == config.function_version {
            return Err(Error::invalid(
                "RoutingConfig",
                format!(
                    "version {} is already the alias's primary version",
                    r.version
                ),
            ));
        }
        if config.function_version == crate::version::LATEST || r.version == crate::version::LATEST
        {
            return Err(Error::invalid(
                "RoutingConfig",
                "weighted routing is only supported between published versions",
            ));
        }
    }
    Ok(())
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

    #[test]
    fn routing_validation() {
        assert!(validate_routing(&AliasConfig::new("a", "1").with_routing("2", 0.5)).is_ok());
        assert!(validate_routing(&AliasConfig::new("a", "1").with_routing("2", 1.5)).is_err());
        assert!(validate_routing(&AliasConfig::new("a", "1").with_routing("2", f64::NAN)).is_err());
        assert!(validate_routing(&AliasConfig::new("a", "1").with_routing("1", 0.5)).is_err());
        assert!(
            validate_routing(&AliasConfig::new("a", "$LATEST").with_routing("1", 0.5)).is_err()
        );
    }
}
