//! What is searchable in a data source and in a variable, field by field, with the boosts
//! that rank matches: abbreviation and name above alternative names, above concepts and
//! topics (in English and, where the custodian gives them, bokmål), above the description.

use crate::{concepts::Vocabulary, proto as pb};

use super::{
    analysis::Analysis::{Code, En, Nb},
    index::{FieldSpec, SearchDocument},
};

/// The searchable fields of a data source.
pub static SOURCE_FIELDS: [FieldSpec; 14] = [
    FieldSpec {
        name: "abbreviation",
        analysis: Code,
        boost: 6.0,
    },
    FieldSpec {
        name: "identifier",
        analysis: Code,
        boost: 4.0,
    },
    FieldSpec {
        name: "name_nb",
        analysis: Nb,
        boost: 4.0,
    },
    FieldSpec {
        name: "name_en",
        analysis: En,
        boost: 4.0,
    },
    FieldSpec {
        name: "alt_name_nb",
        analysis: Nb,
        boost: 3.0,
    },
    FieldSpec {
        name: "alt_name_en",
        analysis: En,
        boost: 3.0,
    },
    FieldSpec {
        name: "concept_nb",
        analysis: Nb,
        boost: 2.0,
    },
    FieldSpec {
        name: "concept_en",
        analysis: En,
        boost: 2.0,
    },
    FieldSpec {
        name: "topic_en",
        analysis: En,
        boost: 2.0,
    },
    FieldSpec {
        name: "topic_nb",
        analysis: Nb,
        boost: 2.0,
    },
    FieldSpec {
        name: "broader_concept_nb",
        analysis: Nb,
        boost: 1.2,
    },
    FieldSpec {
        name: "broader_concept_en",
        analysis: En,
        boost: 1.2,
    },
    FieldSpec {
        name: "description_nb",
        analysis: Nb,
        boost: 0.5,
    },
    FieldSpec {
        name: "description_en",
        analysis: En,
        boost: 0.5,
    },
];

const ABBREVIATION: usize = 0;
const IDENTIFIER: usize = 1;
const NAME_NB: usize = 2;
const NAME_EN: usize = 3;
const ALT_NB: usize = 4;
const ALT_EN: usize = 5;
const CONCEPT_NB: usize = 6;
const CONCEPT_EN: usize = 7;
const TOPIC_EN: usize = 8;
const TOPIC_NB: usize = 9;
const BROADER_NB: usize = 10;
const BROADER_EN: usize = 11;
const DESCRIPTION_NB: usize = 12;
const DESCRIPTION_EN: usize = 13;

/// The searchable text of a data source. The labels of its concepts (every label, both
/// languages) are indexed, and those of every broader concept at a lower weight, so that a
/// search for a concept finds the sources tagged with it or with any narrower one. Concept
/// ids the vocabulary does not know add nothing.
pub fn data_source_document(source: &pb::DataSource, vocabulary: &Vocabulary) -> SearchDocument {
    let mut doc = SearchDocument::default();
    doc.push(ABBREVIATION, &source.abbreviation);
    for identifier in &source.identifiers {
        doc.push(IDENTIFIER, &identifier.value);
    }
    if let Some(name) = &source.name {
        doc.push(NAME_NB, &name.nb);
        doc.push(NAME_EN, &name.en);
    }
    for alt in &source.alt_names {
        doc.push(ALT_NB, alt);
        doc.push(ALT_EN, alt);
    }
    let mut seen: Vec<&str> = Vec::new();
    for id in &source.concepts {
        for (depth, concept) in vocabulary.with_broader(id).into_iter().enumerate() {
            if seen.contains(&concept.id.as_str()) {
                continue;
            }
            seen.push(&concept.id);
            let (nb, en) = if depth == 0 {
                (CONCEPT_NB, CONCEPT_EN)
            } else {
                (BROADER_NB, BROADER_EN)
            };
            for label in concept.nb.all() {
                doc.push(nb, label);
            }
            for label in concept.en.all() {
                doc.push(en, label);
            }
        }
    }
    for topic in &source.topics {
        doc.push(TOPIC_EN, topic);
    }
    for topic in &source.localized_topics {
        doc.push(TOPIC_NB, &topic.nb);
    }
    if let Some(description) = &source.description {
        doc.push(DESCRIPTION_NB, &description.nb);
        doc.push(DESCRIPTION_EN, &description.en);
    }
    doc.push(DESCRIPTION_NB, &source.kind_as_stated);
    doc
}

/// The searchable fields of a variable.
pub static VARIABLE_FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        name: "name",
        analysis: Code,
        boost: 3.0,
    },
    FieldSpec {
        name: "label_nb",
        analysis: Nb,
        boost: 3.0,
    },
    FieldSpec {
        name: "label_en",
        analysis: En,
        boost: 3.0,
    },
    FieldSpec {
        name: "code_system",
        analysis: Code,
        boost: 2.0,
    },
    FieldSpec {
        name: "unit",
        analysis: Code,
        boost: 1.0,
    },
];

/// The searchable text of a variable: name, labels in nb and en, code system and unit.
pub fn variable_document(variable: &pb::Variable) -> SearchDocument {
    let mut doc = SearchDocument::default();
    doc.push(0, &variable.name);
    if let Some(label) = &variable.label {
        doc.push(1, &label.nb);
        doc.push(2, &label.en);
    }
    doc.push(3, &variable.code_system);
    doc.push(4, &variable.unit);
    doc
}
