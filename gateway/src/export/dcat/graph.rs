//! The triples of the catalogue and of each dataset, built with `oxrdf` terms.
//!
//! Every IRI the export mints lies under one base ([`Minter`], in `iris.rs`); triples are
//! collected in [`Triples`] (`triples.rs`) and the words and values derived from a record come
//! from `facts.rs`. The mapping from our fields to the profile's properties is documented in
//! `docs/healthdcat-ap.md`; this file is that table in code.

use std::collections::HashMap;

use helsedata::proto as pb;
use oxrdf::NamedNode;

pub use super::iris::Minter;
pub use super::triples::Triples;
use super::{
    facts::*,
    input::{Agent, CatalogueHeader, Contact, CustodianState, DatasetInput, Decider},
    legislation,
    triples::{mailto_iri, web_iri},
    vocab::*,
};

/// Our kinds of source: the id of its concept, its labels, the publisher type and the
/// fallback health category.
struct KindFacts {
    id: &'static str,
    nb: &'static str,
    en: &'static str,
    publisher_type: &'static str,
    health_category: &'static str,
}

const KINDS: &[(pb::DataSourceKind, KindFacts)] = &[
    (
        pb::DataSourceKind::CentralHealthRegister,
        KindFacts {
            id: "central-health-register",
            nb: "sentralt helseregister",
            en: "central health register",
            publisher_type: "public-health-registry",
            health_category: "PHDR",
        },
    ),
    (
        pb::DataSourceKind::NationalQualityRegister,
        KindFacts {
            id: "national-quality-register",
            nb: "nasjonalt medisinsk kvalitetsregister",
            en: "national medical quality register",
            publisher_type: "quality-registry",
            health_category: "MRMR",
        },
    ),
    (
        pb::DataSourceKind::PopulationHealthSurvey,
        KindFacts {
            id: "population-health-survey",
            nb: "befolkningsbasert helseundersøkelse",
            en: "population-based health survey",
            publisher_type: "research-institute-org",
            health_category: "RQSH",
        },
    ),
    (
        pb::DataSourceKind::StatisticsDataset,
        KindFacts {
            id: "statistics-dataset",
            nb: "statistikkdatasett",
            en: "statistics dataset",
            publisher_type: "stat-agency",
            health_category: "DIOH",
        },
    ),
    (
        pb::DataSourceKind::AdministrativeRegister,
        KindFacts {
            id: "administrative-register",
            nb: "administrativt register",
            en: "administrative register",
            publisher_type: "administrative-institution",
            health_category: "HRAD",
        },
    ),
    (
        pb::DataSourceKind::Other,
        KindFacts {
            id: "other",
            nb: "annen datakilde",
            en: "other data source",
            publisher_type: "other-public-institute",
            health_category: "EHRS",
        },
    ),
];

fn kind_facts(kind: i32) -> &'static KindFacts {
    let kind = pb::DataSourceKind::try_from(kind).unwrap_or(pb::DataSourceKind::Other);
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&KINDS[KINDS.len() - 1].1, |(_, f)| f)
}

/// Builds the triples of the catalogue and its datasets.
pub struct GraphBuilder {
    minter: Minter,
    header: CatalogueHeader,
    custodians: HashMap<String, CustodianState>,
}

impl GraphBuilder {
    /// A builder for the catalogue described by `header`.
    pub fn new(minter: Minter, header: CatalogueHeader) -> Self {
        let custodians = header
            .custodians
            .iter()
            .map(|c| (c.id.clone(), c.clone()))
            .collect();
        Self {
            minter,
            header,
            custodians,
        }
    }

    /// The IRI minter.
    pub fn minter(&self) -> &Minter {
        &self.minter
    }

