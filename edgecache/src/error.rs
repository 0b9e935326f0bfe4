//! The crate's one error type.

use std::sync::Arc;
use std::time::Duration;

/// A boxed error from a user's origin or a lower layer, shared so one failure can reach every coalesced waiter.
pub type BoxError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `edgecache`.
///
/// Errors are [`Clone`] (sources are kept behind an [`Arc`]) so that one origin failure can be handed to every
/// request that was waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation of a tier failed.
    #[error("tier {tier}: I/O error on {path}: {source}")]
    Io {
        /// The tier's name.
        tier: String,
        /// The file or folder involved.
        path: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The origin failed (connection error, handler error).
    #[error("origin failed for {url}: {source}")]
    Origin {
        /// The URL requested.
        url: String,
        /// The origin's error.
        #[source]
        source: BoxError,
    },
    /// The origin did not answer within the configured time.
    #[error("origin timed out after {after:?} for {url}")]
    OriginTimeout {
        /// The URL requested.
        url: String,
        /// The limit that passed.
        after: Duration,
    },
    /// A client's request cannot be answered as it is (a missing or invalid `Host`); the edge answers it with
    /// `400 Bad Request` and never sends it to the origin.
    #[error("invalid request {field}: {reason}")]
    InvalidRequest {
        /// The request field (or part of the URI) that is wrong.
        field: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration {field}: {reason}")]
    Config {
        /// The option's name.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    /// A short, stable code for the error's kind (for metrics and logs).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "Io",
            Error::Origin { .. } => "Origin",
            Error::OriginTimeout { .. } => "OriginTimeout",
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::Config { .. } => "Config",
        }
    }

    /// An [`Error::Origin`] for `url` from any error.
    pub fn origin(
        url: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Origin {
            url: url.into(),
            source: Arc::from(source.into()),
        }
    }

    pub(crate) fn io(tier: &str, path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            tier: tier.to_string(),
            path: path.to_string(),
            source: Arc::new(source),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
