//! Tests of the merged catalogue's search: matching, filters, facets, ranking, paging and
//! the index built off the request tasks.

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
        .map(|h| h.record.source.id.clone())
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
fn a_repeated_search_is_not_ranked_again_and_a_new_one_is() {
    let cat = catalogue();
    let first = search(&cat, births_1955_to_1958());
    assert_eq!(cat.ranked.len(), 1);
    assert_eq!(search(&cat, births_1955_to_1958()), first);
    assert_eq!(cat.ranked.len(), 1, "the same words, filters and page");
    let mut wider = births_1955_to_1958();
    wider.years = None;
    assert_eq!(search(&cat, wider), ["mfr", "old"]);
    assert_eq!(cat.ranked.len(), 2, "another filter is another page");
    let refused = cat.search(
        &pb::SearchDataSourcesRequest {
            page_token: "not-a-token".into(),
            ..births_1955_to_1958()
        },
        1,
    );
    assert!(refused.is_err());
    assert_eq!(cat.ranked.len(), 2, "a refused token is not remembered");
}

#[test]
fn year_filter_uses_overlap() {
    let cat = catalogue();
    let req = births_1955_to_1958();
    assert_eq!(search(&cat, req), ["old"]);
}

fn counts(page: &SearchPage<'_>, field: &str) -> Vec<(String, u32)> {
    page.facets
        .list
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
    let ids: Vec<_> = first
        .hits
        .iter()
        .map(|h| h.record.source.id.as_str())
        .collect();
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

#[tokio::test]
async fn a_listing_never_waits_for_the_index() {
    let cat = Arc::new(catalogue());
    cat.index_begun.store(true, Ordering::Release); // as if a build were under way
    let passed = Deadline::after(std::time::Duration::ZERO);
    cat.indexed_for("", passed)
        .await
        .expect("no words, no index");
    cat.indexed_for("  ", passed)
        .await
        .expect("no words, no index");
    assert!(cat.index.get().is_none(), "nothing was built");
}

#[tokio::test]
async fn a_search_begins_the_build_off_its_task_and_waits_for_it() {
    let cat = Arc::new(catalogue());
    cat.indexed_for(
        "fødsel",
        Deadline::after(std::time::Duration::from_secs(30)),
    )
    .await
    .expect("built within the deadline");
    assert!(cat.index.get().is_some());
    assert_eq!(
        search(
            &cat,
            pb::SearchDataSourcesRequest {
                query: "fødselsregister".into(),
                ..Default::default()
            }
        ),
        ["mfr", "old"]
    );
}

#[tokio::test]
async fn a_search_whose_deadline_passes_during_the_build_is_told_to_try_again() {
    let cat = Arc::new(catalogue());
    cat.index_begun.store(true, Ordering::Release); // a build that does not end in time
    let refused = cat
        .indexed_for("mfr", Deadline::after(std::time::Duration::from_millis(20)))
        .await
        .expect_err("not built by the deadline");
    assert!(
        matches!(refused, RequestError::Unavailable(_)),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("try the search again"));
    // Once the build ends, the same search is answered.
    let building = Arc::clone(&cat);
    tokio::task::spawn_blocking(move || building.build_index())
        .await
        .expect("built");
    cat.indexed_for("mfr", Deadline::after(std::time::Duration::ZERO))
        .await
        .expect("built now");
}