    /// The catalogue node, its publisher, and the shared vocabulary nodes the datasets point
    /// at (typed here because the validator loads no ontologies).
    pub fn catalogue(&self) -> Triples {
        let m = &self.minter;
        let mut t = Triples::default();
        let cat = m.catalogue();
        t.typed(&cat, DCAT_CATALOG);
        t.text(
            &cat,
            DCT_TITLE,
            "Nasjonal katalog over helsedatakilder",
            "nb",
        );
        t.text(
            &cat,
            DCT_TITLE,
            "National catalogue of health data sources",
            "en",
        );
        t.text(
            &cat,
            DCT_DESCRIPTION,
            "Helseregistre, kvalitetsregistre, helseundersøkelser og statistikk for sekundærbruk, slik hver dataforvalter publiserer dem nå.",
            "nb",
        );
        t.text(&cat, DCT_DESCRIPTION, &self.catalogue_state_text(), "en");
        t.iri(&cat, DCT_PUBLISHER, m.national_body().as_ref());
        t.iri(&cat, DCATAP_APPLICABLE_LEGISLATION, EHDS_REGULATION);
        t.iri(&cat, DCT_SPATIAL, COUNTRY_NORWAY);
        t.iri(&cat, DCAT_THEME_TAXONOMY, DATA_THEME_SCHEME);
        t.iri(&cat, DCT_LANGUAGE, LANGUAGE_BOKMAL);
        t.iri(&cat, DCT_LANGUAGE, LANGUAGE_ENGLISH);
        t.typed_literal(
            &cat,
            DCT_MODIFIED,
            self.header.generated_at.to_string(),
            XSD_DATE_TIME,
        );
        if let Some(home) = web_iri(m.base()) {
            t.add(&cat, FOAF_HOMEPAGE, home.clone());
            t.typed(&home, FOAF_DOCUMENT);
        }
        self.agent(
            &mut t,
            &m.national_body(),
            &self.header.publisher,
            "national-authority",
        );
        self.shared_nodes(&mut t);
        t
    }

    /// The catalogue's own description of its freshness: which custodians were stale, and
    /// since when.
    fn catalogue_state_text(&self) -> String {
        let stale: Vec<String> = self
            .header
            .custodians
            .iter()
            .filter(|c| c.freshness == pb::Freshness::Stale)
            .map(|c| match &c.stale_since {
                Some(since) => format!("{} (stale since {since})", c.id),
                None => format!("{} (stale)", c.id),
            })
            .collect();
        let missing = self.header.empty_handed();
        let mut text = format!(
            "Health registers, quality registers, health surveys and statistics for secondary use, as each custodian publishes them, merged at {} from {} custodians.",
            self.header.generated_at,
            self.header.custodians.len()
        );
        if !stale.is_empty() {
            text.push_str(&format!(
                " Served from the last good answer because the custodian did not answer: {}.",
                stale.join(", ")
            ));
        }
        if !missing.is_empty() {
            text.push_str(&format!(
                " No records could be served for: {}.",
                missing.join(", ")
            ));
        }
        text
    }

    fn shared_nodes(&self, t: &mut Triples) {
        for right in [ACCESS_NON_PUBLIC, ACCESS_PUBLIC] {
            t.typed(&right.into_owned(), DCT_RIGHTS_STATEMENT);
        }
        t.typed(&EHDS_REGULATION.into_owned(), ELI_LEGAL_RESOURCE);
        for (_, act) in legislation::ACTS {
            t.typed(&NamedNode::new_unchecked(*act), ELI_LEGAL_RESOURCE);
        }
        t.typed(&COUNTRY_NORWAY.into_owned(), DCT_LOCATION);
        let themes = DATA_THEME_SCHEME.into_owned();
        t.typed(&themes, SKOS_CONCEPT_SCHEME);
        t.text(&themes, DCT_TITLE, "Data theme", "en");
        for language in [LANGUAGE_BOKMAL, LANGUAGE_ENGLISH] {
            t.typed(&language.into_owned(), DCT_LINGUISTIC_SYSTEM);
        }
        let scheme = self.minter.source_kind_scheme();
        t.typed(&scheme, SKOS_CONCEPT_SCHEME);
        t.text(&scheme, SKOS_PREF_LABEL, "Datakildetyper", "nb");
        t.text(&scheme, SKOS_PREF_LABEL, "Kinds of data source", "en");
        t.text(&scheme, DCT_TITLE, "Datakildetyper", "nb");
        t.text(&scheme, DCT_TITLE, "Kinds of data source", "en");
        for (_, kind) in KINDS {
            let concept = self.minter.source_kind(kind.id);
            t.typed(&concept, SKOS_CONCEPT);
            t.add(&concept, SKOS_IN_SCHEME, scheme.clone());
            t.text(&concept, SKOS_PREF_LABEL, kind.nb, "nb");
            t.text(&concept, SKOS_PREF_LABEL, kind.en, "en");
        }
        t.add(
            &DPVPD_HEALTH.into_owned(),
            RDF_TYPE,
            DPV_PERSONAL_DATA.into_owned(),
        );
    }

