//! The national rules file (`config/national-rules.toml`): who decides, which sources the
//! common form covers, deadlines, fees, appeals and prerequisites, kept as data.
//!
//! Every struct refuses unknown keys. Loading validates the values as well, and every error
//! names the file, the line and column, and the key at fault.

use std::path::Path;

use helsedata::{
    datafile::{self, DataFileError, FileText},
    proto as pb,
};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A text of the rules file in Norwegian bokmål and English, written as `key.nb = "…"` and
/// `key.en = "…"` (or as a table `{ nb = "…", en = "…" }`), or as one plain string, which is
/// taken as English and shown in English in both languages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    /// Norwegian bokmål; empty when only English is given.
    pub nb: String,
    /// English; also shown in bokmål when `nb` is empty.
    pub en: String,
}

impl Words {
    /// The bokmål text, or the English one when no bokmål is given.
    pub fn nb(&self) -> &str {
        if self.nb.trim().is_empty() {
            &self.en
        } else {
            &self.nb
        }
    }

    /// The English text.
    pub fn en(&self) -> &str {
        &self.en
    }

    /// The text in `lang`: [`Words::nb`] or [`Words::en`].
    pub fn in_lang(&self, lang: crate::planning::effective::Lang) -> &str {
        match lang {
            crate::planning::effective::Lang::Nb => self.nb(),
            crate::planning::effective::Lang::En => self.en(),
        }
    }

    /// Whether both languages are empty (or only white space).
    pub fn is_blank(&self) -> bool {
        self.nb.trim().is_empty() && self.en.trim().is_empty()
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Both {
            nb: String,
            en: String,
        }
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a text: a string, or a table with `nb` and `en` strings"
        )]
        enum Raw {
            Plain(String),
            Both(Both),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Plain(en) => Words {
                nb: String::new(),
                en,
            },
            Raw::Both(b) => Words { nb: b.nb, en: b.en },
        })
    }
}

/// The whole national rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalRules {
    /// Revision of the file; changes whenever a rule changes.
    pub revision: Spanned<String>,
    /// Helsedataservice and the registries it decides for.
    pub helsedataservice: Helsedataservice,
    /// The common helsedata.no form.
    pub common_form: CommonForm,
    /// The statutory processing deadline.
    pub statutory_deadline: StatutoryDeadline,
    /// Processing times seen in practice.
    pub observed_processing: ObservedProcessing,
    /// When the application fee is charged, who invoices it and what it covers (`[fees]`).
    pub fees: Fees,
    /// Appeals against Helsedataservice decisions.
    pub appeals: Appeals,
    /// The rule for anonymous data.
    pub anonymous_data: AnonymousData,
    /// Who is expected to link when no source names a body that does.
    #[serde(default)]
    pub linkage: Linkage,
    /// Prerequisites by purpose, data level and stage (`[[prerequisite]]` tables).
    #[serde(default, rename = "prerequisite")]
    pub prerequisites: Vec<PrerequisiteRule>,
}

/// The `[helsedataservice]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Helsedataservice {
    /// Name used as deciding and processing body.
    pub name: String,
    /// The organisation that runs it today.
    pub operated_by: String,
    /// The organisation that ran it before; may be empty.
    #[serde(default)]
    pub formerly_operated_by: String,
    /// Date (YYYY-MM-DD) from which it decides for the listed registries.
    pub decides_since: Spanned<String>,
    /// The regulation behind the arrangement.
    pub legal_basis: Words,
    /// What the arrangement means for the applicant.
    pub summary: Words,
    /// Who prepares and delivers the data.
    pub delivery: Words,
    /// Cases where the register holder still decides, in words; blank when the file gives none.
    #[serde(default)]
    pub exceptions: Words,
    /// The registries (`[[helsedataservice.registry]]` tables).
    #[serde(rename = "registry")]
    pub registries: Vec<Registry>,
}

/// One registry Helsedataservice decides for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Name shown to applicants.
    pub name: Spanned<String>,
    /// Catalogue data source ids that belong to the registry.
    pub sources: Spanned<Vec<Spanned<String>>>,
    /// Whether sources whose parent is listed in `sources` belong to the registry too.
    #[serde(default)]
    pub include_children: bool,
}

