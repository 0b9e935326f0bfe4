//! The bottom layer: the data types users build and read, with their validation. Nothing here runs an
//! invocation or holds the runtime's state.

pub(crate) mod alias;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod event_config;
pub(crate) mod execution;
pub(crate) mod info;
pub(crate) mod invocation;
pub(crate) mod logs;
pub(crate) mod metering;
pub(crate) mod queue;
