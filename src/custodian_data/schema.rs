//! The on-disk format of a custodian's data file (TOML, one file per custodian).
//!
//! Every struct refuses unknown fields, so a misspelt key is an error that names the key,
//! not a silently ignored line. Ids and years are kept with their position in the file
//! (`Spanned`) so that the validation in [`super::load`] can point at the exact line.
//!
//! A free text a custodian publishes in English may have its Norwegian bokmål version beside
//! it, under the same key with `_nb` appended (`note_nb`, `requirements_nb`). The bokmål keys
//! are optional; a bokmål list has one entry per entry of its English list, in the same order
//! (kept with its position, so that a list of another length is refused at its line).

use serde::Deserialize;
use toml::Spanned;

/// The bokmål version of an English list (`topics_nb`, `requirements_nb`, ...), entry for
/// entry, with its position in the file; `None` when the file gives none.
pub type NbList = Option<Spanned<Vec<String>>>;

/// A whole data file: the custodian and the sources it publishes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianFile {
    /// Facts about the custodian.
    pub custodian: CustodianEntry,
    /// The published data sources (`[[source]]` tables).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceEntry>,
}

/// The `[custodian]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodianEntry {
    /// Stable custodian id, for example `fhi`.
    pub id: Spanned<String>,
    /// Name in Norwegian Bokmål.
    pub name_nb: String,
    /// Name in English.
    pub name_en: String,
    /// Contact e-mail.
    #[serde(default)]
    pub contact_email: String,
    /// The custodian's public home page (`https://…`); empty when none is published.
    #[serde(default)]
    pub website: String,
    /// Catalogue revision; change it whenever the file changes.
    pub revision: String,
    /// When the catalogue last changed (RFC 3339 date-time).
    pub last_modified: Spanned<toml::value::Datetime>,
}

/// How a fact came to be stated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Stated in the custodian's published documentation.
    #[default]
    Stated,
    /// Inferred from other facts.
    Inferred,
    /// Inherited from the parent source.
    Inherited,
    /// From other public sources.
    External,
}

/// An organisation with the basis of its naming.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgEntry {
    /// The organisation's name as published, in the language of the source documents.
    pub name: String,
    /// How the name came to be stated.
    #[serde(default)]
    pub basis: Basis,
    /// Why the organisation is named so, when `basis` is not `stated` (English; empty otherwise).
    #[serde(default)]
    pub note: String,
    /// `note` in bokmål.
    #[serde(default)]
    pub note_nb: String,
}

/// An identifier in another scheme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierEntry {
    /// The scheme the identifier belongs to, for example `npr-dataset`.
    pub scheme: String,
    /// The identifier as written in that scheme.
    pub value: String,
}

/// Kind of data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindEntry {
    /// Central health register.
    CentralHealthRegister,
    /// National medical quality register.
    NationalQualityRegister,
    /// Population health survey.
    PopulationHealthSurvey,
    /// Statistics dataset.
    StatisticsDataset,
    /// Administrative register.
    AdministrativeRegister,
    /// Anything else.
    Other,
}

/// Consent requirement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentEntry {
    /// Consent required.
    Required,
    /// Consent not required.
    NotRequired,
    /// Not stated.
    #[default]
    Unknown,
}

/// Identifiability of the stored data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifiabilityEntry {
    /// Stored with national identity numbers or names.
    DirectlyIdentifiable,
    /// Identifiable only through a key that the custodian holds apart.
    Pseudonymous,
    /// Direct identifiers removed, but indirect ones remain.
    DeIdentified,
    /// No person can be identified, not even with other data.
    Anonymous,
    /// Differs between parts.
    Mixed,
    /// Not stated.
    #[default]
    Unknown,
}

/// Biological material.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiomaterialEntry {
    /// Can be applied for with the data.
    ApplyWithData,
    /// A biobank is mentioned, with no route.
    BiobankMentioned,
    /// None published.
    #[default]
    None,
}

/// HAP realisation phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HapPhaseEntry {
    /// Planned for the first phase of the health analysis platform (HAP).
    Phase1,
    /// Planned for HAP's second phase.
    Phase2,
    /// Planned for HAP's third phase.
    Phase3,
    /// Planned for HAP's fourth phase.
    Phase4,
    /// Not to be on HAP.
    NotHap,
    /// Not decided.
    Undecided,
    /// Not prioritised for now.
    NotPrioritised,
    /// Not in the plan.
    #[default]
    NotListed,
}

