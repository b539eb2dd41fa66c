//! The docs cannot drift from the code: `README.md` and every page in
//! `docs/` are checked against `src/` (docs/architecture.md, "How these
//! pages cite code", says the same for writers of the docs).
//!
//! - A code reference is a path in backticks, a comma, and one or more names
//!   in backticks separated by commas: "`src/net/listen.rs`, `listen`" or
//!   "`src/doors/admit.rs`, `accept_loop`, `Admission::reserve`". The file must
//!   exist and define each name (`fn`, `struct`, `enum`, `trait`, `type`,
//!   `const`, `static` or `mod`); `Type::method` needs `fn method` in a file
//!   that defines or implements `Type`, `Enum::Variant` a variant of an enum
//!   defined there (or `Type::CONST` an associated const).
//! - Every `src/...` and `tests/...` path mentioned anywhere exists, and an
//!   inline `x.rs` always has its folder.
//! - No line numbers: no `line 12`, `lines 3-4` or `file.rs:12`.
//! - Every `rust` block is quoted from one file under `src/`, line for line
//!   (each line trimmed; blank lines ignored), and every inline `// comment`
//!   ends some line under `src/`.
//! - The README's `$ server --help` and `$ client --help` blocks are what the
//!   binaries print (ignoring spaces at the ends of lines).
//! - Anywhere else, a `Type::member` whose `Type` is one of the crate's
//!   (`Input::Connect`, `Outbox::push`, `Config::DEFAULT`) must still exist:
//!   a fn, const, field or variant of it.
//! - The table of folders in docs/architecture.md says which modules of the
//!   crate each folder uses, as its code does, and has a row for each module.
//!
//! Every failure names the page and the line that is stale.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A Markdown page, as read from the repository.
struct Page {
    /// Its path from the root, for messages.
    name: String,
    text: String,
}

/// `README.md` and every `docs/*.md`.
fn pages() -> Vec<Page> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = fs::read_dir(root().join("docs"))
        .expect("docs/ is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|name| Page {
            text: fs::read_to_string(root().join(&name)).expect("a page is readable"),
            name,
        })
        .collect()
}

/// Every `.rs` file under `src/`, with its path from the root.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .expect("src/ is readable")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(root())
                    .expect("under the root")
                    .to_string_lossy()
                    .into_owned();
                out.push((
                    name,
                    fs::read_to_string(&path).expect("a source is readable"),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("src"), &mut out);
    out
}

/// A fenced code block: its info word, the line of its opening fence, and
/// its lines with their numbers (1-based).
struct Fence {
    lang: String,
    start: usize,
    lines: Vec<(usize, String)>,
}

/// Inline code: its text and the line it starts on.
#[derive(Debug, Clone)]
struct Span {
    text: String,
    line: usize,
    /// What stands between the end of this span and the next one in the same
    /// paragraph (`None` for the last).
    gap_after: Option<String>,
}

/// A page cut into fenced blocks and the inline code of everything else.
struct Parsed {
    fences: Vec<Fence>,
    spans: Vec<Span>,
}

/// Splits a page into fenced blocks and paragraphs, and finds the inline
/// code of each paragraph (code spans never cross a blank line or a fence).
fn parse(text: &str) -> Parsed {
    let mut fences = Vec::new();
    let mut spans = Vec::new();
    let mut paragraph: Vec<(usize, &str)> = Vec::new();
    let mut fence: Option<(char, usize, Fence)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some((mark, len, mut open)) = fence.take() {
            let closing = trimmed.trim_end();
            if closing.len() >= len && closing.chars().all(|c| c == mark) {
                fences.push(open);
            } else {
                open.lines.push((n, line.to_string()));
                fence = Some((mark, len, open));
            }
            continue;
        }
        let mark = trimmed.chars().next().filter(|&c| c == '`' || c == '~');
        if let Some(mark) = mark {
            let len = trimmed.chars().take_while(|&c| c == mark).count();
            if len >= 3 {
                spans.extend(inline_code(&paragraph));
                paragraph.clear();
                let lang = trimmed[len..].split_whitespace().next().unwrap_or("");
                let open = Fence {
                    lang: lang.to_string(),
                    start: n,
                    lines: Vec::new(),
                };
                fence = Some((mark, len, open));
                continue;
            }
        }
        if trimmed.is_empty() {
            spans.extend(inline_code(&paragraph));
            paragraph.clear();
        } else {
            paragraph.push((n, line));
        }
    }
    spans.extend(inline_code(&paragraph));
    if let Some((_, _, open)) = fence {
        fences.push(open);
    }
    Parsed { fences, spans }
}

