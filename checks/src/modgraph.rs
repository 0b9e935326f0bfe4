//! The module graph of one crate target, read as syntax trees, and the import cycles in it.
//!
//! A node is a source file (the modules it holds, inline ones included); an edge `a.rs -> b.rs` means code in
//! `a.rs` names an item that `b.rs` defines, through a `use` or a path (`crate::x::Y`, `super::Y`,
//! `self::x::f`, `child::f` for a child module in scope, and such paths inside macro calls). A re-export
//! (`pub use`, `pub(crate) use`) is a facade, not an import: a path through one is followed, glob re-exports
//! included, to the module that defines the name. Edges into the crate root are left out (the root is the
//! facade of every crate), and so is test code: items under `#[cfg(test)]`.
//!
//! This is the reading of `../shared/tools/modcycles.py`, made on syntax trees rather than text, so strings,
//! comments and nested braces cannot fool it, and paths in expressions that name a child module count too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module's path from the crate root (`[]` is the root, `["edge", "fetch"]` is `crate::edge::fetch`).
type ModPath = Vec<String>;

/// Why a crate could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// A file could not be read.
    Io(PathBuf, std::io::Error),
    /// A file is not valid Rust.
    Parse(PathBuf, syn::Error),
    /// `mod name;` names a file that is in neither place Rust looks for it.
    MissingModule {
        /// The file that declares the module.
        declared_in: PathBuf,
        /// The module's name.
        name: String,
    },
    /// `#[path = "..."]` on a module: not supported, so a module cannot hide from the check.
    PathAttribute(PathBuf, String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            LoadError::Parse(p, e) => write!(f, "{}: {e}", p.display()),
            LoadError::MissingModule { declared_in, name } => {
                write!(
                    f,
                    "{}: `mod {name};` has no {name}.rs or {name}/mod.rs",
                    declared_in.display()
                )
            }
            LoadError::PathAttribute(p, name) => {
                write!(
                    f,
                    "{}: module `{name}` has a #[path] attribute, which the check does not follow",
                    p.display()
                )
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// What one module declares and names.
#[derive(Debug, Default)]
struct Module {
    /// The file the module lives in, relative to the crate's folder.
    file: PathBuf,
    /// Child modules (inline or in files).
    children: BTreeSet<String>,
    /// Items defined here (functions, types, traits, constants, statics, macros).
    defined: HashSet<String>,
    /// Re-exports by name: the name a `pub use` exports -> the path it was written with.
    facade: HashMap<String, Vec<String>>,
    /// Glob re-exports (`pub use x::*`): the paths of the modules they export.
    globs: Vec<Vec<String>>,
    /// Paths the module's code names, as written (the imports and the paths in its code).
    refs: Vec<Vec<String>>,
}

/// One edge of the graph: `from` names something defined in `to`, as `path`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tie {
    /// The file that names the item.
    pub from: PathBuf,
    /// The file that defines it.
    pub to: PathBuf,
    /// The path as written (`crate::bucket::marker_error`).
    pub path: String,
}

impl fmt::Display for Tie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} ({})",
            self.from.display(),
            self.to.display(),
            self.path
        )
    }
}

/// A set of files that import each other in a cycle (a strongly connected component of the graph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The files, sorted.
    pub files: Vec<PathBuf>,
    /// The edges between them, each with one path that makes it.
    pub ties: Vec<Tie>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        writeln!(f, "cycle of {} files: {}", files.len(), files.join(", "))?;
        for tie in &self.ties {
            writeln!(f, "    {tie}")?;
        }
        Ok(())
    }
}

/// The module graph of one crate target (a library or a binary).
#[derive(Debug)]
pub struct ModuleGraph {
    modules: BTreeMap<ModPath, Module>,
}

impl ModuleGraph {
    /// Reads the target whose root file is `root_file` (such as `src/lib.rs`), inside the crate folder
    /// `crate_dir`, following its `mod` declarations.
    ///
    /// # Errors
    /// A [`LoadError`] when a file cannot be read or parsed, or a declared module has no file.
    pub fn load(crate_dir: &Path, root_file: &Path) -> Result<ModuleGraph, LoadError> {
        let mut graph = ModuleGraph {
            modules: BTreeMap::new(),
        };
        let dir = root_file.parent().unwrap_or(Path::new("")).to_path_buf();
        graph.load_file(crate_dir, root_file, Vec::new(), &dir)?;
        Ok(graph)
    }

