//! Every value a user can see states a fact about a data source, never a note about the
//! material the catalogue was written from; a linkage rule and a controller are facts too.
//!
//! The bundled data files are loaded through the stub's own loader and every string the
//! contract exposes (custodian, data sources, access rules, variables) is walked through the
//! contract's descriptors, so a field added to the contract later is scanned too. The string
//! values of the gateway's national rules are scanned the same way. Only files inside the
//! repository are read.

use std::path::{Path, PathBuf};

use helsedata::custodian_data::load::load_file;
use helsedata::proto::{self as pb, FILE_DESCRIPTOR_SET};
use prost_reflect::{DescriptorPool, DynamicMessage, Value};

/// Wording that describes source material or how the catalogue was written, with the reason
/// shown when it is found. Compared case-insensitively.
const BANNED: &[(&str, &str)] = &[
    (
        "seed",
        "speaks of source documents instead of stating the fact",
    ),
    (
        "catalogue page",
        "speaks of a catalogue page instead of stating the fact",
    ),
    (
        "catalogue entry",
        "speaks of a catalogue entry instead of stating the fact",
    ),
    (
        "katalogside",
        "speaks of a catalogue page instead of stating the fact",
    ),
    (
        "sub-dataset page",
        "speaks of a web page instead of stating the fact",
    ),
    (
        "on the page",
        "speaks of a web page instead of stating the fact",
    ),
    (
        "the page only",
        "speaks of a web page instead of stating the fact",
    ),
    (
        "entry heading",
        "speaks of a document's layout instead of stating the fact",
    ),
    (
        "hap table",
        "speaks of a document's layout instead of stating the fact",
    ),
    (
        "the slide",
        "speaks of a document's layout instead of stating the fact",
    ),
    (
        "implied by",
        "says how a fact was guessed instead of stating it",
    ),
    (
        "no paragraph given",
        "speaks of a document instead of stating the fact",
    ),
    (
        "price list not in",
        "speaks of a document instead of stating the fact",
    ),
    (
        "not taken from",
        "says where a fact was taken from instead of stating it",
    ),
    (
        "taken from",
        "says where a fact was taken from instead of stating it",
    ),
    (
        "from public sources",
        "says where a fact was taken from instead of stating it",
    ),
    ("discrepancies", "names a field of the data"),
];