    /// An agent with its name, publisher type and one contact point (a `cv:ContactPoint` that
    /// is also a `vcard:Kind`).
    fn agent(&self, t: &mut Triples, node: &NamedNode, agent: &Agent, publisher_type: &str) {
        t.typed(node, FOAF_AGENT);
        t.plain(node, FOAF_NAME, &agent.name);
        t.add(
            node,
            DCT_TYPE,
            NamedNode::new_unchecked(format!("{PUBLISHER_TYPE_NAL}{publisher_type}")),
        );
        let contact = NamedNode::new_unchecked(format!("{}/contact", node.as_str()));
        t.add(node, CV_CONTACT_POINT, contact.clone());
        t.typed(&contact, CV_CONTACT_POINT_CLASS);
        match &agent.contact {
            Contact::Email(email) => t.plain(&contact, CV_EMAIL, email),
            Contact::Page(url) => match web_iri(url) {
                Some(page) => t.add(&contact, CV_CONTACT_PAGE, page),
                None => t.plain(&contact, CV_EMAIL, url),
            },
        }
        // The same node is also a vCard, so harvesters that read DCAT-AP's `vcard:` contacts
        // find the e-mail or web address as an IRI.
        self.vcard(t, &contact, &agent.name, &agent.contact);
    }

    /// A `vcard:Kind` contact point with an e-mail or URL IRI.
    fn vcard(&self, t: &mut Triples, node: &NamedNode, name: &str, contact: &Contact) {
        t.typed(node, VCARD_KIND);
        t.plain(node, VCARD_FN, name);
        match contact {
            Contact::Email(email) => {
                if let Some(iri) = mailto_iri(email) {
                    t.add(node, VCARD_HAS_EMAIL, iri);
                }
            }
            Contact::Page(url) => {
                if let Some(iri) = web_iri(url) {
                    t.add(node, VCARD_HAS_URL, iri);
                }
            }
        }
    }