/// The code spans of one paragraph, in order. A backtick run without a
/// matching run of the same length is plain text.
fn inline_code(paragraph: &[(usize, &str)]) -> Vec<Span> {
    let mut text = String::new();
    let mut line_of = Vec::new(); // line number of each byte of `text`
    for (n, line) in paragraph {
        text.push_str(line);
        text.push('\n');
        line_of.resize(text.len(), *n);
    }
    let bytes = text.as_bytes();
    let run = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'`').count();
    let mut found: Vec<(usize, usize, String)> = Vec::new(); // (start, end, text)
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let len = run(i);
        let mut j = i + len;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let l = run(j);
                if l == len {
                    close = Some(j);
                    break;
                }
                j += l;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                let inner = text[i + len..j].replace('\n', " ");
                let inner = match inner.strip_prefix(' ').and_then(|s| s.strip_suffix(' ')) {
                    Some(s) if !s.trim().is_empty() => s.to_string(),
                    _ => inner,
                };
                found.push((i, j + len, inner));
                i = j + len;
            }
            None => i += len,
        }
    }
    let mut spans: Vec<Span> = found
        .iter()
        .map(|(start, _, inner)| Span {
            text: inner.clone(),
            line: line_of[*start],
            gap_after: None,
        })
        .collect();
    for k in 1..found.len() {
        spans[k - 1].gap_after = Some(text[found[k - 1].1..found[k].0].to_string());
    }
    spans
}

/// `name` or `Type::member`, as the docs write the names of code.
fn is_name(s: &str) -> bool {
    let ident = |w: &str| {
        let mut chars = w.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match s.split_once("::") {
        Some((a, b)) => ident(a) && ident(b),
        None => ident(s),
    }
}

/// A path of the repository as the docs write it: `src/...` or `tests/...`.
fn is_repo_path(s: &str) -> bool {
    (s.starts_with("src/") || s.starts_with("tests/"))
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
}

/// The identifiers of a line of code, in order, with what stands before each.
fn words(line: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        let part = c.is_ascii_alphanumeric() || c == '_';
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((&line[last..s], &line[s..i]));
                last = i;
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The lines of `source` that are code, not comments.
fn code_lines(source: &str) -> impl Iterator<Item = &str> {
    source.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// True if `source` defines `name` with one of `keywords`.
fn defines(source: &str, name: &str, keywords: &[&str]) -> bool {
    code_lines(source).any(|line| {
        let w = words(line);
        w.windows(2).any(|pair| {
            let ((_, kw), (between, word)) = (pair[0], pair[1]);
            keywords.contains(&kw) && between.trim().is_empty() && word == name
        })
    })
}

const ITEMS: &[&str] = &[
    "fn", "struct", "enum", "trait", "type", "const", "static", "mod",
];

/// Why `name` is not what `source` (the file `file`) defines, if it is not.
fn check_name(file: &str, source: &str, name: &str) -> Option<String> {
    let Some((owner, member)) = name.split_once("::") else {
        return (!defines(source, name, ITEMS)).then(|| {
            format!(
                "`{file}` defines no `{name}` (fn, struct, enum, trait, type, const, static or mod)"
            )
        });
    };
    if member.starts_with(|c: char| c.is_ascii_uppercase()) {
        let constant = defines(source, member, &["const"])
            && (defines(source, owner, &["struct", "enum", "trait", "type"])
                || code_lines(source).any(|l| {
                    let w = words(l);
                    w.first().is_some_and(|&(_, kw)| kw == "impl")
                        && w.iter().any(|&(_, word)| word == owner)
                }));
        let variant = defines(source, owner, &["enum"])
            && code_lines(source).any(|l| {
                let t = l.trim();
                t.strip_prefix(member)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '{', '(', ',']))
            });
        return (!(variant || constant)).then(|| {
            format!("`{file}` has no enum `{owner}` with a variant `{member}`, nor a const `{owner}::{member}`")
        });
    }
    let owned = defines(source, owner, &["struct", "enum", "trait", "type"])
        || code_lines(source).any(|l| {
            let w = words(l);
            w.first().is_some_and(|&(_, kw)| kw == "impl")
                && w.iter().any(|&(_, word)| word == owner)
        });
    if !owned {
        return Some(format!("`{file}` neither defines nor implements `{owner}`"));
    }
    (!defines(source, member, &["fn"]))
        .then(|| format!("`{file}` has no `fn {member}` (for `{owner}`)"))
}

