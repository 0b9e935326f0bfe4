//! Starting an instance: the code's init under Lambda's init limit, with panics caught (the cold start),
//! on the instance's own thread or inline (see [`Execution`]).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;
use stratus_clock::{Clock, Instant};

use crate::function::{HandlerError, InitContext};
use crate::instance::environment::{Instance, Runner, Slot};
use crate::instance::pool::Pool;
use crate::instance::revision::VersionConfig;
use crate::instance::thread::{InitError, Waited, panic_message, spawn_instance_thread};
use crate::limits::INIT_TIMEOUT;
use crate::types::context::{SlotShared, fast_random};
use crate::types::execution::Execution;

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

/// How instances are started: where their code runs, and the count of instance threads alive.
#[derive(Debug, Clone)]
pub(crate) struct Launcher {
    pub(crate) execution: Execution,
    pub(crate) threads: Arc<AtomicUsize>,
}

fn init_error(error_type: &str, message: String, duration: Duration) -> InitFailure {
    InitFailure {
        error: HandlerError::new(error_type, message),
        duration,
    }
}

fn init_failed(e: HandlerError, duration: Duration) -> InitFailure {
    init_error(
        "Runtime.InitError",
        format!("{}: {}", e.error_type, e.error_message),
        duration,
    )
}

fn init_timed_out(duration: Duration) -> InitFailure {
    init_error(
        "Runtime.InitError",
        format!(
            "Init timed out after {:.2} seconds",
            INIT_TIMEOUT.as_secs_f64()
        ),
        duration,
    )
}

/// Runs the init in the caller's task ([`Execution::Inline`]).
async fn init_inline(
    clock: &Clock,
    config: &VersionConfig,
    init_ctx: InitContext,
    started: Instant,
) -> Result<Runner, InitFailure> {
    let init = match std::panic::catch_unwind(AssertUnwindSafe(|| config.code.init(init_ctx))) {
        Ok(fut) => AssertUnwindSafe(fut).catch_unwind(),
        Err(p) => {
            return Err(init_error(
                "Runtime.InitError",
                panic_message(&*p),
                Duration::ZERO,
            ));
        }
    };
    let outcome = clock.timeout(INIT_TIMEOUT, init).await;
    let duration = clock.instant() - started;
    match outcome {
        Ok(Ok(Ok(h))) => Ok(Runner::Inline(h)),
        Ok(Ok(Err(e))) => Err(init_failed(e, duration)),
        Ok(Err(p)) => Err(init_error(
            "Runtime.InitError",
            panic_message(&*p),
            duration,
        )),
        Err(_) => Err(init_timed_out(duration)),
    }
}

/// Starts the instance's thread and waits, on the runtime's clock, for its init ([`Execution::Thread`]).
async fn init_on_thread(
    clock: &Clock,
    config: &VersionConfig,
    init_ctx: InitContext,
    label: &str,
    threads: &Arc<AtomicUsize>,
    started: Instant,
) -> Result<Runner, InitFailure> {
    let (thread, ready) = spawn_instance_thread(config.code.clone(), init_ctx, label, threads)
        .map_err(|e| {
            init_error(
                "Runtime.InitError",
                format!("could not start the instance's thread: {e}"),
                Duration::ZERO,
            )
        })?;
    let outcome = ready.wait(clock, started + INIT_TIMEOUT).await;
    let duration = clock.instant() - started;
    match outcome {
        Waited::Done(Ok(())) => Ok(Runner::Thread(thread)),
        Waited::Done(Err(InitError::Failed(e))) => Err(init_failed(e, duration)),
        Waited::Done(Err(InitError::Panicked(msg))) => {
            Err(init_error("Runtime.InitError", msg, duration))
        }
        Waited::Gone => Err(init_error(
            "Runtime.InitError",
            "the instance's thread exited during init".to_owned(),
            duration,
        )),
        // Dropping the call tells the thread to drop the init at its next `.await` and end.
        Waited::TimedOut => Err(init_timed_out(duration)),
    }
}

/// Runs the code's init for a new instance of the version labelled `label` (the cold start), under Lambda's
/// 10 s init limit, with panics caught, where `launcher` says code runs. The instance counts as live in
/// `pool`; extra slots (per-instance concurrency above 1) go to `pool` at once.
pub(crate) async fn start_instance(
    clock: &Clock,
    launcher: &Launcher,
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
    let runner = match launcher.execution {
        Execution::Inline => init_inline(clock, &config, init_ctx, started).await?,
        Execution::Thread => {
            init_on_thread(clock, &config, init_ctx, label, &launcher.threads, started).await?
        }
    };
    let duration = clock.instant() - started;
    pool.live.fetch_add(1, Ordering::Relaxed);
    let slots = config.config.per_instance_concurrency.max(1);
    let instance = Arc::new(Instance {
        runner,
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
