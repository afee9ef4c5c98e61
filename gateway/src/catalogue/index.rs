//! The merged catalogue, indexed for SearchDataSources: free text in nb and en (folding,
//! stemming, compounds, typos, and the health concepts each source is tagged with, found by
//! any label of the concept or of a broader one), filters, BM25 ranking with a deterministic
//! tie-break (score, then id), and paging. The index is built once per merge, that is once
//! per set of custodian revisions, on the blocking pool right after the merge is made
//! ([`super::MergeMemo`]); a listing without a query never waits for it, and a free-text
//! search waits for it without holding a worker thread, until its deadline.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use dashmap::DashMap;
use tokio::sync::watch;

use helsedata::{
    concepts::Vocabulary,
    contract::SEARCH_DATA_SOURCES_PAGE,
    deadline::Deadline,
    paging::{self, PageRequest},
    proto as pb,
    search::{self, SearchIndex},
    status::RequestError,
};

use super::{
    answer::{EncodedRecords, EncodedResults, RecordParts},
    merge::{Merged, MergedRecord},
};

/// Ranked pages kept per merge: the most distinct searches remembered before the memory is
/// cleared and filled again (a page holds at most one page of hit numbers and the facets).
const RANKED_PAGES: usize = 4096;

/// Bytes of encoded results the ranked pages of one merge keep at most, all pages together
/// ([`RankedPage::results`]); pages asked for beyond it are assembled from their records'
/// encodings every time.
const ENCODED_RESULTS_BYTES: usize = 32 << 20;

/// The merged catalogue with its search index.
#[derive(Debug, Default)]
pub struct MergedCatalogue {
    merged: Merged,
    concepts: Arc<Vocabulary>,
    index: OnceLock<SearchIndex>,
    /// Whether a build of `index` has begun (it is begun once).
    index_begun: AtomicBool,
    /// Becomes true once `index` is built; searches waiting for it watch this.
    indexed: watch::Sender<bool>,
    by_id: HashMap<String, usize>,
    /// The provenance the merge gave each custodian's records.
    provenances: HashMap<String, pb::Provenance>,
    /// Each record's facet values as small numbers, worked out on first use.
    facet_rows: OnceLock<FacetRows>,
    /// Pages already ranked from this merge, by a hash of the request's [`PageAsk`] (the
    /// page holds the request it answers, to be compared). The merge never changes, so
    /// a repeated search (the same query, filters, page size and token) is a lookup that
    /// copies nothing; a new merge starts with none.
    ranked: DashMap<u64, Arc<RankedPage>, foldhash::fast::RandomState>,
    /// Keys the hash of [`Self::ranked`] with a random seed, so that no one can choose
    /// requests that collide (foldhash: a tenth of SipHash's cost on a cached search; a
    /// collision would only make the two requests replace each other's page).
    ranked_keys: foldhash::quality::RandomState,
    /// Bytes of encoded results the ranked pages keep (at most [`ENCODED_RESULTS_BYTES`]).
    encoded_results: AtomicUsize,
    /// Each record's encoding in each view, made the first time an answer holds it.
    encoded: EncodedRecords,
}

/// What a search asks for: the query's words and every filter. A page token is bound to it
/// (and to the merge generation), so that a token is refused for another search.
#[derive(Debug, Hash)]
struct Asked {
    terms: Vec<String>,
    custodian_ids: Vec<String>,
    filters: FilterValues,
}

impl Asked {
    fn of(req: &pb::SearchDataSourcesRequest) -> Self {
        Self {
            terms: search::terms(&req.query),
            custodian_ids: req.custodian_ids.clone(),
            filters: FilterValues::of(req),
        }
    }
}

/// A request's filters but the custodians: its enum filters and its years.
#[derive(Debug, Hash, PartialEq, Eq)]
struct FilterValues {
    enums: [i32; 5],
    years: Option<(Option<i32>, Option<i32>)>,
}

impl FilterValues {
    fn of(req: &pb::SearchDataSourcesRequest) -> Self {
        Self {
            enums: [
                req.kind,
                req.consent,
                req.identifiability,
                req.hap_phase,
                req.channel,
            ],
            years: req.years.as_ref().map(|y| (y.from_year, y.to_year)),
        }
    }
}

