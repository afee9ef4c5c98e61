//! Deterministic synthetic catalogues.
//!
//! Every custodian process builds its own catalogue from `(custodian index, number of
//! sources, number of variables, payload size)` alone, so nothing is shipped between
//! processes and the load generator can regenerate any source to know what a query must
//! find. Randomness is a SplitMix64 stream seeded per source: the same source always comes
//! out the same, whatever else is generated.
//!
//! Words come from two fixed vocabularies (Norwegian-like and English-like, built from
//! syllables, with `æ`, `ø` and `å` so that text folding is exercised) of [`VOCABULARY`]
//! words each. Variables are kept compact (short names and labels, no free text) because a
//! national-scale run holds ten million of them.
//!
//! Each source is tagged with one or two concepts of the gateway's bundled health concept
//! vocabulary, so that a concept search at national scale expands labels and narrower
//! concepts over a realistic share of the catalogue (a concept covers about one source in
//! a few hundred).

use std::sync::OnceLock;

use custodian_stub::catalogue::Catalogue;
use helsedata::custodian_data::SourceBundle;
use helsedata::proto as pb;

/// Seed of every stream.
pub const SEED: u64 = 0x4845_4c53_4544_4154;
/// Words per vocabulary.
pub const VOCABULARY: usize = 8192;

/// SplitMix64: a tiny, good-enough, deterministic generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range_i32(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as usize) as i32
    }
}

const NB_SYLLABLES: &[&str] = &[
    "fød", "sel", "vekt", "kreft", "blod", "trykk", "hjer", "te", "lun", "ge", "ny", "re", "le",
    "ver", "diag", "no", "se", "be", "hand", "ling", "syk", "dom", "pasi", "ent", "al", "der",
    "kjønn", "bo", "sted", "kom", "mu", "ne", "da", "to", "inn", "legg", "el", "ut", "skriv",
    "ning", "opp", "hold", "medi", "sin", "do", "tann", "hel", "barn", "mor", "far", "svan", "ger",
    "skap", "uke", "ti", "me", "lab", "prø", "svar", "høy", "de", "røy", "king", "arb", "eid",
    "sko", "lå", "vakt", "akutt", "kir", "ur", "gi", "ope", "ra", "sjon", "in", "ten", "siv",
    "psyk", "rus", "død", "år", "sak", "bryst", "tarm", "hud", "øye", "øre", "nese", "hals",
    "mage", "fot", "hånd", "arm", "ben", "rygg", "hode", "nerv", "muskel", "ledd", "sene", "celle",
    "gen", "vev", "prøve", "bilde", "rønt", "gen", "ultra", "lyd", "resept", "apo", "tek", "fast",
    "lege", "sykehus", "poli", "kli", "nikk", "avd", "eling", "sen", "ter",
];

const EN_SYLLABLES: &[&str] = &[
    "birth", "weight", "blood", "press", "ure", "heart", "lung", "kid", "ney", "liver", "diag",
    "no", "sis", "treat", "ment", "age", "sex", "resi", "dence", "muni", "cipal", "date", "ad",
    "mis", "sion", "dis", "charge", "oper", "ation", "dose", "tooth", "child", "mother", "father",
    "preg", "nancy", "week", "lab", "test", "result", "height", "smok", "ing", "alco", "hol",
    "work", "school", "income", "doctor", "acute", "surg", "ery", "inten", "sive", "psych",
    "death", "cause", "breast", "bowel", "skin", "eye", "ear", "nose", "throat", "stomach", "foot",
    "hand", "arm", "leg", "back", "head", "nerve", "muscle", "joint", "tendon", "cell", "gene",
    "tissue", "sample", "image", "x", "ray", "ultra", "sound", "pre", "scrip", "tion", "phar",
    "macy", "general", "prac", "titioner", "hospital", "out", "patient", "ward", "unit", "centre",
    "stay", "length", "visit", "code", "group", "status", "type", "level", "count",
];

