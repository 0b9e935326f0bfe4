//! Starting an instance: the code's init under Lambda's init limit, with panics caught (the cold start).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use stratus_clock::Clock;

use crate::function::{HandlerError, InitContext};
use crate::instance::environment::{Instance, Slot};
use crate::instance::pool::Pool;
use crate::instance::revision::VersionConfig;
use crate::limits::INIT_TIMEOUT;
use crate::types::context::{SlotShared, fast_random};

/// Why an instance could not be started.
#[derive(Debug)]
pub(crate) struct InitFailure {
    pub(crate) error: HandlerError,
    pub(crate) duration: Duration,
}

/// A started instance: the slot for the invocation that asked for it, and how long init took.
pub(crate) struct Started {
    pub(crate) slot: Slot,
    pub(crate) init_duration: Duration,
}

fn new_shared(clock: &Clock) -> Arc<SlotShared> {
    Arc::new(SlotShared::new(clock.clone()))
}

fn log_stream(clock: &Clock, version: &str) -> String {
    let date = chrono::DateTime::<chrono::Utc>::from(clock.now()).format("%Y/%m/%d");
    format!(
        "{date}/[{version}]{:016x}{:016x}",
        fast_random(),
        fast_random()
    )
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("Lambda panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("Lambda panicked: {s}")
    } else {
        "Lambda panicked".to_owned()
    }
}

/// Runs the code's init for a new instance of the version labelled `label` (the cold start), under Lambda's
/// 10 s init limit, with panics caught. The instance counts as live in `pool`; extra slots (per-instance
/// concurrency above 1) go to `pool` at once.
pub(crate) async fn start_instance(
    clock: &Clock,
    pool: &Pool,
    label: &Arc<str>,
    config: Arc<VersionConfig>,
    provisioned: bool,
) -> Result<Started, InitFailure> {
    let started = clock.instant();
    let mut env = config.env.clone();
    env.log_stream = log_stream(clock, label);
    let init_ctx = InitContext {
        function_name: env.function_name.clone(),
        version: env.version.clone(),
        memory_mb: config.config.memory_mb,
        environment: env.environment.clone(),
        clock: clock.clone(),
    };
    let init = match std::panic::catch_unwind(AssertUnwindSafe(|| config.code.init(init_ctx))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind(),
        Err(p) => {
            return Err(InitFailure {
                error: HandlerError::new("Runtime.InitError", panic_message(&*p)),
                duration: Duration::ZERO,
            });
        }
    };
    let outcome = clock.timeout(INIT_TIMEOUT, init).await;
    let duration = clock.instant() - started;
    let handler = match outcome {
        Ok(Ok(Ok(h))) => h,
        Ok(Ok(Err(e))) => {
            return Err(InitFailure {
                error: HandlerError::new(
                    "Runtime.InitError",
                    format!("{}: {}", e.error_type, e.error_message),
                ),
                duration,
            });
        }
        Ok(Err(p)) => {
            return Err(InitFailure {
                error: HandlerError::new("Runtime.InitError", panic_message(&*p)),
                duration,
            });
        }
        Err(_) => {
            return Err(InitFailure {
                error: HandlerError::new(
                    "Runtime.InitError",
                    format!(
                        "Init timed out after {:.2} seconds",
                        INIT_TIMEOUT.as_secs_f64()
                    ),
                ),
                duration,
            });
        }
    };
    pool.live.fetch_add(1, Ordering::Relaxed);
    let slots = config.config.per_instance_concurrency.max(1);
    let instance = Arc::new(Instance {
        handler,
        config,
        function_name: env.function_name.as_str().into(),
        version_label: label.as_ref().into(),
        env: Arc::new(env),
        provisioned,
        poisoned: AtomicBool::new(false),
        live: pool.live.clone(),
    });
    let now = clock.instant();
    for _ in 1..slots {
        pool.checkin(
            Slot {
                instance: instance.clone(),
                shared: new_shared(clock),
                last_used: now,
            },
            now,
        );
    }
    Ok(Started {
        slot: Slot {
            instance,
            shared: new_shared(clock),
            last_used: now,
        },
        init_duration: duration,
    })
}
