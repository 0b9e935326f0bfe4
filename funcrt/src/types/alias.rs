//! Aliases as users configure them: named pointers to a version, optionally splitting traffic with a
//! second version by weight.

use crate::error::{Error, Result};
use crate::types::info::LATEST;

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
        if config.function_version == LATEST || r.version == LATEST {
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
