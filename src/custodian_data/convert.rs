//! Conversion of validated data-file entries into the contract's types.

use crate::proto as pb;

use super::{SourceBundle, schema::*};

fn text(nb: &str, en: &str) -> Option<pb::LocalizedText> {
    Some(pb::LocalizedText {
        nb: nb.to_string(),
        en: en.to_string(),
    })
}

/// The `localized_*` twin of an English text: set when the file gives its bokmål version.
fn localized(nb: &str, en: &str) -> Option<pb::LocalizedText> {
    if nb.trim().is_empty() {
        None
    } else {
        text(nb, en)
    }
}

/// The `localized_*` twin of an English list: entry for entry when the file gives the bokmål
/// list (the loader has checked that the lengths agree), else empty.
fn localized_list(nb: &NbList, en: &[String]) -> Vec<pb::LocalizedText> {
    let Some(nb) = nb else { return Vec::new() };
    nb.get_ref()
        .iter()
        .zip(en)
        .map(|(nb, en)| pb::LocalizedText {
            nb: nb.clone(),
            en: en.clone(),
        })
        .collect()
}

fn basis(b: Basis) -> i32 {
    (match b {
        Basis::Stated => pb::FactBasis::Stated,
        Basis::Inferred => pb::FactBasis::Inferred,
        Basis::Inherited => pb::FactBasis::Inherited,
        Basis::External => pb::FactBasis::External,
    }) as i32
}

fn org(o: &OrgEntry) -> pb::Organisation {
    pb::Organisation {
        name: o.name.clone(),
        basis: basis(o.basis),
        note: o.note.clone(),
        localized_note: localized(&o.note_nb, &o.note),
    }
}

fn kind(k: KindEntry) -> pb::DataSourceKind {
    match k {
        KindEntry::CentralHealthRegister => pb::DataSourceKind::CentralHealthRegister,
        KindEntry::NationalQualityRegister => pb::DataSourceKind::NationalQualityRegister,
        KindEntry::PopulationHealthSurvey => pb::DataSourceKind::PopulationHealthSurvey,
        KindEntry::StatisticsDataset => pb::DataSourceKind::StatisticsDataset,
        KindEntry::AdministrativeRegister => pb::DataSourceKind::AdministrativeRegister,
        KindEntry::Other => pb::DataSourceKind::Other,
    }
}

fn consent(c: ConsentEntry) -> pb::ConsentRequirement {
    match c {
        ConsentEntry::Required => pb::ConsentRequirement::Required,
        ConsentEntry::NotRequired => pb::ConsentRequirement::NotRequired,
        ConsentEntry::Unknown => pb::ConsentRequirement::Unknown,
    }
}

fn identifiability(i: IdentifiabilityEntry) -> pb::Identifiability {
    match i {
        IdentifiabilityEntry::DirectlyIdentifiable => pb::Identifiability::DirectlyIdentifiable,
        IdentifiabilityEntry::Pseudonymous => pb::Identifiability::Pseudonymous,
        IdentifiabilityEntry::DeIdentified => pb::Identifiability::DeIdentified,
        IdentifiabilityEntry::Anonymous => pb::Identifiability::Anonymous,
        IdentifiabilityEntry::Mixed => pb::Identifiability::Mixed,
        IdentifiabilityEntry::Unknown => pb::Identifiability::Unknown,
    }
}

fn biomaterial(b: BiomaterialEntry) -> pb::BiomaterialAvailability {
    match b {
        BiomaterialEntry::ApplyWithData => pb::BiomaterialAvailability::ApplyWithData,
        BiomaterialEntry::BiobankMentioned => pb::BiomaterialAvailability::BiobankMentioned,
        BiomaterialEntry::None => pb::BiomaterialAvailability::None,
    }
}

fn hap(h: HapPhaseEntry) -> pb::HapPhase {
    match h {
        HapPhaseEntry::Phase1 => pb::HapPhase::HapPhase1,
        HapPhaseEntry::Phase2 => pb::HapPhase::HapPhase2,
        HapPhaseEntry::Phase3 => pb::HapPhase::HapPhase3,
        HapPhaseEntry::Phase4 => pb::HapPhase::HapPhase4,
        HapPhaseEntry::NotHap => pb::HapPhase::NotHap,
        HapPhaseEntry::Undecided => pb::HapPhase::Undecided,
        HapPhaseEntry::NotPrioritised => pb::HapPhase::NotPrioritised,
        HapPhaseEntry::NotListed => pb::HapPhase::NotListed,
    }
}

