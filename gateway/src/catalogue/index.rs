//! The merged catalogue, indexed for SearchDataSources: free text in nb and en (folding,
//! stemming, compounds, typos, and the health concepts each source is tagged with, found by
//! any label of the concept or of a broader one), filters, BM25 ranking with a deterministic
//! tie-break (score, then id), and paging. The index is built once per merge, that is once
//! per set of custodian revisions, when the first free-text search needs it (a listing
//! without a query never waits for it), and never again for that merge.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use helsedata::{
    concepts::Vocabulary,
    contract::SEARCH_DATA_SOURCES_PAGE,
    paging::{self, PageRequest},
    proto as pb,
    search::{self, SearchIndex},
    status::RequestError,
};

use super::merge::{Merged, MergedRecord};

/// The merged catalogue with its search index.
#[derive(Debug, Default)]
pub struct MergedCatalogue {
    merged: Merged,
    concepts: Arc<Vocabulary>,
    index: OnceLock<SearchIndex>,
    by_id: HashMap<String, usize>,
}

impl MergedCatalogue {
    /// A merge, to be indexed with `concepts` (the labels of the sources' concepts).
    pub fn new(merged: Merged, concepts: Arc<Vocabulary>) -> Self {
        let by_id = merged
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.source.id.clone(), i))
            .collect();
        Self {
            merged,
            concepts,
            index: OnceLock::new(),
            by_id,
        }
    }

    /// The search index, built on first use.
    fn index(&self) -> &SearchIndex {
        self.index.get_or_init(|| {
            search::source_index(
                self.merged.records.iter().map(|r| &r.source),
                &self.concepts,
            )
        })
    }

    /// All records, ordered by id.
    pub fn records(&self) -> &[MergedRecord] {
        &self.merged.records
    }

    /// Problems found while merging.
    pub fn issues(&self) -> &[pb::MergeIssue] {
        &self.merged.issues
    }

    /// The record with data source id `id`, if the merge holds one.
    pub fn get(&self, id: &str) -> Option<&MergedRecord> {
        self.by_id.get(id).map(|&i| &self.merged.records[i])
    }

    /// SearchDataSources over the merged records, for a request the contract has validated
    /// (only its page token is checked here). `generation` identifies the merge, so that
    /// page tokens from an older merge are refused rather than skipping or repeating records.
    pub fn search(
        &self,
        req: &pb::SearchDataSourcesRequest,
        generation: u64,
    ) -> Result<SearchPage<'_>, RequestError> {
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            SEARCH_DATA_SOURCES_PAGE,
            paging::fingerprint(&(fingerprint_parts(req), generation)),
        )?;
        let terms = search::terms(&req.query);
        let scored: Vec<(f64, &MergedRecord)> = if search::has_words(&terms) {
            self.index()
                .search(&terms)
                .into_iter()
                .map(|(n, score)| (score, &self.merged.records[n as usize]))
                .collect()
        } else {
            self.merged.records.iter().map(|r| (0.0, r)).collect()
        };
        let matched: Vec<&MergedRecord> = scored.iter().map(|(_, r)| *r).collect();
        let facets = facets(&matched, &self.merged.records, req);
        let mut hits: Vec<(f64, &MergedRecord)> = scored
            .into_iter()
            .filter(|(_, record)| matches_filters(record, req))
            .collect();
        hits.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.source.id.cmp(&b.1.source.id))
        });
        let total = hits.len();
        let next_page_token = page.next_token(total);
        let range = page.range(total);
        Ok(SearchPage {
            hits: hits.drain(range).collect(),
            next_page_token,
            total,
            facets,
        })
    }
}

/// One page of SearchDataSources.
#[derive(Debug)]
pub struct SearchPage<'a> {
    /// Score and record, best first.
    pub hits: Vec<(f64, &'a MergedRecord)>,
    /// Token for the next page.
    pub next_page_token: String,
    /// Matches over all pages.
    pub total: usize,
    /// The matches counted by each filter's values, every other filter applied.
    pub facets: Vec<pb::Facet>,
}