const UNITS: &[&str] = &[
    "", "", "", "", "g", "kg", "cm", "years", "mmHg", "mmol/L", "days",
];
const CODE_SYSTEMS: &[&str] = &[
    "ICD-10",
    "ATC",
    "NCSP",
    "ICPC-2",
    "ICD-O-3",
    "municipality codes",
];
const SOURCE_SUFFIX_NB: &[&str] = &[
    "registeret",
    "undersøkelsen",
    "databasen",
    "statistikken",
    "kohorten",
];
const SOURCE_SUFFIX_EN: &[&str] = &["registry", "survey", "database", "statistics", "cohort"];

/// The two vocabularies, and an ASCII form of the Norwegian one for machine names.
#[derive(Debug)]
pub struct Vocabulary {
    /// Norwegian-like words.
    pub nb: Vec<String>,
    /// The same words folded to ASCII (`ø` → `o`…), for variable names.
    pub nb_ascii: Vec<String>,
    /// English-like words.
    pub en: Vec<String>,
}

fn build_words(syllables: &[&str], seed: u64) -> Vec<String> {
    let mut rng = SplitMix64::new(seed);
    let mut seen = std::collections::HashSet::with_capacity(VOCABULARY * 2);
    let mut words = Vec::with_capacity(VOCABULARY);
    // Bounded: 2 to 4 syllables from ~130 give far more than enough distinct words.
    for _ in 0..VOCABULARY * 64 {
        if words.len() == VOCABULARY {
            break;
        }
        let parts = 2 + rng.below(3);
        let word: String = (0..parts)
            .map(|_| syllables[rng.below(syllables.len())])
            .collect();
        if word.chars().count() >= 4 && seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

/// The vocabularies (built once per process, identical in every process).
pub fn vocabulary() -> &'static Vocabulary {
    static VOCAB: OnceLock<Vocabulary> = OnceLock::new();
    VOCAB.get_or_init(|| {
        let nb = build_words(NB_SYLLABLES, SEED ^ 1);
        let nb_ascii = nb.iter().map(|w| helsedata::text::fold(w)).collect();
        let en = build_words(EN_SYLLABLES, SEED ^ 2);
        Vocabulary { nb, nb_ascii, en }
    })
}

/// The gateway's bundled health concept vocabulary (parsed once per process).
pub fn concepts() -> &'static helsedata::concepts::Vocabulary {
    static CONCEPTS: OnceLock<helsedata::concepts::Vocabulary> = OnceLock::new();
    CONCEPTS.get_or_init(|| {
        helsedata::concepts::Vocabulary::from_toml(
            "gateway/config/health-concepts.toml (built in)",
            gateway::concepts::BUNDLED,
        )
        .expect("the bundled concept vocabulary is valid (the gateway's own tests check it)")
    })
}

/// The concept ids source `n` of custodian `c` is tagged with (one or two).
fn concept_tags(rng: &mut SplitMix64) -> Vec<String> {
    let all = concepts().concepts();
    if all.is_empty() {
        return Vec::new();
    }
    let first = rng.below(all.len());
    let mut tags = vec![all[first].id.clone()];
    if rng.below(2) == 0 {
        let second = rng.below(all.len());
        if second != first {
            tags.push(all[second].id.clone());
        }
    }
    tags
}

/// Custodian id of index `c`.
pub fn custodian_id(c: usize) -> String {
    format!("c{c}")
}

/// The `owns` pattern of custodian `c`.
pub fn ownership(c: usize) -> String {
    format!("c{c}-*")
}

/// Id of source `n` of custodian `c`.
pub fn source_id(c: usize, n: usize) -> String {
    format!("c{c}-{n:06}")
}

/// Abbreviation of source `n` of custodian `c`: unique, one search word (`c3s000042`).
pub fn abbreviation(c: usize, n: usize) -> String {
    format!("C{c}S{n:06}")
}

/// How the whole synthetic federation is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of custodians.
    pub custodians: usize,
    /// Sources over all custodians (spread evenly; the first custodians get the remainder).
    pub sources: usize,
    /// Variables over all sources (spread evenly over sources).
    pub variables: usize,
    /// Approximate bytes of description text per source.
    pub payload: usize,
}

