//! Loading and validating a custodian data file.
//!
//! Every error names the file, the line and column, and the field at fault, so that the
//! person editing the file can go straight to it. A file with any error is refused whole:
//! the stub never serves half a catalogue.

use std::{collections::HashSet, path::Path};

use crate::{
    contract::{is_id, is_variable_name},
    datafile::{self, DataFileError, FileText},
    proto as pb,
};
use toml::Spanned;

use super::{SourceBundle, schema::*};

/// Earliest year a data source or variable may cover.
pub const EARLIEST_YEAR: i64 = 1850;

/// Why a data file was refused: the shared data-file error (file, line, column, field).
pub type LoadError = DataFileError;

/// A validated data file.
#[derive(Debug)]
pub struct LoadedCatalogue {
    /// Facts about the custodian (counts filled in).
    pub info: pb::CustodianInfo,
    /// Sources with their rules and variables, in file order.
    pub sources: Vec<SourceBundle>,
}

/// Reads, parses and validates a data file.
pub fn load_file(path: &Path) -> Result<LoadedCatalogue, LoadError> {
    let text = datafile::read(path, "data file")?;
    load_str(path, &text)
}

/// Parses and validates data-file text; `path` is used in errors only.
pub fn load_str(path: &Path, text: &str) -> Result<LoadedCatalogue, LoadError> {
    let positions = FileText::new(path, text);
    let file: CustodianFile = positions.parse()?;
    Validator { pos: &positions }.validate(file)
}

struct Validator<'a> {
    pos: &'a FileText<'a>,
}

fn latest_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Days to civil year is overkill here: 365.2425-day years are exact enough for a bound.
    1970 + (secs as f64 / 31_556_952.0) as i64 + 1
}