/// Problems of the code references in `page`: "`path`, `name`, `name`".
fn reference_problems(page: &Page, exists: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let spans = parse(&page.text).spans;
    for (k, span) in spans.iter().enumerate() {
        let path = span.text.as_str();
        if !(is_repo_path(path) && path.ends_with(".rs")) {
            continue;
        }
        let Some(source) = exists(path) else {
            continue; // Reported by path_problems.
        };
        let mut at = k;
        while spans[at]
            .gap_after
            .as_deref()
            .is_some_and(|gap| gap.starts_with(',') && gap[1..].trim().is_empty())
        {
            at += 1;
            let next = &spans[at];
            if is_repo_path(&next.text) {
                break; // A list of paths, not of names.
            }
            if !is_name(&next.text) {
                problems.push(format!(
                    "{}:{}: after `{path}`, `{}` is not a name (write \"`file`, `name`\")",
                    page.name, next.line, next.text
                ));
                break;
            }
            if let Some(why) = check_name(path, &source, &next.text) {
                problems.push(format!(
                    "{}:{}: stale reference: {why}",
                    page.name, next.line
                ));
            }
        }
    }
    problems
}

/// Problems of paths and line numbers in `page`.
fn path_problems(page: &Page, exists: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, line) in page.text.lines().enumerate() {
        let n = i + 1;
        for path in repo_paths(line) {
            let present = if path.ends_with(".rs") {
                exists(&path).is_some()
            } else {
                root().join(&path).exists()
            };
            if !present {
                problems.push(format!("{}:{n}: `{path}` does not exist", page.name));
            }
        }
        let lower = line.to_ascii_lowercase();
        for word in ["line ", "lines "] {
            for (at, _) in lower.match_indices(word) {
                let before = lower[..at].chars().next_back();
                let after = lower[at + word.len()..].chars().next();
                if !before.is_some_and(|c| c.is_ascii_alphabetic())
                    && after.is_some_and(|c| c.is_ascii_digit())
                {
                    problems.push(format!(
                        "{}:{n}: a line number (\"{}\"): cite the file and the name instead",
                        page.name,
                        line[at..].chars().take(word.len() + 8).collect::<String>()
                    ));
                }
            }
        }
        for (at, _) in line.match_indices(".rs:") {
            if line[at + 4..].starts_with(|c: char| c.is_ascii_digit()) {
                problems.push(format!(
                    "{}:{n}: a line number (\"{}\"): cite the file and the name instead",
                    page.name,
                    &line[at..(at + 8).min(line.len())]
                ));
            }
        }
    }
    for span in parse(&page.text).spans {
        let t = span.text.as_str();
        if t.ends_with(".rs") && !t.contains(' ') && !is_repo_path(t) {
            problems.push(format!(
                "{}:{}: `{t}`: give the path from the repository root (`src/...`)",
                page.name, span.line
            ));
        }
    }
    problems
}

/// The `src/...` and `tests/...` paths in a line of text.
fn repo_paths(line: &str) -> Vec<String> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let mut out = Vec::new();
    for prefix in ["src/", "tests/"] {
        for (at, _) in line.match_indices(prefix) {
            if line[..at].chars().next_back().is_some_and(path_char) {
                continue;
            }
            let path: String = line[at..].chars().take_while(|&c| path_char(c)).collect();
            out.push(path.trim_end_matches(['.', '-']).to_string());
        }
    }
    out
}

