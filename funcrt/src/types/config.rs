//! Function configuration, its builder and its update, checked against [`crate::limits`]; the name rules
//! of functions and aliases.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::limits::{
    MAX_ENVIRONMENT_BYTES, MAX_MEMORY_MB, MAX_PER_INSTANCE_CONCURRENCY, MAX_TIMEOUT, MIN_MEMORY_MB,
};

/// A function's configuration. Build it with [`FunctionConfig::builder`]; the runtime validates it again on
/// create and update, so an out-of-range value is always an [`Error::InvalidParameter`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FunctionConfig {
    /// Memory in MB, `128..=10240` (Lambda's `MemorySize`).
    pub memory_mb: u32,
    /// Timeout, whole seconds in `1..=900` (Lambda's `Timeout`).
    pub timeout: Duration,
    /// Environment variables, shown to the handler through [`crate::Context::env`].
    pub environment: BTreeMap<String, String>,
    /// Reserved concurrency: `None` shares the account's unreserved pool; `Some(0)` throttles every call.
    pub reserved_concurrency: Option<u32>,
    /// How many invocations one instance serves at once. Lambda's default model is 1; Lambda Managed
    /// Instances allow more.
    pub per_instance_concurrency: u32,
    /// How long an idle instance stays warm; `None` uses the runtime's keep-alive.
    pub keep_alive: Option<Duration>,
    /// Free text.
    pub description: String,
}

impl Default for FunctionConfig {
    /// Lambda's defaults: 128 MB, 3 s.
    fn default() -> Self {
        FunctionConfig {
            memory_mb: MIN_MEMORY_MB,
            timeout: Duration::from_secs(3),
            environment: BTreeMap::new(),
            reserved_concurrency: None,
            per_instance_concurrency: 1,
            keep_alive: None,
            description: String::new(),
        }
    }
}

impl FunctionConfig {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> FunctionConfigBuilder {
        FunctionConfigBuilder {
            config: FunctionConfig::default(),
        }
    }

    /// Checks every field against Lambda's limits.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        validate_memory(self.memory_mb)?;
        validate_timeout(self.timeout)?;
        validate_environment(&self.environment)?;
        if !(1..=MAX_PER_INSTANCE_CONCURRENCY).contains(&self.per_instance_concurrency) {
            return Err(Error::invalid(
                "PerExecutionEnvironmentMaxConcurrency",
                format!(
                    "{} is not in 1..={MAX_PER_INSTANCE_CONCURRENCY}",
                    self.per_instance_concurrency
                ),
            ));
        }
        if self.keep_alive == Some(Duration::ZERO) {
            return Err(Error::invalid("KeepAlive", "must be longer than zero"));
        }
        Ok(())
    }
}

pub(crate) fn validate_memory(mb: u32) -> Result<()> {
    if (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&mb) {
        Ok(())
    } else {
        Err(Error::invalid(
            "MemorySize",
            format!("{mb} MB is not in {MIN_MEMORY_MB}..={MAX_MEMORY_MB}"),
        ))
    }
}

pub(crate) fn validate_timeout(t: Duration) -> Result<()> {
    if t.subsec_nanos() != 0 {
        return Err(Error::invalid(
            "Timeout",
            format!("{t:?} is not a whole number of seconds"),
        ));
    }
    if t < Duration::from_secs(1) || t > MAX_TIMEOUT {
        return Err(Error::invalid(
            "Timeout",
            format!("{} s is not in 1..=900", t.as_secs()),
        ));
    }
    Ok(())
}

pub(crate) fn validate_environment(env: &BTreeMap<String, String>) -> Result<()> {
    let mut size = 0;
    for (k, v) in env {
        let mut chars = k.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && k.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::invalid(
                "Environment",
                format!("variable name {k:?} must match [a-zA-Z][a-zA-Z0-9_]+"),
            ));
        }
        size += k.len() + v.len();
    }
    if size > MAX_ENVIRONMENT_BYTES {
        return Err(Error::invalid(
            "Environment",
            format!("variables take {size} bytes, more than {MAX_ENVIRONMENT_BYTES}"),
        ));
    }
    Ok(())
}

/// Builds a [`FunctionConfig`].
#[derive(Debug, Clone)]
pub struct FunctionConfigBuilder {
    config: FunctionConfig,
}

impl FunctionConfigBuilder {
    /// Memory in MB (`128..=10240`).
    #[must_use]
    pub fn with_memory_mb(mut self, mb: u32) -> Self {
        self.config.memory_mb = mb;
        self
    }