/// Which ranked page a request asks for, as it came (its view aside, which shapes the
/// answer, not the ranking), of the merge generation it names: the ranked pages are kept
/// by its hash and compared by it.
#[derive(Hash, PartialEq, Eq)]
struct PageAsk<'a> {
    generation: u64,
    query: &'a str,
    custodian_ids: &'a [String],
    filters: FilterValues,
    page_size: i32,
    page_token: &'a str,
}

impl<'a> PageAsk<'a> {
    fn of(req: &'a pb::SearchDataSourcesRequest, generation: u64) -> Self {
        Self {
            generation,
            query: &req.query,
            custodian_ids: &req.custodian_ids,
            filters: FilterValues::of(req),
            page_size: req.page_size,
            page_token: &req.page_token,
        }
    }
}

/// One ranked page as record numbers, kept for repeated searches.
#[derive(Debug)]
pub(super) struct RankedPage {
    /// The request it answers, and the merge generation it was asked of.
    asked: pb::SearchDataSourcesRequest,
    generation: u64,
    /// The hits as (score, record number), best first.
    pub(super) hits: Vec<(f64, u32)>,
    pub(super) next_page_token: String,
    pub(super) total: usize,
    pub(super) facets: Arc<Facets>,
    /// The page's answer fields as the last answer of it encoded them (for its view and
    /// the provenances it carried), for the answers after it that carry the same.
    pub(super) results: Mutex<Option<Arc<EncodedResults>>>,
}

/// The facets of a ranked page, shared by every answer of that page.
#[derive(Debug)]
pub struct Facets {
    /// The matches counted by each filter's values, every other filter applied.
    pub list: Vec<pb::Facet>,
    /// `list` as answer fields, encoded by the first answer that sends them
    /// ([`super::answer`]); a repeated search copies them.
    pub(super) encoded: OnceLock<Bytes>,
}