    fn load_file(
        &mut self,
        crate_dir: &Path,
        file: &Path,
        path: ModPath,
        child_dir: &Path,
    ) -> Result<(), LoadError> {
        let full = crate_dir.join(file);
        let text = std::fs::read_to_string(&full).map_err(|e| LoadError::Io(full.clone(), e))?;
        let ast = syn::parse_file(&text).map_err(|e| LoadError::Parse(full.clone(), e))?;
        self.load_items(crate_dir, file, path, child_dir, &ast.items)
    }

    fn load_items(
        &mut self,
        crate_dir: &Path,
        file: &Path,
        path: ModPath,
        child_dir: &Path,
        items: &[syn::Item],
    ) -> Result<(), LoadError> {
        let mut module = Module {
            file: file.to_path_buf(),
            ..Module::default()
        };
        let mut nested = Vec::new();
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            match item {
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    module.children.insert(name.clone());
                    nested.push(m);
                }
                syn::Item::Use(u) => {
                    let mut paths = Vec::new();
                    use_paths(&u.tree, Vec::new(), &mut paths);
                    let public = !matches!(u.vis, syn::Visibility::Inherited);
                    for (segs, exported) in paths {
                        match (public, exported) {
                            (true, Some(name)) => {
                                module.facade.insert(name, segs);
                            }
                            (true, None) => module.globs.push(segs),
                            (false, _) => module.refs.push(segs),
                        }
                    }
                }
                other => {
                    if let Some(name) = defined_name(other) {
                        module.defined.insert(name);
                    }
                    let mut refs = PathCollector::default();
                    refs.visit_item(other);
                    module.refs.extend(refs.paths);
                }
            }
        }
        self.modules.insert(path.clone(), module);
        for m in nested {
            let name = m.ident.to_string();
            if m.attrs.iter().any(|a| a.path().is_ident("path")) {
                return Err(LoadError::PathAttribute(crate_dir.join(file), name));
            }
            let mut child = path.clone();
            child.push(name.clone());
            let grandchild_dir = child_dir.join(&name);
            match &m.content {
                Some((_, items)) => {
                    self.load_items(crate_dir, file, child, &grandchild_dir, items)?
                }
                None => {
                    let flat = child_dir.join(format!("{name}.rs"));
                    let folder = child_dir.join(&name).join("mod.rs");
                    let found = if crate_dir.join(&flat).is_file() {
                        flat
                    } else if crate_dir.join(&folder).is_file() {
                        folder
                    } else {
                        return Err(LoadError::MissingModule {
                            declared_in: crate_dir.join(file),
                            name,
                        });
                    };
                    self.load_file(crate_dir, &found, child, &grandchild_dir)?;
                }
            }
        }
        Ok(())
    }

    /// The files of the target, relative to the crate folder.
    pub fn files(&self) -> BTreeSet<PathBuf> {
        self.modules.values().map(|m| m.file.clone()).collect()
    }

    /// Every edge between two files, each with the first path that makes it.
    pub fn ties(&self) -> Vec<Tie> {
        let mut seen: BTreeMap<(PathBuf, PathBuf), String> = BTreeMap::new();
        for (path, module) in &self.modules {
            for segs in &module.refs {
                let Some(target) = self.target(path, segs, 0) else {
                    continue;
                };
                if target.is_empty() {
                    continue; // the crate root: a facade for everyone
                }
                let to = &self.modules[&target].file;
                if *to == module.file {
                    continue;
                }
                seen.entry((module.file.clone(), to.clone()))
                    .or_insert_with(|| segs.join("::"));
            }
        }
        seen.into_iter()
            .map(|((from, to), path)| Tie { from, to, path })
            .collect()
    }

    /// The import cycles: each set of two or more files that reach each other through their imports.
    pub fn cycles(&self) -> Vec<Cycle> {
        let ties = self.ties();
        let files: Vec<PathBuf> = self.files().into_iter().collect();
        let index: HashMap<&PathBuf, usize> =
            files.iter().enumerate().map(|(i, f)| (f, i)).collect();
        let mut adjacent = vec![Vec::new(); files.len()];
        for tie in &ties {
            adjacent[index[&tie.from]].push(index[&tie.to]);
        }
        strongly_connected(&adjacent)
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| {
                let members: BTreeSet<&PathBuf> = component.iter().map(|&i| &files[i]).collect();
                Cycle {
                    files: members.iter().map(|p| (*p).clone()).collect(),
                    ties: ties
                        .iter()
                        .filter(|t| members.contains(&t.from) && members.contains(&t.to))
                        .cloned()
                        .collect(),
                }
            })
            .collect()
    }

    /// The path `segs` as written in module `at`, made absolute; `None` for an external crate or a name
    /// the module imported (its `use` is an edge of its own).
    fn absolute(&self, at: &ModPath, segs: &[String]) -> Option<ModPath> {
        let first = segs.first()?;
        match first.as_str() {
            "crate" => Some(segs[1..].to_vec()),
            "self" | "super" => {
                let mut base = at.clone();
                let mut rest = segs;
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "self" => {}
                        "super" => {
                            base.pop()?;
                        }
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            name if self
                .modules
                .get(at)
                .is_some_and(|m| m.children.contains(name)) =>
            {
                let mut base = at.clone();
                base.extend(segs.iter().cloned());
                Some(base)
            }
            _ => None,
        }
    }

    /// The module that defines what `segs`, written in module `at`, names.
    fn target(&self, at: &ModPath, segs: &[String], depth: usize) -> Option<ModPath> {
        let path = self.absolute(at, segs)?;
        if depth > 16 {
            return None;
        }
        let k = (0..=path.len())
            .rev()
            .find(|&k| self.modules.contains_key(&path[..k]))?;
        let module = path[..k].to_vec();
        match path.get(k) {
            None => Some(module),
            Some(name) => Some(self.definer(&module, name, depth).unwrap_or(module)),
        }
    }

    /// The module that defines `name` as seen in `module`, following re-exports; `None` if not found.
    fn definer(&self, module: &ModPath, name: &str, depth: usize) -> Option<ModPath> {
        let m = self.modules.get(module)?;
        if depth > 16 {
            return None;
        }
        if m.defined.contains(name) {
            return Some(module.clone());
        }
        if let Some(segs) = m.facade.get(name) {
            return self.target(module, segs, depth + 1);
        }
        m.globs.iter().find_map(|glob| {
            let source = self.absolute(module, glob)?;
            self.modules.contains_key(&source).then_some(())?;
            self.definer(&source, name, depth + 1)
        })
    }
}

