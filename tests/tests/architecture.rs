//! The dependency graph is checked, not hoped for: reads `ARCHITECTURE.md`'s crate table and
//! `cargo metadata`, and fails on any edge the table does not allow.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

struct Rule {
    may: BTreeSet<String>,
    owns: BTreeSet<String>,
}

fn rules() -> BTreeMap<String, Rule> {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ARCHITECTURE.md"))
        .unwrap();
    let mut rules = BTreeMap::new();
    let mut in_table = false;
    for line in md.lines() {
        if line.starts_with("| crate |") {
            in_table = true;
            continue;
        }
        if in_table && line.starts_with("|---") {
            continue;
        }
        if in_table && !line.starts_with('|') {
            break;
        }
        if in_table {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // ["", crate, role, may, owns, ""]
            let list = |s: &str| -> BTreeSet<String> {
                // Words after a dash or in parentheses are commentary.
                let s = s.split('(').next().unwrap_or("");
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty() && !x.starts_with('—'))
                    .map(String::from)
                    .collect()
            };
            let may = list(cells[3])
                .into_iter()
                .map(|c| format!("aviary-{c}"))
                .collect();
            rules.insert(
                format!("aviary-{}", cells[1]),
                Rule {
                    may,
                    owns: list(cells[4]),
                },
            );
        }
    }
    rules
}

fn metadata() -> serde_json::Value {
    let run = |offline: bool| {
        let mut c = Command::new(env!("CARGO"));
        c.args(["metadata", "--format-version", "1"]);
        if offline {
            c.arg("--offline");
        }
        c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .unwrap()
    };
    // Offline first; the full graph needs every platform's manifests (e.g. accesskit_ios),
    // which a machine that only ever built for Linux may not have downloaded yet.
    let mut out = run(true);
    if !out.status.success() {
        out = run(false);
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn crate_edges_match_architecture_md() {
    let rules = rules();
    let meta = metadata();
    let members: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"].is_null())
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        members,
        rules.keys().cloned().collect(),
        "every workspace crate has exactly one row in ARCHITECTURE.md"
    );

    let mut problems = Vec::new();
    let mut edges = 0;
    for p in meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"].is_null())
    {
        let name = p["name"].as_str().unwrap();
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let dev = d["kind"].as_str() == Some("dev");
            if members.contains(dep) {
                edges += 1;
                if !dev && !rules[name].may.contains(dep) {
                    problems.push(format!("{name} -> {dep} is not allowed by ARCHITECTURE.md"));
                }
            } else if !dev {
                for (owner, rule) in &rules {
                    if owner != name && rule.owns.contains(dep) {
                        problems.push(format!(
                            "{name} depends on {dep}, which only {owner} may use"
                        ));
                    }
                }
            }
        }
    }
    println!(
        "dependency graph: {} crates, {edges} workspace edges checked, {} problems",
        members.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn headless_crates_never_reach_egui_and_only_the_desktop_side_reaches_sqlite() {
    let meta = metadata();
    let nodes = meta["resolve"]["nodes"].as_array().unwrap();
    let id_name: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let graph: BTreeMap<&str, Vec<&str>> = nodes
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (n["id"].as_str().unwrap(), deps)
        })
        .collect();
    let reach = |root: &str| -> BTreeSet<&str> {
        let start = id_name
            .iter()
            .find(|(_, n)| **n == root)
            .map(|(id, _)| *id)
            .unwrap();
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(graph.get(id).into_iter().flatten().copied());
            }
        }
        seen.into_iter().map(|id| id_name[id]).collect()
    };
    for c in [
        "aviary-core",
        "aviary-planner",
        "aviary-links",
        "aviary-sim",
        "aviary-reports",
        "aviary-server",
    ] {
        let r = reach(c);
        for gui in ["egui", "eframe", "walkers", "winit"] {
            assert!(!r.contains(gui), "{c} reaches {gui}");
        }
    }
    assert!(
        !reach("aviary-sim").contains("aviary-links"),
        "sim must not reach links"
    );
    let core = reach("aviary-core");
    for heavy in ["tokio", "mavlink", "rumqttc", "axum"] {
        assert!(!core.contains(heavy), "core reaches {heavy}");
    }
    // The local store (SQLite, the OS data directory) is the desktop's: the server keeps its
    // data in PostgreSQL and the pure crates do no I/O.
    for c in [
        "aviary-core",
        "aviary-planner",
        "aviary-links",
        "aviary-sim",
        "aviary-server",
    ] {
        let r = reach(c);
        for local in ["aviary-store", "rusqlite", "libsqlite3-sys", "directories"] {
            assert!(!r.contains(local), "{c} reaches {local}");
        }
    }
    assert!(
        reach("aviary-store").contains("rusqlite"),
        "the check sees the store's own SQLite"
    );
}
