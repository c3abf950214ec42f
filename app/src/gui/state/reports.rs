//! The Reports view's organisation-report form.

use chrono::{DateTime, Utc};

/// Title of the organisation-report job (one at a time): `logic` starts it, the view finds it
/// among the running jobs.
pub const ORG_REPORT_JOB: &str = "Organisation report";

/// The Reports view's organisation-report form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReportForm {
    /// First day of the period (`YYYY-MM-DD`, UTC), as typed.
    pub from: String,
    /// Last day of the period, inclusive, as typed.
    pub to: String,
    /// Write the PDF.
    pub pdf: bool,
    /// Write the period's mission history as CSV.
    pub csv: bool,
    /// Folder to write to, as typed; empty: ask with the folder dialog.
    pub out_dir: String,
}

impl OrgReportForm {
    /// The last 30 days up to `now`, PDF and CSV, folder asked for.
    pub fn last_30_days(now: DateTime<Utc>) -> Self {
        let today = now.date_naive();
        Self {
            from: (today - chrono::Duration::days(29)).to_string(),
            to: today.to_string(),
            pdf: true,
            csv: true,
            out_dir: String::new(),
        }
    }
}