impl MergedCatalogue {
    /// A merge, to be indexed with `concepts` (the labels of the sources' concepts).
    pub fn new(mut merged: Merged, concepts: Arc<Vocabulary>) -> Self {
        // Ranking breaks ties by record number, which is id order only if the records are
        // in it (a merge makes them so).
        if !merged
            .records
            .is_sorted_by(|a, b| a.source.id <= b.source.id)
        {
            merged.records.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        }
        let by_id = merged
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.source.id.clone(), i))
            .collect();
        let mut provenances = HashMap::new();
        for record in &merged.records {
            if !provenances.contains_key(&record.provenance.custodian_id) {
                let p = &record.provenance;
                provenances.insert(p.custodian_id.clone(), p.clone());
            }
        }
        Self {
            provenances,
            concepts,
            index: OnceLock::new(),
            index_begun: AtomicBool::new(false),
            indexed: watch::Sender::new(false),
            by_id,
            facet_rows: OnceLock::new(),
            ranked: DashMap::default(),
            ranked_keys: foldhash::quality::RandomState::default(),
            encoded_results: AtomicUsize::new(0),
            encoded: EncodedRecords::new(merged.records.len()),
            merged,
        }
    }

    fn facet_rows(&self) -> &FacetRows {
        self.facet_rows
            .get_or_init(|| FacetRows::new(&self.merged.records))
    }

    /// The search index, built on first use (on the calling thread).
    fn index(&self) -> &SearchIndex {
        if let Some(index) = self.index.get() {
            return index;
        }
        let index = self.index.get_or_init(|| {
            search::source_index(
                self.merged.records.iter().map(|r| &r.source),
                &self.concepts,
            )
        });
        self.indexed.send_replace(true);
        index
    }

    /// Builds the search index on this thread, unless it is built already, and the facet
    /// rows the searches count on (a blocking call: [`super::MergeMemo`] makes them on the
    /// blocking pool once the merge is made).
    pub fn build_index(&self) {
        self.index_begun.store(true, Ordering::Release);
        if self.index.get().is_some() {
            return;
        }
        let started = std::time::Instant::now();
        self.facet_rows();
        self.index();
        tracing::info!(
            sources = self.merged.records.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "search index of the merged catalogue built"
        );
    }

    /// Whether a search with `query` needs an index that is not built yet.
    pub fn needs_index_for(&self, query: &str) -> bool {
        self.index.get().is_none() && search::query_has_words(query)
    }

    /// The provenance the merge gave each custodian's records, by custodian id.
    pub fn provenances(&self) -> &HashMap<String, pb::Provenance> {
        &self.provenances
    }

    /// Waits until the index that a search with `query` needs is built (at once for a query
    /// without words, or once built), beginning its build on the blocking pool if none has
    /// begun, and answers UNAVAILABLE if it is not built by `deadline`: the worker thread is
    /// never held, and the build goes on for the searches that follow.
    pub async fn indexed_for(
        self: &Arc<Self>,
        query: &str,
        deadline: Deadline,
    ) -> Result<(), RequestError> {
        if !self.needs_index_for(query) {
            return Ok(());
        }
        if !self.index_begun.swap(true, Ordering::AcqRel) {
            let catalogue = Arc::clone(self);
            tokio::task::spawn_blocking(move || catalogue.build_index());
        }
        let mut built = self.indexed.subscribe();
        match tokio::time::timeout(deadline.remaining(), built.wait_for(|built| *built)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(RequestError::Unavailable(
                "the catalogue has changed and its search index is still being built; \
                 try the search again in a few seconds (listings without a query are answered \
                 meanwhile)"
                    .into(),
            )),
        }
    }

    /// All records, ordered by id.
    pub fn records(&self) -> &[MergedRecord] {
        &self.merged.records
    }

    /// Problems found while merging.
    pub fn issues(&self) -> &[pb::MergeIssue] {
        &self.merged.issues
    }

    /// [`Self::issues`] as the `merge_issues` fields of an answer, encoded once per merge.
    pub fn issue_fields(&self) -> &[u8] {
        self.encoded.issues(&self.merged.issues)
    }

    /// The encoded parts of record `number` in `view` (`None` for a number outside the
    /// merge).
    pub fn record_parts(&self, number: u32, view: i32) -> Option<&RecordParts> {
        let record = self.merged.records.get(number as usize)?;
        self.encoded.parts(number, record, view)
    }

    /// Whether `bytes` more of encoded results may be kept with the ranked pages; if so,
    /// they are counted as kept.
    pub(super) fn may_keep_results(&self, bytes: usize) -> bool {
        self.encoded_results
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
                (kept + bytes <= ENCODED_RESULTS_BYTES).then_some(kept + bytes)
            })
            .is_ok()
    }

    /// `bytes` of encoded results are no longer kept (replaced by newer ones).
    pub(super) fn release_results(&self, bytes: usize) {
        let _ = self
            .encoded_results
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |kept| {
                Some(kept.saturating_sub(bytes))
            });
    }

    /// The record with data source id `id`, if the merge holds one.
    pub fn get(&self, id: &str) -> Option<&MergedRecord> {
        self.by_id.get(id).map(|&i| &self.merged.records[i])
    }

    /// SearchDataSources over the merged records, for a request the contract has validated
    /// (only its page token is checked here). `generation` identifies the merge, so that
    /// page tokens from an older merge are refused rather than skipping or repeating records.
    /// A search this merge has answered before is not ranked again.
    pub fn search(
        &self,
        req: &pb::SearchDataSourcesRequest,
        generation: u64,
    ) -> Result<SearchPage<'_>, RequestError> {
        let ranked = self.ranked_page(req, generation)?;
        Ok(SearchPage {
            hits: ranked
                .hits
                .iter()
                .map(|&(score, number)| Hit {
                    score,
                    number,
                    record: &self.merged.records[number as usize],
                })
                .collect(),
            next_page_token: ranked.next_page_token.clone(),
            total: ranked.total,
            facets: Arc::clone(&ranked.facets),
        })
    }

    /// The ranked page for `req` (see [`Self::search`]): the one kept when this merge has
    /// answered the same request before, otherwise ranked now and kept.
    pub(super) fn ranked_page(
        &self,
        req: &pb::SearchDataSourcesRequest,
        generation: u64,
    ) -> Result<Arc<RankedPage>, RequestError> {
        let asked = PageAsk::of(req, generation);
        let hash = self.ranked_keys.hash_one(&asked);
        if let Some(page) = self.ranked.get(&hash)
            && PageAsk::of(&page.asked, page.generation) == asked
        {
            return Ok(page.clone());
        }
        let page = Arc::new(self.rank(req, &Asked::of(req), generation)?);
        if self.ranked.len() >= RANKED_PAGES {
            self.ranked.clear();
            self.encoded_results.store(0, Ordering::Release);
        }
        // Another request of the same hash (a collision) is ranked anew and replaces it.
        self.ranked.insert(hash, page.clone());
        Ok(page)
    }

    /// Matches, filters, counts the facets of, ranks and pages the records for `req`.
    fn rank(
        &self,
        req: &pb::SearchDataSourcesRequest,
        asked: &Asked,
        generation: u64,
    ) -> Result<RankedPage, RequestError> {
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            SEARCH_DATA_SOURCES_PAGE,
            paging::fingerprint(&(asked, generation)),
        )?;
        let terms = &asked.terms;
        let records = &self.merged.records;
        let scored: Vec<(f64, u32)> = if search::has_words(terms) {
            self.index()
                .search(terms)
                .into_iter()
                .map(|(n, score)| (score, n))
                .collect()
        } else {
            (0..records.len() as u32).map(|n| (0.0, n)).collect()
        };
        // Which filters each match passes, once: the facets and the hits both read it.
        let passed: Vec<u8> = scored
            .iter()
            .map(|&(_, n)| Filter::passed(&records[n as usize], req))
            .collect();
        let facets = self.facet_rows().count(&scored, &passed);
        let mut hits: Vec<(f64, u32)> = scored
            .into_iter()
            .zip(&passed)
            .filter(|(_, p)| **p == Filter::EVERY)
            .map(|(hit, _)| hit)
            .collect();
        let total = hits.len();
        let next_page_token = page.next_token(total);
        // Best first, ties by id (the record order).
        let range = page.order_page(&mut hits, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(RankedPage {
            asked: pb::SearchDataSourcesRequest {
                view: 0,
                ..req.clone()
            },
            generation,
            hits: hits.drain(range).collect(),
            next_page_token,
            total,
            facets: Arc::new(Facets {
                list: facets,
                encoded: OnceLock::new(),
            }),
            results: Mutex::new(None),
        })
    }
}