    /// The triples of one dataset, its catalogue record and the nodes only it points at.
    pub fn dataset(&self, d: &DatasetInput) -> Triples {
        let m = &self.minter;
        let s = &d.source;
        let id = s.id.as_str();
        let ds = m.dataset(id);
        let kind = kind_facts(s.kind);
        let mut t = Triples::default();
        let cat = m.catalogue();
        t.add(&cat, DCAT_DATASET_PROP, ds.clone());
        let record = m.part(id, &["record"]);
        t.add(&cat, DCAT_RECORD, record.clone());

        t.typed(&ds, DCAT_DATASET);
        t.plain(&ds, DCT_IDENTIFIER, id);
        let name = s.name.clone().unwrap_or_default();
        t.text(&ds, DCT_TITLE, &name.nb, "nb");
        t.text(&ds, DCT_TITLE, &name.en, "en");
        let description = s.description.clone().unwrap_or_default();
        let (desc_nb, desc_en) =
            if description.nb.trim().is_empty() && description.en.trim().is_empty() {
                (name.nb.clone(), name.en.clone())
            } else {
                (description.nb, description.en)
            };
        t.text(&ds, DCT_DESCRIPTION, &desc_nb, "nb");
        t.text(&ds, DCT_DESCRIPTION, &desc_en, "en");
        if name.nb.trim().is_empty() && name.en.trim().is_empty() {
            t.plain(&ds, DCT_TITLE, id);
        }
        if desc_nb.trim().is_empty() && desc_en.trim().is_empty() {
            t.plain(&ds, DCT_DESCRIPTION, id);
        }
        t.plain(&ds, DCT_ALTERNATIVE, &s.abbreviation);
        for alt in &s.alt_names {
            t.plain(&ds, DCT_ALTERNATIVE, alt);
        }

        for topic in &s.topics {
            t.text(&ds, DCAT_KEYWORD, topic, "en");
        }
        // The custodian's bokmål topics, where it gives them (a concept's label already among
        // the keywords is not repeated).
        for topic in s
            .localized_topics
            .iter()
            .filter(|topic| !d.keywords_nb.iter().any(|k| k.trim() == topic.nb.trim()))
        {
            t.text(&ds, DCAT_KEYWORD, &topic.nb, "nb");
        }
        for keyword in &d.keywords_en {
            t.text(&ds, DCAT_KEYWORD, keyword, "en");
        }
        for keyword in &d.keywords_nb {
            t.text(&ds, DCAT_KEYWORD, keyword, "nb");
        }
        t.text(&ds, DCAT_KEYWORD, kind.nb, "nb");
        t.text(&ds, DCAT_KEYWORD, kind.en, "en");

        let controller = s
            .controller
            .as_ref()
            .map(|o| o.name.trim())
            .filter(|n| !n.is_empty())
            .unwrap_or(s.custodian_id.as_str())
            .to_string();
        let publisher = m.part(id, &["publisher"]);
        t.add(&ds, DCT_PUBLISHER, publisher.clone());
        self.agent(
            &mut t,
            &publisher,
            &Agent {
                name: controller.clone(),
                contact: d.publisher_contact.clone(),
            },
            kind.publisher_type,
        );

        match &d.decider {
            Decider::National => t.add(&ds, HEALTH_HDAB, m.national_body()),
            Decider::Other(agent) => {
                let hdab = m.part(id, &["hdab"]);
                t.add(&ds, HEALTH_HDAB, hdab.clone());
                self.agent(&mut t, &hdab, agent, kind.publisher_type);
            }
        }

        t.iri(&ds, DCT_ACCESS_RIGHTS, ACCESS_NON_PUBLIC);
        let legal = s.legal_basis.clone().unwrap_or_default();
        let acts = legislation::act_iris(&legal.statutes);
        let legislate = |t: &mut Triples, node: &NamedNode| {
            t.iri(node, DCATAP_APPLICABLE_LEGISLATION, EHDS_REGULATION);
            for act in &acts {
                t.iri(node, DCATAP_APPLICABLE_LEGISLATION, *act);
            }
        };
        legislate(&mut t, &ds);
        t.iri(&ds, DCAT_THEME, THEME_HEALTH);
        let categories: Vec<String> = if d.health_categories.is_empty() {
            vec![format!("{HEALTH_CATEGORY_NAL}{}", kind.health_category)]
        } else {
            d.health_categories.clone()
        };
        for category in &categories {
            if let Ok(iri) = NamedNode::new(category.as_str()) {
                t.add(&ds, HEALTH_CATEGORY, iri);
            }
        }
        for theme in &d.health_themes {
            if let Ok(iri) = NamedNode::new(theme.as_str()) {
                t.add(&ds, HEALTH_THEME, iri);
            }
        }

        if let Some(years) = &s.coverage_years
            && (years.from_year.is_some() || years.to_year.is_some())
        {
            let period = m.part(id, &["coverage"]);
            t.add(&ds, DCT_TEMPORAL, period.clone());
            t.typed(&period, DCT_PERIOD_OF_TIME);
            if let Some(from) = years.from_year {
                t.typed_literal(
                    &period,
                    DCAT_START_DATE,
                    format!("{from:04}-01-01"),
                    XSD_DATE,
                );
            }
            if let Some(to) = years.to_year {
                t.typed_literal(&period, DCAT_END_DATE, format!("{to:04}-12-31"), XSD_DATE);
            }
        }
        if let Some(coverage) = &s.coverage {
            t.text(&ds, HEALTH_POPULATION_COVERAGE, &coverage.nb, "nb");
            t.text(&ds, HEALTH_POPULATION_COVERAGE, &coverage.en, "en");
        }

        t.add(&ds, DCT_TYPE, m.source_kind(kind.id));
        if s.kind == pb::DataSourceKind::StatisticsDataset as i32 {
            t.iri(&ds, DCT_TYPE, DATASET_TYPE_STATISTICAL);
        }

        let custodian = self.custodians.get(&d.provenance.custodian_id);
        let provenance = m.part(id, &["provenance"]);
        t.add(&ds, DCT_PROVENANCE, provenance.clone());
        t.typed(&provenance, DCT_PROVENANCE_STATEMENT);
        t.text(
            &provenance,
            RDFS_LABEL,
            &provenance_text(d, custodian),
            "en",
        );

        let contact = m.part(id, &["contact"]);
        t.add(&ds, DCAT_CONTACT_POINT, contact.clone());
        self.vcard(&mut t, &contact, &controller, &d.publisher_contact);

        let page = m.page(id);
        t.add(&ds, FOAF_PAGE, page.clone());
        t.add(&ds, DCAT_LANDING_PAGE, page.clone());
        t.typed(&page, FOAF_DOCUMENT);
        t.iri(&ds, DCT_SPATIAL, COUNTRY_NORWAY);
        t.iri(&ds, DCT_LANGUAGE, LANGUAGE_BOKMAL);
        if !name.en.trim().is_empty() || !desc_en.trim().is_empty() {
            t.iri(&ds, DCT_LANGUAGE, LANGUAGE_ENGLISH);
        }

        let application = m.part(id, &["distribution", "application"]);
        t.add(&ds, DCAT_DISTRIBUTION_PROP, application.clone());
        t.typed(&application, DCAT_DISTRIBUTION);
        t.text(&application, DCT_TITLE, "Søknad om tilgang", "nb");
        t.text(&application, DCT_TITLE, "Application for access", "en");
        t.text(
            &application,
            DCT_DESCRIPTION,
            "Individual-level data are made available after an approved application to the body that decides.",
            "en",
        );
        let access = web_iri(&d.application_url)
            .or_else(|| mailto_iri(&d.application_url))
            .unwrap_or_else(|| page.clone());
        t.add(&application, DCAT_ACCESS_URL, access);
        t.iri(&application, DCT_RIGHTS, ACCESS_NON_PUBLIC);
        legislate(&mut t, &application);

        if !s.open_statistics.trim().is_empty() {
            let open = m.part(id, &["distribution", "open-statistics"]);
            t.add(&ds, DCAT_DISTRIBUTION_PROP, open.clone());
            t.typed(&open, DCAT_DISTRIBUTION);
            t.text(&open, DCT_TITLE, "Åpen statistikk", "nb");
            t.text(&open, DCT_TITLE, "Open statistics", "en");
            t.text(&open, DCT_DESCRIPTION, &s.open_statistics, "en");
            let address = web_iri(&s.open_statistics_url).unwrap_or_else(|| page.clone());
            t.add(&open, DCAT_ACCESS_URL, address);
            t.iri(&open, DCT_RIGHTS, ACCESS_PUBLIC);
            legislate(&mut t, &open);
        }

        if !s.parent_id.is_empty() {
            t.add(&ds, DCT_IS_PART_OF, m.dataset(&s.parent_id));
        }
        for related in &s.related_ids {
            t.add(&ds, DCT_RELATION, m.dataset(related));
        }

        if personal_data(s.identifiability) {
            t.iri(&ds, DPV_HAS_PERSONAL_DATA, DPVPD_HEALTH);
        }
        let legal_text = legal_basis_text(&legal);
        if !legal_text.is_empty() {
            let basis = m.part(id, &["legal-basis"]);
            t.add(&ds, DPV_HAS_LEGAL_BASIS, basis.clone());
            t.typed(&basis, DPV_LEGAL_BASIS);
            t.text(&basis, DCT_DESCRIPTION, &legal_text, "nb");
        }

        self.variables(
            &mut t,
            &ds,
            id,
            &name,
            d.variables.as_deref().unwrap_or_default(),
        );

        let modified = custodian
            .and_then(|c| c.last_modified)
            .or_else(|| revision_date(&d.provenance.catalogue_revision));
        if let Some(modified) = &modified {
            t.typed_literal(&ds, DCT_MODIFIED, modified.to_string(), XSD_DATE_TIME);
        }

        t.typed(&record, DCAT_CATALOG_RECORD);
        t.add(&record, FOAF_PRIMARY_TOPIC, ds.clone());
        let fetched = d.provenance.fetched_at.unwrap_or(self.header.generated_at);
        t.typed_literal(&record, DCT_MODIFIED, fetched.to_string(), XSD_DATE_TIME);
        t.text(
            &record,
            DCT_DESCRIPTION,
            &provenance_text(d, custodian),
            "en",
        );
        t
    }

