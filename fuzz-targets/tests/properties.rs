//! Properties over the bundled catalogues: following `next_page_token` over any page size
//! yields every result exactly once (offset tokens, a custodian's lists and variable search,
//! the gateway's data-source search); the merge gives the same answer whatever the order of
//! the custodians' answers; every requested id of a plan lands in exactly one of
//! applications, unknown or unresolved.

use std::{
    collections::{BTreeSet, HashSet},
    sync::Arc,
};

use custodian_stub::catalogue::Catalogue;
use fuzz_targets::{bundled_catalogues, bundled_rules, plan_and_check};
use gateway::{
    catalogue::{
        MergedCatalogue,
        merge::{self, Contribution, Merged},
    },
    upstream::Ownership,
};
use helsedata::{
    concepts::Vocabulary,
    paging::{PageLimits, PageRequest},
    proto as pb,
};
use proptest::{
    prelude::*,
    sample::select,
    test_runner::{Config, TestRunner},
};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Follows the tokens of a paged call from the first page to the last, returning every id
/// served and the total the pages announced; fails past `max_pages`.
fn follow(
    max_pages: usize,
    mut page: impl FnMut(&str) -> (Vec<String>, String, usize),
) -> Result<(Vec<String>, usize), TestCaseError> {
    let (mut ids, mut token, total) = page("");
    let mut pages = 1;
    while !token.is_empty() {
        prop_assert!(pages <= max_pages, "more than {max_pages} pages");
        let (more, next, again) = page(&token);
        prop_assert_eq!(again, total, "the total stays the same across pages");
        prop_assert!(!more.is_empty(), "a page before the last is never empty");
        ids.extend(more);
        token = next;
        pages += 1;
    }
    Ok((ids, total))
}

fn each_once(ids: &[String], total: usize) -> Result<(), TestCaseError> {
    let distinct: HashSet<&String> = ids.iter().collect();
    prop_assert_eq!(distinct.len(), ids.len(), "no result is served twice");
    prop_assert_eq!(ids.len(), total, "every result is served");
    Ok(())
}

#[test]
fn offset_tokens_cover_every_index_once_for_any_page_size() {
    let limits = PageLimits {
        default_size: 50,
        max_size: 500,
    };
    runner(500)
        .run(
            &(0usize..5000, 1i32..=500, any::<u64>()),
            |(total, size, fingerprint)| {
                let (ids, served_total) = follow(5001, |token| {
                    let page = PageRequest::parse(size, token, limits, fingerprint)
                        .expect("the server's own token is accepted");
                    let ids = page.range(total).map(|i| i.to_string()).collect();
                    (ids, page.next_token(total), total)
                })?;
                each_once(&ids, served_total)?;
                let expected: Vec<String> = (0..total).map(|i| i.to_string()).collect();
                prop_assert_eq!(ids, expected, "in order");
                Ok(())
            },
        )
        .expect("offset paging");
}

fn catalogue_index() -> impl Strategy<Value = usize> {
    0..bundled_catalogues().len()
}

#[test]
fn a_custodians_lists_and_variable_search_serve_every_result_once() {
    let catalogues: &[Catalogue] = bundled_catalogues();
    let queries = [
        "diagnose",
        "fødsel",
        "kommune",
        "alder dato",
        "ICD-10",
        "kjønn",
    ]
    .to_vec();
    runner(150)
        .run(
            &(catalogue_index(), 1i32..=120, 1i32..=300, select(queries)),
            |(index, source_page, variable_page, query)| {
                let catalogue = &catalogues[index];
                let (sources, total) = follow(200, |token| {
                    let answer = catalogue
                        .list_sources(&pb::ListDataSourcesRequest {
                            page_size: source_page,
                            page_token: token.to_string(),
                            ..Default::default()
                        })
                        .expect("a listing");
                    let ids = answer.data_sources.into_iter().map(|s| s.id).collect();
                    (ids, answer.next_page_token, answer.total_size as usize)
                })?;
                each_once(&sources, total)?;
                let largest = catalogue
                    .sources()
                    .max_by_key(|b| b.variables.len())
                    .expect("a source");
                let (variables, total) = follow(10_000, |token| {
                    let answer = catalogue
                        .list_variables(&pb::ListVariablesRequest {
                            data_source_id: largest.source.id.clone(),
                            page_size: variable_page,
                            page_token: token.to_string(),
                        })
                        .expect("a variable listing");
                    let ids = answer.variables.into_iter().map(|v| v.id).collect();
                    (ids, answer.next_page_token, answer.total_size as usize)
                })?;
                each_once(&variables, total)?;
                let (found, total) = follow(10_000, |token| {
                    let answer = catalogue
                        .search_variables(&pb::SearchVariablesRequest {
                            query: query.to_string(),
                            page_size: variable_page,
                            page_token: token.to_string(),
                            ..Default::default()
                        })
                        .expect("a variable search");
                    let ids = answer
                        .hits
                        .into_iter()
                        .filter_map(|r| r.variable.map(|v| v.id))
                        .collect();
                    (ids, answer.next_page_token, answer.total_size as usize)
                })?;
                each_once(&found, total)?;
                Ok(())
            },
        )
        .expect("custodian paging");
}

/// Every bundled custodian's sources with the provenance of a fetch, and the ownership of
/// exactly the ids in its file; plus a custodian that claims another's source.
struct Answers {
    custodians: Vec<(String, Ownership, Vec<pb::DataSource>, pb::Provenance)>,
}

