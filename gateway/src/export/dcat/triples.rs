//! A growing list of `oxrdf` triples, with the few shapes of statement the export makes, and
//! web and e-mail addresses as IRIs.

use oxrdf::{Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Term, Triple};

use super::vocab::RDF_TYPE;

/// A growing list of triples.
#[derive(Default)]
pub struct Triples(pub Vec<Triple>);

impl Triples {
    pub(super) fn add(
        &mut self,
        subject: &NamedNode,
        predicate: NamedNodeRef<'_>,
        object: impl Into<Term>,
    ) {
        self.0.push(Triple::new(
            NamedOrBlankNode::from(subject.clone()),
            predicate,
            object,
        ));
    }

    pub(super) fn typed(&mut self, subject: &NamedNode, class: NamedNodeRef<'_>) {
        self.add(subject, RDF_TYPE, class.into_owned());
    }

    pub(super) fn iri(
        &mut self,
        subject: &NamedNode,
        predicate: NamedNodeRef<'_>,
        object: NamedNodeRef<'_>,
    ) {
        self.add(subject, predicate, object.into_owned());
    }

    pub(super) fn text(
        &mut self,
        subject: &NamedNode,
        predicate: NamedNodeRef<'_>,
        value: &str,
        lang: &str,
    ) {
        let value = value.trim();
        if !value.is_empty() {
            self.add(
                subject,
                predicate,
                Literal::new_language_tagged_literal_unchecked(value, lang),
            );
        }
    }

    pub(super) fn plain(&mut self, subject: &NamedNode, predicate: NamedNodeRef<'_>, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.add(subject, predicate, Literal::new_simple_literal(value));
        }
    }

    pub(super) fn typed_literal(
        &mut self,
        subject: &NamedNode,
        predicate: NamedNodeRef<'_>,
        value: impl Into<String>,
        datatype: NamedNodeRef<'_>,
    ) {
        self.add(
            subject,
            predicate,
            Literal::new_typed_literal(value, datatype),
        );
    }
}

/// A web address as an IRI, when it is one.
pub(super) fn web_iri(url: &str) -> Option<NamedNode> {
    let url = url.trim();
    (url.starts_with("https://") || url.starts_with("http://"))
        .then(|| NamedNode::new(url).ok())
        .flatten()
}

/// An e-mail address as a `mailto:` IRI, when it is one.
pub(super) fn mailto_iri(email: &str) -> Option<NamedNode> {
    let email = email.trim();
    (email.contains('@') && !email.contains(char::is_whitespace))
        .then(|| NamedNode::new(format!("mailto:{email}")).ok())
        .flatten()
}
