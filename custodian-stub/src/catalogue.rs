//! One custodian's catalogue in memory, indexed for the queries the service answers.
//!
//! Built from a validated data file and never mutated, so every request reads it without
//! locks; a reload builds a new one and swaps it in whole ([`crate::live`]). Requests reach it validated by the contract
//! ([`helsedata::contract`]); only page tokens, bound to the catalogue revision, are checked here.

use std::collections::HashMap;

use prost::encoding::{self, WireType};

use helsedata::{
    contract::{CUSTODIAN_SEARCH_VARIABLES_PAGE, LIST_DATA_SOURCES_PAGE, LIST_VARIABLES_PAGE},
    custodian_data::SourceBundle,
    encoded::SearchVariablesAnswer,
    paging::{self, PageRequest},
    proto as pb,
    search::{self, SearchIndex},
    status::RequestError,
};

/// The indexed catalogue of one custodian.
#[derive(Debug)]
pub struct Catalogue {
    info: pb::CustodianInfo,
    sources: Vec<SourceBundle>,
    by_id: HashMap<String, usize>,
    source_index: SearchIndex,
    variable_index: SearchIndex,
    variable_locations: Vec<(u32, u32)>,
}

impl Catalogue {
    /// Indexes the sources (sorted by id). Counts in `info` are recomputed.
    pub fn new(mut info: pb::CustodianInfo, mut sources: Vec<SourceBundle>) -> Self {
        sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        // The custodian has no concept vocabulary: its own filter searches names, topics and
        // descriptions; the gateway adds the concepts.
        let source_index = search::source_index(
            sources.iter().map(|b| &b.source),
            &helsedata::concepts::Vocabulary::default(),
        );
        // Variables are indexed in id order, so that a record number is its id's rank: the
        // ranking's tie-break compares two numbers instead of two ids (at national size a
        // common word matches tens of thousands of variables, many with equal scores).
        let mut variable_locations: Vec<(u32, u32)> = sources
            .iter()
            .enumerate()
            .flat_map(|(s, bundle)| (0..bundle.variables.len()).map(move |v| (s as u32, v as u32)))
            .collect();
        let variable = |&(s, v): &(u32, u32)| &sources[s as usize].variables[v as usize];
        variable_locations.sort_by(|a, b| variable(a).id.cmp(&variable(b).id));
        let variable_index = search::variable_index(variable_locations.iter().map(variable));
        let by_id = sources
            .iter()
            .enumerate()
            .map(|(s, bundle)| (bundle.source.id.clone(), s))
            .collect();
        info.data_source_count = sources.len() as u32;
        info.variable_count = variable_locations.len() as u32;
        Self {
            info,
            sources,
            by_id,
            source_index,
            variable_index,
            variable_locations,
        }
    }

    /// Facts about the custodian.
    pub fn info(&self) -> &pb::CustodianInfo {
        &self.info
    }

    /// The custodian id.
    pub fn custodian_id(&self) -> &str {
        &self.info.id
    }

    /// All sources, ordered by id.
    pub fn sources(&self) -> impl Iterator<Item = &SourceBundle> {
        self.sources.iter()
    }

    fn bundle(&self, id: &str) -> Result<&SourceBundle, RequestError> {
        self.by_id.get(id).map(|&i| &self.sources[i]).ok_or_else(|| {
            RequestError::data_source_not_found(
                id,
                format!("custodian `{}` publishes no such source; call ListDataSources to see the ids it publishes", self.info.id),
            )
        })
    }

    fn view(bundle: &SourceBundle, view: i32) -> pb::DataSource {
        let mut source = bundle.source.clone();
        if view == pb::DataSourceView::Full as i32 {
            source.access_rules = Some(bundle.access.clone());
        }
        source
    }