fn answers() -> Answers {
    let mut custodians: Vec<_> = bundled_catalogues()
        .iter()
        .map(|c| {
            let sources: Vec<pb::DataSource> = c.sources().map(|b| b.source.clone()).collect();
            let ownership = Ownership::new(sources.iter().map(|s| s.id.clone()).collect());
            let provenance = pb::Provenance {
                custodian_id: c.custodian_id().to_string(),
                catalogue_revision: c.info().catalogue_revision.clone(),
                ..Default::default()
            };
            (c.custodian_id().to_string(), ownership, sources, provenance)
        })
        .collect();
    let stolen = custodians[0].2[0].clone();
    let mut duplicated = custodians[1].2.clone();
    duplicated.push(custodians[1].2[0].clone());
    custodians[1].2 = duplicated;
    custodians.push((
        "rogue".to_string(),
        Ownership::new(vec!["rogue-*".to_string()]),
        vec![stolen],
        pb::Provenance {
            custodian_id: "rogue".to_string(),
            ..Default::default()
        },
    ));
    Answers { custodians }
}

fn merged_in(answers: &Answers, order: &[usize]) -> Merged {
    let contributions: Vec<Contribution<'_>> = order
        .iter()
        .map(|&i| {
            let (id, ownership, sources, provenance) = &answers.custodians[i];
            Contribution {
                custodian_id: id,
                ownership,
                sources,
                provenance,
            }
        })
        .collect();
    merge::merge(&contributions)
}

#[test]
fn the_merge_is_the_same_for_any_order_of_custodian_answers() {
    let answers = answers();
    let order: Vec<usize> = (0..answers.custodians.len()).collect();
    let reference = merged_in(&answers, &order);
    assert!(
        !reference.issues.is_empty(),
        "the rogue and the duplicate are reported"
    );
    runner(200)
        .run(&Just(order.clone()).prop_shuffle(), |shuffled| {
            let merged = merged_in(&answers, &shuffled);
            prop_assert_eq!(&merged, &reference);
            Ok(())
        })
        .expect("merge order");
}

#[test]
fn gateway_search_pages_serve_every_match_once() {
    let answers = answers();
    let order: Vec<usize> = (0..answers.custodians.len()).collect();
    let merged = merged_in(&answers, &order).apply_national_rules(bundled_rules());
    let catalogue = MergedCatalogue::new(merged, Arc::new(Vocabulary::default()));
    let queries = [
        "", "register", "kreft", "fødsel", "helse", "pasient", "data",
    ]
    .to_vec();
    runner(150)
        .run(&(select(queries), 1i32..=120), |(query, size)| {
            let (ids, total) = follow(200, |token| {
                let req = pb::SearchDataSourcesRequest {
                    query: query.to_string(),
                    page_size: size,
                    page_token: token.to_string(),
                    ..Default::default()
                };
                let page = catalogue.search(&req, 7).expect("a search page");
                let ids = page
                    .hits
                    .iter()
                    .map(|h| h.record.source.id.clone())
                    .collect();
                (ids, page.next_page_token, page.total)
            })?;
            each_once(&ids, total)?;
            if query.is_empty() {
                prop_assert_eq!(total, catalogue.records().len());
            }
            Ok(())
        })
        .expect("gateway search paging");
}

fn plan_request() -> impl Strategy<Value = (pb::PlanApplicationRequest, Vec<bool>)> {
    let catalogues = bundled_catalogues();
    let mut source_ids: Vec<String> = catalogues
        .iter()
        .flat_map(|c| c.sources().map(|b| b.source.id.clone()))
        .collect();
    source_ids.extend(["no-such-source".to_string(), "zz".to_string()]);
    let mut variable_ids: Vec<String> = catalogues
        .iter()
        .flat_map(|c| c.sources())
        .flat_map(|b| b.variables.iter().take(2).map(|v| v.id.clone()))
        .collect();
    variable_ids.extend([
        "mfr/no_such_variable".to_string(),
        "zz/y".to_string(),
        "no-such-source/x".to_string(),
    ]);
    (
        prop::collection::vec(select(source_ids), 0..6),
        prop::collection::vec(select(variable_ids), 0..8),
        1i32..=5,
        1i32..=3,
        1i32..=3,
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), catalogues.len()),
    )
        .prop_map(
            |(data_source_ids, variable_ids, purpose, stage, data_level, linkage, bio, down)| {
                (
                    pb::PlanApplicationRequest {
                        data_source_ids,
                        variable_ids,
                        purpose,
                        stage,
                        data_level,
                        linkage_wanted: linkage,
                        biomaterial_wanted: bio,
                    },
                    down,
                )
            },
        )
}

#[test]
fn every_requested_id_lands_in_exactly_one_of_applications_unknown_or_unresolved() {
    let catalogues = bundled_catalogues();
    runner(300)
        .run(&plan_request(), |(req, down)| {
            prop_assume!(!req.data_source_ids.is_empty() || !req.variable_ids.is_empty());
            let unavailable: BTreeSet<String> = catalogues
                .iter()
                .zip(&down)
                .filter(|(_, down)| **down)
                .flat_map(|(c, _)| c.sources().map(|b| b.source.id.clone()))
                .collect();
            plan_and_check(&req, catalogues, bundled_rules(), &unavailable);
            Ok(())
        })
        .expect("plan partition");
}