/// The legal basis.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisEntry {
    /// The acts the register is kept under, each as cited (for example `helseregisterloven § 11`).
    #[serde(default)]
    pub statutes: Vec<String>,
    /// The regulations (forskrifter) that govern it, each as cited.
    #[serde(default)]
    pub regulations: Vec<String>,
    /// The provision that states what the register may be used for, as cited.
    #[serde(default)]
    pub purpose_provision: String,
    /// Other legal facts.
    #[serde(default)]
    pub other: Vec<String>,
    /// `other` in bokmål, entry for entry.
    #[serde(default)]
    pub other_nb: NbList,
}

/// A `[[source]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// Stable id, unique across all custodians.
    pub id: Spanned<String>,
    /// Name in Norwegian Bokmål.
    pub name_nb: String,
    /// Name in English.
    pub name_en: String,
    /// The short name researchers use (for example `MFR`); empty when there is none.
    #[serde(default)]
    pub abbreviation: String,
    /// Earlier or informal names the source is also known by; searched like the name.
    #[serde(default)]
    pub alt_names: Vec<String>,
    /// Identifiers in other schemes.
    #[serde(default, rename = "identifier")]
    pub identifiers: Vec<IdentifierEntry>,
    /// What sort of source it is (the `kind` filter of a search, and the type in the EU export).
    pub kind: KindEntry,
    /// Kind in the custodian's own words.
    #[serde(default)]
    pub kind_as_stated: String,
    /// Parent source id.
    #[serde(default)]
    pub parent: Option<Spanned<String>>,
    /// The custodian that publishes the parent, when it is not this one.
    #[serde(default)]
    pub parent_custodian: Option<String>,
    /// Related source ids (may be held by other custodians).
    #[serde(default)]
    pub related: Vec<String>,
    /// The data controller (behandlingsansvarlig): the legal body answerable for the data.
    pub controller: OrgEntry,
    /// The data processor, when another body than the controller runs the register.
    #[serde(default)]
    pub processor: Option<OrgEntry>,
    /// The statutes and regulations that allow the register to be kept and shared.
    #[serde(default)]
    pub legal_basis: LegalBasisEntry,
    /// Whether the people registered must consent to the data being kept.
    #[serde(default)]
    pub consent: ConsentEntry,
    /// Detail on consent.
    #[serde(default)]
    pub consent_note: String,
    /// `consent_note` in bokmål.
    #[serde(default)]
    pub consent_note_nb: String,
    /// How identifiable the data are as stored (not as delivered).
    #[serde(default)]
    pub identifiability: IdentifiabilityEntry,
    /// Detail on identifiability.
    #[serde(default)]
    pub identifiability_note: String,
    /// `identifiability_note` in bokmål.
    #[serde(default)]
    pub identifiability_note_nb: String,
    /// First year covered.
    #[serde(default)]
    pub data_from_year: Option<Spanned<i64>>,
    /// Last year covered.
    #[serde(default)]
    pub data_to_year: Option<Spanned<i64>>,
    /// Who and what the source covers, in bokmål; empty when not published.
    #[serde(default)]
    pub coverage_nb: String,
    /// `coverage_nb` in English.
    #[serde(default)]
    pub coverage_en: String,
    /// What the source holds and what it is used for, in bokmål (required).
    pub description_nb: String,
    /// `description_nb` in English (required).
    pub description_en: String,
    /// Topics (English, short lower-case subject terms).
    #[serde(default)]
    pub topics: Vec<String>,
    /// `topics` in bokmål, entry for entry.
    #[serde(default)]
    pub topics_nb: NbList,
    /// Ids of the health concepts the source covers (the gateway's concept vocabulary).
    #[serde(default)]
    pub concepts: Vec<Spanned<String>>,
    /// Whether biological material can be applied for together with the data.
    #[serde(default)]
    pub biomaterial: BiomaterialEntry,
    /// Detail on biological material.
    #[serde(default)]
    pub biomaterial_note: String,
    /// `biomaterial_note` in bokmål.
    #[serde(default)]
    pub biomaterial_note_nb: String,
    /// Open statistics: what the source publishes openly, in words.
    #[serde(default)]
    pub open_statistics: String,
    /// `open_statistics` in bokmål.
    #[serde(default)]
    pub open_statistics_nb: String,
    /// The public web address of the open statistics (`https://…`), when one is known.
    #[serde(default)]
    pub open_statistics_url: Option<Spanned<String>>,
    /// Where variable documentation lives.
    #[serde(default)]
    pub variable_documentation: Vec<String>,
    /// `variable_documentation` in bokmål, entry for entry.
    #[serde(default)]
    pub variable_documentation_nb: NbList,
    /// When the source is planned on the national health analysis platform (HAP).
    #[serde(default)]
    pub hap_phase: HapPhaseEntry,
    /// Facts the published documents disagree on, each in words (English).
    #[serde(default)]
    pub discrepancies: Vec<String>,
    /// `discrepancies` in bokmål, entry for entry.
    #[serde(default)]
    pub discrepancies_nb: NbList,
    /// How to apply: channel, who processes and delivers, deadlines, prices, linkage.
    pub access: AccessEntry,
    /// Variables (`[[source.variable]]` tables).
    #[serde(default, rename = "variable")]
    pub variables: Vec<VariableEntry>,
}

