//! Lambda's limits and defaults, as the runtime enforces them.
//!
//! Every bound a caller can run into is here, so a test or an application can size its inputs against the
//! same numbers the runtime checks: `funcrt::limits::MAX_MEMORY_MB`, `funcrt::limits::SYNC_PAYLOAD_LIMIT`.

use std::time::Duration;

// ----- function configuration -----

/// Smallest memory setting, MB.
pub const MIN_MEMORY_MB: u32 = 128;
/// Largest memory setting, MB.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Longest timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// How long an instance's init may run.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest total size of a function's environment variables, bytes.
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;
/// Most concurrent invocations one instance may serve (Lambda Managed Instances' limit).
pub const MAX_PER_INSTANCE_CONCURRENCY: u32 = 64;

// ----- concurrency and instances -----

/// Default account-level concurrency limit.
pub const DEFAULT_ACCOUNT_CONCURRENCY: u32 = 1000;
/// Concurrency that reservations may never take from the account's unreserved pool.
pub const MIN_UNRESERVED_CONCURRENCY: u32 = 100;
/// Default keep-alive of idle instances.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(600);

// ----- payloads -----

/// Largest payload of a synchronous invocation, request and response (6 MB).
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Largest payload of an asynchronous invocation (1 MB).
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

// ----- asynchronous invocation -----

/// Lambda's default and largest maximum event age (6 hours).
pub const MAX_EVENT_AGE: Duration = Duration::from_secs(21_600);
/// The smallest maximum event age (60 s).
pub const MIN_EVENT_AGE: Duration = Duration::from_secs(60);
/// The delays before the first and second retry of a failed event.
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];
/// First backoff of a throttled event.
pub const THROTTLE_BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest backoff of a throttled event.
pub const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(300);