fn share(total: usize, parts: usize, i: usize) -> usize {
    let parts = parts.max(1);
    total / parts + usize::from(i < total % parts)
}

impl Shape {
    /// Sources of custodian `c`.
    pub fn sources_of(&self, c: usize) -> usize {
        share(self.sources, self.custodians, c)
    }

    /// Variables of custodian `c` (spread evenly over its sources).
    pub fn variables_of(&self, c: usize) -> usize {
        share(self.variables, self.custodians, c)
    }

    /// Global number of source `n` of custodian `c` (sources are dealt round-robin).
    #[cfg(test)]
    pub fn global(&self, c: usize, n: usize) -> usize {
        n * self.custodians + c
    }

    /// The custodian and local number of global source `g`.
    pub fn locate(&self, g: usize) -> (usize, usize) {
        (g % self.custodians.max(1), g / self.custodians.max(1))
    }

    /// Variables of source `n` of custodian `c`.
    pub fn source_variables(&self, c: usize, n: usize) -> usize {
        variables_of_source(self.variables_of(c), self.sources_of(c), n)
    }
}

/// Variables of source `n` of a custodian holding `variables` over `sources` sources.
pub fn variables_of_source(variables: usize, sources: usize, n: usize) -> usize {
    share(variables, sources, n)
}

fn source_seed(c: usize, n: usize) -> u64 {
    let mut mix = SplitMix64::new(SEED ^ ((c as u64) << 40) ^ n as u64);
    mix.next_u64()
}

fn pick<'a>(rng: &mut SplitMix64, list: &'a [String]) -> &'a str {
    &list[rng.below(list.len())]
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn text_of(rng: &mut SplitMix64, words: &[String], bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 16);
    // Bounded: every word adds at least four bytes.
    while out.len() < bytes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(pick(rng, words));
    }
    out
}

fn variable(rng: &mut SplitMix64, vocab: &Vocabulary, source_id: &str, k: usize) -> pb::Variable {
    let (a, b, c) = (
        rng.below(vocab.nb.len()),
        rng.below(vocab.nb.len()),
        rng.below(vocab.nb.len()),
    );
    let name = format!("{}_{}_{k}", vocab.nb_ascii[a], vocab.nb_ascii[b]);
    let value_type = rng.range_i32(1, 8);
    let code_system = if value_type == pb::ValueType::Code as i32 {
        CODE_SYSTEMS[rng.below(CODE_SYSTEMS.len())]
    } else {
        ""
    };
    let from = rng.range_i32(1967, 2015);
    pb::Variable {
        id: format!("{source_id}/{name}"),
        data_source_id: source_id.to_string(),
        name,
        label: Some(pb::LocalizedText {
            nb: format!("{} {} {}", vocab.nb[a], vocab.nb[b], vocab.nb[c]),
            en: format!("{} {}", pick(rng, &vocab.en), pick(rng, &vocab.en)),
        }),
        value_type,
        unit: UNITS[rng.below(UNITS.len())].to_string(),
        code_system: code_system.to_string(),
        valid_years: Some(pb::YearRange {
            from_year: Some(from),
            to_year: (rng.below(4) == 0).then(|| from + rng.range_i32(1, 10)),
        }),
        identifiability: rng.range_i32(1, 3),
        documentation: rng.range_i32(1, 2),
    }
}

