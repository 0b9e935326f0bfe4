//! # stratus-checks: the house rules of the workspace, as tests
//!
//! `tests/house.rs` holds every member crate of the workspace to the rules of `../shared/STYLE.md` that a
//! machine can check, and fails naming each breach:
//! - no import cycle between the modules of any crate target ([`ModuleGraph::cycles`]);
//! - no library source file over 1,000 lines ([`rules::oversized`]);
//! - every crate root says `#![forbid(unsafe_code)]` ([`rules::forbids_unsafe`]);
//! - a lint is suppressed only by `#[expect(lint, reason = "...")]` ([`rules::unexplained_suppressions`]);
//! - builders follow one convention: `with_*` setters returning `Self`, `build()` returning a `Result`
//!   ([`rules::builder_breaches`]).
//!
//! ## Modules
//! - [`modgraph`]: a crate target read as syntax trees (`syn`), its module graph, and Tarjan's strongly
//!   connected components over it;
//! - [`rules`]: the other rules, each a function returning what breaks it.
//!
//! Each rule has unit tests on planted breaches (a planted import cycle among them), so a check that can
//! no longer fail is caught.
//!
//! ```
//! use std::path::Path;
//! use stratus_checks::ModuleGraph;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir_all(dir.path().join("src")).unwrap();
//! std::fs::write(dir.path().join("src/lib.rs"), "mod a; mod b;").unwrap();
//! std::fs::write(dir.path().join("src/a.rs"), "pub fn f() { crate::b::g() }").unwrap();
//! std::fs::write(dir.path().join("src/b.rs"), "pub fn g() { super::a::f() }").unwrap();
//! let graph = ModuleGraph::load(dir.path(), Path::new("src/lib.rs")).unwrap();
//! let cycles = graph.cycles();
//! assert_eq!(cycles.len(), 1);
//! assert_eq!(cycles[0].files, [Path::new("src/a.rs"), Path::new("src/b.rs")]);
//! ```
#![forbid(unsafe_code)]

pub mod modgraph;
pub mod rules;

pub use modgraph::{Cycle, LoadError, ModuleGraph, Tie};
