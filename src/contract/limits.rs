//! Every limit of the public API: page sizes per RPC and service, query length, filter counts.

use crate::paging::PageLimits;

/// Longest free-text query or text filter accepted by any call, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// Longest data source or custodian id, in bytes.
pub const MAX_ID_LEN: usize = 100;

/// Longest variable name (the part of a variable id after the `/`), in bytes.
pub const MAX_VARIABLE_NAME_LEN: usize = 100;

/// Custodian `ListDataSources`.
pub const LIST_DATA_SOURCES_PAGE: PageLimits = PageLimits::new(50, 500);

/// `ListVariables`, on the custodian and (passed through to the owner) on the gateway.
pub const LIST_VARIABLES_PAGE: PageLimits = PageLimits::new(100, 1000);

/// Custodian `SearchVariables`. Its maximum is [`MAX_VARIABLE_SEARCH_DEPTH`], so that the
/// gateway can ask each custodian for the whole window of the page it serves.
pub const CUSTODIAN_SEARCH_VARIABLES_PAGE: PageLimits =
    PageLimits::new(50, MAX_VARIABLE_SEARCH_DEPTH);

/// Gateway `SearchVariables`.
pub const GATEWAY_SEARCH_VARIABLES_PAGE: PageLimits = PageLimits::new(50, 500);

/// How deep gateway `SearchVariables` pages may go (offset + page size).
pub const MAX_VARIABLE_SEARCH_DEPTH: usize = 1000;

/// Gateway `SearchDataSources`.
pub const SEARCH_DATA_SOURCES_PAGE: PageLimits = PageLimits::new(50, 500);

/// Most data source ids in the `data_source_ids` filter of `SearchVariables`.
pub const MAX_FILTER_IDS: usize = 500;

/// Most data source ids one `PlanApplication` request may name.
pub const MAX_PLAN_DATA_SOURCE_IDS: usize = 200;

/// Most variable ids one `PlanApplication` request may name.
pub const MAX_PLAN_VARIABLE_IDS: usize = 2000;

/// Most field violations listed in one error; the rest are counted in one closing violation
/// (see [`crate::status::bounded_violations`]).
pub const MAX_VIOLATIONS: usize = 20;

/// Gateway `ListChanges`.
pub const LIST_CHANGES_PAGE: PageLimits = PageLimits::new(100, 1000);
