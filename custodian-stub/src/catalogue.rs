//! One custodian's catalogue in memory, indexed for the queries the service answers.
//!
//! Built from a validated data file and never mutated, so every request reads it without
//! locks; a reload builds a new one and swaps it in whole ([`crate::live`]). Requests reach it validated by the contract
//! ([`helsedata::contract`]); only page tokens, bound to the catalogue revision, are checked here.

use std::collections::HashMap;

use helsedata::{
    contract::{CUSTODIAN_SEARCH_VARIABLES_PAGE, LIST_DATA_SOURCES_PAGE, LIST_VARIABLES_PAGE},
    custodian_data::SourceBundle,
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

    /// SearchVariables.
    pub fn search_variables(
        &self,
        req: &pb::SearchVariablesRequest,
    ) -> Result<pb::SearchVariablesResponse, RequestError> {
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
        Ok(pb::SearchVariablesResponse {
            hits: hits[range]
                .iter()
                .map(|&(n, score)| {
                    let (s, v) = self.variable_locations[n as usize];
                    pb::VariableHit {
                        variable: Some(self.sources[s as usize].variables[v as usize].clone()),
                        score,
                    }
                })
                .collect(),
            next_page_token: page.next_token(total),
            total_size: total as u32,
            catalogue_revision: self.info.catalogue_revision.clone(),
        })
    }
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
}
