//! The assembled answer against prost's encoding of the same message, over the bundled
//! catalogue of every custodian with the national rules applied.

use std::{path::Path, sync::Arc};

use helsedata::{custodian_data, proto as pb};
use prost::Message;

use crate::{
    cache::Cached,
    catalogue::{
        CatalogueView, FromCacheMemo, MergedCatalogue, Outcome, Provenance, Provenances,
        index::RankedPage,
        merge::{self, Contribution, OwnsIds},
    },
    planning::rules::NationalRules,
    upstream::Served,
};

/// Every id is its custodian's here: the test is about encoding, not ownership.
struct OwnsAll;

impl OwnsIds for OwnsAll {
    fn owns(&self, _: &str) -> bool {
        true
    }
}

fn provenance(custodian: &str, revision: &str, freshness: pb::Freshness) -> pb::Provenance {
    pb::Provenance {
        custodian_id: custodian.into(),
        catalogue_revision: revision.into(),
        fetched_at: Some(prost_types::Timestamp {
            seconds: 1_796_000_000,
            nanos: 5,
        }),
        freshness: freshness as i32,
    }
}

/// The bundled catalogue merged as the gateway merges it.
fn merged() -> Arc<MergedCatalogue> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let catalogues = custodian_data::load_dir(&root.join("custodian-stub/data"))
        .unwrap_or_else(|e| panic!("the bundled data must load: {e}"));
    let rules = NationalRules::load(root.join("gateway/config/national-rules.toml"))
        .unwrap_or_else(|e| panic!("the shipped rules must load: {e}"));
    let inputs: Vec<(String, pb::Provenance, Vec<pb::DataSource>)> = catalogues
        .iter()
        .map(|c| {
            let sources = c
                .sources
                .iter()
                .map(|b| pb::DataSource {
                    access_rules: Some(b.access.clone()),
                    ..b.source.clone()
                })
                .collect();
            let id = c.info.id.clone();
            let p = provenance(&id, "r1", pb::Freshness::Live);
            (id, p, sources)
        })
        .collect();
    let contributions: Vec<Contribution<'_>> = inputs
        .iter()
        .map(|(id, provenance, sources)| Contribution {
            custodian_id: id,
            ownership: &OwnsAll,
            sources,
            provenance,
        })
        .collect();
    let merged = merge::merge(&contributions).apply_national_rules(&rules);
    let concepts = Arc::new(
        helsedata::concepts::Vocabulary::from_toml(
            "health-concepts.toml",
            crate::concepts::BUNDLED,
        )
        .expect("the bundled vocabulary loads"),
    );
    Arc::new(MergedCatalogue::new(merged, concepts))
}

/// A catalogue fetched at `seconds` past the epoch (fixed, so that two views say the same).
fn fetched_at(seconds: u64) -> Arc<Cached<()>> {
    Arc::new(Cached {
        value: (),
        fetched_at: std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
        fetched: tokio::time::Instant::now(),
        revision: "r3".into(),
        generation: 1,
    })
}

/// A view of `catalogue` as one request sees it: a newer provenance for all custodians but
/// one (whose records keep the merge's own, and one of them served from the cache), and
/// three outcomes (one of them from the cache).
fn view(catalogue: &Arc<MergedCatalogue>) -> CatalogueView {
    let mut custodians: Vec<&str> = catalogue
        .records()
        .iter()
        .map(|r| r.provenance.custodian_id.as_str())
        .collect();
    custodians.sort_unstable();
    custodians.dedup();
    let mut provenance: Provenances = custodians
        .iter()
        .skip(1)
        .map(|c| provenance(c, "r2", pb::Freshness::Cached))
        .collect();
    let from_cache = FromCacheMemo::default()
        .of(
            "kreftregisteret",
            &Served::Cached(fetched_at(1_796_000_100)),
        )
        .expect("served from the cache");
    provenance.insert(from_cache.provenance().clone());
    CatalogueView {
        catalogue: catalogue.clone(),
        generation: 7,
        outcomes: vec![
            pb::CustodianOutcome {
                custodian_id: "fhi".into(),
                status: pb::OutcomeStatus::Ok as i32,
                ..Default::default()
            }
            .into(),
            pb::CustodianOutcome {
                custodian_id: "ssb".into(),
                status: pb::OutcomeStatus::Timeout as i32,
                message: "no answer within 200 ms".into(),
                ..Default::default()
            }
            .into(),
            Outcome::FromCache {
                said: from_cache,
                age: std::time::Duration::from_millis(1234),
            },
        ],
        provenance,
    }
}