    /// ListDataSources.
    pub fn list_sources(
        &self,
        req: &pb::ListDataSourcesRequest,
    ) -> Result<pb::ListDataSourcesResponse, RequestError> {
        let filter = req.filter.clone().unwrap_or_default();
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            LIST_DATA_SOURCES_PAGE,
            paging::fingerprint(&(
                &filter.text,
                &filter.topic,
                filter.kind,
                &self.info.catalogue_revision,
            )),
        )?;
        let terms = search::terms(&filter.text);
        let matching: Vec<&SourceBundle> = self
            .source_index
            .search(&terms)
            .into_iter()
            .map(|(n, _)| &self.sources[n as usize])
            .filter(|b| filter.kind == 0 || b.source.kind == filter.kind)
            .filter(|b| search::has_topic(&b.source, &filter.topic))
            .collect();
        let range = page.range(matching.len());
        Ok(pb::ListDataSourcesResponse {
            data_sources: matching[range]
                .iter()
                .map(|b| Self::view(b, req.view))
                .collect(),
            next_page_token: page.next_token(matching.len()),
            total_size: matching.len() as u32,
            catalogue_revision: self.info.catalogue_revision.clone(),
        })
    }

    /// GetDataSource.
    pub fn get_source(
        &self,
        req: &pb::GetDataSourceRequest,
    ) -> Result<pb::DataSource, RequestError> {
        Ok(Self::view(self.bundle(&req.id)?, req.view))
    }

    /// GetAccessRules.
    pub fn access_rules(
        &self,
        req: &pb::GetAccessRulesRequest,
    ) -> Result<pb::AccessRules, RequestError> {
        Ok(self.bundle(&req.data_source_id)?.access.clone())
    }

    /// ListVariables.
    pub fn list_variables(
        &self,
        req: &pb::ListVariablesRequest,
    ) -> Result<pb::ListVariablesResponse, RequestError> {
        let bundle = self.bundle(&req.data_source_id)?;
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            LIST_VARIABLES_PAGE,
            paging::fingerprint(&(&req.data_source_id, &self.info.catalogue_revision)),
        )?;
        let total = bundle.variables.len();
        Ok(pb::ListVariablesResponse {
            variables: bundle.variables[page.range(total)].to_vec(),
            next_page_token: page.next_token(total),
            total_size: total as u32,
            catalogue_revision: self.info.catalogue_revision.clone(),
        })
    }

    /// SearchVariables, as a message (its hits copied from the catalogue).
    pub fn search_variables(
        &self,
        req: &pb::SearchVariablesRequest,
    ) -> Result<pb::SearchVariablesResponse, RequestError> {
        let page = self.variable_page(req)?;
        Ok(pb::SearchVariablesResponse {
            hits: page
                .hits
                .iter()
                .map(|&(variable, score)| pb::VariableHit {
                    variable: Some(variable.clone()),
                    score,
                })
                .collect(),
            next_page_token: page.next_page_token,
            total_size: page.total as u32,
            catalogue_revision: self.info.catalogue_revision.clone(),
        })
    }

    /// SearchVariables, as the bytes of the same message, its hits encoded straight from the
    /// catalogue's variables (what the service sends: no hit is copied first).
    pub fn search_variables_encoded(
        &self,
        req: &pb::SearchVariablesRequest,
    ) -> Result<SearchVariablesAnswer, RequestError> {
        const HITS: u32 = 1;
        const NEXT_PAGE_TOKEN: u32 = 2;
        const TOTAL_SIZE: u32 = 3;
        const CATALOGUE_REVISION: u32 = 4;
        const HIT_VARIABLE: u32 = 1;
        const HIT_SCORE: u32 = 2;
        let page = self.variable_page(req)?;
        let mut buf = Vec::with_capacity(page.hits.len() * 640 + 64);
        // Fields in their numbers' order, each as prost writes it.
        for &(variable, score) in &page.hits {
            let score_len = if score != 0.0 {
                encoding::key_len(HIT_SCORE) + 8
            } else {
                0
            };
            let len = encoding::message::encoded_len(HIT_VARIABLE, variable) + score_len;
            encoding::encode_key(HITS, WireType::LengthDelimited, &mut buf);
            encoding::encode_varint(len as u64, &mut buf);
            encoding::message::encode(HIT_VARIABLE, variable, &mut buf);
            if score != 0.0 {
                encoding::double::encode(HIT_SCORE, &score, &mut buf);
            }
        }
        if !page.next_page_token.is_empty() {
            encoding::string::encode(NEXT_PAGE_TOKEN, &page.next_page_token, &mut buf);
        }
        let total = page.total as u32;
        if total != 0 {
            encoding::uint32::encode(TOTAL_SIZE, &total, &mut buf);
        }
        let revision = &self.info.catalogue_revision;
        if !revision.is_empty() {
            encoding::string::encode(CATALOGUE_REVISION, revision, &mut buf);
        }
        Ok(SearchVariablesAnswer::from_bytes(buf.into()))
    }

    /// The page of variables `req` asks for: the hits (best first, ties by id), the token
    /// of the next page and the number of hits over all pages.
    fn variable_page(
        &self,
        req: &pb::SearchVariablesRequest,
    ) -> Result<VariablePage<'_>, RequestError> {
        let terms = search::terms(&req.query);
        let page = PageRequest::parse(
            req.page_size,
            &req.page_token,
            CUSTODIAN_SEARCH_VARIABLES_PAGE,
            paging::fingerprint(&(&terms, &req.data_source_ids, &self.info.catalogue_revision)),
        )?;
        let wanted: Option<Vec<u32>> = (!req.data_source_ids.is_empty()).then(|| {
            req.data_source_ids
                .iter()
                .filter_map(|id| self.by_id.get(id).map(|&i| i as u32))
                .collect()
        });
        let mut hits = self.variable_index.search(&terms);
        if let Some(wanted) = &wanted {
            hits.retain(|&(n, _)| wanted.contains(&self.variable_locations[n as usize].0));
        }
        let total = hits.len();
        // Best first, ties by id (a record number is its id's rank).
        let range = page.order_page(&mut hits, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(VariablePage {
            hits: hits[range]
                .iter()
                .map(|&(n, score)| {
                    let (s, v) = self.variable_locations[n as usize];
                    (&self.sources[s as usize].variables[v as usize], score)
                })
                .collect(),
            next_page_token: page.next_token(total),
            total,
        })
    }
}