/// Source `n` of custodian `c` with its access rules and `variables` variables.
pub fn source_bundle(c: usize, n: usize, variables: usize, payload: usize) -> SourceBundle {
    let vocab = vocabulary();
    let mut rng = SplitMix64::new(source_seed(c, n));
    let id = source_id(c, n);
    let suffix = rng.below(SOURCE_SUFFIX_NB.len());
    let (w1, w2) = (rng.below(vocab.nb.len()), rng.below(vocab.nb.len()));
    let (e1, e2) = (rng.below(vocab.en.len()), rng.below(vocab.en.len()));
    let from = rng.range_i32(1950, 2020);
    let source = pb::DataSource {
        id: id.clone(),
        custodian_id: custodian_id(c),
        name: Some(pb::LocalizedText {
            nb: format!(
                "{} {}{}",
                capitalised(&vocab.nb[w1]),
                vocab.nb[w2],
                SOURCE_SUFFIX_NB[suffix]
            ),
            en: format!(
                "{} {} {}",
                capitalised(&vocab.en[e1]),
                vocab.en[e2],
                SOURCE_SUFFIX_EN[suffix]
            ),
        }),
        abbreviation: abbreviation(c, n),
        alt_names: vec![format!(
            "{} {}",
            pick(&mut rng, &vocab.nb),
            pick(&mut rng, &vocab.nb)
        )],
        kind: rng.range_i32(1, 6),
        controller: Some(pb::Organisation {
            name: format!("Syntetisk forvalter {c}"),
            basis: pb::FactBasis::Stated as i32,
            note: String::new(),
            ..Default::default()
        }),
        legal_basis: Some(pb::LegalBasis {
            statutes: vec!["helseregisterloven § 11".into()],
            ..Default::default()
        }),
        consent: rng.range_i32(1, 3),
        identifiability: rng.range_i32(1, 6),
        coverage_years: Some(pb::YearRange {
            from_year: Some(from),
            to_year: (rng.below(3) == 0).then(|| from + rng.range_i32(0, 5)),
        }),
        description: Some(pb::LocalizedText {
            nb: text_of(&mut rng, &vocab.nb, payload),
            en: String::new(),
        }),
        topics: vec![
            pick(&mut rng, &vocab.en).to_string(),
            pick(&mut rng, &vocab.en).to_string(),
        ],
        biomaterial: rng.range_i32(1, 3),
        hap_phase: rng.range_i32(1, 8),
        variable_count: variables as u32,
        concepts: concept_tags(&mut rng),
        ..Default::default()
    };
    let access = pb::AccessRules {
        data_source_id: id.clone(),
        route: Some(pb::ApplicationRoute {
            channel: rng.range_i32(1, 5),
            processed_by: "Helsedataservice".into(),
            url: format!("https://example.invalid/{id}/apply"),
            basis: pb::FactBasis::Stated as i32,
            note: String::new(),
            ..Default::default()
        }),
        delivered_by: format!("Syntetisk forvalter {c}"),
        contact_email: format!("data@c{c}.example.invalid"),
        deadlines: vec![pb::Deadline {
            applies_to: "all applications".into(),
            days: Some(60),
            working_days: false,
            text: "60 days".into(),
            data_level: pb::DataLevel::Unspecified as i32,
            ..Default::default()
        }],
        prices: vec![pb::Price {
            invoiced_by: format!("Syntetisk forvalter {c}"),
            text: "per hour of work".into(),
            amount_nok: Some(1_250.0),
            unit: "hour".into(),
            minimum_units: Some(2.0),
            ..Default::default()
        }],
        linkage: Some(pb::LinkageRules {
            policy: rng.range_i32(1, 5),
            linked_by: "SSB".into(),
            notes: Vec::new(),
            ..Default::default()
        }),
        conditional_routes: Vec::new(),
        contact_before_applying: rng.below(2) == 0,
        requirements: vec!["REK approval".into()],
        notes: Vec::new(),
        ..Default::default()
    };
    // Variables come from their own stream, so that they do not depend on the payload.
    let mut rng = SplitMix64::new(source_seed(c, n) ^ 0x5641_5249_4142_4c45);
    let variables = (0..variables)
        .map(|k| variable(&mut rng, vocab, &id, k))
        .collect();
    SourceBundle {
        source,
        access,
        variables,
    }
}

/// The indexed catalogue of custodian `c`: `sources` sources holding `variables` variables
/// in all (spread evenly).
pub fn catalogue(c: usize, sources: usize, variables: usize, payload: usize) -> Catalogue {
    let (info, bundles) = custodian(c, sources, variables, payload);
    Catalogue::new(info, bundles)
}