fn fingerprint_parts(req: &pb::SearchDataSourcesRequest) -> impl std::hash::Hash + '_ {
    let years = req.years.as_ref().map(|y| (y.from_year, y.to_year));
    (
        search::terms(&req.query),
        &req.custodian_ids,
        (
            req.kind,
            req.consent,
            req.identifiability,
            req.hap_phase,
            req.channel,
        ),
        years,
    )
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

    /// The values `record` has for this facet (several decades for `years`, none for an
    /// unset enum).
    fn values(self, record: &MergedRecord, open_end: i32) -> Vec<String> {
        let source = &record.source;
        let name = |value: Option<&'static str>| {
            value
                .filter(|n| !n.ends_with("_UNSPECIFIED"))
                .map(str::to_string)
                .into_iter()
                .collect()
        };
        match self {
            Filter::Custodian => vec![source.custodian_id.clone()],
            Filter::Kind => name(
                pb::DataSourceKind::try_from(source.kind)
                    .ok()
                    .map(|v| v.as_str_name()),
            ),
            Filter::Consent => name(
                pb::ConsentRequirement::try_from(source.consent)
                    .ok()
                    .map(|v| v.as_str_name()),
            ),
            Filter::Identifiability => name(
                pb::Identifiability::try_from(source.identifiability)
                    .ok()
                    .map(|v| v.as_str_name()),
            ),
            Filter::Years => decades(source, open_end),
            Filter::HapPhase => name(
                pb::HapPhase::try_from(source.hap_phase)
                    .ok()
                    .map(|v| v.as_str_name()),
            ),
            Filter::Channel => name(
                pb::ApplicationChannel::try_from(record.effective_channel())
                    .ok()
                    .map(|v| v.as_str_name()),
            ),
        }
    }
}

fn matches_filters(record: &MergedRecord, req: &pb::SearchDataSourcesRequest) -> bool {
    Filter::ALL.iter().all(|f| f.passes(record, req))
}

/// The facets over the text matches `matched`: each filter's values counted over the
/// records that pass every other filter of `req` (the usual faceted-search rule: a facet's
/// own choice does not narrow its counts). `all` is the whole catalogue, which fixes where
/// open-ended coverage ends.
fn facets(
    matched: &[&MergedRecord],
    all: &[MergedRecord],
    req: &pb::SearchDataSourcesRequest,
) -> Vec<pb::Facet> {
    let open_end = all
        .iter()
        .filter_map(|r| r.source.coverage_years.as_ref())
        .flat_map(|y| [y.from_year, y.to_year])
        .flatten()
        .max()
        .unwrap_or_default();
    Filter::ALL
        .iter()
        .map(|&facet| {
            let mut counts: HashMap<String, u32> = HashMap::new();
            for record in matched
                .iter()
                .filter(|r| Filter::ALL.iter().all(|&f| f == facet || f.passes(r, req)))
            {
                for value in facet.values(record, open_end) {
                    *counts.entry(value).or_default() += 1;
                }
            }
            let mut counts: Vec<pb::FacetCount> = counts
                .into_iter()
                .map(|(value, count)| pb::FacetCount { value, count })
                .collect();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            pb::Facet {
                field: facet.field().to_string(),
                counts,
            }
        })
        .collect()
}

