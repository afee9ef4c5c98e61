//! One validation per request type and service. A request type both services accept
//! (`GetDataSource`, `ListVariables`, `SearchVariables`) is validated alike by both, with the
//! page limits of the service that answers it.

use crate::{
    paging::{self, PageLimits},
    proto as pb, search,
    status::{FieldError, RequestError},
};

use super::{limits::*, syntax::*};

/// The request validation of one service: `Validate<CustodianApi>` or `Validate<GatewayApi>`.
pub trait Validate<Api> {
    /// Checks every field of the request against the contract; a refusal names each field at
    /// fault and says how to fix it.
    fn validate(&self) -> Result<(), RequestError>;
}

/// The `CustodianCatalogue` service, which every custodian runs.
#[derive(Debug, Clone, Copy)]
pub struct CustodianApi;

/// The `FederatedCatalogue` service of the gateway.
#[derive(Debug, Clone, Copy)]
pub struct GatewayApi;

impl CustodianApi {
    /// Validates a request to a custodian.
    pub fn validate<R: Validate<Self>>(request: &R) -> Result<(), RequestError> {
        request.validate()
    }
}

impl GatewayApi {
    /// Validates a request to the gateway.
    pub fn validate<R: Validate<Self>>(request: &R) -> Result<(), RequestError> {
        request.validate()
    }
}

/// The two services; the page limits of `SearchVariables` differ between them.
pub trait Service {
    /// Page limits of `SearchVariables` on this service.
    const SEARCH_VARIABLES_PAGE: PageLimits;
}

impl Service for CustodianApi {
    const SEARCH_VARIABLES_PAGE: PageLimits = CUSTODIAN_SEARCH_VARIABLES_PAGE;
}

impl Service for GatewayApi {
    const SEARCH_VARIABLES_PAGE: PageLimits = GATEWAY_SEARCH_VARIABLES_PAGE;
}

impl Validate<CustodianApi> for pb::GetCustodianInfoRequest {
    fn validate(&self) -> Result<(), RequestError> {
        Ok(())
    }
}

impl Validate<CustodianApi> for pb::WatchCatalogueRequest {
    fn validate(&self) -> Result<(), RequestError> {
        Ok(())
    }
}

impl Validate<GatewayApi> for pb::ListCustodiansRequest {
    fn validate(&self) -> Result<(), RequestError> {
        Ok(())
    }
}

/// Resume tokens are opaque and short; anything longer is not one of the gateway's.
const MAX_RESUME_TOKEN_CHARS: usize = 200;

impl Validate<GatewayApi> for pb::ListChangesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_text_len("since", &self.since, MAX_RESUME_TOKEN_CHARS)?;
        paging::check_page_size(self.page_size, super::limits::LIST_CHANGES_PAGE)?;
        Ok(())
    }
}

impl Validate<GatewayApi> for pb::WatchChangesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_text_len("since", &self.since, MAX_RESUME_TOKEN_CHARS)?;
        Ok(())
    }
}

impl Validate<GatewayApi> for pb::GetDataSourceRevisionRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_id("id", &self.id)?;
        check_text_len(
            "catalogue_revision",
            &self.catalogue_revision,
            MAX_RESUME_TOKEN_CHARS,
        )?;
        Ok(())
    }
}

impl Validate<CustodianApi> for pb::ListDataSourcesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        let filter = self.filter.clone().unwrap_or_default();
        check_text_len("filter.text", &filter.text, MAX_QUERY_CHARS)?;
        check_searchable("filter.text", &filter.text)?;
        check_text_len("filter.topic", &filter.topic, MAX_QUERY_CHARS)?;
        check_enum::<pb::DataSourceKind>("filter.kind", filter.kind)?;
        check_enum::<pb::DataSourceView>("view", self.view)?;
        paging::check_page_size(self.page_size, LIST_DATA_SOURCES_PAGE)?;
        Ok(())
    }
}

impl<S: Service> Validate<S> for pb::GetDataSourceRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_enum::<pb::DataSourceView>("view", self.view)?;
        check_id("id", &self.id)?;
        Ok(())
    }
}

impl Validate<CustodianApi> for pb::GetAccessRulesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_id("data_source_id", &self.data_source_id)?;
        Ok(())
    }
}

impl<S: Service> Validate<S> for pb::ListVariablesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_id("data_source_id", &self.data_source_id)?;
        paging::check_page_size(self.page_size, LIST_VARIABLES_PAGE)?;
        Ok(())
    }
}

impl<S: Service> Validate<S> for pb::SearchVariablesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_text_len("query", &self.query, MAX_QUERY_CHARS)?;
        if self.query.trim().is_empty() {
            return Err(FieldError::new("query", "query is required: give at least one word to search variable names and labels for (for example `fødselsvekt` or `ICD-10`)").into());
        }
        check_searchable("query", &self.query)?;
        if self.data_source_ids.len() > MAX_FILTER_IDS {
            return Err(FieldError::new(
                "data_source_ids",
                format!(
                    "at most {MAX_FILTER_IDS} data source ids may be given; got {}",
                    self.data_source_ids.len()
                ),
            )
            .into());
        }
        for id in &self.data_source_ids {
            check_id("data_source_ids", id)?;
        }
        paging::check_page_size(self.page_size, S::SEARCH_VARIABLES_PAGE)?;
        Ok(())
    }
}

