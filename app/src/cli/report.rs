//! `aviary report`: mission and organisation reports as PDF and CSV from a local store.

use anyhow::Context as _;
use aviary_core::MissionStatus;
use aviary_core::{MissionId, SystemClock};
use aviary_reports::output::{self, OutputFile};
use aviary_reports::summary::{
    Grouping, HistoryFilter, MaintenancePolicy, load_history, load_org_report,
};
use aviary_reports::{ReportOptions, csvout, format, load_mission_report, pdf};
use aviary_store::Store;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Subcommands of `aviary report`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// One mission, computed from its stored telemetry: summary, map, charts, events.
    Mission(MissionArgs),
    /// The organisation over a period: totals, per-site charts, drones, maintenance.
    Org(OrgArgs),
    /// The mission history, newest first, filtered by site, drone, status and period.
    History(HistoryArgs),
}

/// Arguments of `aviary report history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Aviary database file (opened read-only); default: the app's own database.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Only this site (name or id).
    #[arg(long, value_name = "SITE")]
    site: Option<String>,
    /// Only this drone (serial number or id).
    #[arg(long, value_name = "DRONE")]
    drone: Option<String>,
    /// Only these statuses, spelled as in the database (e.g. completed, aborted, failed);
    /// repeat or separate with commas.
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    status: Vec<String>,
    /// Flown (or created, if never flown) on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    from: Option<NaiveDate>,
    /// Flown (or created) on or before this day (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "DATE")]
    to: Option<NaiveDate>,
    /// Write the history here (CSV) instead of only listing it.
    #[arg(long, value_name = "OUT.csv")]
    csv: Option<PathBuf>,
}

/// Arguments of `aviary report mission`.
#[derive(Debug, clap::Args)]
pub struct MissionArgs {
    /// Aviary database file (opened read-only); default: the app's own database.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Mission id (UUID).
    #[arg(long, value_name = "ID", required_unless_present = "latest")]
    mission: Option<MissionId>,
    /// The mission flown most recently (as `aviary fly` or the desktop recorded it).
    #[arg(long, conflicts_with = "mission")]
    latest: bool,
    /// Write the PDF report here.
    #[arg(long, value_name = "OUT.pdf")]
    pdf: Option<PathBuf>,
    /// Write the mission summary row here (CSV).
    #[arg(long, value_name = "OUT.csv")]
    csv: Option<PathBuf>,
    /// Also write the raw telemetry here (CSV, one row per sample).
    #[arg(long, value_name = "OUT.csv")]
    telemetry_csv: Option<PathBuf>,
}

/// Arguments of `aviary report org`.
#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    /// Aviary database file (opened read-only); default: the app's own database.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// First day of the period (YYYY-MM-DD, from 00:00 UTC).
    #[arg(long, value_name = "DATE")]
    from: NaiveDate,
    /// Last day of the period, inclusive (YYYY-MM-DD, to 24:00 UTC).
    #[arg(long, value_name = "DATE")]
    to: NaiveDate,
    /// Group missions by day, week or month (in each site's local time).
    #[arg(long, default_value = "week")]
    group: Grouping,
    /// Write the PDF report here.
    #[arg(long, value_name = "OUT.pdf")]
    pdf: Option<PathBuf>,
    /// Write the period's mission history here (CSV).
    #[arg(long, value_name = "OUT.csv")]
    csv: Option<PathBuf>,
    /// Write the period's missed scheduled runs per site here (CSV).
    #[arg(long, value_name = "OUT.csv")]
    missed_csv: Option<PathBuf>,
}

/// Runs `aviary report ...`.
pub fn run(cmd: ReportCommand) -> anyhow::Result<()> {
    match cmd {
        ReportCommand::Mission(a) => mission(&a),
        ReportCommand::Org(a) => org(&a),
        ReportCommand::History(a) => history(&a),
    }
}

/// The database to read: `--db`, else the app's own (`aviary_store::default_db_path`).
fn db_path(db: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match db {
        Some(p) => Ok(p.clone()),
        None => {
            aviary_store::default_db_path().context("finding the app's database (give --db FILE)")
        }
    }
}

/// Opens an existing store read-only: a missing file is an error rather than a new empty
/// database, and a read-only copy can be reported on.
fn open_store(db: &Path) -> anyhow::Result<Store> {
    anyhow::ensure!(
        db.is_file(),
        "database {} does not exist (give --db FILE)",
        db.display()
    );
    Store::open_read_only(db, Arc::new(SystemClock))
        .with_context(|| format!("opening {}", db.display()))
}

/// Checks the output paths before the (possibly slow) report is built: distinct files, in
/// folders that exist. Nothing is created until every output is built ([`output::commit`]).
fn check_outputs(paths: &[Option<&PathBuf>]) -> anyhow::Result<()> {
    let given: Vec<&Path> = paths.iter().flatten().map(|p| p.as_path()).collect();
    output::check_distinct(given.iter().copied())?;
    output::check_targets(given.iter().copied())?;
    Ok(())
}

