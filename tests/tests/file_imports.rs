//! File-level import circles, checked: inside the crates named here no two source files import
//! each other, directly or round a longer loop (issue 22), and the desktop's `ui` reads state
//! and emits commands only — it never imports `logic`, the backend, the links or a job.
//!
//! A file's imports are the `crate::…` and `super::…` paths in its code (comments and its
//! `#[cfg(test)]` module left out), each resolved to the file of the longest module prefix
//! that has one. A file and its ancestor modules are not an import: a parent declares its
//! children and a child may use its parent's items.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates the check covers, by folder.
const CRATES: [&str; 5] = ["core", "store", "reports", "server", "app"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b.rs` → `[a, b]`, `a/mod.rs` → `[a]`, `lib.rs` → `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The source as the compiler sees it outside tests: no comments, no `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every module path named after `crate::` or `super::` in `code`, made absolute for a file of
/// module `me`. A `{a, b::c}` group yields one path per item.
fn named_paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let at_word = i == 0 || !is_ident(bytes[i - 1]);
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let (head_len, mut base) = if at_word && rest.starts_with("crate::") {
            (7, Vec::new())
        } else if at_word && rest.starts_with("super::") {
            (7, me[..me.len().saturating_sub(1)].to_vec())
        } else {
            i += 1;
            continue;
        };
        i += head_len;
        // Segments up to the end of the path or a group.
        loop {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let seg: String = bytes[start..i].iter().collect();
            if seg == "super" {
                base.pop();
            } else if !seg.is_empty() {
                base.push(seg);
            }
            if i + 1 < bytes.len() && bytes[i] == ':' && bytes[i + 1] == ':' {
                i += 2;
                if i < bytes.len() && bytes[i] == '{' {
                    let close = bytes[i..].iter().position(|&c| c == '}').unwrap_or(0) + i;
                    let group: String = bytes[i + 1..close].iter().collect();
                    for item in group.split(',') {
                        let first = item.trim().split("::").next().unwrap_or("").trim();
                        if !first.is_empty() && first != "self" && first.chars().all(is_ident) {
                            let mut p = base.clone();
                            p.push(first.to_owned());
                            out.push(p);
                        }
                    }
                    i = close;
                    break;
                }
                continue;
            }
            break;
        }
        out.push(base);
    }
    out
}

/// The file of the longest prefix of `path` that is a module with a file of its own.
fn resolve(src: &Path, path: &[String]) -> Option<PathBuf> {
    (1..=path.len()).rev().find_map(|n| {
        let dir: PathBuf = path[..n].iter().collect();
        let flat = src.join(&dir).with_extension("rs");
        let nested = src.join(&dir).join("mod.rs");
        [flat, nested].into_iter().find(|p| p.is_file())
    })
}

fn crate_src(folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(folder)
        .join("src")
}

/// Each file under `src` with the files it imports (ancestors left out), by path relative to
/// `src`.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let name = |p: &Path| p.strip_prefix(src).unwrap().to_string_lossy().into_owned();
    let mut graph = BTreeMap::new();
    for f in &files {
        let me = module_path(src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let mut to = BTreeSet::new();
        for path in named_paths(&code(&text), &me) {
            if let Some(target) = resolve(src, &path) {
                let them = module_path(src, &target);
                let ancestor = me.starts_with(&them) || them.starts_with(&me);
                if &target != f && !ancestor {
                    to.insert(name(&target));
                }
            }
        }
        graph.insert(name(f), to);
    }
    graph
}

/// A loop through `from` back to it, if any (the files in order).
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, trail)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                return Some(trail.clone());
            }
            if seen.insert(next.clone()) {
                let mut t = trail.clone();
                t.push(next.clone());
                stack.push((next.clone(), t));
            }
        }
    }
    None
}

#[test]
fn no_file_imports_itself_round_a_circle() {
    let mut circles = BTreeSet::new();
    let mut files = 0;
    for folder in CRATES {
        let graph = imports(&crate_src(folder));
        files += graph.len();
        for f in graph.keys() {
            if let Some(mut c) = circle_through(&graph, f) {
                // One report per circle, whichever file it was found from.
                let first = c.iter().enumerate().min_by_key(|(_, n)| *n).unwrap().0;
                c.rotate_left(first);
                circles.insert(format!("{folder}: {}", c.join(" → ")));
            }
        }
    }
    println!("{files} files in {CRATES:?}, {} circles", circles.len());
    assert!(files > 100, "the scan found the sources ({files} files)");
    assert!(
        circles.is_empty(),
        "file-level import circles:\n{}",
        circles.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn a_circle_is_found_and_a_parent_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("store")).unwrap();
    let files = [
        (
            "lib.rs",
            "pub mod store;\npub mod api;\nuse crate::store::Store;\n",
        ),
        (
            "store/mod.rs",
            "mod queries;\nmod results;\npub struct Store;\n",
        ),
        (
            "store/queries.rs",
            "use super::Store;\nfn q() { super::results::write(); }\n",
        ),
        (
            "store/results.rs",
            "// super::api is a comment\npub fn write() { let _ = super::queries::X; }\n",
        ),
        ("api.rs", "use crate::store::{Store, queries};\n"),
    ];
    for (name, text) in files {
        std::fs::write(src.join(name), text).unwrap();
    }
    let graph = imports(src);
    assert_eq!(
        graph["store/queries.rs"],
        BTreeSet::from(["store/results.rs".to_owned()])
    );
    assert!(
        graph["lib.rs"].is_empty(),
        "children are not imports of their parent"
    );
    assert_eq!(
        circle_through(&graph, "store/queries.rs"),
        Some(vec![
            "store/queries.rs".to_owned(),
            "store/results.rs".to_owned()
        ])
    );
    assert_eq!(circle_through(&graph, "api.rs"), None);
}

#[test]
fn the_scan_sees_imports_and_groups() {
    let me = vec!["gui".to_owned(), "ui".to_owned(), "plan".to_owned()];
    let found = named_paths(
        &code(
            "use super::super::logic::{self, x};\nlet y = crate::gui::state::AppState::new(); // crate::z\n",
        ),
        &me,
    );
    let as_text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        as_text,
        ["gui::logic::x", "gui::logic", "gui::state::AppState::new"]
    );
}

#[test]
fn desktop_ui_reads_state_and_emits_commands_only() {
    let graph = imports(&crate_src("app"));
    let forbidden = [
        "gui/logic",
        "gui/backend.rs",
        "gui/links",
        "gui/jobs.rs",
        "gui/fleet_server",
    ];
    let mut problems = Vec::new();
    for (file, to) in graph.iter().filter(|(f, _)| f.starts_with("gui/ui/")) {
        for t in to {
            if forbidden.iter().any(|f| t.starts_with(f)) {
                problems.push(format!("{file} imports {t}"));
            }
        }
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../app/src")
                .join(file),
        )
        .unwrap();
        for crate_name in ["aviary_links", "aviary_store", "aviary_sim"] {
            if code(&text).contains(crate_name) {
                problems.push(format!("{file} names {crate_name}"));
            }
        }
    }
    assert!(
        graph.keys().filter(|f| f.starts_with("gui/ui/")).count() > 5,
        "the scan found the ui files"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