/// Problems of the code quoted in `page`, against `sources`.
fn quote_problems(page: &Page, sources: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let parsed = parse(&page.text);
    let trimmed: Vec<(&str, Vec<&str>)> = sources
        .iter()
        .map(|(name, text)| {
            let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            (name.as_str(), lines.collect())
        })
        .collect();
    for fence in parsed.fences.iter().filter(|f| f.lang == "rust") {
        let quote: Vec<(usize, &str)> = fence
            .lines
            .iter()
            .map(|(n, l)| (*n, l.trim()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        let wanted: Vec<&str> = quote.iter().map(|(_, l)| *l).collect();
        if wanted.is_empty() {
            continue;
        }
        let whole = trimmed
            .iter()
            .any(|(_, lines)| lines.windows(wanted.len()).any(|w| w == wanted.as_slice()));
        if whole {
            continue;
        }
        match quote
            .iter()
            .find(|(_, l)| !trimmed.iter().any(|(_, lines)| lines.contains(l)))
        {
            Some((n, l)) => problems.push(format!(
                "{}:{n}: quoted code is in no file under src/: `{l}`",
                page.name
            )),
            None => problems.push(format!(
                "{}:{}: the lines of this rust block exist, but not together in one file under src/",
                page.name, fence.start
            )),
        }
    }
    for span in &parsed.spans {
        let t = span.text.trim();
        if !t.starts_with("//") {
            continue;
        }
        let found = sources
            .iter()
            .any(|(_, text)| text.lines().any(|l| l.trim_end().ends_with(t)));
        if !found {
            problems.push(format!(
                "{}:{}: quoted comment is in no file under src/: `{t}`",
                page.name, span.line
            ));
        }
    }
    problems
}

/// True if `member` is a field of a struct in `source` (a line `member: ...`).
fn has_field(source: &str, member: &str) -> bool {
    code_lines(source).any(|l| {
        let t = l.trim_start();
        let t = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t);
        t.strip_prefix(member)
            .is_some_and(|rest| rest.starts_with(':') && !rest.starts_with("::"))
    })
}

/// The `Type::member` names in a line of text, where `Type` starts with a
/// capital and is not itself qualified (`a::Type::member` is skipped).
fn type_members(line: &str) -> Vec<(String, String)> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (at, _) in line.match_indices("::") {
        let before = &line[..at];
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| ident(c))
            .last()
            .map_or(at, |(i, _)| i);
        let owner = &line[start..at];
        let member: String = line[at + 2..].chars().take_while(|&c| ident(c)).collect();
        let qualified = line[..start].ends_with(':');
        let longer = line[at + 2 + member.len()..].starts_with("::");
        if owner.starts_with(|c: char| c.is_ascii_uppercase())
            && !member.is_empty()
            && !qualified
            && !longer
        {
            out.push((owner.to_string(), member));
        }
    }
    out
}

/// What one source file defines, for quick look-ups.
struct Index {
    /// `(keyword, name)` of every `fn`, `struct`, `enum`, ... it defines.
    items: HashSet<(String, String)>,
    /// Every word of its `impl` lines.
    implements: HashSet<String>,
    /// The first word of each code line (enum variants among them).
    firsts: HashSet<String>,
    text: String,
}

impl Index {
    fn of(text: &str) -> Index {
        let mut items = HashSet::new();
        let mut implements = HashSet::new();
        let mut firsts = HashSet::new();
        for line in code_lines(text) {
            let w = words(line);
            for pair in w.windows(2) {
                let ((_, kw), (between, word)) = (pair[0], pair[1]);
                if ITEMS.contains(&kw) && between.trim().is_empty() {
                    items.insert((kw.to_string(), word.to_string()));
                }
            }
            if w.first().is_some_and(|&(_, kw)| kw == "impl") {
                implements.extend(w.iter().map(|&(_, word)| word.to_string()));
            }
            let t = line.trim();
            if let Some(&(before, first)) = w.first()
                && before.trim().is_empty()
                && t[first.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| " {(,".contains(c))
            {
                firsts.insert(first.to_string());
            }
        }
        Index {
            items,
            implements,
            firsts,
            text: text.to_string(),
        }
    }

