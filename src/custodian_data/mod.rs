//! Custodian data files: the TOML format a custodian publishes its catalogue in
//! ([`schema`]), and its loading and validation into the contract's types ([`load`]).
//!
//! The reference custodian serves what it loads; the gateway's `export-dcat --data` exports
//! data files without a running federation, so the loader lives here, shared by both.

mod convert;
pub mod load;
pub mod schema;

use std::path::{Path, PathBuf};

use crate::proto as pb;
use load::{LoadError, LoadedCatalogue, load_file};

/// A data source with its access rules and variable list.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBundle {
    /// The source (without access rules).
    pub source: pb::DataSource,
    /// Its access rules.
    pub access: pb::AccessRules,
    /// Its variables, in published order.
    pub variables: Vec<pb::Variable>,
}

/// The `*.toml` files of `dir`, sorted by name.
pub fn data_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        file: dir.to_path_buf(),
        line: 0,
        column: 0,
        field: "(directory)".into(),
        message: format!("cannot list the data files in the directory: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Loads and validates every `*.toml` data file of `dir`, ordered by custodian id; the first
/// refused file stops the load with its error.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedCatalogue>, LoadError> {
    let mut catalogues = data_files(dir)?
        .iter()
        .map(|p| load_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    catalogues.sort_by(|a, b| a.info.id.cmp(&b.info.id));
    Ok(catalogues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_directory_loads_ordered_by_custodian() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("custodian-stub/data");
        let catalogues = load_dir(&dir).expect("the bundled data files load");
        assert_eq!(catalogues.len(), 17);
        let ids: Vec<&str> = catalogues.iter().map(|c| c.info.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        let sources: usize = catalogues.iter().map(|c| c.sources.len()).sum();
        assert_eq!(sources, 104);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-data-directory");
        let error = load_dir(&dir).expect_err("nothing to list");
        assert_eq!(error.file, dir);
        assert_eq!(error.field, "(directory)");
        assert!(error.message.contains("cannot list"), "{error}");
    }
}