/// Application channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelEntry {
    /// The common application form on helsedata.no.
    HelsedataForm,
    /// Altinn e-form.
    AltinnForm,
    /// E-mail to the register.
    EmailToRegister,
    /// The register's website.
    RegisterWebsite,
    /// No route published.
    Unknown,
}

/// Condition of a conditional route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionEntry {
    /// New research project.
    NewResearchProject,
    /// Project change, new data period or non-research purpose.
    ChangeNewPeriodOrNonResearch,
    /// Older page's route, kept for reference.
    Legacy,
}

/// Linkage policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkagePolicyEntry {
    /// Linkage allowed with approvals.
    Allowed,
    /// De-identified; no linkage.
    NotPossible,
    /// Only via the register's own pseudonym model.
    OwnPseudonymModelOnly,
    /// Linked data must leave in anonymous form.
    AnonymousOutputOnly,
    /// Not stated.
    #[default]
    Unknown,
}

/// The `[source.access]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// Where an application is sent on the default route (the route without a condition).
    pub channel: ChannelEntry,
    /// Who processes applications on the default route.
    #[serde(default)]
    pub processed_by: String,
    /// The address of the form or of the instructions for the default route.
    #[serde(default)]
    pub url: String,
    /// Basis of the route.
    #[serde(default)]
    pub basis: Basis,
    /// What the route does not say by itself (English; empty when nothing).
    #[serde(default)]
    pub note: String,
    /// `note` in bokmål.
    #[serde(default)]
    pub note_nb: String,
    /// Conditional routes (`[[source.access.conditional_route]]`).
    #[serde(default, rename = "conditional_route")]
    pub conditional_routes: Vec<ConditionalRouteEntry>,
    /// Who prepares and delivers the data.
    #[serde(default)]
    pub delivered_by: String,
    /// Where to write with questions about access; empty when only the form is offered.
    #[serde(default)]
    pub contact_email: String,
    /// Deadlines (`[[source.access.deadline]]`).
    #[serde(default, rename = "deadline")]
    pub deadlines: Vec<DeadlineEntry>,
    /// Prices (`[[source.access.price]]`).
    #[serde(default, rename = "price")]
    pub prices: Vec<PriceEntry>,
    /// Whether and how the data may be linked with other sources, and by whom.
    #[serde(default)]
    pub linkage: LinkageEntry,
    /// Whether to contact the custodian before applying.
    #[serde(default)]
    pub contact_before_applying: bool,
    /// Source-specific requirements.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// `requirements` in bokmål, entry for entry.
    #[serde(default)]
    pub requirements_nb: NbList,
    /// Other facts about access that have no field of their own (English).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `notes` in bokmål, entry for entry.
    #[serde(default)]
    pub notes_nb: NbList,
}

/// A conditional route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalRouteEntry {
    /// When it applies.
    pub condition: ConditionEntry,
    /// Where an application is sent when the condition holds.
    pub channel: ChannelEntry,
    /// Who processes applications on this route; empty when the default route's body does.
    #[serde(default)]
    pub processed_by: String,
    /// The address of the form or instructions for this route.
    #[serde(default)]
    pub url: String,
    /// What the route does not say by itself (English).
    #[serde(default)]
    pub note: String,
    /// `note` in bokmål.
    #[serde(default)]
    pub note_nb: String,
}