/// One page of SearchVariables, its hits borrowed from the catalogue.
struct VariablePage<'a> {
    hits: Vec<(&'a pb::Variable, f64)>,
    next_page_token: String,
    total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(source: &str, id: &str) -> pb::Variable {
        pb::Variable {
            id: id.into(),
            data_source_id: source.into(),
            name: "vekt".into(),
            ..Default::default()
        }
    }

    fn bundle(id: &str, variables: &[&str]) -> SourceBundle {
        SourceBundle {
            source: pb::DataSource {
                id: id.into(),
                ..Default::default()
            },
            access: pb::AccessRules::default(),
            variables: variables.iter().map(|v| variable(id, v)).collect(),
        }
    }

    fn ids(catalogue: &Catalogue, data_source_ids: &[&str], page_size: i32) -> Vec<String> {
        catalogue
            .search_variables(&pb::SearchVariablesRequest {
                query: "vekt".into(),
                data_source_ids: data_source_ids.iter().map(|s| s.to_string()).collect(),
                page_size,
                ..Default::default()
            })
            .expect("search")
            .hits
            .into_iter()
            .map(|h| h.variable.expect("variable").id)
            .collect()
    }

    #[test]
    fn equally_scored_variables_are_ranked_by_id_whatever_their_source_order() {
        // Sources sort `a` before `a-b`, but `a-b.x` sorts before `a.x`, and the variables
        // of a source are listed out of id order.
        let catalogue = Catalogue::new(
            pb::CustodianInfo::default(),
            vec![
                bundle("a", &["a.z", "a.x"]),
                bundle("a-b", &["a-b.y", "a-b.x"]),
            ],
        );
        assert_eq!(ids(&catalogue, &[], 10), ["a-b.x", "a-b.y", "a.x", "a.z"]);
        assert_eq!(ids(&catalogue, &[], 3), ["a-b.x", "a-b.y", "a.x"]);
        assert_eq!(ids(&catalogue, &["a"], 10), ["a.x", "a.z"]);
    }

    #[test]
    fn a_search_sent_encoded_is_the_bytes_prost_writes_for_its_message() {
        use prost::Message;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = helsedata::custodian_data::load_dir(&root.join("data"))
            .unwrap_or_else(|e| panic!("the bundled data must load: {e}"));
        let fhi = loaded
            .into_iter()
            .find(|c| c.info.id == "fhi")
            .expect("FHI's data file");
        let catalogue = Catalogue::new(fhi.info, fhi.sources);
        let mut asked = 0;
        for (query, sources, page_size) in [
            ("fødselsvekt", vec![], 5),
            ("kommune", vec![], 3),
            ("ICD-10 diagnose", vec![], 50),
            ("kommune", vec!["mfr".to_string()], 2),
            ("ingen slik variabel finnes", vec![], 10),
        ] {
            let mut req = pb::SearchVariablesRequest {
                query: query.into(),
                data_source_ids: sources,
                page_size,
                ..Default::default()
            };
            // This page and the next.
            for _ in 0..2 {
                let message = catalogue.search_variables(&req).expect("searched");
                let sent = catalogue.search_variables_encoded(&req).expect("searched");
                assert_eq!(
                    sent.bytes().as_ref(),
                    message.encode_to_vec().as_slice(),
                    "{req:?}"
                );
                asked += usize::from(!message.hits.is_empty());
                if message.next_page_token.is_empty() {
                    break;
                }
                req.page_token = message.next_page_token;
            }
        }
        assert!(asked >= 4, "the queries find variables");
        let refused = pb::SearchVariablesRequest {
            page_token: "not a token".into(),
            ..Default::default()
        };
        assert_eq!(
            catalogue
                .search_variables_encoded(&refused)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            catalogue
                .search_variables(&refused)
                .map(|_| ())
                .map_err(|e| e.to_string())
        );
    }
}
