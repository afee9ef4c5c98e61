//! Parsing and validating the vocabulary file. Every error names the file, line, column and
//! field at fault and says how to fix it; a file with any error is refused whole.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use serde::Deserialize;
use toml::Spanned;

use super::{Concept, Labels, Vocabulary, codes};
use crate::{
    contract::syntax::is_id,
    datafile::{DataFileError, FileText},
};

/// Why a vocabulary file was refused: file, line, column, field and what to do.
pub type VocabularyError = DataFileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "concept")]
    concepts: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Spanned<String>,
    pref_nb: Spanned<String>,
    pref_en: Spanned<String>,
    #[serde(default)]
    lay_nb: Vec<Spanned<String>>,
    #[serde(default)]
    lay_en: Vec<Spanned<String>>,
    #[serde(default)]
    clinical_nb: Vec<Spanned<String>>,
    #[serde(default)]
    clinical_en: Vec<Spanned<String>>,
    #[serde(default)]
    broader: Vec<Spanned<String>>,
    #[serde(default)]
    health_themes: Vec<Spanned<String>>,
    #[serde(default)]
    health_categories: Vec<Spanned<String>>,
    #[serde(default)]
    icd10_chapters: Vec<Spanned<String>>,
}

/// Longest label accepted, in characters.
const MAX_LABEL_CHARS: usize = 200;