    fn variables(
        &self,
        t: &mut Triples,
        ds: &NamedNode,
        id: &str,
        name: &pb::LocalizedText,
        variables: &[pb::Variable],
    ) {
        t.typed_literal(
            ds,
            HEALTH_HAS_STRUCTURED_DATA,
            if variables.is_empty() {
                "false"
            } else {
                "true"
            },
            XSD_BOOLEAN,
        );
        if variables.is_empty() {
            return;
        }
        let group = self.minter.part(id, &["variables"]);
        let table = self.minter.part(id, &["variables", "table"]);
        t.add(ds, HEALTH_HAS_VARIABLES, group.clone());
        t.typed(&group, CSVW_TABLE_GROUP);
        t.text(
            &group,
            DCT_TITLE,
            &format!("Variabler i {}", name.nb.trim()),
            "nb",
        );
        t.text(
            &group,
            DCT_TITLE,
            &format!("Variables of {}", name.en.trim()),
            "en",
        );
        t.add(&group, CSVW_TABLE, table.clone());
        t.typed(&table, CSVW_TABLE_CLASS);
        t.text(&table, DCT_TITLE, "Variabelliste", "nb");
        t.text(&table, DCT_TITLE, "Variable list", "en");
        for v in variables {
            let column = self.minter.part(id, &["variables", "column", &v.name]);
            t.add(&table, CSVW_COLUMN, column.clone());
            t.typed(&column, CSVW_COLUMN_CLASS);
            t.plain(&column, CSVW_NAME, &v.name);
            let label = v.label.clone().unwrap_or_default();
            t.text(&column, CSVW_TITLE, &label.nb, "nb");
            t.text(&column, CSVW_TITLE, &label.en, "en");
            if label.nb.trim().is_empty() && label.en.trim().is_empty() {
                t.plain(&column, CSVW_TITLE, &v.name);
            }
            t.text(
                &column,
                DCT_DESCRIPTION,
                &variable_description(v, &label),
                "en",
            );
            t.plain(&column, CSVW_DATATYPE, csvw_datatype(v.value_type));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bokmal_topics_become_nb_keywords_beside_the_english_ones() {
        let agent = Agent {
            name: "Helsedataservice".into(),
            contact: Contact::Email("kontakt@example.no".into()),
        };
        let header = CatalogueHeader {
            publisher: agent.clone(),
            generated_at: prost_types::Timestamp::default(),
            custodians: Vec::new(),
        };
        let builder = GraphBuilder::new(
            Minter::new("https://katalog.example").expect("base"),
            header,
        );
        let twin = |nb: &str, en: &str| pb::LocalizedText {
            nb: nb.into(),
            en: en.into(),
        };
        let source = pb::DataSource {
            id: "krg".into(),
            custodian_id: "kreftregisteret".into(),
            topics: vec!["childhood cancer".into(), "lymphoma".into()],
            localized_topics: vec![
                twin("kreft hos barn", "childhood cancer"),
                twin("lymfom", "lymphoma"),
            ],
            ..Default::default()
        };
        let input = DatasetInput {
            source,
            provenance: pb::Provenance::default(),
            publisher_contact: agent.contact.clone(),
            decider: Decider::National,
            application_url: String::new(),
            health_categories: Vec::new(),
            health_themes: Vec::new(),
            keywords_nb: vec!["lymfom".into()],
            keywords_en: vec!["lymphoma".into()],
            variables: None,
        };
        let keywords: Vec<String> = builder
            .dataset(&input)
            .0
            .iter()
            .filter(|t| t.predicate.as_ref() == DCAT_KEYWORD)
            .map(|t| t.object.to_string())
            .collect();
        let count = |k: &str| keywords.iter().filter(|w| *w == k).count();
        assert_eq!(count("\"kreft hos barn\"@nb"), 1, "{keywords:?}");
        assert_eq!(count("\"childhood cancer\"@en"), 1, "{keywords:?}");
        assert_eq!(count("\"lymfom\"@nb"), 1, "{keywords:?}");
    }
}