/// The decades (by their first year) that a source's coverage overlaps; open-ended coverage
/// runs to `open_end`.
fn decades(source: &pb::DataSource, open_end: i32) -> Vec<String> {
    let Some(pb::YearRange {
        from_year: Some(from),
        to_year,
    }) = source.coverage_years
    else {
        return Vec::new();
    };
    let last = to_year.unwrap_or(open_end).max(from);
    (from - from.rem_euclid(10)..=last)
        .step_by(10)
        .map(|d| d.to_string())
        .collect()
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
mod tests {
    use super::*;

    fn record(
        id: &str,
        name_nb: &str,
        abbreviation: &str,
        years: (Option<i32>, Option<i32>),
    ) -> MergedRecord {
        MergedRecord {
            source: pb::DataSource {
                id: id.into(),
                custodian_id: "fhi".into(),
                name: Some(pb::LocalizedText {
                    nb: name_nb.into(),
                    en: String::new(),
                }),
                abbreviation: abbreviation.into(),
                coverage_years: Some(pb::YearRange {
                    from_year: years.0,
                    to_year: years.1,
                }),
                ..Default::default()
            },
            provenance: pb::Provenance::default(),
            effective_route: None,
        }
    }

    fn catalogue() -> MergedCatalogue {
        MergedCatalogue::new(
            Merged {
                records: vec![
                    record("abort", "Abortregisteret", "", (Some(1979), None)),
                    record(
                        "mfr",
                        "Medisinsk fødselsregister",
                        "MFR",
                        (Some(1967), None),
                    ),
                    record(
                        "old",
                        "Et gammelt fødselsregister",
                        "",
                        (Some(1950), Some(1960)),
                    ),
                ],
                issues: vec![],
            },
            Arc::default(),
        )
    }

    fn search(cat: &MergedCatalogue, req: pb::SearchDataSourcesRequest) -> Vec<String> {
        cat.search(&req, 1)
            .unwrap()
            .hits
            .iter()
            .map(|h| h.1.source.id.clone())
            .collect()
    }

    #[test]
    fn diacritics_and_abbreviations_both_find_the_birth_registry() {
        let cat = catalogue();
        let q = |query: &str| pb::SearchDataSourcesRequest {
            query: query.into(),
            ..Default::default()
        };
        assert_eq!(search(&cat, q("fodselsregister")), ["mfr", "old"]);
        assert_eq!(search(&cat, q("MFR")), ["mfr"]);
    }

    /// The birth registries covering any of the years 1955 to 1958.
    fn births_1955_to_1958() -> pb::SearchDataSourcesRequest {
        pb::SearchDataSourcesRequest {
            query: "fødselsregister".into(),
            years: Some(pb::YearRange {
                from_year: Some(1955),
                to_year: Some(1958),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn year_filter_uses_overlap() {
        let cat = catalogue();
        let req = births_1955_to_1958();
        assert_eq!(search(&cat, req), ["old"]);
    }

    fn counts(page: &SearchPage<'_>, field: &str) -> Vec<(String, u32)> {
        page.facets
            .iter()
            .find(|f| f.field == field)
            .map(|f| {
                f.counts
                    .iter()
                    .map(|c| (c.value.clone(), c.count))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn each_facet_counts_with_every_other_filter_but_its_own() {
        let mut merged = catalogue().merged;
        merged.records[0].source.custodian_id = "ssb".into();
        merged.records[0].source.kind = pb::DataSourceKind::StatisticsDataset as i32;
        merged.records[1].source.kind = pb::DataSourceKind::CentralHealthRegister as i32;
        merged.records[2].source.kind = pb::DataSourceKind::CentralHealthRegister as i32;
        let cat = MergedCatalogue::new(merged, Arc::default());
        let req = pb::SearchDataSourcesRequest {
            custodian_ids: vec!["fhi".into()],
            ..Default::default()
        };
        let page = cat.search(&req, 1).unwrap();
        assert_eq!(page.total, 2);
        // The custodian facet ignores the custodian filter: ssb is still counted.
        assert_eq!(
            counts(&page, "custodian_ids"),
            [("fhi".to_string(), 2), ("ssb".to_string(), 1)]
        );
        // Every other facet counts within the chosen custodian.
        assert_eq!(
            counts(&page, "kind"),
            [("DATA_SOURCE_KIND_CENTRAL_HEALTH_REGISTER".to_string(), 2)]
        );
        // Adding a kind filter narrows the custodian counts but not the kind counts.
        let req = pb::SearchDataSourcesRequest {
            kind: pb::DataSourceKind::StatisticsDataset as i32,
            ..req
        };
        let page = cat.search(&req, 1).unwrap();
        assert_eq!(page.total, 0);
        assert_eq!(counts(&page, "custodian_ids"), [("ssb".to_string(), 1)]);
        assert_eq!(
            counts(&page, "kind"),
            [("DATA_SOURCE_KIND_CENTRAL_HEALTH_REGISTER".to_string(), 2)]
        );
    }

    #[test]
    fn the_years_facet_counts_decades_and_the_query_narrows_every_facet() {
        let cat = catalogue();
        let req = births_1955_to_1958();
        let page = cat.search(&req, 1).unwrap();
        // "old" covers 1950–1960, "mfr" 1967 onwards, to the latest year mentioned (1979).
        let years = counts(&page, "years");
        assert!(years.contains(&("1950".to_string(), 1)), "{years:?}");
        assert!(years.contains(&("1960".to_string(), 2)), "{years:?}");
        assert!(years.contains(&("1970".to_string(), 1)), "{years:?}");
        assert!(!years.iter().any(|(d, _)| d == "1980"), "{years:?}");
        // The abortion register does not match the query and is counted nowhere.
        assert_eq!(counts(&page, "custodian_ids"), [("fhi".to_string(), 1)]);
    }

    #[test]
    fn ties_break_by_id_and_pages_follow() {
        let cat = catalogue();
        let first = cat
            .search(
                &pb::SearchDataSourcesRequest {
                    page_size: 2,
                    ..Default::default()
                },
                1,
            )
            .unwrap();
        let ids: Vec<_> = first.hits.iter().map(|h| h.1.source.id.as_str()).collect();
        assert_eq!(ids, ["abort", "mfr"]);
        let next = pb::SearchDataSourcesRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        };
        assert_eq!(search(&cat, next.clone()), ["old"]);
        assert!(
            cat.search(&next, 2).is_err(),
            "a token from another merge is refused"
        );
    }
}