    fn has(&self, kw: &str, name: &str) -> bool {
        self.items.contains(&(kw.to_string(), name.to_string()))
    }

    /// True if this file defines or implements `owner` and has `member`.
    fn has_member(&self, owner: &str, member: &str) -> bool {
        let its = ["struct", "enum", "trait", "type"]
            .iter()
            .any(|kw| self.has(kw, owner))
            || self.implements.contains(owner);
        its && (self.has("fn", member)
            || self.has("const", member)
            || has_field(&self.text, member)
            || (self.has("enum", owner) && self.firsts.contains(member)))
    }
}

/// Problems of `Type::member` names anywhere in `page` (outside rust blocks,
/// which are checked line for line): when `Type` is one of the crate's, the
/// files that define or implement it must have `member` (a fn, const, field
/// or variant).
fn type_member_problems(page: &Page, sources: &[(String, String)]) -> Vec<String> {
    let index: Vec<Index> = sources.iter().map(|(_, text)| Index::of(text)).collect();
    let quoted: HashSet<usize> = parse(&page.text)
        .fences
        .iter()
        .filter(|f| f.lang == "rust")
        .flat_map(|f| f.lines.iter().map(|(n, _)| *n))
        .collect();
    let mut problems = Vec::new();
    for (i, line) in page.text.lines().enumerate() {
        if quoted.contains(&(i + 1)) {
            continue;
        }
        for (owner, member) in type_members(line) {
            let homes: Vec<&str> = sources
                .iter()
                .zip(&index)
                .filter(|(_, ix)| {
                    ["struct", "enum", "trait", "type"]
                        .iter()
                        .any(|kw| ix.has(kw, &owner))
                })
                .map(|((name, _), _)| name.as_str())
                .collect();
            if homes.is_empty() {
                continue; // Not the crate's (std, tungstenite, ...).
            }
            if !index.iter().any(|ix| ix.has_member(&owner, &member)) {
                problems.push(format!(
                    "{}:{}: `{owner}::{member}`: `{owner}` ({}) has no fn, const, field or variant `{member}`",
                    page.name,
                    i + 1,
                    homes.join(", ")
                ));
            }
        }
    }
    problems
}

#[test]
fn names_of_the_crates_types_are_still_there() {
    let sources = sources();
    fail_on(
        pages()
            .iter()
            .flat_map(|page| type_member_problems(page, &sources))
            .collect(),
    );
}

/// A lookup of source files by path: their text, if they exist.
fn source_lookup(sources: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
    move |path: &str| {
        sources
            .iter()
            .find(|(name, _)| name == path)
            .map(|(_, text)| text.clone())
            .or_else(|| fs::read_to_string(root().join(path)).ok())
    }
}

fn fail_on(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "the docs have drifted from the code:\n{}",
        problems.join("\n")
    );
}

#[test]
fn code_references_name_what_the_files_define() {
    let sources = sources();
    let exists = source_lookup(&sources);
    fail_on(
        pages()
            .iter()
            .flat_map(|page| reference_problems(page, &exists))
            .collect(),
    );
}

#[test]
fn paths_exist_and_no_line_numbers_are_given() {
    let sources = sources();
    let exists = source_lookup(&sources);
    fail_on(
        pages()
            .iter()
            .flat_map(|page| path_problems(page, &exists))
            .collect(),
    );
}

#[test]
fn quoted_code_is_still_in_src() {
    let sources = sources();
    fail_on(
        pages()
            .iter()
            .flat_map(|page| quote_problems(page, &sources))
            .collect(),
    );
}

#[test]
fn the_classroom_and_architecture_pages_cite_code() {
    // The checks above pass vacuously on a page that cites nothing.
    let sources = sources();
    for name in ["docs/classroom.md", "docs/architecture.md"] {
        let page = pages()
            .into_iter()
            .find(|p| p.name == name)
            .expect("the page exists");
        let parsed = parse(&page.text);
        let references = parsed
            .spans
            .iter()
            .filter(|s| is_repo_path(&s.text) && s.gap_after.as_deref() == Some(", "))
            .count();
        assert!(references >= 10, "{name} cites only {references} names");
        if name == "docs/classroom.md" {
            assert!(parsed.fences.iter().filter(|f| f.lang == "rust").count() >= 5);
        }
        assert!(quote_problems(&page, &sources).is_empty());
    }
}

