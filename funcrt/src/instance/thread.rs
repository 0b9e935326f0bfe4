//! Where an instance's code runs: by default on a thread of its own, so a handler that blocks its thread
//! (`std::thread::sleep`, a busy loop, a blocking client) stalls only its own instance, never the host's
//! tokio workers or another function.
//!
//! The thread is the execution environment: it runs the code's init, then serves the instance's
//! invocations, several at once when `per_instance_concurrency` is above 1. The caller hands an invocation
//! over a channel and awaits a oneshot reply raced against the deadline on the runtime's clock, so the
//! caller's answer (`Sandbox.Timedout`) never depends on the handler giving its thread back. When the
//! caller stops waiting (a timeout, or its future was dropped), the handler's future is dropped on the
//! instance's thread at its next `.await`; a handler that never yields keeps its thread until it returns,
//! and the thread ends as soon as the instance is gone and nothing runs on it any more.
//!
//! The thread drives its futures with the host's tokio runtime entered ([`tokio::runtime::Handle`] of
//! the caller that started the instance), so `tokio::spawn`, tokio timers and I/O inside a handler use
//! the host's runtime as they would inline; started outside any tokio runtime, it runs a private
//! current-thread runtime.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::task::Poll;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::AtomicWaker;
use serde_json::Value;
use std::pin::Pin;
use stratus_clock::{Clock, Instant};
use tokio::sync::{mpsc, oneshot};

use crate::function::{Code, Function, HandlerError, InitContext};
use crate::instance::watchdog::{Alarm, BLOCKED_AFTER, ring_at};
use crate::types::context::Context;

/// How a handler's call ended on its thread: its result, or the message of its panic.
pub(crate) type CallResult = Result<Result<Value, HandlerError>, String>;

/// Why an init did not produce a handler.
#[derive(Debug)]
pub(crate) enum InitError {
    /// The init returned an error.
    Failed(HandlerError),
    /// The init panicked, with this message.
    Panicked(String),
}

/// How an init ended on its thread.
pub(crate) type InitResult = Result<(), InitError>;

struct Job {
    event: Value,
    ctx: Context,
    reply: oneshot::Sender<CallResult>,
    state: Arc<CallState>,
}

/// Sent, not yet picked up by the thread.
const QUEUED: u8 = 0;
/// Inside a poll of the handler's future (or of its call).
const POLLING: u8 = 1;
/// Suspended at an `.await`.
const SUSPENDED: u8 = 2;
/// Finished, its future dropped.
const DONE: u8 = 3;

/// What the caller and the instance's thread share about one call: where the handler is (queued, inside
/// a poll, suspended at an `.await`, done with its future dropped) and the caller's waker.
struct CallState {
    state: AtomicU8,
    waker: AtomicWaker,
}

impl CallState {
    fn new() -> Self {
        CallState {
            state: AtomicU8::new(QUEUED),
            waker: AtomicWaker::new(),
        }
    }

    fn set(&self, state: u8) {
        self.state.store(state, Ordering::Release);
        self.waker.wake();
    }

    fn get(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }
}

impl Alarm for CallState {
    fn ring(&self) {
        self.waker.wake();
    }
}

/// One call (an init, or an invocation) handed to an instance's thread; [`Call::wait`] awaits its end.
pub(crate) struct Call<T> {
    reply: oneshot::Receiver<T>,
    state: Arc<CallState>,
}

/// How a [`Call`] ended for its caller.
pub(crate) enum Waited<T> {
    /// The call's result.
    Done(T),
    /// The deadline passed first.
    TimedOut,
    /// The instance's thread is gone (it exited, or its runtime shut down).
    Gone,
}

impl<T> Call<T> {
    /// Waits for the call's result until `clock` reaches `deadline`.
    ///
    /// The deadline's timer is armed once the handler suspends at an `.await` (as an inline call arms
    /// it once the handler's first poll is pending), or once the handler has held its thread for
    /// [`BLOCKED_AFTER`] of wall time without suspending (see [`crate::instance::watchdog`]). On a
    /// timeout of a suspended handler, the caller waits (at most [`BLOCKED_AFTER`]) for the thread to
    /// drop the handler's future, so what the handler holds is released when the caller is answered.
    pub(crate) async fn wait(self, clock: &Clock, deadline: Instant) -> Waited<T> {
        let Call { mut reply, state } = self;
        let sent = std::time::Instant::now();
        let alarm: Arc<dyn Alarm> = state.clone();
        let mut watched = false;
        let mut timer = None;
        let end = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = Pin::new(&mut reply).poll(cx) {
                return Poll::Ready(r.map_or(Waited::Gone, Waited::Done));
            }
            if timer.is_none() {
                state.waker.register(cx.waker());
                if state.get() >= SUSPENDED || sent.elapsed() >= BLOCKED_AFTER {
                    timer = Some(clock.sleep_until(deadline));
                } else if !watched {
                    watched = true;
                    if !ring_at(&alarm, sent + BLOCKED_AFTER) {
                        timer = Some(clock.sleep_until(deadline));
                    }
                }
            }
            match timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Waited::TimedOut),
                _ => Poll::Pending,
            }
        })
        .await;
        drop(timer);
        if matches!(end, Waited::TimedOut) && state.get() == SUSPENDED {
            // Closing the reply makes the thread drop the handler's future at once (it is suspended).
            drop(reply);
            let until = std::time::Instant::now() + BLOCKED_AFTER;
            let mut watched = false;
            std::future::poll_fn(|cx| {
                state.waker.register(cx.waker());
                if state.get() == DONE || std::time::Instant::now() >= until {
                    return Poll::Ready(());
                }
                if !watched {
                    watched = true;
                    if !ring_at(&alarm, until) {
                        return Poll::Ready(());
                    }
                }
                Poll::Pending
            })
            .await;
        }
        end
    }
}

