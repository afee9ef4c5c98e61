//! The legislation a dataset names: the EHDS regulation, and the Norwegian acts of a
//! source's legal basis as Lovdata IRIs.

use oxrdf::NamedNodeRef;

/// Norwegian acts by their short name, with their Lovdata address (`lov/<date>-<number>`).
///
/// A statute in a data file is written as "<short name> § …"; the act is the first word.
/// Paragraph anchors are not used: Lovdata's fragment ids are not a stable interface, the act
/// is.
pub const ACTS: &[(&str, &str)] = &[
    ("arkivloven", "https://lovdata.no/lov/1992-12-04-126"),
    ("forvaltningsloven", "https://lovdata.no/lov/1967-02-10"),
    ("helsepersonelloven", "https://lovdata.no/lov/1999-07-02-64"),
    ("helseregisterloven", "https://lovdata.no/lov/2014-06-20-43"),
    (
        "personopplysningsloven",
        "https://lovdata.no/lov/2018-06-15-38",
    ),
    ("smittevernloven", "https://lovdata.no/lov/1994-08-05-55"),
];

/// The Lovdata IRI of the act a statute text names, when the act is known.
pub fn act_iri(statute: &str) -> Option<NamedNodeRef<'static>> {
    let act = statute
        .split(|c: char| c.is_whitespace() || c == '§' || c == ',')
        .find(|w| !w.is_empty())?
        .to_lowercase();
    ACTS.iter()
        .find(|(name, _)| *name == act)
        .map(|(_, iri)| NamedNodeRef::new_unchecked(iri))
}

/// The distinct act IRIs of a source's statutes, in the order first named.
pub fn act_iris(statutes: &[String]) -> Vec<NamedNodeRef<'static>> {
    let mut iris: Vec<NamedNodeRef<'static>> = Vec::new();
    for iri in statutes.iter().filter_map(|s| act_iri(s)) {
        if !iris.contains(&iri) {
            iris.push(iri);
        }
    }
    iris
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statute_names_its_act_whatever_follows_the_name() {
        for text in [
            "helseregisterloven § 11 (via NPR)",
            "helseregisterloven",
            "Helseregisterloven §11",
        ] {
            assert_eq!(
                act_iri(text).map(|i| i.as_str()),
                Some("https://lovdata.no/lov/2014-06-20-43"),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_act_gives_no_iri_and_duplicates_collapse() {
        assert_eq!(act_iri("ukjentloven § 1"), None);
        let iris = act_iris(&[
            "helseregisterloven § 7".into(),
            "helseregisterloven § 8".into(),
            "smittevernloven § 7-9".into(),
        ]);
        assert_eq!(iris.len(), 2);
    }

    #[test]
    fn every_act_iri_is_a_valid_iri() {
        for (_, iri) in ACTS {
            assert!(oxrdf::NamedNode::new(*iri).is_ok(), "{iri}");
        }
    }
}
