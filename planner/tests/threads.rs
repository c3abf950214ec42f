//! A plan is the same bytes whatever the number of cores: the plans (and map previews) of
//! every reference area and straight-line pattern made here, on the planner's pool of
//! `aviary-plan` threads, equal the ones a child process makes on one thread
//! (`AVIARY_PLAN_THREADS=1`). The child is this test binary re-executed to run the ignored
//! test `plans_on_one_thread_child`, which prints one digest line per plan.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::hash::{DefaultHasher, Hasher};
use std::process::Command;

use aviary_planner::{Pattern, THREADS_ENV, plan_path, plan_survey};

mod common;
use common::{POLYGONS, area, bench_params};

const CHILD_ENV: &str = "AVIARY_PLAN_THREADS_CHILD";

/// One line per reference area and pattern: the case, a digest of the whole plan as JSON and
/// of the preview's items, and a few figures to read when they differ.
fn digests() -> Vec<String> {
    let mut out = Vec::new();
    for name in POLYGONS {
        let area = area(name);
        for pattern in [Pattern::Lawnmower, Pattern::Crosshatch] {
            let params = bench_params(pattern);
            let plan = plan_survey(&area, &params).unwrap();
            let preview = plan_path(&area, &params).unwrap();
            let mut h = DefaultHasher::new();
            h.write(serde_json::to_string(&plan).unwrap().as_bytes());
            h.write(serde_json::to_string(&preview).unwrap().as_bytes());
            out.push(format!(
                "{name} {} {:016x} {} sorties {:.3} m",
                pattern.as_str(),
                h.finish(),
                plan.sorties.len(),
                plan.estimate.survey_distance_m
            ));
        }
    }
    out
}

#[test]
fn plans_do_not_depend_on_the_number_of_cores() {
    let here = digests();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "plans_on_one_thread_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, "1")
        .env(THREADS_ENV, "1")
        .output()
        .unwrap();
    assert!(child.status.success(), "child failed: {child:?}");
    let stdout = String::from_utf8(child.stdout).unwrap();
    let there: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("PLAN "))
        .map(String::from)
        .collect();
    assert_eq!(there.len(), here.len(), "child printed: {stdout}");
    for (a, b) in here.iter().zip(&there) {
        assert_eq!(a, b, "all cores vs one thread");
    }
}

/// The child of [`plans_do_not_depend_on_the_number_of_cores`].
#[test]
#[ignore = "run by plans_do_not_depend_on_the_number_of_cores in a child process"]
fn plans_on_one_thread_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    for line in digests() {
        println!("PLAN {line}");
    }
}
