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
use serde::Deserialize;
use toml::Spanned;

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
    /// Application fees.
    pub fees: Fees,
    /// Appeals against Helsedataservice decisions.
    pub appeals: Appeals,
    /// The rule for anonymous data.
    pub anonymous_data: AnonymousData,
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
    pub legal_basis: String,
    /// What the arrangement means for the applicant.
    pub summary: String,
    /// Who prepares and delivers the data.
    pub delivery: String,
    /// Known exceptions.
    #[serde(default)]
    pub exceptions: String,
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
    /// The fact in words.
    pub summary: String,
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
    pub clock_starts: String,
}

/// The `[observed_processing]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedProcessing {
    /// Where the figures come from.
    pub source: String,
    /// The observed processing time in words.
    pub text: String,
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
    pub application_fee_text: String,
    /// What the register holders invoice.
    pub preparation_text: String,
}

/// The `[appeals]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appeals {
    /// The body whose decisions are appealed.
    pub decision_by: String,
    /// Where the appeal is sent.
    pub send_to: String,
    /// The time limit in words.
    pub time_limit: String,
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
    pub text: String,
}

/// One `[[prerequisite]]` table: something to have or attach, and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrerequisiteRule {
    /// Stable code, for example `rek-approval`.
    pub code: Spanned<String>,
    /// What is required, in words.
    pub text: String,
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
    /// Research.
    Research,
    /// Quality assurance of health services.
    QualityAssurance,
    /// Health administration and planning.
    HealthAdministration,
    /// Statistics.
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

    /// The file's revision.
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
        self.validate_prerequisites(pos)
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
            if p.text.trim().is_empty() {
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
mod tests {
    use super::*;

    const RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/national-rules.toml");

    fn real_rules() -> NationalRules {
        match NationalRules::load(RULES_PATH) {
            Ok(r) => r,
            Err(e) => panic!("the shipped rules file must load: {e}"),
        }
    }

    fn real_text() -> String {
        std::fs::read_to_string(RULES_PATH).expect("rules file is readable")
    }

    /// The real file with the first occurrence of `from` replaced by `to`.
    fn edited(from: &str, to: &str) -> String {
        let text = real_text();
        assert!(
            text.contains(from),
            "fixture text `{from}` is in the rules file"
        );
        text.replacen(from, to, 1)
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("needle is in the text")
            + 1
    }

    #[test]
    fn shipped_rules_file_loads_with_eleven_registries() {
        let rules = real_rules();
        assert!(!rules.revision().is_empty());
        assert_eq!(rules.helsedataservice.registries.len(), 11);
        assert_eq!(rules.helsedataservice.name, "Helsedataservice");
        assert_eq!(rules.statutory_working_days(1), 30);
        assert_eq!(rules.statutory_working_days(3), 60);
    }

    #[test]
    fn helsedataservice_covers_listed_sources_and_children_only_where_included() {
        let rules = real_rules();
        assert_eq!(
            rules.helsedataservice_registry("npr", ""),
            Some("Norsk pasientregister (NPR)")
        );
        assert_eq!(
            rules.helsedataservice_registry("npr-somatikk", "npr"),
            Some("Norsk pasientregister (NPR)")
        );
        assert_eq!(
            rules.helsedataservice_registry("krg-brystkreft", "kreftregisteret"),
            Some("Kreftregisteret")
        );
        assert!(
            rules
                .helsedataservice_registry("hjertestans", "hkr")
                .is_some()
        );
        // HKR lists its quality registers one by one, so an unlisted child is not covered.
        assert_eq!(rules.helsedataservice_registry("abla-nor", "hkr"), None);
        assert_eq!(rules.helsedataservice_registry("moba", ""), None);
        assert_eq!(rules.helsedataservice_registry("ssb-inntekt", ""), None);
    }

    #[test]
    fn common_form_covers_the_five_custodians() {
        let rules = real_rules();
        for c in [
            "fhi",
            "helsedirektoratet",
            "kreftregisteret",
            "arkivverket",
            "dmp",
        ] {
            assert!(rules.common_form_covers(c), "{c}");
        }
        assert!(!rules.common_form_covers("ssb"));
        assert!(!rules.common_form_covers("siv"));
    }

    #[test]
    fn prerequisites_are_selected_by_purpose_level_and_stage() {
        let rules = real_rules();
        let codes = |p, s, l| {
            rules
                .prerequisites_for(p, s, l)
                .map(|r| r.code.get_ref().clone())
                .collect::<Vec<_>>()
        };
        let research_ident = codes(
            pb::Purpose::Research,
            pb::ProjectStage::New,
            pb::DataLevel::IdentifiableIndividual,
        );
        assert!(research_ident.contains(&"rek-approval".to_string()));
        assert!(research_ident.contains(&"variable-list".to_string()));
        assert!(!research_ident.contains(&"table-shells".to_string()));
        let stats_anon = codes(
            pb::Purpose::Statistics,
            pb::ProjectStage::Change,
            pb::DataLevel::AnonymousAggregated,
        );
        assert_eq!(
            stats_anon,
            vec!["table-shells".to_string(), "project-reference".to_string()]
        );
    }

    #[test]
    fn unknown_key_error_names_the_line_and_key() {
        let text = edited("include_children = true", "include_childs = true");
        let err = NationalRules::from_str("rules.toml", &text).expect_err("unknown key refused");
        assert_eq!(err.line, line_of(&text, "include_childs"));
        assert_eq!(err.field, "include_childs");
        assert!(err.to_string().starts_with("rules.toml:"), "{err}");
    }

    #[test]
    fn empty_registry_source_list_is_refused_at_its_line() {
        let text = edited("sources = [\"mfr\"]", "sources = []");
        let err = NationalRules::from_str("rules.toml", &text).expect_err("empty list refused");
        assert_eq!(err.line, line_of(&text, "sources = []"));
        assert_eq!(err.field, "helsedataservice.registry[2].sources");
    }

    #[test]
    fn malformed_source_id_is_refused() {
        let text = edited("sources = [\"msis\"]", "sources = [\"MSIS\"]");
        let err = NationalRules::from_str("rules.toml", &text).expect_err("bad id refused");
        assert_eq!(err.line, line_of(&text, "\"MSIS\""));
        assert!(err.message.contains("`MSIS`"), "{}", err.message);
    }

    #[test]
    fn zero_deadline_is_refused() {
        let text = edited(
            "single_source_working_days = 30",
            "single_source_working_days = 0",
        );
        let err = NationalRules::from_str("rules.toml", &text).expect_err("zero days refused");
        assert_eq!(err.line, line_of(&text, "single_source_working_days = 0"));
        assert_eq!(err.field, "statutory_deadline.single_source_working_days");
    }

    #[test]
    fn impossible_date_is_refused() {
        let text = edited(
            "decides_since = \"2023-03-15\"",
            "decides_since = \"2023-02-30\"",
        );
        let err = NationalRules::from_str("rules.toml", &text).expect_err("bad date refused");
        assert_eq!(err.line, line_of(&text, "2023-02-30"));
        assert_eq!(err.field, "helsedataservice.decides_since");
    }

    #[test]
    fn unknown_data_level_names_the_value() {
        let text = edited(
            "data_levels = [\"anonymous_aggregated\"]",
            "data_levels = [\"aggregated\"]",
        );
        let err = NationalRules::from_str("rules.toml", &text).expect_err("bad level refused");
        assert_eq!(err.line, line_of(&text, "[\"aggregated\"]"));
        assert_eq!(err.field, "aggregated");
    }

    #[test]
    fn missing_file_is_reported_with_its_path() {
        let err = NationalRules::load("/nonexistent/national-rules.toml")
            .expect_err("missing file refused");
        assert_eq!(err.line, 0);
        assert!(err.to_string().contains("/nonexistent/national-rules.toml"));
    }

    #[test]
    fn dates_are_checked_for_shape_and_calendar() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023-3-15"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(parse_date("2023/03/15"), None);
    }
}
