//! The built-in file chooser, for desktops with no file dialog of their own (no desktop portal,
//! no zenity): what it shows. `logic` lists the folders into it; `ui` draws it and sends the
//! choice back as a command.

use std::path::{Path, PathBuf};

/// Opening an existing file, saving a new one, or choosing a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChooserMode {
    /// Choose an existing file.
    Open,
    /// Name a file to write (an existing one is replaced after the writer checks it).
    Save,
    /// Choose a folder.
    Folder,
}

/// One entry of the listed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChooserEntry {
    /// File or folder name.
    pub name: String,
    /// A folder.
    pub is_dir: bool,
    /// Size in bytes (files).
    pub size_bytes: u64,
}

/// The chooser's window.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChooser {
    /// Window title (`Import survey area`).
    pub title: String,
    /// What is chosen.
    pub mode: ChooserMode,
    /// Extensions shown, lower case without the dot (empty: every file).
    pub extensions: Vec<String>,
    /// The folder listed.
    pub dir: PathBuf,
    /// The folder's entries: folders first, then the files that match, each by name.
    pub entries: Vec<ChooserEntry>,
    /// The file name typed or clicked (Open and Save).
    pub file_name: String,
    /// The folder could not be listed, or the choice is not valid: why.
    pub error: Option<String>,
    /// Show files whose names start with a dot.
    pub show_hidden: bool,
}

impl FileChooser {
    /// A chooser on `dir`, not yet listed.
    pub fn new(
        title: impl Into<String>,
        mode: ChooserMode,
        extensions: &[&str],
        dir: PathBuf,
        file_name: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            mode,
            extensions: extensions.iter().map(|e| e.to_ascii_lowercase()).collect(),
            dir,
            entries: Vec::new(),
            file_name: file_name.into(),
            error: None,
            show_hidden: false,
        }
    }

    /// Whether a file named `name` is shown (its extension is one of the chooser's).
    pub fn matches(&self, name: &str) -> bool {
        if !self.show_hidden && name.starts_with('.') {
            return false;
        }
        self.extensions.is_empty()
            || Path::new(name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    }

    /// Replaces the listing with `entries` of `dir`: folders first, then matching files, each
    /// in natural name order.
    pub fn set_listing(&mut self, dir: PathBuf, entries: Vec<ChooserEntry>) {
        let mut shown: Vec<ChooserEntry> = entries
            .into_iter()
            .filter(|e| {
                if e.is_dir {
                    self.show_hidden || !e.name.starts_with('.')
                } else {
                    self.mode != ChooserMode::Folder && self.matches(&e.name)
                }
            })
            .collect();
        shown.sort_by(|a, b| {
            b.is_dir
                .cmp(&a.is_dir)
                .then_with(|| crate::gui::natural::natural_cmp(&a.name, &b.name))
        });
        self.dir = dir;
        self.entries = shown;
        self.error = None;
    }

    /// The path the chooser would answer now, or why it cannot: an Open needs a listed file, a
    /// Save a name (the chooser's extension is added when it has none), a Folder the listed
    /// folder.
    pub fn choice(&self) -> Result<PathBuf, String> {
        let name = self.file_name.trim();
        match self.mode {
            ChooserMode::Folder => Ok(self.dir.clone()),
            ChooserMode::Open => {
                if name.is_empty() {
                    return Err("choose a file".to_owned());
                }
                if self.entries.iter().any(|e| !e.is_dir && e.name == name) {
                    Ok(self.dir.join(name))
                } else {
                    Err(format!("{name} is not a file in {}", self.dir.display()))
                }
            }
            ChooserMode::Save => {
                if name.is_empty() {
                    return Err("type a file name".to_owned());
                }
                if name.contains(['/', '\\']) {
                    return Err(format!("{name:?}: a file name cannot contain / or \\"));
                }
                let mut path = self.dir.join(name);
                if path.extension().is_none()
                    && let Some(ext) = self.extensions.first()
                {
                    path.set_extension(ext);
                }
                Ok(path)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> ChooserEntry {
        ChooserEntry {
            name: name.to_owned(),
            is_dir,
            size_bytes: 10,
        }
    }

    #[test]
    fn folders_first_matching_files_in_natural_order() {
        let mut c = FileChooser::new(
            "Open telemetry log",
            ChooserMode::Open,
            &["tlog"],
            PathBuf::from("/a"),
            "",
        );
        c.set_listing(
            PathBuf::from("/a"),
            vec![
                entry("flight10.tlog", false),
                entry("notes.txt", false),
                entry("zeta", true),
                entry("flight2.TLOG", false),
                entry(".cache", true),
                entry("alpha", true),
            ],
        );
        let names: Vec<&str> = c.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta", "flight2.TLOG", "flight10.tlog"]);
        c.file_name = "flight2.TLOG".into();
        assert_eq!(c.choice(), Ok(PathBuf::from("/a/flight2.TLOG")));
        c.file_name = "missing.tlog".into();
        assert!(c.choice().is_err_and(|e| e.contains("missing.tlog")));
    }

    #[test]
    fn save_adds_the_extension_and_refuses_paths() {
        let mut c = FileChooser::new(
            "Export plan",
            ChooserMode::Save,
            &["plan"],
            PathBuf::from("/out"),
            "survey",
        );
        assert_eq!(c.choice(), Ok(PathBuf::from("/out/survey.plan")));
        c.file_name = "../etc/x".into();
        assert!(c.choice().is_err());
        c.file_name = "  ".into();
        assert_eq!(c.choice(), Err("type a file name".to_owned()));
    }
}
