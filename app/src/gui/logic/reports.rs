//! Report commands: the mission report and the organisation report, each read, built and
//! written on a job thread with its own connection to the store file (the app's connection
//! stays on this thread, and a long track's analysis never stalls a frame). Files are built
//! in memory and committed with `aviary_reports::output::commit` (temporary file in the
//! target folder, fsync, rename), so a failed report leaves an existing file untouched.

use super::files::sanitize;
use crate::gui::backend::Backend;
use crate::gui::jobs::JobOutput;
use crate::gui::state::{AppState, ORG_REPORT_JOB};
use aviary_core::MissionId;
use aviary_reports::output;

/// Starts the mission report on a job thread: pick the file, read and analyse the mission on
/// the job's own connection, build the PDF, then commit it.
pub(super) fn mission_report(
    state: &mut AppState,
    backend: &mut Backend,
    id: MissionId,
    path: Option<std::path::PathBuf>,
) {
    // The job reads committed telemetry.
    backend.hand_over_telemetry();
    if let Err(e) = backend.store.telemetry().flush() {
        state.notice(format!("report: {e}"), true);
        return;
    }
    let name = state
        .mission(id)
        .map_or_else(|| "mission".to_owned(), |m| sanitize(&m.name));
    let db = backend.store.path().to_path_buf();
    let clock = std::sync::Arc::clone(&backend.clock);
    backend
        .jobs
        .spawn("Writing mission report", move |progress| {
            let picked = path.or_else(|| {
                rfd::FileDialog::new()
                    .set_title("Save mission report")
                    .set_file_name(format!("{name}-report.pdf"))
                    .add_filter("PDF", &["pdf"])
                    .save_file()
            });
            let Some(path) = picked else {
                return JobOutput::Cancelled;
            };
            JobOutput::ReportWritten(write_mission_report(&db, clock, id, &path, progress))
        });
}

/// The mission report's work, on the job thread.
fn write_mission_report(
    db: &std::path::Path,
    clock: std::sync::Arc<dyn aviary_core::Clock>,
    id: MissionId,
    path: &std::path::Path,
    progress: &crate::gui::jobs::Progress,
) -> Result<std::path::PathBuf, String> {
    output::check_targets([path]).map_err(|e| e.to_string())?;
    progress.set(0.05);
    let store = aviary_store::Store::open(db, clock, aviary_store::StoreOptions::default())
        .map_err(|e| e.to_string())?;
    progress.set(0.1);
    let report =
        aviary_reports::load_mission_report(&store, id, &aviary_reports::ReportOptions::default())
            .map_err(|e| e.to_string())?;
    drop(store);
    progress.set(0.6);
    let pdf = output::build(path, |w| {
        aviary_reports::pdf::write_mission_pdf(w, &report).map(|_pages| ())
    })
    .map_err(|e| e.to_string())?;
    progress.set(0.9);
    output::commit(&[pdf]).map_err(|e| e.to_string())?;
    progress.set(1.0);
    Ok(path.to_path_buf())
}

/// Starts the organisation report on a job thread: it opens its own connection to the store
/// file (the app's connection stays on this thread), reads and summarises the period, then
/// writes the PDF and the history CSV, reporting progress between the steps.
pub(super) fn org_report(
    state: &mut AppState,
    backend: &mut Backend,
    req: crate::gui::command::OrgReportRequest,
) {
    if req.from > req.to {
        state.notice(
            format!("organisation report: {} is after {}", req.from, req.to),
            true,
        );
        return;
    }
    if !req.pdf && !req.csv {
        state.notice("organisation report: choose PDF, CSV or both", true);
        return;
    }
    if backend.jobs.is_running(ORG_REPORT_JOB) {
        state.notice("an organisation report is already being written", true);
        return;
    }
    // The job reads committed telemetry (missions whose result needs computing).
    backend.hand_over_telemetry();
    if let Err(e) = backend.store.telemetry().flush() {
        state.notice(format!("organisation report: {e}"), true);
        return;
    }
    let db = backend.store.path().to_path_buf();
    let clock = std::sync::Arc::clone(&backend.clock);
    backend.jobs.spawn(ORG_REPORT_JOB, move |progress| {
        let dir = match req.out_dir.clone() {
            Some(d) => d,
            None => match rfd::FileDialog::new()
                .set_title("Folder for the organisation report")
                .pick_folder()
            {
                Some(d) => d,
                None => return JobOutput::Cancelled,
            },
        };
        JobOutput::OrgReportWritten(write_org_report(&db, clock, &req, &dir, progress))
    });
}

/// The organisation report's work, on the job thread.
fn write_org_report(
    db: &std::path::Path,
    clock: std::sync::Arc<dyn aviary_core::Clock>,
    req: &crate::gui::command::OrgReportRequest,
    dir: &std::path::Path,
    progress: &crate::gui::jobs::Progress,
) -> Result<Vec<std::path::PathBuf>, String> {
    use aviary_reports::{MaintenancePolicy, ReportOptions};
    let day_start = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let from = day_start(req.from);
    let to = day_start(req.to) + chrono::Duration::days(1);
    let stem = dir.join(format!("organisation-report-{}-{}", req.from, req.to));
    let pdf_path = stem.with_extension("pdf");
    let csv_path = stem.with_extension("csv");
    let missed_path = dir.join(format!(
        "organisation-report-{}-{}-missed-runs.csv",
        req.from, req.to
    ));
    // Check the folder first so a bad one fails before the (longer) read; nothing is
    // created until both files are built.
    let wanted: Vec<&std::path::Path> = [
        req.pdf.then_some(pdf_path.as_path()),
        req.csv.then_some(csv_path.as_path()),
        req.csv.then_some(missed_path.as_path()),
    ]
    .into_iter()
    .flatten()
    .collect();
    output::check_targets(wanted.iter().copied()).map_err(|e| e.to_string())?;
    progress.set(0.05);
    let store = aviary_store::Store::open(db, clock, aviary_store::StoreOptions::default())
        .map_err(|e| e.to_string())?;
    progress.set(0.15);
    let report = aviary_reports::summary::load_org_report(
        &store,
        from,
        to,
        aviary_reports::Grouping::Week,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .map_err(|e| e.to_string())?;
    drop(store);
    progress.set(0.5);
    let mut files = Vec::new();
    if req.pdf {
        files.push(
            output::build(&pdf_path, |w| report.write_pdf(w).map(|_pages| ()))
                .map_err(|e| e.to_string())?,
        );
    }
    progress.set(0.8);
    if req.csv {
        files.push(
            output::build(&csv_path, |w| report.write_history_csv(w)).map_err(|e| e.to_string())?,
        );
        files.push(
            output::build(&missed_path, |w| report.write_missed_runs_csv(w))
                .map_err(|e| e.to_string())?,
        );
    }
    progress.set(0.9);
    output::commit(&files).map_err(|e| e.to_string())?;
    progress.set(1.0);
    Ok(files.into_iter().map(|f| f.path).collect())
}
