use super::*;

/// A custodian's hits, best first, and the pages it serves (its token is an offset).
struct Fake {
    id: String,
    hits: Vec<pb::VariableHit>,
}

impl Fake {
    fn new(id: &str, n: usize, seed: u64) -> Self {
        let mut hits: Vec<pb::VariableHit> = (0..n)
            .map(|k| pb::VariableHit {
                variable: Some(pb::Variable {
                    id: format!("{id}-src/v{k:05}"),
                    ..Default::default()
                }),
                // A few distinct scores, so that ties across custodians are frequent.
                score: ((k as u64 * 7919 + seed) % 13) as f64,
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| id_of(a).cmp(id_of(b)))
        });
        Self {
            id: id.to_string(),
            hits,
        }
    }

    fn page(&self, token: &str, size: usize) -> pb::SearchVariablesResponse {
        let offset: usize = if token.is_empty() {
            0
        } else {
            token.parse().unwrap()
        };
        let end = (offset + size).min(self.hits.len());
        pb::SearchVariablesResponse {
            hits: self.hits[offset..end].to_vec(),
            next_page_token: if end < self.hits.len() {
                end.to_string()
            } else {
                String::new()
            },
            total_size: self.hits.len() as u32,
            catalogue_revision: String::new(),
        }
    }
}

fn id_of(hit: &pb::VariableHit) -> &str {
    hit.variable.as_ref().map_or("", |v| v.id.as_str())
}

/// Pages through every custodian with composite tokens; returns the ids in served order.
fn page_through(fakes: &[Fake], size: usize, fail_on_page: Option<(usize, &str)>) -> Vec<String> {
    let ids: Vec<&str> = fakes.iter().map(|f| f.id.as_str()).collect();
    let mut token = String::new();
    let mut served = Vec::new();
    for page_no in 0.. {
        let mut cursors = if token.is_empty() {
            Cursors::first_page(42, size, &ids)
        } else {
            Cursors::decode(&token, 42, size).expect("own token")
        };
        let read: Vec<Option<PagesRead>> = cursors
            .cursors
            .iter()
            .map(|c| {
                if fail_on_page == Some((page_no, c.custodian_id.as_str())) {
                    return None;
                }
                let fake = fakes.iter().find(|f| f.id == c.custodian_id).unwrap();
                Some(
                    c.pages_to_read()
                        .iter()
                        .map(|t| fake.page(t, size))
                        .collect(),
                )
            })
            .collect();
        let hits = next_page(&mut cursors, &read);
        served.extend(hits.iter().map(|(_, h)| id_of(h).to_string()));
        token = cursors.encode();
        if token.is_empty() {
            break;
        }
        assert!(page_no < 10_000, "paging must end");
    }
    served
}

fn merged_order(fakes: &[Fake]) -> Vec<String> {
    let mut all: Vec<&pb::VariableHit> = fakes.iter().flat_map(|f| f.hits.iter()).collect();
    all.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| id_of(a).cmp(id_of(b)))
    });
    all.into_iter().map(|h| id_of(h).to_string()).collect()
}

#[test]
fn pages_go_beyond_a_thousand_results_in_merged_order_without_gaps_or_repeats() {
    let fakes = vec![
        Fake::new("fhi", 1800, 1),
        Fake::new("ssb", 700, 5),
        Fake::new("kreftregisteret", 3, 9),
        Fake::new("unn", 0, 2),
    ];
    for size in [1, 7, 50, 500] {
        let served = page_through(&fakes, size, None);
        assert_eq!(served.len(), 2503, "page size {size}");
        assert_eq!(served, merged_order(&fakes), "page size {size}");
    }
}

#[test]
fn a_custodian_that_fails_on_one_page_loses_nothing() {
    let fakes = vec![Fake::new("fhi", 120, 3), Fake::new("ssb", 90, 4)];
    let served = page_through(&fakes, 25, Some((2, "ssb")));
    let mut sorted = served.clone();
    sorted.sort();
    let mut expected = merged_order(&fakes);
    expected.sort();
    assert_eq!(sorted, expected, "every hit once");
}

#[test]
fn tokens_are_refused_for_another_search_page_size_or_version() {
    let mut cursors = Cursors::first_page(7, 10, &["fhi"]);
    cursors.cursors[0].page_token = "10".into();
    let token = cursors.encode();
    assert!(Cursors::decode(&token, 7, 10).is_ok());
    assert!(Cursors::decode(&token, 8, 10).is_err(), "another search");
    let err = Cursors::decode(&token, 7, 20).expect_err("another page size");
    assert!(format!("{err:?}").contains("page_size 10"), "{err:?}");
    assert!(Cursors::decode("not a token!", 7, 10).is_err());
    let old = URL_SAFE_NO_PAD.encode(
        Token {
            version: 0,
            fingerprint: 7,
            page_size: 10,
            cursors: vec![],
        }
        .encode_to_vec(),
    );
    assert!(Cursors::decode(&old, 7, 10).is_err(), "another version");
    cursors.cursors[0].done = true;
    assert_eq!(
        cursors.encode(),
        "",
        "no token when every custodian is done"
    );
}