/// One page of SearchDataSources.
#[derive(Debug)]
pub struct SearchPage<'a> {
    /// The hits, best first.
    pub hits: Vec<Hit<'a>>,
    /// Opaque token for the next page; empty on the last page.
    pub next_page_token: String,
    /// Number of records matching the query and filters, over all pages.
    pub total: usize,
    /// The facets, as kept with the ranked page.
    pub facets: Arc<Facets>,
}

/// One hit of a search.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    /// Relevance, higher is better; zero for an empty query.
    pub score: f64,
    /// The record's number in the merge (its place in id order).
    pub number: u32,
    /// The merged record that matched (source, provenance, effective route).
    pub record: &'a MergedRecord,
}

/// One filter of SearchDataSources, and the facet that counts its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Custodian,
    Kind,
    Consent,
    Identifiability,
    Years,
    HapPhase,
    Channel,
}

impl Filter {
    /// The bits of [`Filter::passed`] when a record passes every filter.
    const EVERY: u8 = (1 << Self::ALL.len()) - 1;

    const ALL: [Filter; 7] = [
        Filter::Custodian,
        Filter::Kind,
        Filter::Consent,
        Filter::Identifiability,
        Filter::Years,
        Filter::HapPhase,
        Filter::Channel,
    ];

    /// The request field the filter reads, as the facet names it.
    fn field(self) -> &'static str {
        match self {
            Filter::Custodian => "custodian_ids",
            Filter::Kind => "kind",
            Filter::Consent => "consent",
            Filter::Identifiability => "identifiability",
            Filter::Years => "years",
            Filter::HapPhase => "hap_phase",
            Filter::Channel => "channel",
        }
    }

    /// The filters of `req` that `record` passes, one bit each in the order of [`Filter::ALL`].
    fn passed(record: &MergedRecord, req: &pb::SearchDataSourcesRequest) -> u8 {
        Self::ALL
            .iter()
            .enumerate()
            .filter(|(_, f)| f.passes(record, req))
            .fold(0, |bits, (i, _)| bits | (1 << i))
    }

    /// Whether `record` passes this filter of `req`.
    fn passes(self, record: &MergedRecord, req: &pb::SearchDataSourcesRequest) -> bool {
        let source = &record.source;
        let same = |wanted: i32, value: i32| wanted == 0 || wanted == value;
        match self {
            Filter::Custodian => {
                req.custodian_ids.is_empty() || req.custodian_ids.contains(&source.custodian_id)
            }
            Filter::Kind => same(req.kind, source.kind),
            Filter::Consent => same(req.consent, source.consent),
            Filter::Identifiability => same(req.identifiability, source.identifiability),
            Filter::Years => years_overlap(source, req.years.as_ref()),
            Filter::HapPhase => same(req.hap_phase, source.hap_phase),
            // The effective channel (under the national rules), not the one the custodian
            // publishes.
            Filter::Channel => same(req.channel, record.effective_channel()),
        }
    }

    /// The name of a facet value of an enum filter; `None` for an unset or unknown value
    /// and for the filters that are not enums.
    fn enum_name(self, value: i32) -> Option<&'static str> {
        let name = match self {
            Filter::Kind => pb::DataSourceKind::try_from(value)
                .ok()
                .map(|v| v.as_str_name()),
            Filter::Consent => pb::ConsentRequirement::try_from(value)
                .ok()
                .map(|v| v.as_str_name()),
            Filter::Identifiability => pb::Identifiability::try_from(value)
                .ok()
                .map(|v| v.as_str_name()),
            Filter::HapPhase => pb::HapPhase::try_from(value).ok().map(|v| v.as_str_name()),
            Filter::Channel => pb::ApplicationChannel::try_from(value)
                .ok()
                .map(|v| v.as_str_name()),
            Filter::Custodian | Filter::Years => None,
        };
        name.filter(|n| !n.ends_with("_UNSPECIFIED"))
    }
}

