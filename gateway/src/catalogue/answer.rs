//! The SearchDataSources answer, assembled as bytes from parts kept encoded.
//!
//! A record's data source in the view asked for and its two routes never change within a
//! merge, so each is encoded the first time an answer holds it and kept with the merge
//! ([`EncodedRecords`]). A page's results are those parts with each custodian's provenance
//! (encoded once per provenance, [`super::Provenance`]) and the scores; the last encoding
//! of a ranked page (up to 64 KiB) is kept with it ([`EncodedResults`]) and copied by the
//! answers of the page that carry the same provenances, in the same view (a repeated search while the
//! custodians' catalogues are served from the cache). An answer then adds what is its own,
//! the outcomes ([`super::Outcome`], encoded around their age), and copies the merge's
//! issues and the page's facets (each encoded once and kept). The bytes are exactly those
//! prost writes for the same message (the tests hold them to it), in field order.

use std::sync::{Arc, OnceLock, PoisonError};

use bytes::{BufMut, Bytes, BytesMut};
use helsedata::{encoded::SearchDataSourcesAnswer, proto as pb};
use prost::{
    Message,
    encoding::{self, WireType},
};

use super::{CatalogueView, Provenance, in_view, index::RankedPage, merge::MergedRecord};

/// Largest encoded results a ranked page keeps ([`EncodedResults`]): a page of about a
/// hundred sources in the basic view, far more than a search page shows.
const KEPT_RESULTS_BYTES: usize = 64 << 10;

/// Field numbers of `FederatedDataSource` (gateway.proto).
pub(super) mod record_field {
    pub const DATA_SOURCE: u32 = 1;
    pub const PROVENANCE: u32 = 2;
    pub const SCORE: u32 = 3;
    pub const PUBLISHED_ROUTE: u32 = 4;
    pub const EFFECTIVE_ROUTE: u32 = 5;
}

/// Field numbers of `SearchDataSourcesResponse` (gateway.proto).
mod answer_field {
    pub const RESULTS: u32 = 1;
    pub const NEXT_PAGE_TOKEN: u32 = 2;
    pub const TOTAL_SIZE: u32 = 3;
    pub const CUSTODIANS: u32 = 4;
    pub const MERGE_ISSUES: u32 = 5;
    pub const FACETS: u32 = 6;
}

/// The parts of a record's `FederatedDataSource` that a merge fixes, encoded with their
/// field keys and lengths.
#[derive(Debug)]
pub struct RecordParts {
    /// `data_source` in the view.
    source: Bytes,
    /// `published_route` and `effective_route`, each when present.
    routes: Bytes,
}

impl RecordParts {
    fn of(record: &MergedRecord, full: bool) -> Self {
        let mut source = Vec::new();
        if full {
            encoding::message::encode(record_field::DATA_SOURCE, &record.source, &mut source);
        } else {
            let basic = in_view(record.source.clone(), pb::DataSourceView::Basic as i32);
            encoding::message::encode(record_field::DATA_SOURCE, &basic, &mut source);
        }
        let mut routes = Vec::new();
        let published = record.source.access_rules.as_ref();
        if let Some(route) = published.and_then(|r| r.route.as_ref()) {
            encoding::message::encode(record_field::PUBLISHED_ROUTE, route, &mut routes);
        }
        if let Some(route) = &record.effective_route {
            encoding::message::encode(record_field::EFFECTIVE_ROUTE, route, &mut routes);
        }
        Self {
            source: source.into(),
            routes: routes.into(),
        }
    }
}

/// Every record's [`RecordParts`] in the full view and in the others (which leave out the
/// access rules), and the merge's issues as answer fields, each made on first use.
#[derive(Debug, Default)]
pub struct EncodedRecords {
    views: Vec<[OnceLock<RecordParts>; 2]>,
    issues: OnceLock<Bytes>,
}

impl EncodedRecords {
    /// Room for a merge of `records` records.
    pub fn new(records: usize) -> Self {
        Self {
            views: (0..records).map(|_| Default::default()).collect(),
            issues: OnceLock::new(),
        }
    }

    /// `issues` (the merge's, which never change) as `merge_issues` fields of an answer.
    pub fn issues(&self, issues: &[pb::MergeIssue]) -> &Bytes {
        self.issues.get_or_init(|| {
            let mut bytes = BytesMut::new();
            for issue in issues {
                encoding::message::encode(answer_field::MERGE_ISSUES, issue, &mut bytes);
            }
            bytes.freeze()
        })
    }

    /// The parts of record `number` (`record`) in `view`; `None` for a number outside the
    /// merge.
    pub fn parts(&self, number: u32, record: &MergedRecord, view: i32) -> Option<&RecordParts> {
        let full = view == pb::DataSourceView::Full as i32;
        let slot = &self.views.get(number as usize)?[usize::from(full)];
        Some(slot.get_or_init(|| RecordParts::of(record, full)))
    }
}

/// `message` as field `tag`: key, length and body.
fn field(tag: u32, message: &impl Message) -> Vec<u8> {
    let mut bytes = Vec::new();
    encoding::message::encode(tag, message, &mut bytes);
    bytes
}

/// A ranked page's `results`, `next_page_token` and `total_size` answer fields, encoded in
/// one view with the provenances they carry; kept with the page ([`RankedPage::results`])
/// for the answers after it that carry the same.
#[derive(Debug)]
pub struct EncodedResults {
    view: i32,
    /// The provenance of each hit, in hit order: the request's (`Some`) or, when it has
    /// none for the hit's custodian, the merge's own.
    provenances: Vec<Option<Arc<Provenance>>>,
    bytes: Vec<u8>,
}

