//! The merged catalogue: [`merge`] combines the custodians' snapshots (provenance on every
//! record, ownership enforced, duplicates reported); [`index`] searches, filters, ranks and
//! pages the result; this module keeps the merge until one of its inputs changes and
//! answers SearchDataSources from it with each custodian's current provenance, as a message
//! or as bytes assembled from the records' kept encodings ([`answer`]).

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, Mutex},
};

use helsedata::{concepts::Vocabulary, paging, proto as pb, status::RequestError};

mod answer;
pub mod index;
pub mod merge;

pub use index::{Hit, MergedCatalogue, SearchPage};

/// The last merge and the inputs it was built from: `(custodian id, catalogue version)`
/// pairs, in custodian order.
#[derive(Default)]
pub struct MergeMemo {
    last: Mutex<Option<Memo>>,
}

struct Memo {
    key: Vec<(String, String)>,
    catalogue: Arc<MergedCatalogue>,
    generation: u64,
}

impl MergeMemo {
    /// The merged catalogue of the inputs named by `key`, and its generation (a fingerprint
    /// of `key`, which page tokens carry): the last merge when `key` is unchanged, otherwise
    /// a new one from `merge`, indexed (with the labels of `concepts`) and remembered.
    ///
    /// `key` is borrowed: a request whose inputs are those of the last merge copies nothing.
    pub fn get_or_merge(
        &self,
        key: &[(&str, Cow<'_, str>)],
        concepts: &Arc<Vocabulary>,
        merge: impl FnOnce() -> merge::Merged,
    ) -> (Arc<MergedCatalogue>, u64) {
        let same = |held: &[(String, String)]| {
            held.len() == key.len()
                && held
                    .iter()
                    .zip(key)
                    .all(|((id, version), (asked_id, asked_version))| {
                        id == asked_id && version == asked_version
                    })
        };
        if let Ok(last) = self.last.lock()
            && let Some(m) = last.as_ref().filter(|m| same(&m.key))
        {
            return (m.catalogue.clone(), m.generation);
        }
        let key: Vec<(String, String)> = key
            .iter()
            .map(|(id, version)| (id.to_string(), version.to_string()))
            .collect();
        let catalogue = Arc::new(MergedCatalogue::new(merge(), concepts.clone()));
        let generation = paging::fingerprint(&key);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(Memo {
                key,
                catalogue: catalogue.clone(),
                generation,
            });
        }
        (catalogue, generation)
    }
}

/// The merged catalogue as served to one request.
#[derive(Debug)]
pub struct CatalogueView {
    /// The merged, indexed catalogue.
    pub catalogue: Arc<MergedCatalogue>,
    /// Identifies the merge, so that page tokens of another merge are refused.
    pub generation: u64,
    /// One outcome per custodian.
    pub outcomes: Vec<pb::CustodianOutcome>,
    /// Provenance of each custodian's records in this answer (the merge may be older than
    /// the answers it was built from when their revisions did not change).
    pub provenance: HashMap<String, pb::Provenance>,
}

impl CatalogueView {
    /// SearchDataSources over this view. Each hit carries its custodian's provenance as of
    /// this request (fetch time, freshness), not that of the answer the merge was built from.
    pub fn search(
        self,
        req: &pb::SearchDataSourcesRequest,
    ) -> Result<pb::SearchDataSourcesResponse, RequestError> {
        let page = self.catalogue.search(req, self.generation)?;
        let results = page
            .hits
            .iter()
            .map(|hit| {
                let record = hit.record;
                let provenance = self
                    .provenance
                    .get(&record.provenance.custodian_id)
                    .cloned()
                    .unwrap_or_else(|| record.provenance.clone());
                record.to_federated(req.view, provenance, hit.score)
            })
            .collect();
        Ok(pb::SearchDataSourcesResponse {
            results,
            next_page_token: page.next_page_token,
            total_size: page.total as u32,
            custodians: self.outcomes,
            merge_issues: self.catalogue.issues().to_vec(),
            facets: page.facets.list.clone(),
        })
    }
}

impl CatalogueView {
    /// [`CatalogueView::search`], as the bytes of its answer, assembled from the encodings
    /// the merge keeps of its records (what the gRPC service sends).
    pub fn search_encoded(
        &self,
        req: &pb::SearchDataSourcesRequest,
    ) -> Result<helsedata::encoded::SearchDataSourcesAnswer, RequestError> {
        let page = self.catalogue.search(req, self.generation)?;
        Ok(answer::assemble(self, &page, req))
    }
}

/// A data source in the view the caller asked for: anything but the full view leaves out
/// the access rules.
pub fn in_view(mut source: pb::DataSource, view: i32) -> pb::DataSource {
    if view != pb::DataSourceView::Full as i32 {
        source.access_rules = None;
    }
    source
}