pub(super) fn parse(path: &Path, text: &str) -> Result<Vocabulary, VocabularyError> {
    let pos = FileText::new(path, text);
    let file: File = pos.parse()?;
    if file.concepts.is_empty() {
        return Err(pos.error(
            0,
            "concept",
            "the vocabulary has no `[[concept]]` tables; add at least one",
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in file.concepts.iter().enumerate() {
        let id = entry.id.get_ref().as_str();
        if !is_id(id) {
            return Err(pos.error(
                entry.id.span().start,
                format!("concept[{id}].id"),
                format!("`{id}` is not a valid concept id: use lowercase letters, digits and '-' (at most 100)"),
            ));
        }
        if seen.insert(id, i).is_some() {
            return Err(pos.error(
                entry.id.span().start,
                format!("concept[{id}].id"),
                format!("duplicate concept id `{id}`: every id must be unique"),
            ));
        }
    }
    let mut concepts = Vec::with_capacity(file.concepts.len());
    for entry in &file.concepts {
        concepts.push(concept(&pos, entry, &seen)?);
    }
    check_acyclic(&pos, &file.concepts, &seen)?;
    let mut narrower: HashMap<String, Vec<String>> = HashMap::new();
    for c in &concepts {
        for b in &c.broader {
            narrower.entry(b.clone()).or_default().push(c.id.clone());
        }
    }
    for c in &mut concepts {
        if let Some(mut n) = narrower.remove(&c.id) {
            n.sort();
            c.narrower = n;
        }
    }
    Ok(Vocabulary::new(concepts))
}

fn concept(
    pos: &FileText<'_>,
    e: &Entry,
    ids: &HashMap<&str, usize>,
) -> Result<Concept, VocabularyError> {
    let id = e.id.get_ref();
    let field = |name: &str| format!("concept[{id}].{name}");
    let labels = |lang: &str,
                  preferred: &Spanned<String>,
                  lay: &[Spanned<String>],
                  clinical: &[Spanned<String>]|
     -> Result<Labels, VocabularyError> {
        let mut seen = HashSet::new();
        let groups = [
            (format!("pref_{lang}"), std::slice::from_ref(preferred)),
            (format!("lay_{lang}"), lay),
            (format!("clinical_{lang}"), clinical),
        ];
        for (name, list) in &groups {
            for label in list.iter() {
                let text = label.get_ref();
                let at = label.span().start;
                if text.trim().is_empty() {
                    return Err(pos.error(at, field(name), "a label must not be empty"));
                }
                if text.trim() != text {
                    return Err(pos.error(
                        at,
                        field(name),
                        format!("label `{text}` has leading or trailing spaces; remove them"),
                    ));
                }
                if text.chars().count() > MAX_LABEL_CHARS {
                    return Err(pos.error(
                        at,
                        field(name),
                        format!("label is longer than {MAX_LABEL_CHARS} characters"),
                    ));
                }
                if text.chars().any(char::is_control) || text.contains('\u{00ad}') {
                    return Err(pos.error(
                        at,
                        field(name),
                        format!(
                            "label `{text}` holds a control character or soft hyphen; remove it"
                        ),
                    ));
                }
                if !seen.insert(text.to_lowercase()) {
                    return Err(pos.error(
                        at,
                        field(name),
                        format!(
                            "label `{text}` is given twice for this concept in {lang}; keep one"
                        ),
                    ));
                }
            }
        }
        Ok(Labels {
            preferred: preferred.get_ref().clone(),
            lay: lay.iter().map(|l| l.get_ref().clone()).collect(),
            clinical: clinical.iter().map(|l| l.get_ref().clone()).collect(),
        })
    };
    let nb = labels("nb", &e.pref_nb, &e.lay_nb, &e.clinical_nb)?;
    let en = labels("en", &e.pref_en, &e.lay_en, &e.clinical_en)?;
    let mut broader = Vec::with_capacity(e.broader.len());
    for b in &e.broader {
        let target = b.get_ref();
        let at = b.span().start;
        if target == id {
            return Err(pos.error(
                at,
                field("broader"),
                "a concept cannot be broader than itself",
            ));
        }
        if !ids.contains_key(target.as_str()) {
            return Err(pos.error(
                at,
                field("broader"),
                format!(
                    "`{target}` is not a concept id in this file; add the concept or correct the id"
                ),
            ));
        }
        if broader.contains(target) {
            return Err(pos.error(at, field("broader"), format!("`{target}` is listed twice")));
        }
        broader.push(target.clone());
    }
    let health_themes = known_codes(
        pos,
        &field("health_themes"),
        &e.health_themes,
        codes::HEALTH_THEMES.iter().map(|c| c.0),
        "an EU health theme code such as CANCER_DISEASE",
    )?;
    let health_categories = known_codes(
        pos,
        &field("health_categories"),
        &e.health_categories,
        codes::HEALTH_CATEGORIES.iter().map(|c| c.0),
        "a HealthDCAT-AP health category code such as PHDR",
    )?;
    let icd10_chapters = known_codes(
        pos,
        &field("icd10_chapters"),
        &e.icd10_chapters,
        codes::ICD10_CHAPTERS.iter().map(|c| c.0),
        "an ICD-10 chapter as a Roman numeral, I to XXII",
    )?;
    Ok(Concept {
        id: id.clone(),
        nb,
        en,
        broader,
        narrower: Vec::new(),
        health_themes,
        health_categories,
        icd10_chapters,
    })
}

fn known_codes<'a>(
    pos: &FileText<'_>,
    field: &str,
    given: &[Spanned<String>],
    known: impl Iterator<Item = &'a str> + Clone,
    what: &str,
) -> Result<Vec<String>, VocabularyError> {
    let mut out: Vec<String> = Vec::with_capacity(given.len());
    for code in given {
        let c = code.get_ref();
        if !known.clone().any(|k| k == c) {
            let list: Vec<&str> = known.clone().collect();
            return Err(pos.error(
                code.span().start,
                field,
                format!("`{c}` is not {what}; known codes: {}", list.join(", ")),
            ));
        }
        if out.contains(c) {
            return Err(pos.error(code.span().start, field, format!("`{c}` is listed twice")));
        }
        out.push(c.clone());
    }
    Ok(out)
}

/// Refuses a chain of `broader` links that comes back to where it started.
fn check_acyclic(
    pos: &FileText<'_>,
    entries: &[Entry],
    ids: &HashMap<&str, usize>,
) -> Result<(), VocabularyError> {
    // 0 = not visited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; entries.len()];
    for start in 0..entries.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let links = &entries[node].broader;
            if next == links.len() {
                state[node] = 2;
                stack.pop();
                continue;
            }
            top.1 += 1;
            let link = &links[next];
            let Some(&target) = ids.get(link.get_ref().as_str()) else {
                continue;
            };
            match state[target] {
                0 => {
                    state[target] = 1;
                    stack.push((target, 0));
                }
                1 => {
                    let path: Vec<&str> = stack
                        .iter()
                        .map(|&(n, _)| entries[n].id.get_ref().as_str())
                        .skip_while(|&id| id != entries[target].id.get_ref())
                        .chain(std::iter::once(entries[target].id.get_ref().as_str()))
                        .collect();
                    return Err(pos.error(
                        link.span().start,
                        format!("concept[{}].broader", entries[node].id.get_ref()),
                        format!("broader links form a cycle ({}); a concept cannot be broader than itself through others", path.join(" → ")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}