/// The facet values of every record of a merge as small numbers: its custodian's number, its
/// enum values, and the decades its coverage overlaps (open-ended coverage runs to the latest
/// year any record names). Counting the facets of a search is then arithmetic on arrays.
#[derive(Debug, Default)]
struct FacetRows {
    custodians: Vec<String>,
    rows: Vec<FacetRow>,
    /// The first decade any record overlaps (decades are counted from it).
    first_decade: i32,
}

#[derive(Debug, Clone, Copy)]
struct FacetRow {
    custodian: u32,
    /// Kind, consent, identifiability, HAP phase, effective channel: 0 when unset or unknown.
    enums: [i32; 5],
    /// The decades overlapped, by their first year, both ends included; none when the first
    /// is after the last.
    decades: (i32, i32),
}

/// The enum filters, in the order of [`FacetRow::enums`].
const ENUM_FILTERS: [Filter; 5] = [
    Filter::Kind,
    Filter::Consent,
    Filter::Identifiability,
    Filter::HapPhase,
    Filter::Channel,
];

impl FacetRows {
    fn new(records: &[MergedRecord]) -> Self {
        let open_end = records
            .iter()
            .filter_map(|r| r.source.coverage_years.as_ref())
            .flat_map(|y| [y.from_year, y.to_year])
            .flatten()
            .max()
            .unwrap_or_default();
        let mut custodians: Vec<String> = Vec::new();
        let mut numbers: HashMap<&str, u32> = HashMap::new();
        let rows: Vec<FacetRow> = records
            .iter()
            .map(|record| {
                let source = &record.source;
                let custodian = *numbers.entry(&source.custodian_id).or_insert_with(|| {
                    custodians.push(source.custodian_id.clone());
                    custodians.len() as u32 - 1
                });
                let values = [
                    source.kind,
                    source.consent,
                    source.identifiability,
                    source.hap_phase,
                    record.effective_channel(),
                ];
                let mut enums = [0; 5];
                for ((slot, filter), value) in enums.iter_mut().zip(ENUM_FILTERS).zip(values) {
                    if filter.enum_name(value).is_some() {
                        *slot = value;
                    }
                }
                FacetRow {
                    custodian,
                    enums,
                    decades: decades(source, open_end),
                }
            })
            .collect();
        let first_decade = rows
            .iter()
            .filter(|r| r.decades.0 <= r.decades.1)
            .map(|r| r.decades.0)
            .min()
            .unwrap_or_default();
        Self {
            custodians,
            rows,
            first_decade,
        }
    }