impl EncodedResults {
    /// Whether these are the fields of `page` for `view` as `view` would encode them.
    fn fit(&self, view: &CatalogueView, page: &RankedPage, req_view: i32) -> bool {
        self.view == req_view
            && self.provenances.len() == page.hits.len()
            && self
                .provenances
                .iter()
                .zip(provenances(view, page))
                .all(|(kept, now)| match (kept, now) {
                    (Some(kept), Some(now)) => Arc::ptr_eq(kept, now),
                    (None, None) => true,
                    _ => false,
                })
    }
}

/// The provenance each hit of `page` carries in `view`: the request's, or `None` for the
/// merge's own.
fn provenances<'a>(
    view: &'a CatalogueView,
    page: &'a RankedPage,
) -> impl Iterator<Item = Option<&'a Arc<Provenance>>> + 'a {
    let records = view.catalogue.records();
    page.hits.iter().map(move |&(_, number)| {
        let record = records.get(number as usize)?;
        view.provenance.get(&record.provenance.custodian_id)
    })
}

/// The answer to `req` for `page` of `view`, as the bytes of a `SearchDataSourcesResponse`
/// whose results carry each custodian's provenance as of this request.
pub fn assemble(
    view: &CatalogueView,
    page: &RankedPage,
    req: &pb::SearchDataSourcesRequest,
) -> SearchDataSourcesAnswer {
    let kept = page
        .results
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .filter(|kept| kept.fit(view, page, req.view));
    let issues = view.catalogue.issue_fields();
    let facets = page.facets.encoded.get_or_init(|| {
        let mut facets = BytesMut::new();
        for facet in &page.facets.list {
            encoding::message::encode(answer_field::FACETS, facet, &mut facets);
        }
        facets.freeze()
    });
    let rest = view.outcomes.len() * 128 + issues.len() + facets.len();
    let mut buf = match kept {
        Some(kept) => {
            let mut buf = Vec::with_capacity(kept.bytes.len() + rest);
            buf.put_slice(&kept.bytes);
            buf
        }
        None => {
            let mut buf = Vec::with_capacity(page.hits.len() * 512 + 64 + rest);
            write_results(view, page, req, &mut buf);
            keep(view, page, req.view, &buf);
            buf
        }
    };
    for outcome in &view.outcomes {
        outcome.encode_field(answer_field::CUSTODIANS, &mut buf);
    }
    buf.put_slice(issues);
    buf.put_slice(facets);
    SearchDataSourcesAnswer::from_bytes(Bytes::from(buf))
}

/// Keeps `results` (the page's results as just encoded for `view`) with `page` for the
/// answers after it, when they are small enough: a large page (a full listing) is
/// assembled anew each time rather than copied once more to be kept, and while the merge's
/// custodians are fetched again for every answer (`no-store`), kept results would not be
/// used anyway.
fn keep(view: &CatalogueView, page: &RankedPage, req_view: i32, results: &[u8]) {
    if results.len() > KEPT_RESULTS_BYTES || !view.catalogue.may_keep_results(results.len()) {
        return;
    }
    let made = Arc::new(EncodedResults {
        view: req_view,
        provenances: provenances(view, page).map(Option::<&_>::cloned).collect(),
        bytes: results.to_vec(),
    });
    let replaced = page
        .results
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(made);
    if let Some(replaced) = replaced {
        view.catalogue.release_results(replaced.bytes.len());
    }
}

/// Writes the `results`, `next_page_token` and `total_size` fields of `page` in `view` to
/// `buf`.
fn write_results(
    view: &CatalogueView,
    page: &RankedPage,
    req: &pb::SearchDataSourcesRequest,
    buf: &mut Vec<u8>,
) {
    // A `Vec` rather than a `BytesMut`: prost writes a varint a byte at a time, which costs
    // less on a `Vec` (callgrind of G_hit: prost's share of an answer of one hit went from
    // 10,600 instructions to 4,300; BENCHMARKS.md).
    let records = view.catalogue.records();
    for &(score, number) in &page.hits {
        let Some(record) = records.get(number as usize) else {
            continue;
        };
        let custodian = record.provenance.custodian_id.as_str();
        let own;
        // Each custodian's provenance is encoded once for every answer that shares it.
        let provenance: &[u8] = match view.provenance.get(custodian) {
            Some(p) => p.record_field(),
            None => {
                own = field(record_field::PROVENANCE, &record.provenance);
                &own
            }
        };
        let Some(parts) = view.catalogue.record_parts(number, req.view) else {
            continue;
        };
        let score_len = if score != 0.0 {
            encoding::key_len(record_field::SCORE) + 8
        } else {
            0
        };
        let len = parts.source.len() + provenance.len() + score_len + parts.routes.len();
        encoding::encode_key(answer_field::RESULTS, WireType::LengthDelimited, buf);
        encoding::encode_varint(len as u64, buf);
        buf.put_slice(&parts.source);
        buf.put_slice(provenance);
        if score != 0.0 {
            encoding::double::encode(record_field::SCORE, &score, buf);
        }
        buf.put_slice(&parts.routes);
    }
    if !page.next_page_token.is_empty() {
        encoding::string::encode(answer_field::NEXT_PAGE_TOKEN, &page.next_page_token, buf);
    }
    let total = page.total as u32;
    if total != 0 {
        encoding::uint32::encode(answer_field::TOTAL_SIZE, &total, buf);
    }
}

#[cfg(test)]
mod tests;
