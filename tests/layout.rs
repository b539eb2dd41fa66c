//! The layout stays clean: no import cycle among the library's modules.
//!
//! Every `crate::…`, `super::…` and `self::…` path in `src/` (outside
//! `src/bin/`, comments and strings aside) is read as a dependency of the
//! file it is written in on the module it names. Two graphs must have no
//! cycle:
//! - files: a module may use its own ancestors (a child sees its parent, as
//!   Rust's privacy rules let it), every other use points one way;
//! - folders: the top-level modules (`proto`, `chat`, `store`, `net`,
//!   `dispatch`, `doors`, `server`, ...) form layers; none may reach back.
//!
//! Names re-exported at the crate root (`crate::Error`) count as uses of the
//! module that defines them, read from the `pub use` lines of `src/lib.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path such as `["dispatch", "verbs"]`; the crate root is `[]`.
type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library source file (not `src/bin/`), with its module path.
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, PathBuf>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("src/ is readable")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a UTF-8 file name")
                .to_string();
            if path.is_dir() {
                if prefix.is_empty() && name == "bin" {
                    continue;
                }
                let mut module = prefix.clone();
                module.push(name);
                walk(&path, &module, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.clone();
                if !(name == "mod" || (prefix.is_empty() && name == "lib")) {
                    module.push(name);
                }
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &Vec::new(), &mut out);
    out
}

/// The source without comments, string and char literals (so that a path in
/// a doc comment or a log message is not taken for a use).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' || (b[i] == b'r' && b.get(i + 1) == Some(&b'"')) {
            let raw = b[i] == b'r';
            i += if raw { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                if !raw && b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\''
            && b.get(i + 2) == Some(&b'\'')
            && !(i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A char literal such as '{' (a lifetime never ends in a quote).
            i += 3;
        } else {
            let c = text[i..].chars().next().expect("a char at a boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Every path that starts with `crate`, `super` or `self`, with use-tree
/// braces expanded: `use crate::a::{b, c::d}` gives `crate::a::b`, `crate::a::c::d`.
fn paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let starts = matches!(t, "crate" | "super" | "self")
            && tokens.get(i + 1).is_some_and(|n| n == "::")
            && !(i > 0 && tokens[i - 1] == "::");
        if starts {
            let (tree, next) = use_tree(&tokens, i);
            out.extend(tree);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// Reads `a::b::{c, d::e}` from `tokens[i]`; returns the expanded paths and
/// the index after it.
fn use_tree(tokens: &[String], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                let mut all = Vec::new();
                i += 1;
                loop {
                    match tokens.get(i).map(String::as_str) {
                        Some("}") => return (all, i + 1),
                        Some(",") => i += 1,
                        None => return (all, i),
                        Some(_) => {
                            let (inner, next) = use_tree(tokens, i);
                            for p in inner {
                                let mut full = prefix.clone();
                                full.extend(p);
                                all.push(full);
                            }
                            // Skip `as name` and anything up to the next item.
                            i = next;
                            while let Some(t) = tokens.get(i) {
                                if t == "," || t == "}" {
                                    break;
                                }
                                i += 1;
                            }
                        }
                    }
                }
            }
            Some(word) if word.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                prefix.push(word.to_string());
                if tokens.get(i + 1).is_some_and(|t| t == "::") {
                    i += 2;
                } else {
                    return (vec![prefix], i + 1);
                }
            }
            Some("*") => return (vec![prefix], i + 1),
            _ => return (vec![prefix], i),
        }
    }
}

