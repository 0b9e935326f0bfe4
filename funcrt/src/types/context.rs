//! What a handler is told about its invocation: [`Context`], shaped like `lambda_runtime::Context`.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use stratus_clock::{Clock, Instant};

use crate::types::logs::LogBuffer;

/// What the invocations of one instance slot share: the clock and the log buffer (made once per slot, so an
/// invocation clones no runtime-wide reference count).
#[derive(Debug)]
pub(crate) struct SlotShared {
    pub(crate) clock: Clock,
    pub(crate) log: LogBuffer,
    /// Wall time in epoch milliseconds at `base`, so a deadline's wall time needs no second clock read.
    pub(crate) wall_ms: u64,
    pub(crate) base: Instant,
}

impl SlotShared {
    pub(crate) fn new(clock: Clock) -> Self {
        let base = clock.instant();
        let wall_ms = clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        SlotShared {
            clock,
            log: LogBuffer::default(),
            wall_ms,
            base,
        }
    }

    fn wall_ms_at(&self, at: Instant) -> u64 {
        self.wall_ms
            .saturating_add((at - self.base).as_millis() as u64)
    }
}

/// The function's configuration as the runtime shows it to a handler (`lambda_runtime::Config`'s fields).
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// The name of the function.
    pub function_name: String,
    /// The memory limit in MB.
    pub memory: i32,
    /// The version being executed (`$LATEST` or a number).
    pub version: String,
    /// The log stream of the instance.
    pub log_stream: String,
    /// The log group of the function (`/aws/lambda/NAME`).
    pub log_group: String,
    /// The function's environment variables (Lambda sets them in the process; here they are per function).
    pub environment: BTreeMap<String, String>,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            function_name: String::new(),
            memory: 128,
            version: "$LATEST".into(),
            log_stream: String::new(),
            log_group: String::new(),
            environment: BTreeMap::new(),
        }
    }
}

/// The invocation context handed to a handler.
///
/// The public fields are those of `lambda_runtime::Context` (request id, deadline in epoch milliseconds,
/// invoked ARN, the function's [`EnvConfig`]), so handler code reading them runs unchanged. On top of it:
/// [`Context::remaining_time`] (on the runtime's clock), [`Context::log`] (captured per invocation) and
/// [`Context::env`] (the function's environment variables).
#[derive(Clone, Debug)]
pub struct Context {
    /// The request id (a UUID, as Lambda's).
    pub request_id: String,
    /// The execution deadline in milliseconds since the Unix epoch.
    pub deadline: u64,
    /// The ARN the caller invoked (with the qualifier, if one was given).
    pub invoked_function_arn: String,
    /// X-Ray trace id: never set in-process.
    pub xray_trace_id: Option<String>,
    /// Tenant id: never set in-process.
    pub tenant_id: Option<String>,
    /// The function's configuration.
    pub env_config: Arc<EnvConfig>,
    deadline_at: Instant,
    slot: Arc<SlotShared>,
}

impl Default for Context {
    /// An empty context on the system clock, for calling a handler directly in a unit test.
    fn default() -> Self {
        Context {
            request_id: String::new(),
            deadline: 0,
            invoked_function_arn: String::new(),
            xray_trace_id: None,
            tenant_id: None,
            env_config: Arc::new(EnvConfig::default()),
            deadline_at: Instant::default(),
            slot: Arc::new(SlotShared::new(Clock::system())),
        }
    }
}

impl Context {
    pub(crate) fn new(
        request_id: String,
        invoked_function_arn: String,
        env_config: Arc<EnvConfig>,
        started: Instant,
        timeout: Duration,
        slot: Arc<SlotShared>,
    ) -> Self {
        let deadline_at = started + timeout;
        let now_ms = slot.wall_ms_at(started);
        Context {
            request_id,
            deadline: now_ms.saturating_add(timeout.as_millis() as u64),
            invoked_function_arn,
            xray_trace_id: None,
            tenant_id: None,
            env_config,
            deadline_at,
            slot,
        }
    }

    /// Time left before the runtime cancels this invocation, on the runtime's clock.
    pub fn remaining_time(&self) -> Duration {
        self.deadline_at - self.slot.clock.instant()
    }

    /// The clock the runtime runs on: a handler that waits should wait on it (`ctx.clock().sleep(d)`), so
    /// tests can move its time.
    pub fn clock(&self) -> &Clock {
        &self.slot.clock
    }

    /// Writes a line to this invocation's log (what a Lambda function prints to stdout).
    pub fn log(&self, line: impl Into<String>) {
        self.slot.log.push(line.into());
    }

    /// An environment variable of the function.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env_config.environment.get(key).map(String::as_str)
    }

    /// The function's name.
    pub fn function_name(&self) -> &str {
        &self.env_config.function_name
    }

    /// The version being executed.
    pub fn function_version(&self) -> &str {
        &self.env_config.version
    }

    /// The configured memory in MB.
    pub fn memory_limit_in_mb(&self) -> u32 {
        self.env_config.memory.max(0) as u32
    }
}

thread_local! {
    static ID_STATE: Cell<u64> = Cell::new(rand::random::<u64>() | 1);
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A cheap per-thread random number (splitmix64 over a randomly seeded thread-local counter): no lock, no
/// shared cache line.
pub(crate) fn fast_random() -> u64 {
    ID_STATE.with(|s| {
        let next = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(next);
        splitmix64(next)
    })
}

/// A fresh request id in UUID v4 form, e.g. `c6af9ac6-7b61-4a1b-8f2e-0d9b5c3e1a2f`.
pub(crate) fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fast_random().to_be_bytes());
    bytes[8..].copy_from_slice(&fast_random().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0F) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3F) | 0x80; // RFC 4122 variant
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1; // keep the dash
        }
        out[at] = HEX[(b >> 4) as usize];
        out[at + 1] = HEX[(b & 0xF) as usize];
        at += 2;
    }
    // Hex digits and dashes are ASCII, so this never fails.
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn request_ids_are_uuid_v4_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = new_request_id();
            assert_eq!(id.len(), 36);
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                vec![8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
            assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn remaining_time_follows_the_clock() {
        let manual = stratus_clock::ManualClock::new();
        let clock = manual.clock();
        let ctx = Context::new(
            "id".into(),
            "arn".into(),
            Arc::new(EnvConfig::default()),
            clock.instant(),
            Duration::from_secs(3),
            Arc::new(SlotShared::new(clock.clone())),
        );
        assert_eq!(ctx.remaining_time(), Duration::from_secs(3));
        manual.advance(Duration::from_millis(2500));
        assert_eq!(ctx.remaining_time(), Duration::from_millis(500));
        manual.advance(Duration::from_secs(1));
        assert_eq!(ctx.remaining_time(), Duration::ZERO);
        // 2024-01-01T00:00:00Z + 3 s, in epoch milliseconds.
        assert_eq!(ctx.deadline, 1_704_067_203_000);
    }
}