/// What [`catalogue`] indexes: custodian `c`'s facts and sources.
pub fn custodian(
    c: usize,
    sources: usize,
    variables: usize,
    payload: usize,
) -> (pb::CustodianInfo, Vec<SourceBundle>) {
    let bundles = (0..sources)
        .map(|n| source_bundle(c, n, variables_of_source(variables, sources, n), payload))
        .collect();
    let info = pb::CustodianInfo {
        id: custodian_id(c),
        name: Some(pb::LocalizedText {
            nb: format!("Syntetisk forvalter {c}"),
            en: format!("Synthetic custodian {c}"),
        }),
        contact_email: format!("data@c{c}.example.invalid"),
        website: format!("https://c{c}.example.invalid"),
        catalogue_revision: format!("synthetic-{sources}-{variables}-{payload}"),
        last_modified: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        data_source_count: 0,
        variable_count: 0,
        reload_error: None,
    };
    (info, bundles)
}

/// A search for variables that finds at least one: one or two words of the Norwegian
/// label of a variable of source `n` of custodian `c`.
pub fn variable_query(c: usize, n: usize, variables: usize, pick_seed: u64) -> String {
    let bundle = source_bundle(c, n, variables, 0);
    let mut rng = SplitMix64::new(pick_seed);
    let Some(variable) = bundle
        .variables
        .get(rng.below(bundle.variables.len().max(1)))
    else {
        return vocabulary().nb[0].clone();
    };
    let label = variable
        .label
        .as_ref()
        .map(|l| l.nb.clone())
        .unwrap_or_default();
    let words: Vec<&str> = label.split(' ').collect();
    if pick_seed.is_multiple_of(2) || words.len() < 2 {
        words.first().copied().unwrap_or_default().to_string()
    } else {
        format!("{} {}", words[0], words[1])
    }
}

/// A search for sources that finds source `n` of custodian `c`: its abbreviation
/// (`exact`) or the first word of its Norwegian name.
pub fn source_query(c: usize, n: usize, exact: bool) -> String {
    if exact {
        return abbreviation(c, n);
    }
    let bundle = source_bundle(c, n, 0, 0);
    bundle
        .source
        .name
        .and_then(|name| name.nb.split(' ').next().map(str::to_string))
        .unwrap_or_default()
}

/// A concept search: the preferred label (nb or en, by `pick_seed`) of a concept at least
/// one synthetic source is tagged with, directly or through a narrower concept.
pub fn concept_query(pick_seed: u64) -> String {
    let all = concepts().concepts();
    let mut rng = SplitMix64::new(pick_seed);
    let concept = &all[rng.below(all.len())];
    if rng.below(2) == 0 {
        concept.nb.preferred.clone()
    } else {
        concept.en.preferred.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = source_bundle(2, 7, 5, 100);
        let b = source_bundle(2, 7, 5, 100);
        assert_eq!(a.source, b.source);
        assert_eq!(a.variables, b.variables);
        assert_eq!(a.variables.len(), 5);
        assert!(a.source.description.as_ref().unwrap().nb.len() >= 100);
        assert_eq!(vocabulary().nb.len(), VOCABULARY);
        assert_eq!(vocabulary().en.len(), VOCABULARY);
    }

    #[test]
    fn shape_spreads_evenly() {
        let shape = Shape {
            custodians: 3,
            sources: 10,
            variables: 101,
            payload: 0,
        };
        let sources: usize = (0..3).map(|c| shape.sources_of(c)).sum();
        let variables: usize = (0..3).map(|c| shape.variables_of(c)).sum();
        assert_eq!((sources, variables), (10, 101));
        assert_eq!(shape.locate(shape.global(2, 3)), (2, 3));
    }

    #[test]
    fn queries_find_what_they_were_made_from() {
        let catalogue = catalogue(1, 4, 40, 0);
        let req = pb::SearchVariablesRequest {
            query: variable_query(1, 2, 10, 3),
            ..Default::default()
        };
        assert!(catalogue.search_variables(&req).unwrap().total_size >= 1);
        let list = pb::ListDataSourcesRequest {
            filter: Some(pb::DataSourceFilter {
                text: source_query(1, 3, true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let found = catalogue.list_sources(&list).unwrap();
        assert_eq!(found.data_sources[0].id, source_id(1, 3));
    }
}
