//! Any name, any script: mission reports named in Chinese, Arabic, Cyrillic, emoji and with
//! 200 characters are read back with poppler's `pdftotext` (the embedded fonts' `ToUnicode`
//! maps give the names back) and rendered with `pdftoppm`.
//!
//! A missing poppler skips the tool checks with a message unless
//! `AVIARY_REQUIRE_SERVICES=1`. `AVIARY_REPORT_ARTIFACTS=DIR` keeps the PDFs and pages.

use aviary_core::{ManualClock, MissionStatus};
use aviary_reports::{ReportOptions, load_mission_report, pdf, testdata};
use aviary_store::{Store, StoreOptions};
use chrono::Duration;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("AVIARY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{name} is required (AVIARY_REQUIRE_SERVICES=1) but not installed: apt-get install poppler-utils"
        );
        eprintln!("skipping {name} checks: not installed (apt-get install poppler-utils)");
    }
    found
}

fn run(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes all white space (so a name that wrapped across lines still matches) and the
/// bidirectional embedding marks `pdftotext` puts around right-to-left text.
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(*c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
        })
        .collect()
}

const NAMES: [(&str, &str); 5] = [
    ("chinese", "北京市朝阳区 农田测绘 第一期"),
    ("arabic", "مسح الحقل الشمالي"),
    ("cyrillic", "Съёмка северного поля"),
    ("emoji", "Survey 😀 ☀ ✈ ★ done"),
    ("mixed", "Ферма 农场 مزرعة farm"),
];

#[test]
fn names_in_any_script_print_and_read_back() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)));
    let store = Store::open(
        &tmp.path().join("aviary.db"),
        clock,
        StoreOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mission = testdata::lawnmower_mission(
        "placeholder",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let seeded = testdata::seed_store(&store, mission, 2.0).unwrap_or_else(|e| panic!("{e}"));
    let base = load_mission_report(&store, seeded.mission.id, &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::var_os("AVIARY_REPORT_ARTIFACTS")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let pdftotext = tool("pdftotext");

    let long_name: String = "Polder Oost drainage survey, section ".repeat(6)[..200].to_owned();
    assert_eq!(long_name.chars().count(), 200);
    let mut cases: Vec<(&str, String)> = NAMES.iter().map(|(k, n)| (*k, (*n).to_owned())).collect();
    cases.push(("long", long_name.clone()));
    let mut sizes = Vec::new();
    for (key, name) in &cases {
        let mut report = base.clone();
        report.mission_name.clone_from(name);
        report.context.site_name = format!("Site {name}");
        let mut bytes = Vec::new();
        let pages =
            pdf::write_mission_pdf(&mut bytes, &report).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(pages >= 2, "{key}: {pages} pages");
        sizes.push((*key, bytes.len()));
        let path = out.join(format!("unicode-{key}.pdf"));
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let Some(pdftotext) = &pdftotext else {
            continue;
        };
        let text = run(pdftotext, &[path.to_str().unwrap_or_default(), "-"]);
        assert!(
            !text.contains('\u{FFFD}'),
            "{key}: replacement characters in {text}"
        );
        if *key == "long" {
            // Shortened in the title and footer (ellipsis), whole in no line off the page.
            assert!(text.contains('\u{2026}'), "{key}: no ellipsis in {text}");
            assert!(
                squeeze(&text).contains(&squeeze(&name[..120])),
                "{key}: {text}"
            );
        } else {
            assert!(
                squeeze(&text).contains(&squeeze(name)),
                "{key}: {name:?} not in the extracted text:\n{text}"
            );
        }
    }
    eprintln!("PDF sizes: {sizes:?}");
    // The fonts are subset: a report costs kilobytes of font, not the 5.5 MB of the files.
    for (key, size) in &sizes {
        assert!(*size < 1_500_000, "{key}: {size} bytes");
    }
    if let Some(pdftoppm) = tool("pdftoppm") {
        for key in ["chinese", "arabic", "long"] {
            let pdf = out.join(format!("unicode-{key}.pdf"));
            let prefix = out.join(format!("unicode-{key}-page"));
            run(
                &pdftoppm,
                &[
                    "-png",
                    "-r",
                    "60",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    pdf.to_str().unwrap_or_default(),
                    prefix.to_str().unwrap_or_default(),
                ],
            );
        }
    }
}