/// Builds one output in memory when its path was given.
fn build(
    path: Option<&PathBuf>,
    f: impl FnOnce(&mut Vec<u8>) -> Result<(), aviary_reports::ReportError>,
) -> anyhow::Result<Option<OutputFile>> {
    path.map(|p| output::build(p, f))
        .transpose()
        .map_err(Into::into)
}

fn mission(a: &MissionArgs) -> anyhow::Result<()> {
    let db = db_path(a.db.as_ref())?;
    check_outputs(&[a.pdf.as_ref(), a.csv.as_ref(), a.telemetry_csv.as_ref()])?;
    let store = open_store(&db)?;
    let id = match a.mission {
        Some(id) => id,
        None => latest_flown(&store)?,
    };
    let report = load_mission_report(&store, id, &ReportOptions::default())?;
    drop(store);
    // Every file is built before any is written, then all are committed together.
    let mut pages = 0;
    let pdf_out = build(a.pdf.as_ref(), |w| {
        pages = pdf::write_mission_pdf(w, &report)?;
        Ok(())
    })?;
    let csv_out = build(a.csv.as_ref(), |w| {
        csvout::write_mission_summaries(w, &[&report])
    })?;
    let tel_out = build(a.telemetry_csv.as_ref(), |w| {
        csvout::write_telemetry(w, &report.samples)
    })?;
    let files: Vec<OutputFile> = [pdf_out, csv_out, tel_out].into_iter().flatten().collect();
    output::commit(&files)?;

    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{} — {}",
        report.mission_name,
        report.verdict.label()
    )?;
    for (k, v) in pdf::mission_summary_pairs(&report) {
        writeln!(stdout, "  {k:<22} {v}")?;
    }
    for line in report.issue_lines() {
        writeln!(stdout, "  ! {line}")?;
    }
    if let Some(p) = &a.pdf {
        writeln!(stdout, "wrote {} ({pages} pages)", p.display())?;
    }
    if let Some(p) = &a.csv {
        writeln!(stdout, "wrote {}", p.display())?;
    }
    if let Some(p) = &a.telemetry_csv {
        writeln!(
            stdout,
            "wrote {} ({} samples)",
            p.display(),
            report.samples.len()
        )?;
    }
    Ok(())
}

/// The mission whose flight started last.
fn latest_flown(store: &Store) -> anyhow::Result<MissionId> {
    let flown = store.list_missions(&aviary_store::MissionFilter {
        statuses: vec![
            MissionStatus::InProgress,
            MissionStatus::Paused,
            MissionStatus::Completed,
            MissionStatus::Aborted,
            MissionStatus::Failed,
        ],
        ..aviary_store::MissionFilter::default()
    })?;
    flown
        .iter()
        .filter_map(|m| m.actual_start.map(|t| (t, m.id)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, id)| id)
        .context("no mission in this database has flown yet")
}

fn org(a: &OrgArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.from <= a.to, "--from {} is after --to {}", a.from, a.to);
    let from = Utc.from_utc_datetime(&a.from.and_time(NaiveTime::MIN));
    let to = Utc.from_utc_datetime(&a.to.and_time(NaiveTime::MIN)) + chrono::Duration::days(1);
    let db = db_path(a.db.as_ref())?;
    check_outputs(&[a.pdf.as_ref(), a.csv.as_ref(), a.missed_csv.as_ref()])?;
    let store = open_store(&db)?;
    let report = load_org_report(
        &store,
        from,
        to,
        a.group,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )?;
    drop(store);
    let mut pages = 0;
    let pdf_out = build(a.pdf.as_ref(), |w| {
        pages = report.write_pdf(w)?;
        Ok(())
    })?;
    let csv_out = build(a.csv.as_ref(), |w| report.write_history_csv(w))?;
    let missed_out = build(a.missed_csv.as_ref(), |w| report.write_missed_runs_csv(w))?;
    let files: Vec<OutputFile> = [pdf_out, csv_out, missed_out]
        .into_iter()
        .flatten()
        .collect();
    output::commit(&files)?;

    let t = &report.summary.totals;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}: {} to {} (UTC)", report.org_name, a.from, a.to)?;
    writeln!(stdout, "  missions      {}", t.missions)?;
    for (s, n) in t.by_status.nonzero() {
        writeln!(stdout, "    {:<12}{n}", s.as_str())?;
    }
    writeln!(stdout, "  flight time   {}", format::hours(t.flight_s))?;
    writeln!(stdout, "  distance      {}", format::distance(t.distance_m))?;
    writeln!(
        stdout,
        "  area covered  {}",
        format::area(t.covered_area_m2)
    )?;
    let rate = t.success_rate_pct().map_or_else(
        || "n/a (no mission ended)".to_owned(),
        |p| format!("{p:.1} %"),
    );
    writeln!(stdout, "  success rate  {rate}")?;
    let missed = &report.missed_runs;
    writeln!(stdout, "  missed scheduled runs {}", missed.total())?;
    for s in missed.sites.iter().filter(|s| !s.runs.is_empty()) {
        writeln!(
            stdout,
            "    {}: {} ({})",
            s.name,
            s.runs.len(),
            s.reasons_text()
        )?;
    }
    if t.flown_without_telemetry > 0 {
        writeln!(
            stdout,
            "  ! flown missions without telemetry (not in the sums): {}",
            t.flown_without_telemetry
        )?;
    }
    for (site, d) in report.summary.maintenance_due() {
        let why: Vec<String> = d
            .maintenance
            .iter()
            .map(aviary_reports::summary::MaintenanceReason::describe)
            .collect();
        writeln!(
            stdout,
            "  maintenance due: {} at {site}: {}",
            d.serial,
            why.join("; ")
        )?;
    }
    if let Some(p) = &a.pdf {
        writeln!(stdout, "wrote {} ({pages} pages)", p.display())?;
    }
    if let Some(p) = &a.csv {
        writeln!(
            stdout,
            "wrote {} ({} missions)",
            p.display(),
            report.history.len()
        )?;
    }
    if let Some(p) = &a.missed_csv {
        writeln!(
            stdout,
            "wrote {} ({} sites)",
            p.display(),
            missed.sites.len()
        )?;
    }
    Ok(())
}