/// Why `text` is not a fact a user should see, if it is not.
fn offence(text: &str) -> Option<String> {
    let folded = text.to_lowercase();
    let mut reasons: Vec<String> = BANNED
        .iter()
        .filter(|(word, _)| folded.contains(word))
        .map(|(word, why)| format!("`{word}` {why}"))
        .collect();
    // A value of one word is a code or a machine name (`mors_fodselsnummer`,
    // `deidentified_individual`); in a sentence, the same shape is a field name.
    let sentence = text.split_whitespace().nth(1).is_some();
    if let Some(name) = field_name_in(text).filter(|_| sentence) {
        reasons.push(format!("`{name}` names a field of the data"));
    }
    if text.contains('`') {
        reasons.push("a back-quoted name is a field or code name, not a fact".into());
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The first snake_case word (letters joined by `_`), the shape of a data field name.
fn field_name_in(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| {
            let parts: Vec<&str> = word.split('_').collect();
            parts.len() > 1
                && parts
                    .iter()
                    .all(|p| p.chars().any(|c| c.is_ascii_alphabetic()))
        })
}

/// One user-visible string and where it lives.
struct Found {
    file: PathBuf,
    field: String,
    text: String,
}

/// Collects every string of `message`, with its field path below `path`.
fn strings_of(message: &DynamicMessage, path: &str, out: &mut Vec<(String, String)>) {
    for (field, value) in message.fields() {
        strings_of_value(value, &format!("{path}.{}", field.name()), out);
    }
}

fn strings_of_value(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => out.push((path.to_string(), text.clone())),
        Value::Message(message) => strings_of(message, path, out),
        Value::List(values) => {
            for (i, v) in values.iter().enumerate() {
                strings_of_value(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::Map(entries) => {
            for (key, v) in entries {
                strings_of_value(v, &format!("{path}[{key:?}]"), out);
            }
        }
        _ => {}
    }
}

/// The strings of `message` read as the contract message `full_name`.
fn contract_strings<T: prost::Message>(
    pool: &DescriptorPool,
    full_name: &str,
    message: &T,
    path: &str,
) -> Vec<(String, String)> {
    let descriptor = pool
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("the contract has no message {full_name}"));
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic
        .transcode_from(message)
        .unwrap_or_else(|e| panic!("{full_name} reads as itself: {e}"));
    let mut out = Vec::new();
    strings_of(&dynamic, path, &mut out);
    out
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn national_rules_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/config/national-rules.toml")
}

/// Every user-visible string of every bundled data file, as the service would serve it.
fn bundled_strings() -> Vec<Found> {
    let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the contract's descriptors");
    let files = bundled_files();
    assert!(
        !files.is_empty(),
        "no data files in {}",
        data_dir().display()
    );
    let mut found = Vec::new();
    for (file, loaded) in files {
        let mut strings = contract_strings(
            &pool,
            "helsedata.federation.v1.CustodianInfo",
            &loaded.info,
            "custodian",
        );
        for bundle in &loaded.sources {
            let at = format!("source[{}]", bundle.source.id);
            strings.extend(contract_strings(
                &pool,
                "helsedata.federation.v1.DataSource",
                &bundle.source,
                &at,
            ));
            strings.extend(contract_strings(
                &pool,
                "helsedata.federation.v1.AccessRules",
                &bundle.access,
                &format!("{at}.access"),
            ));
            for variable in &bundle.variables {
                strings.extend(contract_strings(
                    &pool,
                    "helsedata.federation.v1.Variable",
                    variable,
                    &format!("{at}.variable[{}]", variable.name),
                ));
            }
        }
        found.extend(strings.into_iter().map(|(field, text)| Found {
            file: file.clone(),
            field,
            text,
        }));
    }
    found
}

fn toml_strings(value: &toml::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::String(text) => out.push((path.to_string(), text.clone())),
        toml::Value::Array(values) => {
            for (i, v) in values.iter().enumerate() {
                toml_strings(v, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (key, v) in table {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                toml_strings(v, &at, out);
            }
        }
        _ => {}
    }
}

/// Every string value of the national rules (all of them end up in plans and traces).
fn national_rules_strings() -> Vec<Found> {
    let file = national_rules_file();
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", file.display()));
    let mut strings = Vec::new();
    toml_strings(&value, "", &mut strings);
    strings
        .into_iter()
        .map(|(field, text)| Found {
            file: file.clone(),
            field,
            text,
        })
        .collect()
}

fn report(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .filter_map(|f| {
            offence(&f.text).map(|why| {
                format!(
                    "{}: field `{}`: {why}\n    {:?}",
                    f.file.display(),
                    f.field,
                    f.text
                )
            })
        })
        .collect()
}

#[test]
fn bundled_data_states_facts_not_notes_about_its_sources() {
    let found = bundled_strings();
    let descriptions = found
        .iter()
        .filter(|f| f.field.ends_with(".description.en"))
        .count();
    assert_eq!(
        descriptions, 104,
        "every data source's description is scanned"
    );
    assert!(
        found
            .iter()
            .any(|f| f.field.contains(".access.linkage.notes[")),
        "access rules are scanned"
    );
    assert!(
        found
            .iter()
            .any(|f| f.field.contains(".variable[") && f.field.ends_with(".label.nb")),
        "variables are scanned"
    );
    let offences = report(&found);
    assert!(
        offences.is_empty(),
        "{} user-visible values are not plain facts:\n{}",
        offences.len(),
        offences.join("\n")
    );
}

#[test]
fn national_rules_state_facts_not_notes_about_their_sources() {
    let found = national_rules_strings();
    assert!(
        found
            .iter()
            .any(|f| f.field.starts_with("helsedataservice.summary")),
        "the national rules' texts are scanned"
    );
    let offences = report(&found);
    assert!(
        offences.is_empty(),
        "{} national rule texts are not plain facts:\n{}",
        offences.len(),
        offences.join("\n")
    );
}

#[test]
fn the_check_flags_notes_about_sources_and_passes_plain_facts() {
    for note in [
        "Seedene nevner det bare i planen for Helseanalyseplattformen.",
        "Helsedirektoratet (implied by its delivery deadlines)",
        "helseregisterloven (no paragraph given)",
        "The catalogue page does not say who processes the application.",
        "who_processes inferred from controller",
        "Application handling (price list not in the seeds).",
    ] {
        assert!(offence(note).is_some(), "not flagged: {note}");
    }
    for fact in [
        "Folkehelseinstituttet (FHI) has held the register since 2024-01-01; Helsedirektoratet held it before.",
        "No price list is published.",
        "Data are delivered within 30 days of a complete application.",
        "helseregisterloven § 11",
    ] {
        assert_eq!(offence(fact), None, "flagged: {fact}");
    }
}

/// Every bundled data file, loaded through the stub's loader.
fn bundled_files() -> Vec<(PathBuf, helsedata::custodian_data::load::LoadedCatalogue)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("the data directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let loaded = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
            (file, loaded)
        })
        .collect()
}

#[test]
fn linkage_is_allowed_only_with_a_stated_basis() {
    let mut unfounded = Vec::new();
    let mut allowed = 0;
    for (file, loaded) in bundled_files() {
        for bundle in &loaded.sources {
            let linkage = bundle.access.linkage.clone().unwrap_or_default();
            if linkage.policy != pb::LinkagePolicy::Allowed as i32 {
                continue;
            }
            allowed += 1;
            if linkage.notes.iter().all(|n| n.trim().is_empty()) {
                unfounded.push(format!(
                    "{}: field `source[{}].access.linkage.policy`: \"allowed\" without a note stating the published rule; use \"unknown\" and say why",
                    file.display(),
                    bundle.source.id
                ));
            }
        }
    }
    assert!(allowed > 0, "some sources publish a linkage rule");
    assert!(unfounded.is_empty(), "{}", unfounded.join("\n"));
}

#[test]
fn a_controller_is_a_legal_body_not_a_register() {
    let files = bundled_files();
    let register_names: Vec<String> = files
        .iter()
        .flat_map(|(_, loaded)| &loaded.sources)
        .flat_map(|b| {
            let name = b.source.name.clone().unwrap_or_default();
            [name.nb, name.en, b.source.abbreviation.clone()]
        })
        .filter(|n| !n.is_empty())
        .collect();
    let mut wrong = Vec::new();
    for (file, loaded) in &files {
        for bundle in &loaded.sources {
            let controller = bundle.source.controller.clone().unwrap_or_default();
            if register_names.contains(&controller.name) {
                wrong.push(format!(
                    "{}: field `source[{}].controller.name`: `{}` is a register, not a legal body",
                    file.display(),
                    bundle.source.id,
                    controller.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