    /// The facets over the text matches `scored` (record numbers, with the filters of the
    /// request each passes in `passed`): each filter's values counted over the matches that
    /// pass every other filter (the usual faceted-search rule: a facet's own choice does not
    /// narrow its counts).
    fn count(&self, scored: &[(f64, u32)], passed: &[u8]) -> Vec<pb::Facet> {
        Filter::ALL
            .iter()
            .enumerate()
            .map(|(i, &facet)| {
                let mut counts: Vec<u32> = Vec::new();
                let mut add = |slot: usize| {
                    if counts.len() <= slot {
                        counts.resize(slot + 1, 0);
                    }
                    counts[slot] += 1;
                };
                let enum_slot = ENUM_FILTERS.iter().position(|&f| f == facet);
                for (&(_, n), &bits) in scored.iter().zip(passed) {
                    if bits | (1 << i) != Filter::EVERY {
                        continue;
                    }
                    let row = &self.rows[n as usize];
                    match (facet, enum_slot) {
                        (Filter::Custodian, _) => add(row.custodian as usize),
                        (Filter::Years, _) => {
                            for decade in (row.decades.0..=row.decades.1).step_by(10) {
                                add(((decade - self.first_decade) / 10) as usize);
                            }
                        }
                        (_, Some(slot)) => {
                            if let Ok(value) = usize::try_from(row.enums[slot])
                                && value > 0
                            {
                                add(value);
                            }
                        }
                        (_, None) => {}
                    }
                }
                let mut counts: Vec<pb::FacetCount> = counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, count)| *count > 0)
                    .filter_map(|(slot, count)| {
                        let value = match facet {
                            Filter::Custodian => self.custodians.get(slot)?.clone(),
                            Filter::Years => (self.first_decade + 10 * slot as i32).to_string(),
                            _ => facet.enum_name(slot as i32)?.to_string(),
                        };
                        Some(pb::FacetCount { value, count })
                    })
                    .collect();
                counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                pb::Facet {
                    field: facet.field().to_string(),
                    counts,
                }
            })
            .collect()
    }
}

/// The decades (by their first year) that a source's coverage overlaps; open-ended coverage
/// runs to `open_end`.
fn decades(source: &pb::DataSource, open_end: i32) -> (i32, i32) {
    match source.coverage_years {
        Some(pb::YearRange {
            from_year: Some(from),
            to_year,
        }) => {
            // Years outside 0 to 9999 are no calendar years; clamped, a bad record cannot
            // make the count of one search run over millions of decades.
            let from = from.clamp(0, 9999);
            let last = to_year.unwrap_or(open_end).clamp(from, 9999);
            (from - from % 10, last - last % 10)
        }
        // No start: no decade.
        _ => (1, 0),
    }
}

fn years_overlap(source: &pb::DataSource, wanted: Option<&pb::YearRange>) -> bool {
    let Some(wanted) = wanted else { return true };
    if wanted.from_year.is_none() && wanted.to_year.is_none() {
        return true;
    }
    let Some(covered) = source.coverage_years.as_ref() else {
        return false;
    };
    if covered.from_year.is_none() && covered.to_year.is_none() {
        return false;
    }
    let starts_before_end = match (covered.from_year, wanted.to_year) {
        (Some(from), Some(to)) => from <= to,
        _ => true,
    };
    let ends_after_start = match (covered.to_year, wanted.from_year) {
        (Some(to), Some(from)) => to >= from,
        _ => true,
    };
    starts_before_end && ends_after_start
}

#[cfg(test)]
mod tests;