/// Tarjan's strongly connected components, iteratively (no recursion limit on deep graphs).
fn strongly_connected(adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adjacent.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            if *edge == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adjacent[v].get(*edge) {
                *edge += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

/// `a::{b, c::{d as e, *}}` -> `(a::b, Some(b))`, `(a::c::d, Some(e))`, `(a::c, None)` (a glob).
fn use_paths(
    tree: &syn::UseTree,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let with = |ident: &syn::Ident| {
        let mut p = prefix.clone();
        p.push(ident.to_string());
        p
    };
    match tree {
        syn::UseTree::Path(p) => use_paths(&p.tree, with(&p.ident), out),
        syn::UseTree::Name(n) if n.ident == "self" => {
            let name = prefix.last().cloned();
            out.push((prefix, name));
        }
        syn::UseTree::Name(n) => out.push((with(&n.ident), Some(n.ident.to_string()))),
        syn::UseTree::Rename(r) if r.ident == "self" => {
            out.push((prefix, Some(r.rename.to_string())))
        }
        syn::UseTree::Rename(r) => out.push((with(&r.ident), Some(r.rename.to_string()))),
        syn::UseTree::Glob(_) => out.push((prefix, None)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix.clone(), out);
            }
        }
    }
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]`: code that only the crate's own unit tests compile.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

fn defined_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// Collects the multi-segment paths of an item's code (and of the macro calls in it), leaving out test-only
/// items and nested modules (read on their own).
#[derive(Default)]
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if is_test_only(item_attrs(item)) || matches!(item, syn::Item::Mod(_)) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // A `use` inside a function body: an import like any other.
        let mut paths = Vec::new();
        use_paths(&u.tree, Vec::new(), &mut paths);
        self.paths.extend(paths.into_iter().map(|(segs, _)| segs));
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            self.paths
                .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        macro_paths(mac.tokens.clone(), &mut self.paths);
    }
}

/// Paths starting with `crate`, `self` or `super` among a macro call's tokens, at any depth.
fn macro_paths(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => macro_paths(g.stream(), out),
            TokenTree::Ident(id)
                if matches!(id.to_string().as_str(), "crate" | "self" | "super") =>
            {
                let mut segs = vec![id.to_string()];
                let mut j = i + 1;
                while let (
                    Some(TokenTree::Punct(a)),
                    Some(TokenTree::Punct(b)),
                    Some(TokenTree::Ident(next)),
                ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    segs.push(next.to_string());
                    j += 3;
                }
                if segs.len() >= 2 {
                    out.push(segs);
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a crate's files into a temporary folder and reads its library's graph.
    fn graph(files: &[(&str, &str)]) -> ModuleGraph {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        ModuleGraph::load(dir.path(), Path::new("src/lib.rs")).unwrap()
    }

    fn cycle_files(g: &ModuleGraph) -> Vec<Vec<String>> {
        g.cycles()
            .into_iter()
            .map(|c| c.files.iter().map(|f| f.display().to_string()).collect())
            .collect()
    }

    #[test]
    fn a_planted_cycle_is_caught_with_the_names_that_tie_it() {
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b; pub use a::A;"),
            ("src/a.rs", "use crate::b::B; pub struct A(B);"),
            (
                "src/b.rs",
                "pub struct B; impl B { fn a(&self) -> super::a::A { todo!() } }",
            ),
        ]);
        let cycles = g.cycles();
        assert_eq!(cycle_files(&g), [["src/a.rs", "src/b.rs"]]);
        let ties: Vec<String> = cycles[0].ties.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            ties,
            [
                "src/a.rs -> src/b.rs (crate::b::B)",
                "src/b.rs -> src/a.rs (super::a::A)"
            ]
        );
    }

    #[test]
    fn a_re_export_is_a_facade_followed_to_the_defining_module() {
        // a -> (root facade) -> b, and b -> a through a glob re-export of a folder module: a cycle.
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b; mod types; pub use b::B;"),
            ("src/a.rs", "pub fn f() -> crate::B { crate::B }"),
            ("src/b.rs", "pub struct B; fn g() { crate::types::h() }"),
            ("src/types/mod.rs", "mod inner; pub use inner::*;"),
            ("src/types/inner.rs", "pub fn h() { crate::a::f(); }"),
        ]);
        assert_eq!(
            cycle_files(&g),
            [["src/a.rs", "src/b.rs", "src/types/inner.rs"]]
        );
        // Without the last edge there is no cycle: the facades at the root and in types/ are not imports.
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b; mod types; pub use b::B;"),
            ("src/a.rs", "pub fn f() -> crate::B { crate::B }"),
            ("src/b.rs", "pub struct B; fn g() { crate::types::h() }"),
            ("src/types/mod.rs", "mod inner; pub use inner::*;"),
            ("src/types/inner.rs", "pub fn h() {}"),
        ]);
        assert!(g.cycles().is_empty(), "{:?}", g.cycles());
    }

    #[test]
    fn a_parent_and_child_that_import_each_other_are_a_cycle() {
        let g = graph(&[
            ("src/lib.rs", "pub mod edge;"),
            (
                "src/edge/mod.rs",
                "mod fetch; pub struct Edge; fn go() { fetch::run() }",
            ),
            (
                "src/edge/fetch.rs",
                "use super::Edge; pub(super) fn run() {}",
            ),
        ]);
        assert_eq!(cycle_files(&g), [["src/edge/fetch.rs", "src/edge/mod.rs"]]);
    }

    #[test]
    fn paths_in_macro_calls_count_and_test_code_does_not() {
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b;"),
            (
                "src/a.rs",
                "pub const X: u8 = 1; fn f() { println!(\"{}\", crate::b::Y); }",
            ),
            (
                "src/b.rs",
                "pub const Y: u8 = 2;\n#[cfg(test)]\nmod tests { use crate::a::X; }",
            ),
        ]);
        assert!(g.cycles().is_empty());
        assert_eq!(
            g.ties().len(),
            1,
            "a -> b through the macro call; the test module's import left out"
        );
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b;"),
            (
                "src/a.rs",
                "pub const X: u8 = 1; fn f() { println!(\"{}\", crate::b::Y); }",
            ),
            ("src/b.rs", "pub const Y: u8 = crate::a::X;"),
        ]);
        assert_eq!(cycle_files(&g), [["src/a.rs", "src/b.rs"]]);
    }

    #[test]
    fn strings_comments_and_external_crates_are_not_imports() {
        let g = graph(&[
            ("src/lib.rs", "mod a; mod b;"),
            (
                "src/a.rs",
                "use std::fmt; pub struct A; // crate::b::B\nconst S: &str = \"crate::b::B\";",
            ),
            ("src/b.rs", "use crate::a::A; pub struct B(A);"),
        ]);
        assert!(g.cycles().is_empty());
    }

    #[test]
    fn a_missing_module_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "mod gone;").unwrap();
        let err = ModuleGraph::load(dir.path(), Path::new("src/lib.rs")).unwrap_err();
        assert!(
            matches!(&err, LoadError::MissingModule { name, .. } if name == "gone"),
            "{err}"
        );
    }
}
