//! [`Execution`]: where a runtime runs its functions' code.

/// Where a [`crate::Runtime`] runs its functions' inits and handlers
/// ([`crate::RuntimeBuilder::with_execution`]).
///
/// | | [`Execution::Thread`] (default) | [`Execution::Inline`] |
/// |---|---|---|
/// | a handler that blocks its thread | stalls only its own instance; the caller gets `Sandbox.Timedout` at its deadline, the instance is discarded | stalls the caller's tokio worker and everything queued on it; the timeout fires only when the handler yields |
/// | warm invocation cost | a hand-off to the instance's thread and back (microseconds; see `benches/README.md`) | a few hundred nanoseconds |
/// | resources | one OS thread per live instance (2 MiB of reserved stack, a few KiB resident) | none |
///
/// Choose `Inline` only for trusted handlers that never block their thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Execution {
    /// Each instance runs its init and handlers on a dedicated OS thread: a blocked or busy handler cannot
    /// stall the host's runtime, another function or another instance.
    #[default]
    Thread,
    /// Handlers run in the caller's task, as plain futures: the fastest, but a handler that blocks its
    /// thread cannot be interrupted and stalls the caller's worker thread.
    Inline,
}