/// The UTC midnight that starts `day`.
fn day_start(day: NaiveDate) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

fn history(a: &HistoryArgs) -> anyhow::Result<()> {
    if let (Some(f), Some(t)) = (a.from, a.to) {
        anyhow::ensure!(f <= t, "--from {f} is after --to {t}");
    }
    let db = db_path(a.db.as_ref())?;
    check_outputs(&[a.csv.as_ref()])?;
    let store = open_store(&db)?;
    let sites = store.list_sites()?;
    let drones = store.list_drones(None, None)?;
    let site_id = a
        .site
        .as_deref()
        .map(|want| {
            sites
                .iter()
                .find(|s| s.name == want || s.id.to_string() == want)
                .map(|s| s.id)
                .with_context(|| format!("no site named {want:?} in {}", db.display()))
        })
        .transpose()?;
    let drone_id = a
        .drone
        .as_deref()
        .map(|want| {
            drones
                .iter()
                .find(|d| d.serial_number == want || d.id.to_string() == want)
                .map(|d| d.id)
                .with_context(|| format!("no drone {want:?} in {}", db.display()))
        })
        .transpose()?;
    let statuses = a
        .status
        .iter()
        .map(|s| {
            MissionStatus::parse(s.trim()).with_context(|| {
                format!(
                    "unknown status {s:?} (expected one of {})",
                    MissionStatus::ALL.map(MissionStatus::as_str).join(", ")
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let filter = HistoryFilter {
        site_id,
        drone_id,
        statuses,
        from: a.from.map(day_start),
        to: a.to.map(|d| day_start(d) + chrono::Duration::days(1)),
    };
    let records = load_history(&store, &filter, &ReportOptions::default())?;
    let site = |r: &aviary_reports::MissionRecord| {
        sites.iter().find(|s| s.id == r.site_id).map_or_else(
            || (r.site_id.to_string(), None),
            |s| (s.name.clone(), Some(s.timezone)),
        )
    };
    let drone_name = |r: &aviary_reports::MissionRecord| {
        r.drone_id.map_or_else(String::new, |id| {
            drones
                .iter()
                .find(|d| d.id == id)
                .map_or_else(|| id.to_string(), |d| d.serial_number.clone())
        })
    };
    let csv_out = build(a.csv.as_ref(), |w| {
        let rows: Vec<&aviary_reports::MissionRecord> = records.iter().collect();
        csvout::write_history(w, &rows, site, drone_name)
    })?;
    let files: Vec<OutputFile> = csv_out.into_iter().collect();
    output::commit(&files)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} missions", records.len())?;
    for r in &records {
        writeln!(
            stdout,
            "  {}  {:<11} {:<24} {:<16} {:>10} {:>9}  {}",
            format::utc_time(r.when()),
            r.status.as_str(),
            r.name,
            site(r).0,
            r.flight_s.map_or_else(|| "-".to_owned(), format::duration),
            r.distance_m
                .map_or_else(|| "-".to_owned(), format::distance),
            r.id
        )?;
    }
    if let Some(p) = &a.csv {
        writeln!(stdout, "wrote {} ({} missions)", p.display(), records.len())?;
    }
    Ok(())
}