/// The module a path names: the longest prefix of it that is a module.
fn resolve(
    from: &Module,
    path: &[String],
    known: &BTreeMap<Module, PathBuf>,
    root_names: &BTreeMap<String, Module>,
) -> Option<Module> {
    let mut base: Module = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("self") => {
            base = from.clone();
            rest = &path[1..];
        }
        Some("super") => {
            base = from.clone();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut best = base.clone();
    let mut candidate = base.clone();
    for part in rest {
        candidate.push(part.clone());
        if known.contains_key(&candidate) {
            best = candidate.clone();
        } else {
            break;
        }
    }
    if best.is_empty()
        && let Some(first) = rest.first()
        && let Some(module) = root_names.get(first)
    {
        return Some(module.clone());
    }
    Some(best)
}

/// Names the crate root re-exports (`pub use server::{Config, Server};`), with
/// the module that defines each.
fn root_names(lib: &str, known: &BTreeMap<Module, PathBuf>) -> BTreeMap<String, Module> {
    let mut names = BTreeMap::new();
    let code = code_only(lib);
    let tokens = tokenize(&code);
    let mut i = 0;
    while i + 1 < tokens.len() {
        if tokens[i] == "pub" && tokens[i + 1] == "use" {
            let (tree, next) = use_tree(&tokens, i + 2);
            for path in tree {
                let Some(name) = path.last() else { continue };
                let mut crate_path = vec!["crate".to_string()];
                crate_path.extend(path.iter().cloned());
                if let Some(module) = resolve(&Vec::new(), &crate_path, known, &BTreeMap::new()) {
                    names.insert(name.clone(), module);
                }
            }
            i = next;
        } else {
            i += 1;
        }
    }
    names
}

fn is_ancestor(ancestor: &Module, of: &Module) -> bool {
    ancestor.len() < of.len() && of.starts_with(ancestor)
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// The edges of the file graph: module → the modules it uses.
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let known = modules();
    let lib = fs::read_to_string(src().join("lib.rs")).expect("src/lib.rs");
    let roots = root_names(&lib, &known);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, path) in &known {
        if module.is_empty() {
            continue; // lib.rs declares every module; it is the root, not a layer.
        }
        let text = fs::read_to_string(path).expect("a source file");
        let uses = edges.entry(module.clone()).or_default();
        for p in paths(&code_only(&text)) {
            let Some(target) = resolve(module, &p, &known, &roots) else {
                continue;
            };
            if target != *module && !target.is_empty() {
                uses.insert(target);
            }
        }
    }
    edges
}

/// A cycle in `edges`, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        marks: &mut BTreeMap<Module, Mark>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        marks.insert(node.clone(), Mark::Open);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match marks.get(next).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let at = stack.iter().position(|m| m == next).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, edges, marks, stack) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in edges.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New
            && let Some(cycle) = visit(node, edges, &mut marks, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

fn show(cycle: &[Module]) -> String {
    cycle.iter().map(name).collect::<Vec<_>>().join(" -> ")
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut files = graph();
    for (module, uses) in &mut files {
        uses.retain(|target| !is_ancestor(target, module));
    }
    if let Some(cycle) = find_cycle(&files) {
        panic!("import cycle among modules: {}", show(&cycle));
    }
}

#[test]
fn the_top_level_modules_form_layers() {
    let mut folders: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, uses) in graph() {
        let top = module[..1].to_vec();
        let entry = folders.entry(top.clone()).or_default();
        for target in uses {
            let target_top = target[..1].to_vec();
            if target_top != top {
                entry.insert(target_top);
            }
        }
    }
    if let Some(cycle) = find_cycle(&folders) {
        panic!("the top-level modules reach back: {}", show(&cycle));
    }
    // The core never uses a door, and the wire formats use no state.
    let uses = |a: &str, b: &str| {
        folders
            .get(&vec![a.to_string()])
            .is_some_and(|set| set.contains(&vec![b.to_string()]))
    };
    for core in ["dispatch", "chat", "store", "net", "proto"] {
        assert!(!uses(core, "doors"), "{core} uses doors");
        assert!(!uses(core, "server"), "{core} uses server");
    }
    for state in ["chat", "store", "dispatch", "net", "doors"] {
        assert!(!uses("proto", state), "proto uses {state}");
    }
}

#[test]
fn the_reader_of_uses_sees_what_it_must() {
    // The parser itself: braces, super, self, comments and strings.
    let code = code_only(
        "use crate::a::{b, c::d as e};\n// use crate::x;\nlet s = \"crate::y\";\nsuper::z::f(); self::w::g();",
    );
    let found: Vec<String> = paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        ["crate::a::b", "crate::a::c::d", "super::z::f", "self::w::g"]
    );
    // And a cycle is found where there is one.
    let m = |s: &str| vec![s.to_string()];
    let mut edges = BTreeMap::new();
    edges.insert(m("a"), BTreeSet::from([m("b")]));
    edges.insert(m("b"), BTreeSet::from([m("c")]));
    edges.insert(m("c"), BTreeSet::from([m("a")]));
    assert_eq!(
        show(&find_cycle(&edges).expect("a cycle")),
        "a -> b -> c -> a"
    );
    edges.insert(m("c"), BTreeSet::new());
    assert!(find_cycle(&edges).is_none());
}
