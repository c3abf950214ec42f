//! Report errors. Every variant that concerns a file or an output names it.

use aviary_store::StoreError;
use std::path::PathBuf;

/// What went wrong while building or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading missions, sites, drones or telemetry from the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A mission names a site that is not in the store.
    #[error("mission {mission} belongs to site {site}, which is not in the store")]
    UnknownSite {
        /// The mission id.
        mission: String,
        /// The missing site id.
        site: String,
    },
    /// The output file cannot be created (missing directory, no permission, read-only disk).
    #[error("cannot create report file {path}: {io}")]
    CreateOutput {
        /// The file that was asked for.
        path: PathBuf,
        /// The OS error (in the message, so not also a `source`).
        io: std::io::Error,
    },
    /// Two outputs of one report name the same file.
    #[error("{first} and {second} are the same file: give each output its own path")]
    SameOutput {
        /// The first output asked for.
        first: PathBuf,
        /// The output that names the same file.
        second: PathBuf,
    },
    /// Writing to the output failed part-way.
    #[error("cannot write the {what}: {io}")]
    Write {
        /// Which output ("mission PDF", "telemetry CSV", ...).
        what: &'static str,
        /// The OS error (in the message, so not also a `source`).
        io: std::io::Error,
    },
    /// The CSV writer failed.
    #[error("cannot write the {what}: {error}")]
    Csv {
        /// Which output.
        what: &'static str,
        /// The CSV error, usually an I/O error underneath (in the message, so not also a
        /// `source`).
        error: csv::Error,
    },
    /// Drawing a chart or the map into a bitmap failed.
    #[error("cannot draw the {what}: {detail}")]
    Chart {
        /// Which picture.
        what: &'static str,
        /// What plotters said.
        detail: String,
    },
    /// Encoding or embedding a bitmap in the PDF failed.
    #[error("cannot embed the {what} in the PDF: {detail}")]
    Image {
        /// Which picture.
        what: &'static str,
        /// What the encoder said.
        detail: String,
    },
    /// An embedded font cannot be read or cut down to the glyphs a PDF uses.
    #[error("cannot use the embedded font {face}: {detail}")]
    Font {
        /// Which face.
        face: &'static str,
        /// What the font library said.
        detail: String,
    },
}

impl ReportError {
    /// Maps a CSV error for `what`.
    pub(crate) fn csv(what: &'static str) -> impl FnOnce(csv::Error) -> Self {
        move |error| Self::Csv { what, error }
    }

    /// Maps an I/O error for `what`.
    pub(crate) fn write(what: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |io| Self::Write { what, io }
    }
}
