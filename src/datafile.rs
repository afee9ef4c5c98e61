//! Errors of the project's TOML data files (custodian data files, the national rules file),
//! and the one place that turns a byte offset of such a file into the line and column a
//! person editing it needs.
//!
//! A loader parses with [`FileText::parse`], checks what it parsed, and reports any problem
//! with [`FileText::error`] at the span `toml::Spanned` recorded for the field at fault.

use std::{
    fmt,
    path::{Path, PathBuf},
};

/// Why a data file was refused: which file, where in it, which field, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DataFileError {
    /// The data file refused, by the path it was loaded from.
    pub file: PathBuf,
    /// 1-based line; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// The field at fault, as a dotted path (for example `source[mfr].data_to_year`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for DataFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: field `{}`: {}",
            self.file.display(),
            self.line,
            self.column,
            self.field,
            self.message
        )
    }
}

/// Reads a whole data file; `what` names the kind of file in the error (for example
/// "data file" or "national rules file").
pub fn read(path: &Path, what: &str) -> Result<String, DataFileError> {
    std::fs::read_to_string(path).map_err(|e| DataFileError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        field: "(file)".into(),
        message: format!("cannot read the {what}: {e}"),
    })
}

/// The text of one data file, with its line starts, for errors that point into it.
#[derive(Debug)]
pub struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> FileText<'a> {
    /// The text of the file at `path` (`path` is used in errors only).
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path,
            text,
            line_starts,
        }
    }

    /// Deserializes the text, turning a TOML error into one that names line, column and key.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, DataFileError> {
        toml::from_str(self.text).map_err(|e| self.parse_error(&e))
    }

    /// 1-based line and column of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        (line, offset.saturating_sub(start) + 1)
    }

    /// An error about `field`, found at byte `offset`.
    pub fn error(
        &self,
        offset: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> DataFileError {
        let (line, column) = self.line_col(offset);
        DataFileError {
            file: self.path.to_path_buf(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    fn parse_error(&self, err: &toml::de::Error) -> DataFileError {
        let offset = err.span().map_or(0, |s| s.start);
        let message = err.message().trim().to_string();
        let (field, hint) = if let Some(key) = quoted_after(&message, "unknown field") {
            (key, " (remove the field or fix its spelling)")
        } else if let Some(key) = quoted_after(&message, "missing field") {
            (key, " (add the field; it is required)")
        } else if let Some(key) = quoted_after(&message, "duplicate key") {
            (key, " (keep one of them)")
        } else if let Some(value) = quoted_after(&message, "unknown variant") {
            (
                value,
                " (see the comments in the file for the accepted values)",
            )
        } else {
            ("(syntax)".to_string(), "")
        };
        self.error(offset, field, format!("{message}{hint}"))
    }
}

/// The first back-quoted word after `prefix` at the start of `message`.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let start = rest.find('`')? + 1;
    let len = rest.get(start..)?.find('`')?;
    rest.get(start..start + len).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = FileText::new(Path::new("f.toml"), "a = 1\nbb = 2\n");
        assert_eq!(text.line_col(0), (1, 1));
        assert_eq!(text.line_col(6), (2, 1));
        assert_eq!(text.line_col(9), (2, 4));
    }

    #[test]
    fn parse_errors_name_the_key_and_say_how_to_fix_it() {
        let text = FileText::new(Path::new("f.toml"), "name = \"x\"\ncolour = 1\n");
        let err = text.parse::<Sample>().expect_err("unknown key");
        assert_eq!((err.line, err.field.as_str()), (2, "colour"));
        assert!(err.message.contains("fix its spelling"), "{err}");
        assert!(err.to_string().starts_with("f.toml:2:1: field `colour`"));
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let err = read(Path::new("/nonexistent/x.toml"), "data file").expect_err("missing");
        assert_eq!((err.line, err.field.as_str()), (0, "(file)"));
        assert!(err.message.starts_with("cannot read the data file"));
    }
}