fn channel(c: ChannelEntry) -> i32 {
    (match c {
        ChannelEntry::HelsedataForm => pb::ApplicationChannel::HelsedataForm,
        ChannelEntry::AltinnForm => pb::ApplicationChannel::AltinnForm,
        ChannelEntry::EmailToRegister => pb::ApplicationChannel::EmailToRegister,
        ChannelEntry::RegisterWebsite => pb::ApplicationChannel::RegisterWebsite,
        ChannelEntry::Unknown => pb::ApplicationChannel::Unknown,
    }) as i32
}

fn data_level(l: DataLevelEntry) -> pb::DataLevel {
    match l {
        DataLevelEntry::AnonymousAggregated => pb::DataLevel::AnonymousAggregated,
        DataLevelEntry::DeidentifiedIndividual => pb::DataLevel::DeidentifiedIndividual,
        DataLevelEntry::IdentifiableIndividual => pb::DataLevel::IdentifiableIndividual,
    }
}

fn condition(c: ConditionEntry) -> i32 {
    (match c {
        ConditionEntry::NewResearchProject => pb::RouteCondition::NewResearchProject,
        ConditionEntry::ChangeNewPeriodOrNonResearch => {
            pb::RouteCondition::ChangeNewPeriodOrNonResearch
        }
        ConditionEntry::Legacy => pb::RouteCondition::Legacy,
    }) as i32
}

fn linkage(l: LinkagePolicyEntry) -> i32 {
    (match l {
        LinkagePolicyEntry::Allowed => pb::LinkagePolicy::Allowed,
        LinkagePolicyEntry::NotPossible => pb::LinkagePolicy::NotPossible,
        LinkagePolicyEntry::OwnPseudonymModelOnly => pb::LinkagePolicy::OwnPseudonymModelOnly,
        LinkagePolicyEntry::AnonymousOutputOnly => pb::LinkagePolicy::AnonymousOutputOnly,
        LinkagePolicyEntry::Unknown => pb::LinkagePolicy::Unknown,
    }) as i32
}

fn value_type(v: ValueTypeEntry) -> i32 {
    (match v {
        ValueTypeEntry::Text => pb::ValueType::Text,
        ValueTypeEntry::Integer => pb::ValueType::Integer,
        ValueTypeEntry::Decimal => pb::ValueType::Decimal,
        ValueTypeEntry::Date => pb::ValueType::Date,
        ValueTypeEntry::Datetime => pb::ValueType::Datetime,
        ValueTypeEntry::Boolean => pb::ValueType::Boolean,
        ValueTypeEntry::Code => pb::ValueType::Code,
        ValueTypeEntry::Identifier => pb::ValueType::Identifier,
    }) as i32
}

fn variable_identifiability(v: VariableIdentifiabilityEntry) -> i32 {
    (match v {
        VariableIdentifiabilityEntry::Direct => pb::VariableIdentifiability::DirectIdentifier,
        VariableIdentifiabilityEntry::Indirect => pb::VariableIdentifiability::IndirectIdentifier,
        VariableIdentifiabilityEntry::None => pb::VariableIdentifiability::None,
    }) as i32
}

/// A variable of source `source_id`.
pub fn variable(source_id: &str, v: &VariableEntry, valid_years: pb::YearRange) -> pb::Variable {
    let name = v.name.get_ref();
    pb::Variable {
        id: format!("{source_id}/{name}"),
        data_source_id: source_id.to_string(),
        name: name.clone(),
        label: text(&v.label_nb, &v.label_en),
        value_type: value_type(v.value_type),
        unit: v.unit.clone(),
        code_system: v.code_system.clone(),
        valid_years: Some(valid_years),
        identifiability: variable_identifiability(v.identifiability),
        documentation: if v.documented {
            pb::VariableDocumentation::Documented as i32
        } else {
            pb::VariableDocumentation::Illustrative as i32
        },
    }
}

fn route(
    c: ChannelEntry,
    processed_by: &str,
    url: &str,
    b: Basis,
    (note, note_nb): (&str, &str),
) -> pb::ApplicationRoute {
    pb::ApplicationRoute {
        channel: channel(c),
        processed_by: processed_by.to_string(),
        url: url.to_string(),
        basis: basis(b),
        note: note.to_string(),
        localized_note: localized(note_nb, note),
    }
}