/// The `[common_form]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonForm {
    /// Where the form is found.
    pub address: String,
    /// Custodian ids whose sources the form covers.
    pub custodians: Spanned<Vec<Spanned<String>>>,
    /// What the form covers, in words (shown in the trace when a route moves to the form).
    pub summary: Words,
}

/// The `[statutory_deadline]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatutoryDeadline {
    /// The provision that sets the deadline.
    pub legal_basis: String,
    /// Working days for an application that concerns one source.
    pub single_source_working_days: Spanned<u32>,
    /// Working days for an application that concerns several sources.
    pub several_sources_working_days: Spanned<u32>,
    /// When the clock starts, in words.
    pub clock_starts: Words,
}

/// The `[observed_processing]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedProcessing {
    /// Where the figures come from.
    pub source: Words,
    /// The observed processing time in words.
    pub text: Words,
    /// Share of decided applications granted, in percent.
    pub granted_percent: Spanned<f64>,
    /// The year `granted_percent` concerns.
    pub granted_year: u32,
}

/// The `[fees]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Date (YYYY-MM-DD) from which the application fee is charged.
    pub since: Spanned<String>,
    /// The body that invoices the application fee.
    pub application_fee_invoiced_by: String,
    /// What the application fee covers.
    pub application_fee_text: Words,
    /// What the register holders invoice.
    pub preparation_text: Words,
}

/// The `[appeals]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appeals {
    /// The body whose decisions are appealed.
    pub decision_by: String,
    /// Where the appeal is sent.
    pub send_to: Words,
    /// The time limit in words.
    pub time_limit: Words,
    /// The body that reviews an upheld decision.
    pub final_instance: String,
}

/// The `[anonymous_data]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousData {
    /// The provision that applies.
    pub legal_basis: String,
    /// The rule in words.
    pub text: Words,
}

/// The `[linkage]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Linkage {
    /// The `[[linkage.fallback]]` tables, in file order.
    #[serde(default, rename = "fallback")]
    pub fallbacks: Vec<LinkageFallback>,
}

/// One `[[linkage.fallback]]` table: when no requested source names a body that links, and a
/// source of `custodian` of kind `source_kind` is among them, `linked_by` is expected to link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkageFallback {
    /// The custodian id whose sources bring the fallback into play.
    pub custodian: Spanned<String>,
    /// The kind of source, written as the contract's `DataSourceKind` value in lowercase
    /// without its prefix (for example `statistics_dataset`).
    pub source_kind: Spanned<String>,
    /// The body that is expected to link, as named in plans.
    pub linked_by: Spanned<String>,
    /// Why, as the rest of a sentence that starts with the source id (shown in the trace).
    pub reason: Spanned<Words>,
}

impl LinkageFallback {
    /// The contract's value of `source_kind`; `Unspecified` only for a file that was not
    /// validated.
    pub fn kind(&self) -> pb::DataSourceKind {
        source_kind_value(self.source_kind.get_ref()).unwrap_or_default()
    }
}

/// The contract's `DataSourceKind` for a rules-file key such as `statistics_dataset`.
fn source_kind_value(key: &str) -> Option<pb::DataSourceKind> {
    let kind = pb::DataSourceKind::from_str_name(&format!(
        "DATA_SOURCE_KIND_{}",
        key.to_ascii_uppercase()
    ))?;
    (kind != pb::DataSourceKind::Unspecified && key.bytes().all(|b| !b.is_ascii_uppercase()))
        .then_some(kind)
}

/// One `[[prerequisite]]` table: something to have or attach, and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrerequisiteRule {
    /// Stable code, for example `rek-approval`.
    pub code: Spanned<String>,
    /// What is required, in words.
    pub text: Words,
    /// Purposes it applies to; empty means any.
    #[serde(default)]
    pub purposes: Vec<PurposeKey>,
    /// Data levels it applies to; empty means any.
    #[serde(default)]
    pub data_levels: Vec<DataLevelKey>,
    /// Project stages it applies to; empty means any.
    #[serde(default)]
    pub stages: Vec<StageKey>,
}