/// The caller's side of an instance's thread. Dropping it (with the instance) ends the thread once
/// nothing runs on it.
#[derive(Debug)]
pub(crate) struct InstanceThread {
    jobs: mpsc::UnboundedSender<Job>,
}

impl InstanceThread {
    /// Hands one invocation to the thread.
    pub(crate) fn call(&self, event: Value, ctx: Context) -> Call<CallResult> {
        let (reply, rx) = oneshot::channel();
        let state = Arc::new(CallState::new());
        // A send fails only if the thread has exited: the dropped `reply` then closes `rx`.
        let _ = self.jobs.send(Job {
            event,
            ctx,
            reply,
            state: state.clone(),
        });
        Call { reply: rx, state }
    }
}

/// The message of a caught panic, as Lambda's runtime reports it.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("Lambda panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("Lambda panicked: {s}")
    } else {
        "Lambda panicked".to_owned()
    }
}

/// Decrements the runtime's count of instance threads when the thread ends, however it ends.
struct ThreadCount(Arc<AtomicUsize>);

impl Drop for ThreadCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts an instance's thread, named after `label`, which runs `code`'s init with `init_ctx` and then
/// serves invocations. `threads` counts the instance threads alive. The receiver yields the init's result;
/// if the caller drops it (the init timed out), the init's future is dropped and the thread ends.
///
/// # Errors
/// The OS error if the thread cannot be created.
pub(crate) fn spawn_instance_thread(
    code: Code,
    init_ctx: InitContext,
    label: &str,
    threads: &Arc<AtomicUsize>,
) -> std::io::Result<(InstanceThread, Call<InitResult>)> {
    let (jobs, jobs_rx) = mpsc::unbounded_channel();
    let (init_tx, init_rx) = oneshot::channel();
    let init_state = Arc::new(CallState::new());
    let thread_state = init_state.clone();
    let host = tokio::runtime::Handle::try_current().ok();
    threads.fetch_add(1, Ordering::Relaxed);
    let count = ThreadCount(threads.clone());
    let name = format!("funcrt-{}-{label}", init_ctx.function_name);
    std::thread::Builder::new().name(name).spawn(move || {
        let _count = count;
        let body = instance_main(code, init_ctx, init_tx, thread_state, jobs_rx);
        match host {
            Some(handle) => handle.block_on(body),
            None => match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(body),
                // Dropping `body` drops `init_tx`: the caller sees the instance fail to start.
                Err(_) => drop(body),
            },
        }
    })?;
    Ok((
        InstanceThread { jobs },
        Call {
            reply: init_rx,
            state: init_state,
        },
    ))
}

/// Polls `fut` (panics caught) on the instance's thread until it completes, recording in `state` whether
/// it is inside a poll or suspended; gives up (dropping `fut`) once the caller stops waiting for `reply`.
async fn drive<F: Future, T>(
    fut: F,
    reply: &mut oneshot::Sender<T>,
    state: &CallState,
) -> Option<std::thread::Result<F::Output>> {
    let mut fut = pin!(AssertUnwindSafe(fut).catch_unwind());
    std::future::poll_fn(|cx| {
        state.state.store(POLLING, Ordering::Relaxed);
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if reply.poll_closed(cx).is_ready() {
            return Poll::Ready(None);
        }
        state.set(SUSPENDED);
        Poll::Pending
    })
    .await
}

async fn instance_main(
    code: Code,
    init_ctx: InitContext,
    mut init_tx: oneshot::Sender<InitResult>,
    init_state: Arc<CallState>,
    jobs: mpsc::UnboundedReceiver<Job>,
) {
    let done = Done(&init_state);
    init_state.state.store(POLLING, Ordering::Relaxed);
    let init = match std::panic::catch_unwind(AssertUnwindSafe(|| code.init(init_ctx))) {
        Ok(fut) => fut,
        Err(p) => {
            let _ = init_tx.send(Err(InitError::Panicked(panic_message(&*p))));
            return;
        }
    };
    let handler = match drive(init, &mut init_tx, &init_state).await {
        None => return,
        Some(Err(p)) => {
            let _ = init_tx.send(Err(InitError::Panicked(panic_message(&*p))));
            return;
        }
        Some(Ok(Err(e))) => {
            let _ = init_tx.send(Err(InitError::Failed(e)));
            return;
        }
        Some(Ok(Ok(h))) => h,
    };
    if init_tx.send(Ok(())).is_err() {
        return;
    }
    drop(done);
    serve(&handler, jobs).await;
}

/// Serves invocations until the instance is dropped (the channel closes) and every running call ended.
async fn serve(handler: &Arc<dyn Function>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    std::future::poll_fn(|cx| {
        while open {
            match jobs.poll_recv(cx) {
                Poll::Ready(Some(job)) => running.push(run_one(handler, job)),
                Poll::Ready(None) => open = false,
                Poll::Pending => break,
            }
        }
        while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
        if !open && running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

async fn run_one(handler: &Arc<dyn Function>, job: Job) {
    let Job {
        event,
        ctx,
        mut reply,
        state,
    } = job;
    let _done = Done(&state);
    state.state.store(POLLING, Ordering::Relaxed);
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(event, ctx))) {
        Ok(fut) => fut,
        Err(p) => {
            let _ = reply.send(Err(panic_message(&*p)));
            return;
        }
    };
    let out = drive(fut, &mut reply, &state).await;
    if let Some(out) = out {
        let _ = reply.send(out.map_err(|p| panic_message(&*p)));
    }
}

/// Marks a call done (its handler's future dropped) however `run_one` ends.
struct Done<'a>(&'a CallState);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.set(DONE);
    }
}