impl Validator<'_> {
    fn validate(&self, file: CustodianFile) -> Result<LoadedCatalogue, LoadError> {
        let custodian = &file.custodian;
        let cid = custodian.id.get_ref();
        let cid_at = custodian.id.span().start;
        if !is_id(cid) {
            return Err(self.pos.error(
                cid_at,
                "custodian.id",
                format!("`{cid}` is not a valid id: use lowercase letters, digits and '-'"),
            ));
        }
        for (field, value) in [
            ("custodian.name_nb", &custodian.name_nb),
            ("custodian.name_en", &custodian.name_en),
            ("custodian.revision", &custodian.revision),
        ] {
            if value.trim().is_empty() {
                return Err(self.pos.error(cid_at, field, "must not be empty"));
            }
        }
        let last_modified = timestamp(&custodian.last_modified).ok_or_else(|| {
            self.pos.error(
                custodian.last_modified.span().start,
                "custodian.last_modified",
                "must be a full RFC 3339 date-time with offset, for example 2026-11-01T00:00:00Z",
            )
        })?;

        let mut ids = HashSet::new();
        for source in &file.sources {
            let id = source.id.get_ref();
            if !ids.insert(id.as_str()) {
                return Err(self.pos.error(
                    source.id.span().start,
                    format!("source[{id}].id"),
                    format!("duplicate data source id `{id}`: every source id must be unique"),
                ));
            }
        }
        let mut bundles = Vec::with_capacity(file.sources.len());
        for source in file.sources.iter() {
            bundles.push(self.source(cid, source, &ids)?);
        }
        let variable_count: usize = bundles.iter().map(|b| b.variables.len()).sum();
        let info = pb::CustodianInfo {
            id: cid.clone(),
            name: Some(pb::LocalizedText {
                nb: custodian.name_nb.clone(),
                en: custodian.name_en.clone(),
            }),
            contact_email: custodian.contact_email.clone(),
            website: custodian.website.clone(),
            catalogue_revision: custodian.revision.clone(),
            last_modified: Some(last_modified),
            data_source_count: bundles.len() as u32,
            variable_count: variable_count as u32,
            reload_error: None,
        };
        Ok(LoadedCatalogue {
            info,
            sources: bundles,
        })
    }

    fn source(
        &self,
        custodian_id: &str,
        s: &SourceEntry,
        ids: &HashSet<&str>,
    ) -> Result<SourceBundle, LoadError> {
        let id = s.id.get_ref();
        let at = s.id.span().start;
        let field = |name: &str| format!("source[{id}].{name}");
        if !is_id(id) {
            return Err(self.pos.error(
                at,
                field("id"),
                format!("`{id}` is not a valid id: use lowercase letters, digits and '-'"),
            ));
        }
        for (name, value) in [
            ("name_nb", &s.name_nb),
            ("name_en", &s.name_en),
            ("description_nb", &s.description_nb),
            ("description_en", &s.description_en),
            ("controller.name", &s.controller.name),
        ] {
            if value.trim().is_empty() {
                return Err(self
                    .pos
                    .error(at, field(name), "is required and must not be empty"));
            }
        }
        if let Some(parent) = &s.parent {
            let p = parent.get_ref();
            if p == id {
                return Err(self.pos.error(
                    parent.span().start,
                    field("parent"),
                    "a source cannot be its own parent",
                ));
            }
            if s.parent_custodian.is_none() && !ids.contains(p.as_str()) {
                return Err(self.pos.error(parent.span().start, field("parent"), format!("parent `{p}` is not a source in this file; add it, or set parent_custodian to the custodian that publishes it")));
            }
        }
        let mut concepts = HashSet::new();
        for concept in &s.concepts {
            let c = concept.get_ref();
            if !is_id(c) {
                return Err(self.pos.error(
                    concept.span().start,
                    field("concepts"),
                    format!("`{c}` is not a concept id: use lowercase letters, digits and '-' as in the concept vocabulary"),
                ));
            }
            if !concepts.insert(c.as_str()) {
                return Err(self.pos.error(
                    concept.span().start,
                    field("concepts"),
                    format!("concept `{c}` is listed twice; list each concept once"),
                ));
            }
        }
        self.bokmal_lists(s, &field)?;
        let years = self.years(
            &s.data_from_year,
            &s.data_to_year,
            &field("data_from_year"),
            &field("data_to_year"),
        )?;
        if let Some(url) = &s.open_statistics_url {
            self.open_statistics_url(url, &s.open_statistics, &field("open_statistics_url"))?;
        }
        if !s.access.contact_email.is_empty() && !s.access.contact_email.contains('@') {
            return Err(self.pos.error(
                at,
                field("access.contact_email"),
                format!("`{}` is not an e-mail address", s.access.contact_email),
            ));
        }
        let mut levels = Vec::new();
        for level in s
            .access
            .deadlines
            .iter()
            .filter_map(|d| d.data_level.as_ref())
        {
            if levels.contains(level.get_ref()) {
                return Err(self.pos.error(
                    level.span().start,
                    field("access.deadline.data_level"),
                    "another deadline of this source concerns the same data level; publish one deadline per level, or leave data_level out for a deadline that concerns every level",
                ));
            }
            levels.push(*level.get_ref());
        }
        let mut names = HashSet::new();
        let mut variables = Vec::with_capacity(s.variables.len());
        for v in &s.variables {
            let name = v.name.get_ref();
            let vat = v.name.span().start;
            let vfield = |f: &str| format!("source[{id}].variable[{name}].{f}");
            if !is_variable_name(name) {
                return Err(self.pos.error(vat, vfield("name"), format!("`{name}` is not a valid variable name: use lowercase letters, digits and '_'")));
            }
            if !names.insert(name.as_str()) {
                return Err(self.pos.error(
                    vat,
                    vfield("name"),
                    format!("duplicate variable name `{name}` in source `{id}`"),
                ));
            }
            for (f, value) in [("label_nb", &v.label_nb), ("label_en", &v.label_en)] {
                if value.trim().is_empty() {
                    return Err(self.pos.error(
                        vat,
                        vfield(f),
                        "is required and must not be empty",
                    ));
                }
            }
            let valid_years = self.years(
                &v.valid_from_year,
                &v.valid_to_year,
                &vfield("valid_from_year"),
                &vfield("valid_to_year"),
            )?;
            variables.push(super::convert::variable(id, v, valid_years));
        }
        Ok(super::convert::bundle(custodian_id, s, years, variables))
    }

    /// Each bokmål list (`topics_nb`, `access.requirements_nb`, ...) has one entry per entry
    /// of its English list: entry i is the bokmål of entry i.
    fn bokmal_lists(
        &self,
        s: &SourceEntry,
        field: &dyn Fn(&str) -> String,
    ) -> Result<(), LoadError> {
        let a = &s.access;
        let lists: [(&str, &[String], &NbList); 7] = [
            (
                "legal_basis.other",
                &s.legal_basis.other,
                &s.legal_basis.other_nb,
            ),
            ("topics", &s.topics, &s.topics_nb),
            (
                "variable_documentation",
                &s.variable_documentation,
                &s.variable_documentation_nb,
            ),
            ("discrepancies", &s.discrepancies, &s.discrepancies_nb),
            ("access.requirements", &a.requirements, &a.requirements_nb),
            ("access.notes", &a.notes, &a.notes_nb),
            (
                "access.linkage.notes",
                &a.linkage.notes,
                &a.linkage.notes_nb,
            ),
        ];
        for (path, en, nb) in lists {
            let Some(nb) = nb else { continue };
            if nb.get_ref().len() == en.len() {
                continue;
            }
            let key = path.rsplit('.').next().unwrap_or(path);
            let entries = |n: usize| {
                if n == 1 {
                    "1 entry".to_string()
                } else {
                    format!("{n} entries")
                }
            };
            return Err(self.pos.error(
                nb.span().start,
                field(&format!("{path}_nb")),
                format!(
                    "`{key}_nb` has {} but `{key}` has {}: give one bokmål entry for each English entry, in the same order",
                    entries(nb.get_ref().len()),
                    entries(en.len())
                ),
            ));
        }
        Ok(())
    }

    /// The address of a source's open statistics: an `https://` address without spaces, given
    /// only together with the `open_statistics` text it belongs to.
    fn open_statistics_url(
        &self,
        url: &Spanned<String>,
        text: &str,
        field: &str,
    ) -> Result<(), LoadError> {
        let value = url.get_ref();
        let at = url.span().start;
        let host = value.strip_prefix("https://").unwrap_or_default();
        if host.is_empty() || value.chars().any(char::is_whitespace) {
            return Err(self.pos.error(
                at,
                field,
                format!("`{value}` is not a web address: write it as https://host/path"),
            ));
        }
        if text.trim().is_empty() {
            return Err(self.pos.error(
                at,
                field,
                "an address needs the `open_statistics` text that says what is published there",
            ));
        }
        Ok(())
    }

    fn years(
        &self,
        from: &Option<Spanned<i64>>,
        to: &Option<Spanned<i64>>,
        from_field: &str,
        to_field: &str,
    ) -> Result<pb::YearRange, LoadError> {
        let latest = latest_year();
        for (value, name) in [(from, from_field), (to, to_field)] {
            if let Some(y) = value {
                let year = *y.get_ref();
                if !(EARLIEST_YEAR..=latest).contains(&year) {
                    return Err(self.pos.error(y.span().start, name, format!("year {year} is impossible: it must lie between {EARLIEST_YEAR} and {latest}")));
                }
            }
        }
        if let (Some(f), Some(t)) = (from, to)
            && f.get_ref() > t.get_ref()
        {
            return Err(self.pos.error(
                t.span().start,
                to_field,
                format!(
                    "last year {} is before first year {}",
                    t.get_ref(),
                    f.get_ref()
                ),
            ));
        }
        Ok(pb::YearRange {
            from_year: from.as_ref().map(|y| *y.get_ref() as i32),
            to_year: to.as_ref().map(|y| *y.get_ref() as i32),
        })
    }
}

fn timestamp(value: &Spanned<toml::value::Datetime>) -> Option<prost_types::Timestamp> {
    let dt = value.get_ref();
    let date = dt.date?;
    let time = dt.time?;
    let offset_minutes = match dt.offset? {
        toml::value::Offset::Z => 0i64,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let seconds = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second)
        - offset_minutes * 60;
    Some(prost_types::Timestamp {
        seconds,
        nanos: time.nanosecond as i32,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