/// A purpose as written in the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurposeKey {
    /// `research`: research projects.
    Research,
    /// Quality assurance of health services.
    QualityAssurance,
    /// Health administration and planning.
    HealthAdministration,
    /// `statistics`: production of statistics.
    Statistics,
    /// Any other purpose.
    Other,
}

impl PurposeKey {
    /// The contract's value for this key.
    pub fn to_proto(self) -> pb::Purpose {
        match self {
            Self::Research => pb::Purpose::Research,
            Self::QualityAssurance => pb::Purpose::QualityAssurance,
            Self::HealthAdministration => pb::Purpose::HealthAdministration,
            Self::Statistics => pb::Purpose::Statistics,
            Self::Other => pb::Purpose::Other,
        }
    }
}

/// A data level as written in the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataLevelKey {
    /// Anonymous aggregated statistics.
    AnonymousAggregated,
    /// De-identified or pseudonymous individual-level data.
    DeidentifiedIndividual,
    /// Directly identifiable individual-level data.
    IdentifiableIndividual,
}

impl DataLevelKey {
    /// The contract's value for this key.
    pub fn to_proto(self) -> pb::DataLevel {
        match self {
            Self::AnonymousAggregated => pb::DataLevel::AnonymousAggregated,
            Self::DeidentifiedIndividual => pb::DataLevel::DeidentifiedIndividual,
            Self::IdentifiableIndividual => pb::DataLevel::IdentifiableIndividual,
        }
    }
}

/// A project stage as written in the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKey {
    /// A new project.
    New,
    /// A change to a project that has access.
    Change,
    /// New data periods for a project that has access.
    NewDataPeriod,
}

impl StageKey {
    /// The contract's value for this key.
    pub fn to_proto(self) -> pb::ProjectStage {
        match self {
            Self::New => pb::ProjectStage::New,
            Self::Change => pb::ProjectStage::Change,
            Self::NewDataPeriod => pb::ProjectStage::NewDataPeriod,
        }
    }
}

impl PrerequisiteRule {
    /// Whether the rule applies to a request with this purpose, stage and data level.
    pub fn applies(
        &self,
        purpose: pb::Purpose,
        stage: pb::ProjectStage,
        level: pb::DataLevel,
    ) -> bool {
        let fits = |empty: bool, any: bool| empty || any;
        fits(
            self.purposes.is_empty(),
            self.purposes.iter().any(|p| p.to_proto() == purpose),
        ) && fits(
            self.stages.is_empty(),
            self.stages.iter().any(|s| s.to_proto() == stage),
        ) && fits(
            self.data_levels.is_empty(),
            self.data_levels.iter().any(|l| l.to_proto() == level),
        )
    }
}

/// Why the national rules file was refused: the shared data-file error (file, line, column,
/// field).
pub type RulesError = DataFileError;