/// What `src/lib.rs` re-exports at the crate's root, and from which module
/// (`pub use error::{Error, Result}`: `Error` and `Result` are `error`'s).
fn root_exports() -> HashMap<String, String> {
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    let mut out = HashMap::new();
    for line in code_lines(&lib) {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        let names = rest.rsplit_once("::").map_or(rest, |(_, last)| last);
        for (_, name) in words(names) {
            out.insert(name.to_string(), module.to_string());
        }
    }
    out
}

/// The modules of the crate (`crate::NAME`) that the code of `files` uses;
/// a name the crate's root re-exports counts as its module.
fn crate_uses(files: &[&(String, String)]) -> BTreeSet<String> {
    let exports = root_exports();
    let mut used = BTreeSet::new();
    for (_, text) in files {
        for line in code_lines(text) {
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                used.insert(exports.get(&name).cloned().unwrap_or(name));
            }
        }
    }
    used
}

#[test]
fn the_table_of_folders_is_what_the_code_uses() {
    let page = pages()
        .into_iter()
        .find(|p| p.name == "docs/architecture.md")
        .expect("the page exists");
    let sources = sources();
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    let mut in_table = false;
    for (i, line) in page.text.lines().enumerate() {
        if line.starts_with("| folder | uses |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').collect();
        let code = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        let said: BTreeSet<String> = code(cells[2]).into_iter().collect();
        for path in code(cells[1]) {
            let module = path
                .trim_start_matches("src/")
                .trim_end_matches('/')
                .trim_end_matches(".rs")
                .to_string();
            let files: Vec<&(String, String)> = sources
                .iter()
                .filter(|(name, _)| {
                    name == &path || (path.ends_with('/') && name.starts_with(&path))
                })
                .collect();
            if files.is_empty() {
                problems.push(format!(
                    "docs/architecture.md:{}: no code in `{path}`",
                    i + 1
                ));
            }
            let mut used = crate_uses(&files);
            used.remove(&module);
            if used != said {
                let list = |s: &BTreeSet<String>| {
                    s.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                problems.push(format!(
                    "docs/architecture.md:{}: `{path}` uses {} (the table says {})",
                    i + 1,
                    list(&used),
                    list(&said)
                ));
            }
            listed.insert(module);
        }
    }
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    for line in code_lines(&lib) {
        let module = line
            .strip_prefix("pub mod ")
            .and_then(|m| m.strip_suffix(';'));
        if let Some(module) = module
            && !listed.contains(module)
        {
            problems.push(format!(
                "docs/architecture.md: the table of folders has no row for `{module}` (src/lib.rs)"
            ));
        }
    }
    fail_on(problems);
}

/// The output of a built binary of this package run with `args`.
fn run(bin: &str, args: &[&str]) -> String {
    let exe = match bin {
        "server" => env!("CARGO_BIN_EXE_server"),
        "client" => env!("CARGO_BIN_EXE_client"),
        other => panic!("README.md runs an unknown binary {other}"),
    };
    let out = Command::new(exe)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{bin} {args:?} failed");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// Lines without their trailing spaces, and without blank lines at the end.
fn tidy<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = lines.map(str::trim_end).collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

#[test]
fn readme_help_is_what_the_binaries_print() {
    let page = pages().remove(0);
    assert_eq!(page.name, "README.md");
    let mut problems = Vec::new();
    let mut shown = Vec::new();
    for fence in parse(&page.text).fences {
        let Some((_, first)) = fence.lines.first() else {
            continue;
        };
        let mut command = first.split_whitespace();
        let (Some("$"), Some(bin @ ("server" | "client"))) = (command.next(), command.next())
        else {
            continue;
        };
        let args: Vec<&str> = command.collect();
        shown.push(format!("{bin} {}", args.join(" ")));
        let printed = run(bin, &args);
        let want = tidy(printed.lines());
        let have = tidy(fence.lines[1..].iter().map(|(_, l)| l.as_str()));
        for i in 0..want.len().max(have.len()) {
            let (w, h) = (want.get(i), have.get(i));
            if w != h {
                let n = fence.lines.get(i + 1).map_or(fence.start, |(n, _)| *n);
                problems.push(format!(
                    "README.md:{n}: `{bin} {}` prints {:?} here, the README has {:?}",
                    args.join(" "),
                    w.copied().unwrap_or("(nothing more)"),
                    h.copied().unwrap_or("(nothing more)")
                ));
                break;
            }
        }
    }
    for needed in ["server --help", "client --help"] {
        assert!(
            shown.iter().any(|s| s == needed),
            "README.md has no ```text block starting `$ {needed}`"
        );
    }
    fail_on(problems);
}

/// The checks themselves catch drift (a page made up for the purpose).
#[test]
fn stale_pages_are_caught() {
    let sources = sources();
    let exists = source_lookup(&sources);
    let page = Page {
        name: "made-up.md".into(),
        text: [
            "Fine: `src/net/listen.rs`, `listen`, and `src/doors/admit.rs`,",
            "`accept_loop`, `Admission::reserve`, `Door`; `src/dispatch/mod.rs`, `Input::Connect`.",
            "",
            "Stale: `src/net/listen.rs`, `bind_all`; `src/doors/admit.rs`, `Admission::open`;",
            "`src/dispatch/mod.rs`, `Input::Hello`; `src/net/writer.rs`, `MSG_DONTWAIT | 1`.",
            "Gone: `src/server.rs` is fine but src/connection.rs is not; see `writer.rs`",
            "(lines 12-14) or src/net/writer.rs:40.",
            "",
            "`// accept(2): blocks until a handshake completes; a new socket per client.`",
            "`// accept(2): blocks for ever.`",
            "",
            "Names: `Input::Connect`, `Outbox::push`, `TcpStream::connect`, `Input::Hello { id }`.",
            "",
            "```rust",
            "    // socket(2): a new TCP endpoint, not yet tied to any address.",
            "    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;",
            "```",
            "",
            "```rust",
            "    // socket(2): a new TCP endpoint, not yet tied to any address.",
            "    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;",
            "```",
            "",
        ]
        .join("\n"),
    };
    let references = reference_problems(&page, &exists);
    assert_eq!(references.len(), 4, "{references:#?}");
    assert!(
        references[0].starts_with(
            "made-up.md:4: stale reference: `src/net/listen.rs` defines no `bind_all`"
        )
    );
    assert!(references[1].contains("no `fn open`"));
    assert!(
        references[2].starts_with("made-up.md:5: ") && references[2].contains("variant `Hello`")
    );
    assert!(references[3].contains("is not a name"));
    let paths = path_problems(&page, &exists);
    assert_eq!(paths.len(), 4, "{paths:#?}");
    assert!(paths[0].starts_with("made-up.md:6: `src/connection.rs` does not exist"));
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("made-up.md:7: a line number (\"lines 12"))
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("made-up.md:7: a line number (\".rs:40"))
    );
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("made-up.md:6: `writer.rs`: give the path"))
    );
    let quotes = quote_problems(&page, &sources);
    assert_eq!(quotes.len(), 2, "{quotes:#?}");
    assert!(quotes[0].starts_with("made-up.md:21: quoted code is in no file under src/"));
    assert!(quotes[1].starts_with("made-up.md:10: quoted comment is in no file under src/"));
    let names = type_member_problems(&page, &sources);
    assert_eq!(names.len(), 3, "{names:#?}");
    assert!(
        names
            .iter()
            .any(|p| p.starts_with("made-up.md:4: `Admission::open`"))
    );
    assert!(
        names
            .iter()
            .any(|p| p.starts_with("made-up.md:5: `Input::Hello`"))
    );
    assert!(
        names
            .iter()
            .any(|p| p.starts_with("made-up.md:12: `Input::Hello`"))
    );
}
