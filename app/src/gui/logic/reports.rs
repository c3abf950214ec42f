//! Report commands: the mission report (built here, written on a job thread) and the
//! organisation report (read and written on a job thread).

use super::files::sanitize;
use crate::gui::backend::Backend;
use crate::gui::jobs::JobOutput;
use crate::gui::state::AppState;
use aviary_core::MissionId;

/// Builds the report on this thread (the store lives here), writes the PDF on a job thread.
pub(super) fn mission_report(state: &mut AppState, backend: &mut Backend, id: MissionId) {
    if let Err(e) = backend.store.telemetry().flush() {
        state.notice(format!("report: {e}"), true);
        return;
    }
    let report = match aviary_reports::load_mission_report(
        &backend.store,
        id,
        &aviary_reports::ReportOptions::default(),
    ) {
        Ok(r) => r,
        Err(e) => {
            state.notice(format!("report: {e}"), true);
            return;
        }
    };
    let name = state
        .mission(id)
        .map_or_else(|| "mission".to_owned(), |m| sanitize(&m.name));
    backend
        .jobs
        .spawn("Writing mission report", move |progress| {
            let picked = rfd::FileDialog::new()
                .set_title("Save mission report")
                .set_file_name(format!("{name}-report.pdf"))
                .add_filter("PDF", &["pdf"])
                .save_file();
            let Some(path) = picked else {
                return JobOutput::Cancelled;
            };
            progress.set(0.3);
            let written = aviary_reports::create_output(&path)
                .and_then(|mut out| {
                    aviary_reports::pdf::write_mission_pdf(&mut out, &report)?;
                    std::io::Write::flush(&mut out).map_err(|io| {
                        aviary_reports::ReportError::Write {
                            what: "mission PDF",
                            io,
                        }
                    })
                })
                .map(|()| path)
                .map_err(|e| e.to_string());
            JobOutput::ReportWritten(written)
        });
}

/// Title of the organisation-report job (one at a time).
pub const ORG_REPORT_JOB: &str = "Organisation report";

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
    use aviary_reports::{MaintenancePolicy, ReportError, ReportOptions};
    let day_start = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let from = day_start(req.from);
    let to = day_start(req.to) + chrono::Duration::days(1);
    let stem = dir.join(format!("organisation-report-{}-{}", req.from, req.to));
    let pdf_path = stem.with_extension("pdf");
    let csv_path = stem.with_extension("csv");
    // Create the files first so a bad folder fails before the (longer) read.
    let pdf_out = req
        .pdf
        .then(|| aviary_reports::create_output(&pdf_path))
        .transpose()
        .map_err(|e| e.to_string())?;
    let csv_out = req
        .csv
        .then(|| aviary_reports::create_output(&csv_path))
        .transpose()
        .map_err(|e| e.to_string())?;
    progress.set(0.05);
    let store =
        aviary_core::store::Store::open(db, clock, aviary_core::store::StoreOptions::default())
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
    let mut written = Vec::new();
    if let Some(mut out) = pdf_out {
        report
            .write_pdf(&mut out)
            .and_then(|_pages| {
                std::io::Write::flush(&mut out).map_err(|io| ReportError::Write {
                    what: "organisation PDF",
                    io,
                })
            })
            .map_err(|e| e.to_string())?;
        written.push(pdf_path);
    }
    progress.set(0.85);
    if let Some(out) = csv_out {
        report.write_history_csv(out).map_err(|e| e.to_string())?;
        written.push(csv_path);
    }
    progress.set(1.0);
    Ok(written)
}