impl Validate<GatewayApi> for pb::SearchDataSourcesRequest {
    fn validate(&self) -> Result<(), RequestError> {
        check_text_len("query", &self.query, MAX_QUERY_CHARS)?;
        check_searchable("query", &self.query)?;
        check_enum::<pb::DataSourceKind>("kind", self.kind)?;
        check_enum::<pb::ConsentRequirement>("consent", self.consent)?;
        check_enum::<pb::Identifiability>("identifiability", self.identifiability)?;
        check_enum::<pb::HapPhase>("hap_phase", self.hap_phase)?;
        check_enum::<pb::ApplicationChannel>("channel", self.channel)?;
        check_enum::<pb::DataSourceView>("view", self.view)?;
        for id in &self.custodian_ids {
            check_id("custodian_ids", id)?;
        }
        if let Some(years) = &self.years
            && let (Some(from), Some(to)) = (years.from_year, years.to_year)
            && from > to
        {
            return Err(FieldError::new(
                "years",
                format!("years.from_year {from} is after years.to_year {to}"),
            )
            .into());
        }
        paging::check_page_size(self.page_size, SEARCH_DATA_SOURCES_PAGE)?;
        Ok(())
    }
}

/// Checks that a free-text query, when given (not blank), holds a word that search looks
/// for. The words are those of the search analysis ([`search::terms`]: runs of letters and
/// digits) less its stop words, so a query of emoji, punctuation or words such as `og` alone,
/// which would otherwise match every record, is refused.
fn check_searchable(field: &str, query: &str) -> Result<(), FieldError> {
    if query.trim().is_empty() || search::query_has_words(query) {
        return Ok(());
    }
    let shown: String = query.chars().take(60).collect();
    Err(FieldError::new(
        field,
        format!(
            "{field} `{shown}` has no word to search for: only letters and digits are searched, and words such as `og` or `the` are left out; give at least one word or code (for example `fødselsvekt` or `ICD-10`), or leave {field} empty to match everything"
        ),
    ))
}

const PURPOSES: [pb::Purpose; 5] = [
    pb::Purpose::Research,
    pb::Purpose::QualityAssurance,
    pb::Purpose::HealthAdministration,
    pb::Purpose::Statistics,
    pb::Purpose::Other,
];
const STAGES: [pb::ProjectStage; 3] = [
    pb::ProjectStage::New,
    pb::ProjectStage::Change,
    pb::ProjectStage::NewDataPeriod,
];
const DATA_LEVELS: [pb::DataLevel; 3] = [
    pb::DataLevel::AnonymousAggregated,
    pb::DataLevel::DeidentifiedIndividual,
    pb::DataLevel::IdentifiableIndividual,
];

/// `PlanApplication`: purpose, stage and data level set and known; at least one data source id
/// or variable id; at most [`MAX_PLAN_DATA_SOURCE_IDS`] source ids and
/// [`MAX_PLAN_VARIABLE_IDS`] variable ids; every source id and variable id well formed. All
/// violations found are returned together (the status lists the first [`MAX_VIOLATIONS`] and
/// counts the rest).
impl Validate<GatewayApi> for pb::PlanApplicationRequest {
    fn validate(&self) -> Result<(), RequestError> {
        let mut errors: Vec<FieldError> = [
            check_required_enum("purpose", self.purpose, &PURPOSES, |e| e.as_str_name()),
            check_required_enum("stage", self.stage, &STAGES, |e| e.as_str_name()),
            check_required_enum("data_level", self.data_level, &DATA_LEVELS, |e| {
                e.as_str_name()
            }),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        errors.extend(plan_id_counts(self));
        let source_errors = self
            .data_source_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| check_id(&format!("data_source_ids[{i}]"), id).err());
        let variable_errors = self
            .variable_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| check_variable_id(&format!("variable_ids[{i}]"), id).err());
        errors.extend(source_errors.chain(variable_errors));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RequestError::InvalidArgument(errors))
        }
    }
}

/// Checks that a plan request names something, and not too much.
/// The violation of a list `field` holding `len` entries when at most `max` are allowed.
fn too_many(field: &str, len: usize, max: usize) -> Option<FieldError> {
    (len > max).then(|| {
        FieldError::new(
            field,
            format!("{field} has {len} entries; at most {max} are allowed"),
        )
    })
}

fn plan_id_counts(req: &pb::PlanApplicationRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if req.data_source_ids.is_empty() && req.variable_ids.is_empty() {
        errors.push(FieldError::new(
            "data_source_ids",
            "name at least one data source id in data_source_ids or one variable id in variable_ids",
        ));
    }
    errors.extend(too_many(
        "data_source_ids",
        req.data_source_ids.len(),
        MAX_PLAN_DATA_SOURCE_IDS,
    ));
    errors.extend(too_many(
        "variable_ids",
        req.variable_ids.len(),
        MAX_PLAN_VARIABLE_IDS,
    ));
    errors
}

#[cfg(test)]
mod tests;
