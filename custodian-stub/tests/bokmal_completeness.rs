//! Every bundled data file is complete in Norwegian bokmål: each non-empty English text a
//! custodian publishes has a non-empty bokmål version (its `_nb` key), and every variable has
//! a bokmål label.
//!
//! The bundled files are loaded through the stub's own loader and the served messages are
//! walked through the contract's descriptors: every field `localized_X` is the bokmål twin of
//! its sibling `X` (a string or a list of strings), so a twin added to the contract later is
//! checked too.

use std::path::{Path, PathBuf};

use helsedata::custodian_data::load::{LoadedCatalogue, load_file, load_str};
use helsedata::proto::FILE_DESCRIPTOR_SET;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, Value};

const LOCALIZED: &str = "localized_";

/// The bokmål of a `LocalizedText` value, when it is one.
fn nb_of(value: &Value) -> Option<String> {
    let message = value.as_message()?;
    message
        .get_field_by_name("nb")
        .and_then(|nb| nb.as_str().map(str::to_string))
}

/// Each English text of `message` (and of the messages inside it) that lacks its bokmål
/// version, as `path: text (key_nb)`.
fn missing_in(message: &DynamicMessage, path: &str, out: &mut Vec<String>) {
    for field in message.descriptor().fields() {
        let name = field.name();
        let value = message.get_field(&field);
        if let Some(english) = name.strip_prefix(LOCALIZED) {
            let Some(plain) = message.get_field_by_name(english) else {
                continue;
            };
            let wanted = format!("{english}_nb");
            match (plain.as_ref(), value.as_ref()) {
                (Value::String(text), twin) => {
                    let has_nb = message.has_field(&field)
                        && nb_of(twin).is_some_and(|nb| !nb.trim().is_empty());
                    if !text.trim().is_empty() && !has_nb {
                        out.push(format!(
                            "{path}.{english}: `{text}` has no bokmål ({wanted})"
                        ));
                    }
                }
                (Value::List(texts), Value::List(twins)) => {
                    for (i, text) in texts.iter().enumerate() {
                        let text = text.as_str().unwrap_or_default();
                        let has_nb = twins
                            .get(i)
                            .and_then(nb_of)
                            .is_some_and(|nb| !nb.trim().is_empty());
                        if !text.trim().is_empty() && !has_nb {
                            out.push(format!(
                                "{path}.{english}[{i}]: `{text}` has no bokmål ({wanted})"
                            ));
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        match value.as_ref() {
            Value::Message(inner) if message.has_field(&field) => {
                if inner.descriptor().name() == "LocalizedText" {
                    let en = inner
                        .get_field_by_name("en")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let nb = nb_of(&value).unwrap_or_default();
                    if !en.trim().is_empty() && nb.trim().is_empty() {
                        out.push(format!("{path}.{name}: `{en}` has no bokmål"));
                    }
                } else {
                    missing_in(inner, &format!("{path}.{name}"), out);
                }
            }
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(inner) = item.as_message()
                        && inner.descriptor().name() != "LocalizedText"
                    {
                        missing_in(inner, &format!("{path}.{name}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `message` read as the contract message `full_name`.
fn read<T: prost::Message>(pool: &DescriptorPool, full_name: &str, message: &T) -> DynamicMessage {
    let descriptor = pool
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("the contract has no message {full_name}"));
    DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("{full_name} reads as itself: {e}"))
}

/// Every text of a loaded file that lacks its bokmål version.
fn missing(loaded: &LoadedCatalogue) -> Vec<String> {
    let pool = DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the contract's descriptors");
    let mut out = Vec::new();
    missing_in(
        &read(&pool, "helsedata.federation.v1.CustodianInfo", &loaded.info),
        "custodian",
        &mut out,
    );
    for bundle in &loaded.sources {
        let at = format!("source[{}]", bundle.source.id);
        let source = read(&pool, "helsedata.federation.v1.DataSource", &bundle.source);
        missing_in(&source, &at, &mut out);
        let access = read(&pool, "helsedata.federation.v1.AccessRules", &bundle.access);
        missing_in(&access, &format!("{at}.access"), &mut out);
        for variable in &bundle.variables {
            let at = format!("{at}.variable[{}]", variable.name);
            let variable = read(&pool, "helsedata.federation.v1.Variable", variable);
            missing_in(&variable, &at, &mut out);
        }
    }
    out
}

fn bundled_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the data directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bundled_text_has_its_bokmal_version() {
    let files = bundled_files();
    assert!(!files.is_empty(), "no bundled data files");
    let mut report = Vec::new();
    for file in files {
        let loaded = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        report.extend(
            missing(&loaded)
                .into_iter()
                .map(|m| format!("{}: {m}", file.display())),
        );
    }
    assert!(
        report.is_empty(),
        "{} texts have no bokmål version; add the `_nb` key after each:\n{}",
        report.len(),
        report.join("\n")
    );
}

const FILE: &str = r#"[custodian]
id = "test"
name_nb = "Test"
name_en = "Test"
revision = "1"
last_modified = 2026-11-01T00:00:00Z

[[source]]
id = "a"
name_nb = "Register a"
name_en = "Register a"
kind = "central_health_register"
description_nb = "Et register."
description_en = "A register."
consent_note = "Opt-out applies."
consent_note_nb = "Reservasjonsrett gjelder."
topics = ["lymphoma"]
topics_nb = ["lymfom"]
[source.controller]
name = "Test"
[source.access]
channel = "helsedata_form"
requirements = ["REK approval is needed."]
requirements_nb = ["Godkjenning fra REK trengs."]
[[source.access.deadline]]
applies_to = "all applications"
applies_to_nb = "alle søknader"
text = "60 days"
text_nb = "60 dager"
[[source.variable]]
name = "sex"
label_nb = "Kjønn"
label_en = "Sex"
value_type = "code"
identifiability = "none"
documented = true
"#;

#[test]
fn the_check_passes_a_complete_file_and_names_each_missing_bokmal_text() {
    let load = |text: &str| load_str(Path::new("test.toml"), text).expect("loads");
    assert_eq!(missing(&load(FILE)), Vec::<String>::new());
    let incomplete = FILE
        .replace("requirements_nb = [\"Godkjenning fra REK trengs.\"]\n", "")
        .replace("text_nb = \"60 dager\"\n", "")
        .replace(
            "consent_note_nb = \"Reservasjonsrett gjelder.\"\n",
            "consent_note_nb = \"  \"\n",
        );
    assert_eq!(
        missing(&load(&incomplete)),
        [
            "source[a].consent_note: `Opt-out applies.` has no bokmål (consent_note_nb)",
            "source[a].access.deadlines[0].text: `60 days` has no bokmål (text_nb)",
            "source[a].access.requirements[0]: `REK approval is needed.` has no bokmål (requirements_nb)",
        ]
    );
}
