//! Builds the export's plain input from the merged catalogue: who decides under the national
//! rules, where applications go, whom to contact, and the custodians' freshness.

use std::{collections::HashMap, sync::Arc};

use helsedata::{
    concepts::{Concept, Vocabulary, codes},
    proto as pb,
};

use super::input::{Agent, CatalogueHeader, Contact, CustodianState, DatasetInput, Decider};
use crate::{catalogue::merge::effective_route_of, planning::rules::NationalRules};

/// What the concept vocabulary says about one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConceptTags {
    /// HealthDCAT-AP health categories (NAL IRIs).
    pub health_categories: Vec<String>,
    /// HealthDCAT-AP health themes (NAL IRIs).
    pub health_themes: Vec<String>,
    /// Concept labels in Norwegian Bokmål.
    pub keywords_nb: Vec<String>,
    /// Concept labels in English.
    pub keywords_en: Vec<String>,
}

/// Maps a source to the concepts it is tagged with.
pub trait ConceptMapping: Send + Sync {
    /// The tags of `source`; empty when it has none.
    fn tags(&self, source: &pb::DataSource) -> ConceptTags;
}

/// No concept vocabulary: every source gets its kind's fallback health category.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConcepts;

impl ConceptMapping for NoConcepts {
    fn tags(&self, _: &pb::DataSource) -> ConceptTags {
        ConceptTags::default()
    }
}

/// The concept vocabulary's mappings: each tagged concept gives its own health categories
/// and themes, or, when it has none, those of the nearest broader concepts that have some;
/// its preferred labels become keywords.
impl ConceptMapping for Vocabulary {
    fn tags(&self, source: &pb::DataSource) -> ConceptTags {
        let mut tags = ConceptTags::default();
        for id in &source.concepts {
            let chain = self.with_broader(id);
            let Some(concept) = chain.first() else {
                continue;
            };
            push_label(&mut tags.keywords_nb, &concept.nb.preferred);
            push_label(&mut tags.keywords_en, &concept.en.preferred);
            for code in nearest(&chain, |c| &c.health_categories) {
                push_label(
                    &mut tags.health_categories,
                    &format!("{}{code}", codes::HEALTH_CATEGORY_BASE),
                );
            }
            for code in nearest(&chain, |c| &c.health_themes) {
                push_label(
                    &mut tags.health_themes,
                    &format!("{}{code}", codes::HEALTH_THEME_BASE),
                );
            }
        }
        tags
    }
}

/// The codes of the first concept in `chain` (the concept, then its broader concepts, nearest
/// first) that has any.
fn nearest<'a>(
    chain: &[&'a Concept],
    codes: impl Fn(&'a Concept) -> &'a Vec<String>,
) -> &'a [String] {
    chain
        .iter()
        .map(|c| codes(c).as_slice())
        .find(|c| !c.is_empty())
        .unwrap_or_default()
}

fn push_label(list: &mut Vec<String>, value: &str) {
    let value = value.trim();
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// A custodian's own contact facts (from its CustodianInfo), used where a source names none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustodianContact {
    /// Contact e-mail; may be empty.
    pub email: String,
    /// Website; may be empty.
    pub website: String,
}

impl CustodianContact {
    /// From a custodian's published facts.
    pub fn from_info(info: &pb::CustodianInfo) -> Self {
        Self {
            email: info.contact_email.clone(),
            website: info.website.clone(),
        }
    }
}

/// The national rules as the export reads them.
pub struct Decisions<'a> {
    rules: &'a NationalRules,
    custodians: Arc<HashMap<String, CustodianContact>>,
}

impl<'a> Decisions<'a> {
    /// Over `rules`, with the custodians' own contact facts where known.
    /// (Shared, so that a stream of datasets makes one `Decisions` per dataset without
    /// copying the contacts.)
    pub fn new(
        rules: &'a NationalRules,
        custodians: impl Into<Arc<HashMap<String, CustodianContact>>>,
    ) -> Self {
        Self {
            rules,
            custodians: custodians.into(),
        }
    }

    /// The national body (Helsedataservice): it publishes the catalogue; its contact page is
    /// the common application form's address.
    pub fn national_body(&self) -> Agent {
        Agent {
            name: self.rules.helsedataservice.name.clone(),
            contact: Contact::Page(self.rules.common_form.address.clone()),
        }
    }

    /// Who decides for `source`: its effective route under the national rules (the same one
    /// the merged catalogue and the planner use): the national body where Helsedataservice
    /// decides, else the body the route names.
    pub fn decider(&self, source: &pb::DataSource, route: &pb::EffectiveRoute) -> Decider {
        if route.by_helsedataservice {
            return Decider::National;
        }
        let name = Some(route.decided_by.trim())
            .filter(|n| !n.is_empty())
            .or_else(|| controller(source))
            .unwrap_or(source.custodian_id.as_str());
        Decider::Other(Agent {
            name: name.to_string(),
            contact: self.contact(source),
        })
    }