/// A deadline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineEntry {
    /// What it applies to.
    pub applies_to: String,
    /// `applies_to` in bokmål.
    #[serde(default)]
    pub applies_to_nb: String,
    /// Days, if a number is given.
    #[serde(default)]
    pub days: Option<u32>,
    /// Working days rather than calendar days.
    #[serde(default)]
    pub working_days: bool,
    /// The deadline in words, as the custodian states it (English, required).
    pub text: String,
    /// `text` in bokmål.
    #[serde(default)]
    pub text_nb: String,
    /// The data level of the applications it concerns; absent when it concerns every level.
    #[serde(default)]
    pub data_level: Option<Spanned<DataLevelEntry>>,
}

/// How identifiable the data of an application are, as a deadline's `data_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataLevelEntry {
    /// Anonymous aggregated statistics (tables).
    AnonymousAggregated,
    /// De-identified or pseudonymous individual-level data.
    DeidentifiedIndividual,
    /// Directly identifiable individual-level data.
    IdentifiableIndividual,
}

/// A price.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    /// Who invoices.
    pub invoiced_by: String,
    /// What is invoiced, in words (English, required).
    pub text: String,
    /// `text` in bokmål.
    #[serde(default)]
    pub text_nb: String,
    /// Amount in NOK excl. VAT per unit.
    #[serde(default)]
    pub amount_nok: Option<f64>,
    /// What `amount_nok` is counted per (for example `hour` or `application`); empty for a fixed price.
    #[serde(default)]
    pub unit: String,
    /// The fewest units invoiced, when a minimum is published.
    #[serde(default)]
    pub minimum_units: Option<f64>,
}

/// Linkage rules.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkageEntry {
    /// Whether and how the data may be linked with other sources.
    #[serde(default)]
    pub policy: LinkagePolicyEntry,
    /// Who performs the linkage (for example the custodian or SSB); empty when not stated.
    #[serde(default)]
    pub linked_by: String,
    /// Conditions of the linkage, each in words (English).
    #[serde(default)]
    pub notes: Vec<String>,
    /// `notes` in bokmål, entry for entry.
    #[serde(default)]
    pub notes_nb: NbList,
}

/// Value type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueTypeEntry {
    /// Free text.
    Text,
    /// A whole number, with `unit` when it measures something.
    Integer,
    /// A number with decimals, with `unit` when it measures something.
    Decimal,
    /// A calendar date.
    Date,
    /// Date and time.
    Datetime,
    /// Yes or no.
    Boolean,
    /// A code from the `code_system` named on the variable.
    Code,
    /// An identifier of a person, an organisation or an event.
    Identifier,
}

/// Identifiability class of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableIdentifiabilityEntry {
    /// Identifies a person by itself (for example a national identity number).
    Direct,
    /// Can identify a person combined with other variables (for example a birth date).
    Indirect,
    /// Identifies no one, alone or combined.
    None,
}

/// A `[[source.variable]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableEntry {
    /// Machine name, unique within the source (`[a-z0-9_]+`).
    pub name: Spanned<String>,
    /// What the variable records, in bokmål.
    pub label_nb: String,
    /// `label_nb` in English.
    pub label_en: String,
    /// The kind of value recorded.
    pub value_type: ValueTypeEntry,
    /// The unit of measurement (for example `g` or `mmHg`); empty for a unitless value.
    #[serde(default)]
    pub unit: String,
    /// The code system of a `code` variable (for example `ICD-10`); empty otherwise.
    #[serde(default)]
    pub code_system: String,
    /// The first year the variable was recorded; absent when it has always been.
    #[serde(default)]
    pub valid_from_year: Option<Spanned<i64>>,
    /// The last year the variable was recorded; absent while it still is.
    #[serde(default)]
    pub valid_to_year: Option<Spanned<i64>>,
    /// How far the variable identifies a person.
    pub identifiability: VariableIdentifiabilityEntry,
    /// Whether the custodian's documentation names this variable (false: illustrative).
    pub documented: bool,
}
