//! The house rules other than cycles, each a function that returns what breaks it (empty when none does).

use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Every `.rs` file under `dir`, sorted, leaving out build output (`target/`) and hidden folders.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    todo.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The files among `files` longer than `max_lines` lines, with their lengths.
pub fn oversized(files: &[PathBuf], max_lines: usize) -> Vec<(PathBuf, usize)> {
    files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > max_lines).then(|| (f.clone(), lines))
        })
        .collect()
}

/// Whether the crate root `file` says `#![forbid(unsafe_code)]`.
///
/// # Errors
/// The file cannot be read or is not valid Rust.
pub fn forbids_unsafe(file: &Path) -> Result<bool, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let ast = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(ast.attrs.iter().any(|a| {
        a.path().is_ident("forbid")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|lint| lint == "unsafe_code")
    }))
}

/// The places (`file:line`) in `files` that suppress a lint with `allow` rather than
/// `#[expect(lint, reason = "...")]`, and the `expect`s that give no reason. Attributes are read where
/// rustfmt puts them, at the start of a line.
pub fn unexplained_suppressions(files: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let allow = code.starts_with("#[allow(") || code.starts_with("#![allow(");
            let expect = code.starts_with("#[expect(") || code.starts_with("#![expect(");
            // The attribute runs to the line that closes it (rustfmt breaks a long one over several).
            let end = (n..lines.len())
                .find(|&i| lines[i].contains(")]"))
                .unwrap_or(n);
            let bare_expect = expect && !lines[n..=end].iter().any(|l| l.contains("reason"));
            if allow || bare_expect {
                out.push(format!("{}:{}: {}", f.display(), n + 1, code));
            }
        }
    }
    out
}

/// The public methods of `impl ...Builder` blocks in `files` that break the builder convention: every
/// setter is `with_<field>(self, ..) -> Self`, and `build(self)` returns a `Result`.
///
/// # Errors
/// A file cannot be read or is not valid Rust.
pub fn builder_breaches(files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let ast = syn::parse_file(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut visitor = Builders {
            file: f,
            out: &mut out,
        };
        visitor.visit_file(&ast);
    }
    Ok(out)
}

struct Builders<'a> {
    file: &'a Path,
    out: &'a mut Vec<String>,
}

impl<'ast> Visit<'ast> for Builders<'_> {
    fn visit_item_impl(&mut self, block: &'ast syn::ItemImpl) {
        let syn::Type::Path(ty) = &*block.self_ty else {
            return;
        };
        let Some(last) = ty.path.segments.last() else {
            return;
        };
        let builder = last.ident.to_string();
        if block.trait_.is_some() || !builder.ends_with("Builder") {
            return;
        }
        for item in &block.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            if !matches!(f.vis, syn::Visibility::Public(_)) {
                continue;
            }
            let name = f.sig.ident.to_string();
            let returns = match &f.sig.output {
                syn::ReturnType::Default => String::new(),
                syn::ReturnType::Type(_, t) => match &**t {
                    syn::Type::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                },
            };
            let fine = match name.as_str() {
                "build" => returns == "Result",
                n if n.starts_with("with_") => returns == "Self" || returns == builder,
                _ => false,
            };
            if !fine {
                self.out.push(format!(
                    "{}: {builder}::{name} (returns `{returns}`)",
                    self.file.display()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn allow_and_reasonless_expect_are_found_and_commented_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "a.rs",
            &[
                "#[allow(dead_code)]",
                "fn a() {}",
                "// #[allow(x)] in a comment",
                "#[expect(dead_code)]",
                "fn b() {}",
                "#[expect(dead_code, reason = \"kept for the doc example\")]",
                "fn c() {}",
                "#[expect(",
                "    dead_code,",
                "    reason = \"broken over lines by rustfmt\"",
                ")]",
                "fn d() {}",
                "#[expect(",
                "    dead_code",
                ")]",
                "fn e() {}",
            ]
            .join("\n"),
        );
        let found = unexplained_suppressions(&[f]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[2].contains("a.rs:13:"), "{found:?}");
        assert!(
            found[0].ends_with("a.rs:1: #[allow(dead_code)]"),
            "{found:?}"
        );
        assert!(found[1].contains("a.rs:4:"), "{found:?}");
    }

    #[test]
    fn builder_setters_without_with_and_infallible_builds_are_breaches() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "b.rs",
            "pub struct FooBuilder; pub struct Foo;\n\
             impl FooBuilder {\n\
               pub fn with_size(self, _n: u8) -> Self { self }\n\
               pub fn clock(self) -> FooBuilder { self }\n\
               pub fn build(self) -> Foo { Foo }\n\
               fn private_helper(&self) {}\n\
             }\n\
             pub struct GoodBuilder;\n\
             impl GoodBuilder { pub fn with_a(self) -> GoodBuilder { self } pub fn build(self) -> Result<(), ()> { Ok(()) } }\n",
        );
        let found = builder_breaches(&[f]).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].ends_with("FooBuilder::clock (returns `FooBuilder`)"),
            "{found:?}"
        );
        assert!(
            found[1].ends_with("FooBuilder::build (returns `Foo`)"),
            "{found:?}"
        );
    }

    #[test]
    fn forbid_unsafe_is_read_from_the_inner_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let yes = write(
            dir.path(),
            "yes.rs",
            "//! Docs.\n#![forbid(unsafe_code)]\nfn main() {}\n",
        );
        let no = write(
            dir.path(),
            "no.rs",
            "#![deny(missing_docs)]\n// #![forbid(unsafe_code)]\nfn main() {}\n",
        );
        assert_eq!(forbids_unsafe(&yes), Ok(true));
        assert_eq!(forbids_unsafe(&no), Ok(false));
    }

    #[test]
    fn oversized_files_are_listed_with_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let long = write(dir.path(), "long.rs", &"fn f() {}\n".repeat(12));
        let short = write(dir.path(), "short.rs", "fn f() {}\n");
        assert_eq!(oversized(&[long.clone(), short], 10), [(long, 12)]);
    }
}
