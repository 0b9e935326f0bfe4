//! The house rules, held against every member crate of the workspace (issue "The house"; `../shared/STYLE.md`
//! rules 1 and 13). Each test fails naming every breach it finds.

use std::path::{Path, PathBuf};

use stratus_checks::{ModuleGraph, rules};

/// The workspace's folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The member crates' folders, read from the workspace manifest's `members = [...]`.
fn members() -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("a members list");
    let list = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
    let members: Vec<PathBuf> = list
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| workspace().join(m))
        .collect();
    assert!(members.len() >= 7, "the workspace lists {members:?}");
    members
}

/// A crate's library and binary roots, relative to its folder: `src/lib.rs`, `src/main.rs`, `src/bin/x.rs`,
/// `src/bin/x/main.rs`.
fn target_roots(krate: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["src/lib.rs", "src/main.rs"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| krate.join(p).is_file())
        .collect();
    if let Ok(bins) = std::fs::read_dir(krate.join("src/bin")) {
        for entry in bins.flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(krate).unwrap().to_path_buf();
            if path.extension().is_some_and(|e| e == "rs") {
                roots.push(rel);
            } else if path.join("main.rs").is_file() {
                roots.push(rel.join("main.rs"));
            }
        }
    }
    roots.sort();
    roots
}

#[test]
fn no_module_of_any_crate_is_in_an_import_cycle() {
    let mut report = String::new();
    let mut read = 0;
    for krate in members() {
        for root in target_roots(&krate) {
            let graph = ModuleGraph::load(&krate, &root).unwrap_or_else(|e| panic!("{e}"));
            read += graph.files().len();
            for cycle in graph.cycles() {
                report += &format!("{} ({}): {cycle}", krate.display(), root.display());
            }
        }
    }
    assert!(
        read > 50,
        "only {read} files read: the members or their roots were not found"
    );
    println!(
        "module cycles: {} (over {read} files)",
        report.matches("cycle of").count()
    );
    assert!(
        report.is_empty(),
        "import cycles between modules:\n{report}"
    );
}

#[test]
fn no_library_source_file_is_over_1000_lines() {
    let mut files = Vec::new();
    for krate in members() {
        files.extend(rules::rust_files(&krate.join("src")));
    }
    let big = rules::oversized(&files, 1000);
    assert!(
        big.is_empty(),
        "library files over 1,000 lines, each likely more than one concept: {big:?}"
    );
}

#[test]
fn every_crate_root_forbids_unsafe_code() {
    let mut missing = Vec::new();
    for krate in members() {
        for root in target_roots(&krate) {
            if !rules::forbids_unsafe(&krate.join(&root)).unwrap() {
                missing.push(krate.join(root));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "crate roots without #![forbid(unsafe_code)]: {missing:?}"
    );
}

#[test]
fn every_lint_suppression_is_an_expect_with_a_reason() {
    let mut files = Vec::new();
    for krate in members() {
        files.extend(rules::rust_files(&krate));
    }
    let found = rules::unexplained_suppressions(&files);
    assert!(
        found.is_empty(),
        "use #[expect(lint, reason = \"...\")]:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_builder_follows_one_convention() {
    let mut files = Vec::new();
    for krate in members() {
        files.extend(rules::rust_files(&krate.join("src")));
    }
    let found = rules::builder_breaches(&files).unwrap();
    assert!(
        found.is_empty(),
        "builder methods are with_*(..) -> Self and build() -> Result:\n{}",
        found.join("\n")
    );
}
