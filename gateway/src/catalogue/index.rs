//! The merged catalogue, indexed for SearchDataSources: free text (case- and
//! diacritic-insensitive, nb and en), filters, relevance ranking with a deterministic
//! tie-break, and paging.

use std::collections::HashMap;

use helsedata::{
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
    index: SearchIndex,
    by_id: HashMap<String, usize>,
}

impl MergedCatalogue {
    /// Builds the search index and the id lookup over a merge.
    pub fn new(merged: Merged) -> Self {
        let index = SearchIndex::from_documents(
            merged
                .records
                .iter()
                .map(|r| search::data_source_document(&r.source)),
        );
        let by_id = merged
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.source.id.clone(), i))
            .collect();
        Self {
            merged,
            index,
            by_id,
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
        let mut hits: Vec<(f64, &MergedRecord)> = self
            .index
            .search(&terms)
            .into_iter()
            .map(|(n, score)| (score, &self.merged.records[n as usize]))
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

fn matches_filters(record: &MergedRecord, req: &pb::SearchDataSourcesRequest) -> bool {
    let source = &record.source;
    let custodian =
        req.custodian_ids.is_empty() || req.custodian_ids.contains(&source.custodian_id);
    let kind = req.kind == 0 || source.kind == req.kind;
    let consent = req.consent == 0 || source.consent == req.consent;
    let identifiability = req.identifiability == 0 || source.identifiability == req.identifiability;
    let hap = req.hap_phase == 0 || source.hap_phase == req.hap_phase;
    // The effective channel (under the national rules), not the one the custodian publishes.
    let channel = req.channel == 0 || record.effective_channel() == req.channel;
    custodian
        && kind
        && consent
        && identifiability
        && hap
        && channel
        && years_overlap(source, req.years.as_ref())
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
        MergedCatalogue::new(Merged {
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
        })
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

    #[test]
    fn year_filter_uses_overlap() {
        let cat = catalogue();
        let req = pb::SearchDataSourcesRequest {
            query: "fødselsregister".into(),
            years: Some(pb::YearRange {
                from_year: Some(1955),
                to_year: Some(1958),
            }),
            ..Default::default()
        };
        assert_eq!(search(&cat, req), ["old"]);
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
