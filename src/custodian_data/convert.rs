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

/// Declares, per data-file enum, the function that maps each of its values to the
/// contract's value of the same name, or of the name given after `=>`.
macro_rules! enum_maps {
    (@to $proto:ident $from:ident) => { pb::$proto::$from };
    (@to $proto:ident $from:ident $to:ident) => { pb::$proto::$to };
    ($($name:ident: $entry:ident => $proto:ident { $($from:ident $(=> $to:ident)?),+ $(,)? })+) => {
        $(
            fn $name(value: $entry) -> pb::$proto {
                match value {
                    $($entry::$from => enum_maps!(@to $proto $from $($to)?),)+
                }
            }
        )+
    };
}

enum_maps! {
    basis: Basis => FactBasis { Stated, Inferred, Inherited, External }
    kind: KindEntry => DataSourceKind {
        CentralHealthRegister, NationalQualityRegister, PopulationHealthSurvey, StatisticsDataset,
        AdministrativeRegister, Other,
    }
    consent: ConsentEntry => ConsentRequirement { Required, NotRequired, Unknown }
    identifiability: IdentifiabilityEntry => Identifiability {
        DirectlyIdentifiable, Pseudonymous, DeIdentified, Anonymous, Mixed, Unknown,
    }
    biomaterial: BiomaterialEntry => BiomaterialAvailability {
        ApplyWithData, BiobankMentioned, None,
    }
    hap: HapPhaseEntry => HapPhase {
        Phase1 => HapPhase1, Phase2 => HapPhase2, Phase3 => HapPhase3, Phase4 => HapPhase4, NotHap,
        Undecided, NotPrioritised, NotListed,
    }
    channel: ChannelEntry => ApplicationChannel {
        HelsedataForm, AltinnForm, EmailToRegister, RegisterWebsite, Unknown,
    }
    data_level: DataLevelEntry => DataLevel {
        AnonymousAggregated, DeidentifiedIndividual, IdentifiableIndividual,
    }
    condition: ConditionEntry => RouteCondition {
        NewResearchProject, ChangeNewPeriodOrNonResearch, Legacy,
    }
    linkage: LinkagePolicyEntry => LinkagePolicy {
        Allowed, NotPossible, OwnPseudonymModelOnly, AnonymousOutputOnly, Unknown,
    }
    value_type: ValueTypeEntry => ValueType {
        Text, Integer, Decimal, Date, Datetime, Boolean, Code, Identifier,
    }
    variable_identifiability: VariableIdentifiabilityEntry => VariableIdentifiability {
        Direct => DirectIdentifier, Indirect => IndirectIdentifier, None,
    }
}

fn org(o: &OrgEntry) -> pb::Organisation {
    pb::Organisation {
        name: o.name.clone(),
        basis: basis(o.basis) as i32,
        note: o.note.clone(),
        localized_note: localized(&o.note_nb, &o.note),
    }
}

/// A variable of source `source_id`.
pub fn variable(source_id: &str, v: &VariableEntry, valid_years: pb::YearRange) -> pb::Variable {
    let name = v.name.get_ref();
    pb::Variable {
        id: format!("{source_id}/{name}"),
        data_source_id: source_id.to_string(),
        name: name.clone(),
        label: text(&v.label_nb, &v.label_en),
        value_type: value_type(v.value_type) as i32,
        unit: v.unit.clone(),
        code_system: v.code_system.clone(),
        valid_years: Some(valid_years),
        identifiability: variable_identifiability(v.identifiability) as i32,
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
        channel: channel(c) as i32,
        processed_by: processed_by.to_string(),
        url: url.to_string(),
        basis: basis(b) as i32,
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
                condition: condition(c.condition) as i32,
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
            policy: linkage(a.linkage.policy) as i32,
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