    /// How to reach the controller about `source`: the access rules' e-mail, else the route's
    /// web address, else the custodian's own e-mail or website, else the national body.
    pub fn contact(&self, source: &pb::DataSource) -> Contact {
        let rules = source.access_rules.as_ref();
        let custodian = self.custodians.get(&source.custodian_id);
        let email = rules
            .map(|r| r.contact_email.trim())
            .filter(|e| !e.is_empty());
        let url = default_route(source)
            .map(|r| r.url.trim())
            .filter(|u| u.starts_with("http"));
        let custodian_email = custodian.map(|c| c.email.trim()).filter(|e| !e.is_empty());
        let website = custodian
            .map(|c| c.website.trim())
            .filter(|w| w.starts_with("http"));
        email
            .map(|e| Contact::Email(e.to_string()))
            .or_else(|| url.map(|u| Contact::Page(u.to_string())))
            .or_else(|| custodian_email.map(|e| Contact::Email(e.to_string())))
            .or_else(|| website.map(|w| Contact::Page(w.to_string())))
            .unwrap_or_else(|| self.national_body().contact)
    }

    /// The export input of one merged source.
    pub fn dataset(
        &self,
        source: pb::DataSource,
        provenance: pb::Provenance,
        variables: Option<Vec<pb::Variable>>,
        concepts: &dyn ConceptMapping,
    ) -> DatasetInput {
        let route = effective_route_of(&source, self.rules);
        let decider = self.decider(&source, &route);
        let application_url = route.address;
        let tags = concepts.tags(&source);
        DatasetInput {
            publisher_contact: self.contact(&source),
            decider,
            application_url,
            health_categories: tags.health_categories,
            health_themes: tags.health_themes,
            keywords_nb: tags.keywords_nb,
            keywords_en: tags.keywords_en,
            variables,
            provenance,
            source,
        }
    }

    /// The catalogue header.
    pub fn header(
        &self,
        generated_at: prost_types::Timestamp,
        custodians: Vec<CustodianState>,
    ) -> CatalogueHeader {
        CatalogueHeader {
            publisher: self.national_body(),
            generated_at,
            custodians,
        }
    }
}

/// The custodians' states from the outcomes of one read of the catalogue; `last_modified`
/// comes from the custodians' own facts where known.
pub fn custodian_states(
    outcomes: &[pb::CustodianOutcome],
    last_modified: &HashMap<String, prost_types::Timestamp>,
) -> Vec<CustodianState> {
    let mut states: Vec<CustodianState> = outcomes
        .iter()
        .map(|o| {
            let freshness =
                pb::Freshness::try_from(o.freshness).unwrap_or(pb::Freshness::Unspecified);
            CustodianState {
                id: o.custodian_id.clone(),
                freshness,
                catalogue_revision: o.catalogue_revision.clone(),
                last_modified: last_modified.get(&o.custodian_id).cloned(),
                stale_since: (freshness == pb::Freshness::Stale)
                    .then_some(o.as_of)
                    .flatten(),
                message: o.message.clone(),
            }
        })
        .collect();
    states.sort_by(|a, b| a.id.cmp(&b.id));
    states
}

fn default_route(source: &pb::DataSource) -> Option<&pb::ApplicationRoute> {
    source.access_rules.as_ref()?.route.as_ref()
}

fn controller(source: &pb::DataSource) -> Option<&str> {
    source
        .controller
        .as_ref()
        .map(|o| o.name.trim())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOCABULARY: &str = r#"
[[concept]]
id = "cancer"
pref_nb = "kreft"
pref_en = "cancer"
health_themes = ["CANCER_DISEASE"]
health_categories = ["PHDR"]

[[concept]]
id = "lymphoma"
pref_nb = "lymfom"
pref_en = "lymphoma"
broader = ["cancer"]
"#;

    #[test]
    fn a_concept_without_mappings_takes_its_broader_concepts_and_gives_its_labels() {
        let vocabulary = Vocabulary::from_toml("test.toml", VOCABULARY).expect("vocabulary");
        let source = pb::DataSource {
            concepts: vec!["lymphoma".into(), "unknown".into()],
            ..Default::default()
        };
        let tags = vocabulary.tags(&source);
        assert_eq!(
            tags.health_categories,
            [format!("{}PHDR", codes::HEALTH_CATEGORY_BASE)]
        );
        assert_eq!(
            tags.health_themes,
            [format!("{}CANCER_DISEASE", codes::HEALTH_THEME_BASE)]
        );
        assert_eq!(tags.keywords_nb, ["lymfom"]);
        assert_eq!(tags.keywords_en, ["lymphoma"]);
    }
}