fn access_rules(source_id: &str, a: &AccessEntry) -> pb::AccessRules {
    pb::AccessRules {
        data_source_id: source_id.to_string(),
        route: Some(route(
            a.channel,
            &a.processed_by,
            &a.url,
            a.basis,
            (&a.note, &a.note_nb),
        )),
        conditional_routes: a
            .conditional_routes
            .iter()
            .map(|c| pb::ConditionalRoute {
                condition: condition(c.condition),
                route: Some(route(
                    c.channel,
                    &c.processed_by,
                    &c.url,
                    a.basis,
                    (&c.note, &c.note_nb),
                )),
            })
            .collect(),
        delivered_by: a.delivered_by.clone(),
        contact_email: a.contact_email.clone(),
        deadlines: a
            .deadlines
            .iter()
            .map(|d| pb::Deadline {
                applies_to: d.applies_to.clone(),
                days: d.days,
                working_days: d.working_days,
                text: d.text.clone(),
                data_level: d
                    .data_level
                    .as_ref()
                    .map_or(pb::DataLevel::Unspecified, |l| data_level(*l.get_ref()))
                    as i32,
                localized_applies_to: localized(&d.applies_to_nb, &d.applies_to),
                localized_text: localized(&d.text_nb, &d.text),
            })
            .collect(),
        prices: a
            .prices
            .iter()
            .map(|p| pb::Price {
                invoiced_by: p.invoiced_by.clone(),
                text: p.text.clone(),
                amount_nok: p.amount_nok,
                unit: p.unit.clone(),
                minimum_units: p.minimum_units,
                localized_text: localized(&p.text_nb, &p.text),
            })
            .collect(),
        linkage: Some(pb::LinkageRules {
            policy: linkage(a.linkage.policy),
            linked_by: a.linkage.linked_by.clone(),
            notes: a.linkage.notes.clone(),
            localized_notes: localized_list(&a.linkage.notes_nb, &a.linkage.notes),
        }),
        contact_before_applying: a.contact_before_applying,
        requirements: a.requirements.clone(),
        notes: a.notes.clone(),
        localized_requirements: localized_list(&a.requirements_nb, &a.requirements),
        localized_notes: localized_list(&a.notes_nb, &a.notes),
    }
}

/// A source with its rules and variables.
pub fn bundle(
    custodian_id: &str,
    s: &SourceEntry,
    years: pb::YearRange,
    variables: Vec<pb::Variable>,
) -> SourceBundle {
    let id = s.id.get_ref().clone();
    let source = pb::DataSource {
        id: id.clone(),
        custodian_id: custodian_id.to_string(),
        name: text(&s.name_nb, &s.name_en),
        abbreviation: s.abbreviation.clone(),
        alt_names: s.alt_names.clone(),
        identifiers: s
            .identifiers
            .iter()
            .map(|i| pb::ExternalIdentifier {
                scheme: i.scheme.clone(),
                value: i.value.clone(),
            })
            .collect(),
        kind: kind(s.kind) as i32,
        kind_as_stated: s.kind_as_stated.clone(),
        parent_id: s
            .parent
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or_default(),
        related_ids: s.related.clone(),
        controller: Some(org(&s.controller)),
        processor: s.processor.as_ref().map(org),
        legal_basis: Some(pb::LegalBasis {
            statutes: s.legal_basis.statutes.clone(),
            regulations: s.legal_basis.regulations.clone(),
            purpose_provision: s.legal_basis.purpose_provision.clone(),
            other: s.legal_basis.other.clone(),
            localized_other: localized_list(&s.legal_basis.other_nb, &s.legal_basis.other),
        }),
        consent: consent(s.consent) as i32,
        consent_note: s.consent_note.clone(),
        identifiability: identifiability(s.identifiability) as i32,
        identifiability_note: s.identifiability_note.clone(),
        coverage_years: Some(years),
        coverage: text(&s.coverage_nb, &s.coverage_en),
        description: text(&s.description_nb, &s.description_en),
        topics: s.topics.clone(),
        concepts: s.concepts.iter().map(|c| c.get_ref().clone()).collect(),
        biomaterial: biomaterial(s.biomaterial) as i32,
        biomaterial_note: s.biomaterial_note.clone(),
        open_statistics: s.open_statistics.clone(),
        open_statistics_url: s
            .open_statistics_url
            .as_ref()
            .map(|u| u.get_ref().clone())
            .unwrap_or_default(),
        variable_documentation: s.variable_documentation.clone(),
        hap_phase: hap(s.hap_phase) as i32,
        discrepancies: s.discrepancies.clone(),
        variable_count: variables.len() as u32,
        access_rules: None,
        localized_consent_note: localized(&s.consent_note_nb, &s.consent_note),
        localized_identifiability_note: localized(
            &s.identifiability_note_nb,
            &s.identifiability_note,
        ),
        localized_topics: localized_list(&s.topics_nb, &s.topics),
        localized_biomaterial_note: localized(&s.biomaterial_note_nb, &s.biomaterial_note),
        localized_open_statistics: localized(&s.open_statistics_nb, &s.open_statistics),
        localized_variable_documentation: localized_list(
            &s.variable_documentation_nb,
            &s.variable_documentation,
        ),
        localized_discrepancies: localized_list(&s.discrepancies_nb, &s.discrepancies),
    };
    SourceBundle {
        access: access_rules(&id, &s.access),
        source,
        variables,
    }
}