impl NationalRules {
    /// Reads, parses and validates the rules file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, RulesError> {
        let path = path.as_ref();
        let text = datafile::read(path, "national rules file")?;
        Self::from_str(path, &text)
    }

    /// Parses and validates rules-file text; `path` is used in errors only.
    pub fn from_str(path: impl AsRef<Path>, text: &str) -> Result<Self, RulesError> {
        let positions = FileText::new(path.as_ref(), text);
        let rules: Self = positions.parse()?;
        rules.validate(&positions)?;
        Ok(rules)
    }

    /// Whether `body`, a processing body a custodian names in its published route, is
    /// Helsedataservice. Custodians name bodies in words; this is the one place such a name
    /// is recognised (trimmed, letter case ignored), so that what follows works on
    /// [`crate::planning::effective::EffectiveRoute::by_helsedataservice`], not on names.
    pub fn names_helsedataservice(&self, body: &str) -> bool {
        body.trim()
            .eq_ignore_ascii_case(self.helsedataservice.name.trim())
    }

    /// The name of the registry Helsedataservice decides for that contains the source `source_id`
    /// (whose parent is `parent_id`, empty when none), or `None` when the source is not covered.
    ///
    /// A child source is covered through its parent only where the registry sets
    /// `include_children`.
    pub fn helsedataservice_registry(&self, source_id: &str, parent_id: &str) -> Option<&str> {
        let listed = |r: &Registry, id: &str| r.sources.get_ref().iter().any(|s| s.get_ref() == id);
        let registries = &self.helsedataservice.registries;
        registries
            .iter()
            .find(|r| listed(r, source_id))
            .or_else(|| {
                (!parent_id.is_empty())
                    .then(|| {
                        registries
                            .iter()
                            .find(|r| r.include_children && listed(r, parent_id))
                    })
                    .flatten()
            })
            .map(|r| r.name.get_ref().as_str())
    }

    /// Whether the common helsedata.no form covers the sources of custodian `custodian_id`.
    pub fn common_form_covers(&self, custodian_id: &str) -> bool {
        self.common_form
            .custodians
            .get_ref()
            .iter()
            .any(|c| c.get_ref() == custodian_id)
    }

    /// The prerequisite rules that apply to a request with this purpose, stage and data level,
    /// in file order.
    pub fn prerequisites_for(
        &self,
        purpose: pb::Purpose,
        stage: pb::ProjectStage,
        level: pb::DataLevel,
    ) -> impl Iterator<Item = &PrerequisiteRule> {
        self.prerequisites
            .iter()
            .filter(move |p| p.applies(purpose, stage, level))
    }

    /// The statutory number of working days for an application that concerns `source_count` sources.
    pub fn statutory_working_days(&self, source_count: usize) -> u32 {
        let d = &self.statutory_deadline;
        if source_count > 1 {
            *d.several_sources_working_days.get_ref()
        } else {
            *d.single_source_working_days.get_ref()
        }
    }

    /// The first `[[linkage.fallback]]` that a source of custodian `custodian_id` of kind `kind`
    /// brings into play.
    pub fn linkage_fallback(&self, custodian_id: &str, kind: i32) -> Option<&LinkageFallback> {
        self.linkage
            .fallbacks
            .iter()
            .find(|f| f.custodian.get_ref() == custodian_id && f.kind() as i32 == kind)
    }

    /// The file's revision, shown at the start of every plan's trace.
    pub fn revision(&self) -> &str {
        self.revision.get_ref()
    }

    fn validate(&self, pos: &FileText<'_>) -> Result<(), RulesError> {
        if self.revision.get_ref().trim().is_empty() {
            return Err(pos.error(
                self.revision.span().start,
                "revision",
                "the revision must not be empty",
            ));
        }
        check_date(
            pos,
            "helsedataservice.decides_since",
            &self.helsedataservice.decides_since,
        )?;
        check_date(pos, "fees.since", &self.fees.since)?;
        self.validate_registries(pos)?;
        check_id_list(pos, "common_form.custodians", &self.common_form.custodians)?;
        check_days(
            pos,
            "statutory_deadline.single_source_working_days",
            &self.statutory_deadline.single_source_working_days,
        )?;
        check_days(
            pos,
            "statutory_deadline.several_sources_working_days",
            &self.statutory_deadline.several_sources_working_days,
        )?;
        let pct = &self.observed_processing.granted_percent;
        if !(0.0..=100.0).contains(pct.get_ref()) {
            return Err(pos.error(
                pct.span().start,
                "observed_processing.granted_percent",
                "a percentage must lie between 0 and 100",
            ));
        }
        self.validate_linkage(pos)?;
        self.validate_prerequisites(pos)
    }

    fn validate_linkage(&self, pos: &FileText<'_>) -> Result<(), RulesError> {
        for (i, f) in self.linkage.fallbacks.iter().enumerate() {
            let field = format!("linkage.fallback[{i}]");
            check_id(pos, &format!("{field}.custodian"), &f.custodian)?;
            if source_kind_value(f.source_kind.get_ref()).is_none() {
                let accepted = [
                    pb::DataSourceKind::CentralHealthRegister,
                    pb::DataSourceKind::NationalQualityRegister,
                    pb::DataSourceKind::PopulationHealthSurvey,
                    pb::DataSourceKind::StatisticsDataset,
                    pb::DataSourceKind::AdministrativeRegister,
                    pb::DataSourceKind::Other,
                ]
                .map(|k| {
                    k.as_str_name()
                        .trim_start_matches("DATA_SOURCE_KIND_")
                        .to_ascii_lowercase()
                })
                .join(", ");
                return Err(pos.error(
                    f.source_kind.span().start,
                    format!("{field}.source_kind"),
                    format!(
                        "`{}` is not a source kind; accepted values: {accepted}",
                        f.source_kind.get_ref()
                    ),
                ));
            }
            let blank = [
                (
                    "linked_by",
                    f.linked_by.get_ref().trim().is_empty(),
                    f.linked_by.span(),
                ),
                ("reason", f.reason.get_ref().is_blank(), f.reason.span()),
            ];
            for (key, is_blank, span) in blank {
                if is_blank {
                    return Err(pos.error(
                        span.start,
                        format!("{field}.{key}"),
                        format!("the {key} text must not be empty"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_registries(&self, pos: &FileText<'_>) -> Result<(), RulesError> {
        if self.helsedataservice.registries.is_empty() {
            return Err(pos.error(
                0,
                "helsedataservice.registry",
                "list at least one [[helsedataservice.registry]]",
            ));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, r) in self.helsedataservice.registries.iter().enumerate() {
            let field = format!("helsedataservice.registry[{i}]");
            if r.name.get_ref().trim().is_empty() {
                return Err(pos.error(
                    r.name.span().start,
                    format!("{field}.name"),
                    "the registry name must not be empty",
                ));
            }
            check_id_list(pos, &format!("{field}.sources"), &r.sources)?;
            for s in r.sources.get_ref() {
                if seen.contains(&s.get_ref().as_str()) {
                    return Err(pos.error(
                        s.span().start,
                        format!("{field}.sources"),
                        format!(
                            "source `{}` is listed under more than one registry; list it once",
                            s.get_ref()
                        ),
                    ));
                }
                seen.push(s.get_ref());
            }
        }
        Ok(())
    }

    fn validate_prerequisites(&self, pos: &FileText<'_>) -> Result<(), RulesError> {
        for (i, p) in self.prerequisites.iter().enumerate() {
            let field = format!("prerequisite[{i}]");
            check_id(pos, &format!("{field}.code"), &p.code)?;
            if p.text.is_blank() {
                return Err(pos.error(
                    p.code.span().start,
                    format!("{field}.text"),
                    "the text must not be empty",
                ));
            }
        }
        Ok(())
    }
}

fn check_id(pos: &FileText<'_>, field: &str, id: &Spanned<String>) -> Result<(), RulesError> {
    let value = id.get_ref();
    if helsedata::contract::is_id(value) {
        Ok(())
    } else {
        Err(pos.error(
            id.span().start,
            field,
            format!("`{value}` is not an id: use lowercase letters, digits and '-' only (for example `npr`)"),
        ))
    }
}

fn check_id_list(
    pos: &FileText<'_>,
    field: &str,
    list: &Spanned<Vec<Spanned<String>>>,
) -> Result<(), RulesError> {
    if list.get_ref().is_empty() {
        return Err(pos.error(list.span().start, field, "the list must not be empty"));
    }
    list.get_ref()
        .iter()
        .try_for_each(|id| check_id(pos, field, id))
}

fn check_days(pos: &FileText<'_>, field: &str, days: &Spanned<u32>) -> Result<(), RulesError> {
    if *days.get_ref() == 0 {
        return Err(pos.error(
            days.span().start,
            field,
            "the number of days must be greater than 0",
        ));
    }
    Ok(())
}

/// Checks that `date` is a calendar date written `YYYY-MM-DD`.
fn check_date(pos: &FileText<'_>, field: &str, date: &Spanned<String>) -> Result<(), RulesError> {
    if parse_date(date.get_ref()).is_some() {
        return Ok(());
    }
    Err(pos.error(
        date.span().start,
        field,
        format!(
            "`{}` is not a date: write it as YYYY-MM-DD (for example 2023-03-15)",
            date.get_ref()
        ),
    ))
}

/// Parses `YYYY-MM-DD` into (year, month, day), checking the day against the month's length.
fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let year: u32 = text.get(0..4)?.parse().ok()?;
    let month: u32 = text.get(5..7)?.parse().ok()?;
    let day: u32 = text.get(8..10)?.parse().ok()?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let month_len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=month_len).contains(&day).then_some((year, month, day))
}

#[cfg(test)]
mod tests;
