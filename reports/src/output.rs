//! Writing report files so that a file at the target is never destroyed or half-written.
//!
//! A report is built in memory first; only then are its files written, each to a temporary
//! file in the target's own folder (so the final rename stays on one file system), flushed to
//! disk with `fsync` and renamed over the target. Several outputs of one report are committed
//! together: every temporary file is written and synced before the first rename, so a missing
//! folder or a full disk for any of them leaves every target exactly as it was. Two outputs
//! naming the same file are refused before anything is written.

use crate::error::ReportError;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One file of a report: where it goes and its complete content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// The target path.
    pub path: PathBuf,
    /// The complete bytes of the file.
    pub bytes: Vec<u8>,
}

impl OutputFile {
    /// The file `path` with content `bytes`.
    pub fn new(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Self {
        Self {
            path: path.into(),
            bytes,
        }
    }
}

/// Refuses two outputs that name the same file (also through `..`, `.` or a symbolic link
/// of an existing folder or file), before any of them is written.
pub fn check_distinct<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), ReportError> {
    let mut seen: Vec<(PathBuf, &Path)> = Vec::new();
    for p in paths {
        let key = identity(p);
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(ReportError::SameOutput {
                first: first.to_path_buf(),
                second: p.to_path_buf(),
            });
        }
        seen.push((key, p));
    }
    Ok(())
}

/// The file `p` names: the canonical file when it exists, else its canonical folder joined
/// with its name (or the path as given when the folder does not exist either).
fn identity(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), p.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => p.to_path_buf(),
    }
}

/// Checks that every output can be created: its folder exists and is a folder, and the target
/// is not a folder. Call before building a slow report so a bad path fails fast; nothing is
/// created.
pub fn check_targets<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<(), ReportError> {
    for p in paths {
        let dir = folder_of(p);
        let problem = if !dir.is_dir() {
            Some("folder does not exist")
        } else if p.is_dir() {
            Some("is a folder")
        } else {
            None
        };
        if let Some(why) = problem {
            return Err(ReportError::CreateOutput {
                path: p.to_path_buf(),
                io: std::io::Error::new(std::io::ErrorKind::NotFound, why),
            });
        }
    }
    Ok(())
}

fn folder_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes every file of one report, all or nothing: distinct paths are checked, each file is
/// written to a temporary file beside its target and synced, and only when all are on disk
/// are they renamed over their targets (then the folders are synced). On an error before the
/// renames, no target has changed and the temporary files are removed.
pub fn commit(files: &[OutputFile]) -> Result<(), ReportError> {
    check_distinct(files.iter().map(|f| f.path.as_path()))?;
    let mut staged = Vec::with_capacity(files.len());
    for f in files {
        staged.push(stage(f)?);
    }
    for (tmp, f) in staged.into_iter().zip(files) {
        tmp.persist(&f.path)
            .map_err(|e| ReportError::CreateOutput {
                path: f.path.clone(),
                io: e.error,
            })?;
    }
    for f in files {
        sync_folder(folder_of(&f.path));
    }
    Ok(())
}

/// Writes `f` to a synced temporary file in its target's folder.
fn stage(f: &OutputFile) -> Result<tempfile::NamedTempFile, ReportError> {
    let create_err = |io| ReportError::CreateOutput {
        path: f.path.clone(),
        io,
    };
    let name = f
        .path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder_of(&f.path))
        .map_err(create_err)?;
    tmp.write_all(&f.bytes).map_err(create_err)?;
    tmp.as_file().sync_all().map_err(create_err)?;
    // Keep the permissions of a file being replaced (a temporary file is created 0600).
    if let Ok(meta) = std::fs::metadata(&f.path) {
        let _keep = tmp.as_file().set_permissions(meta.permissions());
    } else {
        set_default_permissions(tmp.as_file());
    }
    Ok(tmp)
}

#[cfg(unix)]
fn set_default_permissions(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt as _;
    // What `File::create` gives under the usual umask 022.
    let _best_effort = file.set_permissions(std::fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_default_permissions(_file: &std::fs::File) {}

/// Makes a rename in `dir` durable (best effort: not every platform can open a folder).
fn sync_folder(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _best_effort = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Builds one output in memory with `build`, for [`commit`].
pub fn build(
    path: impl Into<PathBuf>,
    build: impl FnOnce(&mut Vec<u8>) -> Result<(), ReportError>,
) -> Result<OutputFile, ReportError> {
    let mut bytes = Vec::new();
    build(&mut bytes)?;
    Ok(OutputFile::new(path, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_through_dot_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("r.pdf");
        let b = dir.path().join(".").join("r.pdf");
        let err = check_distinct([a.as_path(), b.as_path()]).expect_err("same file");
        assert!(matches!(err, ReportError::SameOutput { .. }), "{err}");
        let c = dir.path().join("r.csv");
        check_distinct([a.as_path(), c.as_path()]).expect("distinct");
    }

    #[test]
    fn commit_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.pdf");
        std::fs::write(&a, b"old").expect("write");
        commit(&[OutputFile::new(&a, b"new".to_vec())]).expect("commit");
        assert_eq!(std::fs::read(&a).expect("read"), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.pdf")]);
    }
}
