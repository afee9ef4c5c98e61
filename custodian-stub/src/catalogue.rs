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
        let variable_index =
            search::variable_index(sources.iter().flat_map(|b| b.variables.iter()));
        let mut variable_locations = Vec::with_capacity(variable_index.len());
        let mut by_id = HashMap::with_capacity(sources.len());
        for (s, bundle) in sources.iter().enumerate() {
            by_id.insert(bundle.source.id.clone(), s);
            variable_locations.extend((0..bundle.variables.len()).map(|v| (s as u32, v as u32)));
        }
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
        let mut hits: Vec<(f64, &pb::Variable)> = self
            .variable_index
            .search(&terms)
            .into_iter()
            .filter_map(|(n, score)| {
                let (s, v) = self.variable_locations[n as usize];
                if wanted.as_ref().is_some_and(|w| !w.contains(&s)) {
                    return None;
                }
                Some((score, &self.sources[s as usize].variables[v as usize]))
            })
            .collect();
        let total = hits.len();
        // Best first, ties by id.
        let range = page.order_page(&mut hits, |a, b| {
            b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id))
        });
        Ok(pb::SearchVariablesResponse {
            hits: hits[range]
                .iter()
                .map(|(score, v)| pb::VariableHit {
                    variable: Some((*v).clone()),
                    score: *score,
                })
                .collect(),
            next_page_token: page.next_token(total),
            total_size: total as u32,
            catalogue_revision: self.info.catalogue_revision.clone(),
        })
    }
}