fn assert_same_bytes(catalogue: &Arc<MergedCatalogue>, req: pb::SearchDataSourcesRequest) {
    let assembled = view(catalogue).search_encoded(&req).expect("answered");
    let message = view(catalogue).search(&req).expect("answered");
    assert!(!message.results.is_empty(), "{req:?} finds something");
    assert_eq!(
        assembled.bytes().as_ref(),
        message.encode_to_vec().as_slice(),
        "{req:?}"
    );
    // Twice: the second answer is assembled from the parts the first one kept.
    let again = view(catalogue).search_encoded(&req).expect("answered");
    assert_eq!(again.bytes(), assembled.bytes());
    assert_eq!(again.into_message().expect("decodes"), message);
}

#[test]
fn a_full_listing_is_the_bytes_prost_writes_for_the_message() {
    let catalogue = merged();
    assert!(catalogue.records().len() >= 104);
    for view in [pb::DataSourceView::Full, pb::DataSourceView::Basic] {
        assert_same_bytes(
            &catalogue,
            pb::SearchDataSourcesRequest {
                page_size: 500,
                view: view as i32,
                ..Default::default()
            },
        );
    }
}

#[test]
fn a_ranked_page_with_scores_facets_and_a_next_page_is_the_bytes_prost_writes() {
    let catalogue = merged();
    for (query, view) in [
        ("kreft", pb::DataSourceView::Full),
        ("hjerte", pb::DataSourceView::Basic),
        ("MFR", pb::DataSourceView::Unspecified),
    ] {
        let req = pb::SearchDataSourcesRequest {
            query: query.into(),
            page_size: 3,
            view: view as i32,
            ..Default::default()
        };
        assert_same_bytes(&catalogue, req.clone());
        let first = view_answer(&catalogue, &req);
        if !first.next_page_token.is_empty() {
            assert_same_bytes(
                &catalogue,
                pb::SearchDataSourcesRequest {
                    page_token: first.next_page_token,
                    ..req
                },
            );
        }
    }
}

fn view_answer(
    catalogue: &Arc<MergedCatalogue>,
    req: &pb::SearchDataSourcesRequest,
) -> pb::SearchDataSourcesResponse {
    view(catalogue).search(req).expect("answered")
}

#[test]
fn a_refused_page_token_is_refused_alike() {
    let catalogue = merged();
    let req = pb::SearchDataSourcesRequest {
        page_token: "not a token".into(),
        ..Default::default()
    };
    let assembled = view(&catalogue).search_encoded(&req).expect_err("refused");
    let message = view(&catalogue).search(&req).expect_err("refused");
    assert_eq!(assembled.to_string(), message.to_string());
}

#[test]
fn a_page_answered_again_with_the_same_provenances_copies_the_results_it_kept() {
    let catalogue = merged();
    let req = pb::SearchDataSourcesRequest {
        query: "kreft".into(),
        page_size: 5,
        view: pb::DataSourceView::Basic as i32,
        ..Default::default()
    };
    let first_view = view(&catalogue);
    let first = first_view.search_encoded(&req).expect("answered");
    let page = catalogue
        .ranked_page(&req, first_view.generation)
        .expect("ranked");
    let kept = |page: &RankedPage| page.results.lock().ok().and_then(|r| r.clone());
    let made = kept(&page).expect("kept with the page");
    let again = first_view.search_encoded(&req).expect("answered");
    assert_eq!(again.bytes(), first.bytes());
    assert!(
        kept(&page).is_some_and(|k| Arc::ptr_eq(&k, &made)),
        "the same provenances: copied, not made again"
    );

    // Kreftregisteret's catalogue fetched anew: its hits carry the new provenance.
    let refetched = || {
        let mut v = view(&catalogue);
        v.provenance.insert(Provenance::shared(provenance(
            "kreftregisteret",
            "r9",
            pb::Freshness::Live,
        )));
        v
    };
    let answer = refetched().search_encoded(&req).expect("answered");
    let message = refetched().search(&req).expect("answered");
    assert!(
        message.results.iter().any(|r| r
            .provenance
            .as_ref()
            .is_some_and(|p| p.catalogue_revision == "r9")),
        "kreft finds Kreftregisteret's sources"
    );
    assert_eq!(answer.bytes().as_ref(), message.encode_to_vec().as_slice());
    assert_ne!(answer.bytes(), first.bytes());
    // A full listing is larger than a page keeps: assembled anew each time, not kept.
    let listing = pb::SearchDataSourcesRequest {
        page_size: 500,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    };
    let listed = first_view.search_encoded(&listing).expect("answered");
    assert!(
        listed.bytes().len() > 64 << 10,
        "a listing of every source is large"
    );
    let listing_page = catalogue
        .ranked_page(&listing, first_view.generation)
        .expect("ranked");
    assert!(kept(&listing_page).is_none(), "too large to keep");
    // Another view of the page is encoded for its own view.
    let full = pb::SearchDataSourcesRequest {
        view: pb::DataSourceView::Full as i32,
        ..req.clone()
    };
    let answer = first_view.search_encoded(&full).expect("answered");
    let message = view(&catalogue).search(&full).expect("answered");
    assert_eq!(answer.bytes().as_ref(), message.encode_to_vec().as_slice());
}