    /// Timeout in whole seconds (`1..=900`).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Sets one environment variable.
    #[must_use]
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.environment.insert(key.into(), value.into());
        self
    }

    /// Reserved concurrency (0 throttles every call).
    #[must_use]
    pub fn with_reserved_concurrency(mut self, n: u32) -> Self {
        self.config.reserved_concurrency = Some(n);
        self
    }

    /// Invocations one instance serves at once (`1..=64`, default 1).
    #[must_use]
    pub fn with_per_instance_concurrency(mut self, n: u32) -> Self {
        self.config.per_instance_concurrency = n;
        self
    }

    /// Keep-alive of idle instances for this function.
    #[must_use]
    pub fn with_keep_alive(mut self, d: Duration) -> Self {
        self.config.keep_alive = Some(d);
        self
    }

    /// Description.
    #[must_use]
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.config.description = d.into();
        self
    }

    /// The validated configuration.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the first field out of range.
    pub fn build(self) -> Result<FunctionConfig> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// A change to a function's configuration (`UpdateFunctionConfiguration`): `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigUpdate {
    /// New memory in MB.
    pub memory_mb: Option<u32>,
    /// New timeout.
    pub timeout: Option<Duration>,
    /// New environment (replaces the whole map, as Lambda does).
    pub environment: Option<BTreeMap<String, String>>,
    /// New per-instance concurrency.
    pub per_instance_concurrency: Option<u32>,
    /// New keep-alive.
    pub keep_alive: Option<Duration>,
    /// New description.
    pub description: Option<String>,
}

impl ConfigUpdate {
    pub(crate) fn apply(&self, cfg: &FunctionConfig) -> Result<FunctionConfig> {
        let mut c = cfg.clone();
        if let Some(m) = self.memory_mb {
            c.memory_mb = m;
        }
        if let Some(t) = self.timeout {
            c.timeout = t;
        }
        if let Some(e) = &self.environment {
            c.environment = e.clone();
        }
        if let Some(n) = self.per_instance_concurrency {
            c.per_instance_concurrency = n;
        }
        if let Some(k) = self.keep_alive {
            c.keep_alive = Some(k);
        }
        if let Some(d) = &self.description {
            c.description = d.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

/// Function names: 1 to 64 of `[a-zA-Z0-9-_]`.
pub(crate) fn validate_function_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid(
            "FunctionName",
            format!("{name:?} must be 1 to 64 characters of [a-zA-Z0-9-_]"),
        ));
    }
    Ok(())
}

/// Alias names: 1 to 128 of `[a-zA-Z0-9-_]`, not all digits (that would read as a version).
pub(crate) fn validate_alias_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || name.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Error::invalid(
            "Name",
            format!("alias {name:?} must be 1 to 128 characters of [a-zA-Z0-9-_], not all digits"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits_are_lambdas() {
        assert!(
            FunctionConfig::builder()
                .with_memory_mb(128)
                .build()
                .is_ok()
        );
        assert!(
            FunctionConfig::builder()
                .with_memory_mb(10_240)
                .build()
                .is_ok()
        );
        for bad in [0, 127, 10_241] {
            let e = FunctionConfig::builder()
                .with_memory_mb(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidParameter {
                        parameter: "MemorySize",
                        ..
                    }
                ),
                "{e}"
            );
        }
        assert!(
            FunctionConfig::builder()
                .with_timeout(Duration::from_secs(900))
                .build()
                .is_ok()
        );
        for bad in [
            Duration::ZERO,
            Duration::from_secs(901),
            Duration::from_millis(1500),
        ] {
            let e = FunctionConfig::builder()
                .with_timeout(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidParameter {
                        parameter: "Timeout",
                        ..
                    }
                ),
                "{e}"
            );
        }
        let e = FunctionConfig::builder()
            .with_env("1BAD", "x")
            .build()
            .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidParameter {
                parameter: "Environment",
                ..
            }
        ));
        let e = FunctionConfig::builder()
            .with_env("BIG", "x".repeat(5000))
            .build()
            .unwrap_err();
        assert!(matches!(
            e,
            Error::InvalidParameter {
                parameter: "Environment",
                ..
            }
        ));
        assert!(
            FunctionConfig::builder()
                .with_per_instance_concurrency(0)
                .build()
                .is_err()
        );
        assert!(
            FunctionConfig::builder()
                .with_per_instance_concurrency(65)
                .build()
                .is_err()
        );
    }

    #[test]
    fn names() {
        assert!(validate_function_name("my-fn_1").is_ok());
        assert!(validate_function_name("").is_err());
        assert!(validate_function_name(&"a".repeat(65)).is_err());
        assert!(validate_function_name("a:b").is_err());
        assert!(validate_alias_name("prod").is_ok());
        assert!(validate_alias_name("123").is_err());
    }

    proptest! {
        #[test]
        fn memory_validation_matches_range(mb in 0u32..20_000) {
            prop_assert_eq!(validate_memory(mb).is_ok(), (128..=10_240).contains(&mb));
        }

        #[test]
        fn timeout_validation_matches_range(ms in 0u64..1_000_000) {
            let ok = ms % 1000 == 0 && (1_000..=900_000).contains(&ms);
            prop_assert_eq!(validate_timeout(Duration::from_millis(ms)).is_ok(), ok);
        }

        #[test]
        fn any_name_string_never_panics(s in ".{0,80}") {
            let _ = validate_function_name(&s);
            let _ = validate_alias_name(&s);
        }
    }
}
