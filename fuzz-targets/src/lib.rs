//! Fuzz targets of the federation: each is a plain function over arbitrary bytes that must
//! never panic and checks what must hold for every input. The `cargo fuzz` harness in `fuzz/`
//! (nightly, libFuzzer) calls them, and so do the stable tests of this crate, over the seed
//! corpora in `fuzz/corpus/<target>/` and over generated inputs (see RELIABILITY.md,
//! "Fuzzing and properties").
//!
//! | target | what it feeds |
//! | --- | --- |
//! | [`custodian_data_file`] | a custodian data file to the stub's loader |
//! | [`national_rules`] | a national-rules file to the gateway's loader |
//! | [`page_token`] | a page size and a page token to the paging of every list and search |
//! | [`request_validation`] | a request message (as sent on the wire) to decoding and the contract's validation |
//! | [`planner`] | a `PlanApplication` request to resolution and planning over the bundled catalogues |

#![warn(missing_docs)]

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::OnceLock,
};

use custodian_stub::catalogue::Catalogue;
use gateway::{
    planning::{self, Answer, NationalRules, SourceAnswers},
    variable_cursors::Cursors,
};
use helsedata::{
    contract::{self, CustodianApi, GatewayApi, Validate},
    grpc_status_map::decode_request,
    paging::{PageLimits, PageRequest},
    proto as pb,
    status::{MAX_ERROR_METADATA_BYTES, metadata_bytes},
};
use tonic::{Code, Status};

/// The names of the targets, as the corpus directories and the fuzz harness name them.
pub const TARGETS: [&str; 5] = [
    "custodian_data_file",
    "national_rules",
    "page_token",
    "request_validation",
    "planner",
];

/// Runs the target called `name` (one of [`TARGETS`]) on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "custodian_data_file" => custodian_data_file(data),
        "national_rules" => national_rules(data),
        "page_token" => page_token(data),
        "request_validation" => request_validation(data),
        "planner" => planner(data),
        other => panic!("no fuzz target called {other}"),
    }
}

/// The repository's root (this crate's parent directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A custodian data file: loaded or refused with an error that names the file.
pub fn custodian_data_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzzed-custodian.toml");
    match helsedata::custodian_data::load::load_str(path, text) {
        Ok(loaded) => {
            let catalogue = Catalogue::new(loaded.info, loaded.sources);
            let _ = catalogue.custodian_id();
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("fuzzed-custodian.toml"),
                "the error names the file: {message}"
            );
        }
    }
}

/// A national-rules file: loaded or refused with an error that names the file.
pub fn national_rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzzed-national-rules.toml");
    match NationalRules::from_str(path, text) {
        Ok(rules) => {
            let _ = rules.revision();
            let _ = rules.statutory_working_days(usize::from(data.len() as u8));
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains("fuzzed-national-rules.toml"),
                "the error names the file: {message}"
            );
        }
    }
}

/// The page limits a token may be checked against.
const LIMITS: [PageLimits; 4] = [
    contract::SEARCH_DATA_SOURCES_PAGE,
    contract::LIST_VARIABLES_PAGE,
    contract::LIST_DATA_SOURCES_PAGE,
    contract::LIST_CHANGES_PAGE,
];

/// A page size (the first four bytes) and a page token (the rest, as text), to the offset
/// tokens of every list and to the gateway's composite variable-search tokens: refused as
/// `page_token` or `page_size`, or a page that lies within the results and whose next token
/// leads on to the next page.
pub fn page_token(data: &[u8]) {
    let (head, rest) = data.split_at(data.len().min(4));
    let mut size_bytes = [0u8; 4];
    size_bytes[..head.len()].copy_from_slice(head);
    let page_size = i32::from_le_bytes(size_bytes);
    let token = String::from_utf8_lossy(rest);
    let fingerprint = u64::from(data.first().copied().unwrap_or(0));
    let limits = LIMITS[usize::from(data.last().copied().unwrap_or(0)) % LIMITS.len()];
    match PageRequest::parse(page_size, &token, limits, fingerprint) {
        Ok(page) => {
            for total in [
                0,
                1,
                page.offset,
                page.offset.saturating_add(page.size),
                10_000,
            ] {
                let range = page.range(total);
                assert!(range.start <= range.end && range.end <= total);
                assert!(range.len() <= page.size);
                let next = page.next_token(total);
                if !next.is_empty() {
                    let following = PageRequest::parse(page_size, &next, limits, fingerprint)
                        .expect("a token the server issued is accepted");
                    assert_eq!(following.offset, page.offset + page.size);
                }
            }
        }
        Err(error) => {
            let fields: Vec<&str> = error
                .violations()
                .iter()
                .map(|v| v.field.as_str())
                .collect();
            assert!(
                fields == ["page_token"] || fields == ["page_size"],
                "refused as the page token or size: {error:?}"
            );
        }
    }
    let size = usize::try_from(page_size).unwrap_or(0) % 1000 + 1;
    match Cursors::decode(&token, fingerprint, size) {
        Ok(cursors) => {
            let again = cursors.encode();
            if !again.is_empty() {
                let decoded = Cursors::decode(&again, fingerprint, size)
                    .expect("a re-encoded token is accepted");
                assert_eq!(decoded.cursors, cursors.cursors);
            }
        }
        Err(error) => assert_eq!(error.field, "page_token"),
    }
}

/// Decodes `bytes` as a `T` request the way the servers do; a request that does not decode
/// must be `INVALID_ARGUMENT`.
fn decoded<T: prost::Message + Default>(bytes: &[u8]) -> Option<T> {
    match decode_request::<T>(bytes) {
        Ok(request) => Some(request),
        Err(status) => {
            assert_eq!(status.code(), Code::InvalidArgument);
            None
        }
    }
}

/// Checks what every refusal of validation must be: INVALID_ARGUMENT naming at least one
/// field, within the metadata budget.
fn refusal_is_well_formed(result: Result<(), contract::RequestError>) {
    if let Err(error) = result {
        assert!(!error.violations().is_empty(), "{error:?}");
        let status = Status::from(error);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            metadata_bytes(&status) <= MAX_ERROR_METADATA_BYTES,
            "error metadata of {} bytes",
            metadata_bytes(&status)
        );
    }
}

/// A request message as sent on the wire (the first byte picks the request type) to the
/// servers' decoding and both services' validation: refused as described in
/// [`refusal_is_well_formed`], or accepted.
pub fn request_validation(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    match kind % 9 {
        0 => {
            if let Some(r) = decoded::<pb::SearchDataSourcesRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
            }
        }
        1 => {
            if let Some(r) = decoded::<pb::SearchVariablesRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
                refusal_is_well_formed(CustodianApi::validate(&r));
            }
        }
        2 => {
            if let Some(r) = decoded::<pb::ListVariablesRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
                refusal_is_well_formed(CustodianApi::validate(&r));
            }
        }
        3 => {
            if let Some(r) = decoded::<pb::GetDataSourceRequest>(bytes) {
                refusal_is_well_formed(
                    <pb::GetDataSourceRequest as Validate<GatewayApi>>::validate(&r),
                );
            }
        }
        4 => {
            if let Some(r) = decoded::<pb::PlanApplicationRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
            }
        }
        5 => {
            if let Some(r) = decoded::<pb::ListDataSourcesRequest>(bytes) {
                refusal_is_well_formed(CustodianApi::validate(&r));
            }
        }
        6 => {
            if let Some(r) = decoded::<pb::ListChangesRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
            }
        }
        7 => {
            if let Some(r) = decoded::<pb::GetDataSourceRevisionRequest>(bytes) {
                refusal_is_well_formed(GatewayApi::validate(&r));
            }
        }
        _ => {
            if let Some(r) = decoded::<pb::GetAccessRulesRequest>(bytes) {
                refusal_is_well_formed(CustodianApi::validate(&r));
            }
        }
    }
}

/// The bundled custodian catalogues (`custodian-stub/data`), loaded once.
pub fn bundled_catalogues() -> &'static [Catalogue] {
    static CATALOGUES: OnceLock<Vec<Catalogue>> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        custodian_stub::server::load_dir(&repo_root().join("custodian-stub/data"))
            .expect("the bundled data files load")
    })
}

/// The bundled national rules (`gateway/config/national-rules.toml`), loaded once.
pub fn bundled_rules() -> &'static NationalRules {
    static RULES: OnceLock<NationalRules> = OnceLock::new();
    RULES.get_or_init(|| {
        NationalRules::load(repo_root().join("gateway/config/national-rules.toml"))
            .expect("the bundled national rules load")
    })
}

/// What one custodian says about one source when every custodian answers: its facts, rules
/// and variables, or nothing when it does not publish the source.
fn answers_from(catalogues: &[Catalogue], id: &str, available: bool) -> Option<SourceAnswers> {
    let (catalogue, bundle) = catalogues
        .iter()
        .find_map(|c| c.sources().find(|b| b.source.id == id).map(|b| (c, b)))?;
    fn answer<T>(available: bool, value: &T) -> Answer<T>
    where
        T: Clone,
    {
        if available {
            Answer::Found(value.clone())
        } else {
            Answer::Unavailable
        }
    }
    Some(SourceAnswers {
        custodian_id: catalogue.custodian_id().to_string(),
        data_source_id: id.to_string(),
        source: answer(available, &bundle.source),
        rules: answer(available, &bundle.access),
        variables: available.then(|| bundle.variables.clone()),
    })
}

/// Plans `req` over `catalogues` as the gateway would, with the sources whose ids are in
/// `unavailable` unanswered (their custodians down), and checks that every requested id lands
/// in exactly one place: a requested source in one application, among the unknown sources, or
/// among the unresolved ones; a requested variable among the unknown variables, under an
/// unresolved source, or found in the source of an application.
pub fn plan_and_check(
    req: &pb::PlanApplicationRequest,
    catalogues: &[Catalogue],
    rules: &NationalRules,
    unavailable: &BTreeSet<String>,
) -> pb::ApplicationPlan {
    let requested = planning::requested_source_ids(req);
    let mut unowned = Vec::new();
    let mut answers = Vec::new();
    for id in &requested {
        match answers_from(catalogues, id, !unavailable.contains(id)) {
            Some(answer) => answers.push(answer),
            None => unowned.push(id.clone()),
        }
    }
    let input = planning::resolve(req, unowned, answers);
    let plan = planning::plan(&input, rules);

    let mut placed: BTreeMap<&str, usize> = BTreeMap::new();
    for application in &plan.applications {
        for id in &application.data_source_ids {
            *placed.entry(id.as_str()).or_default() += 1;
        }
    }
    for id in plan
        .unknown_data_source_ids
        .iter()
        .chain(&plan.unresolved_data_source_ids)
    {
        *placed.entry(id.as_str()).or_default() += 1;
    }
    for id in &requested {
        assert_eq!(
            placed.get(id.as_str()).copied().unwrap_or(0),
            1,
            "source {id} lands in exactly one of applications, unknown or unresolved: {plan:?}"
        );
    }
    assert_eq!(
        placed.len(),
        requested.len(),
        "nothing but the requested sources is placed: {plan:?}"
    );
    let in_applications: BTreeSet<&str> = plan
        .applications
        .iter()
        .flat_map(|a| a.data_source_ids.iter().map(String::as_str))
        .collect();
    let unknown_variables: BTreeSet<&str> = plan
        .unknown_variable_ids
        .iter()
        .map(String::as_str)
        .collect();
    for variable in &req.variable_ids {
        let Some(source) = contract::variable_source_id(variable) else {
            continue;
        };
        let unknown = unknown_variables.contains(variable.as_str());
        let unresolved = plan.unresolved_data_source_ids.iter().any(|s| s == source);
        let found = in_applications.contains(source)
            && !unknown
            && input.variables.iter().any(|v| &v.id == variable);
        assert_eq!(
            usize::from(unknown) + usize::from(unresolved) + usize::from(found),
            1,
            "variable {variable} lands in exactly one of found, unknown or unresolved: {plan:?}"
        );
    }
    plan
}

/// A `PlanApplication` request as sent on the wire (after a first byte that picks which
/// custodians are down) to validation and, when valid, to resolution and planning over the
/// bundled catalogues and national rules, checked by [`plan_and_check`].
pub fn planner(data: &[u8]) {
    let Some((&down, bytes)) = data.split_first() else {
        return;
    };
    let Some(req) = decoded::<pb::PlanApplicationRequest>(bytes) else {
        return;
    };
    if GatewayApi::validate(&req).is_err() {
        return;
    }
    let catalogues = bundled_catalogues();
    let unavailable: BTreeSet<String> = catalogues
        .iter()
        .enumerate()
        .filter(|(i, _)| down & (1 << (i % 8)) != 0 && i % 3 == 0)
        .flat_map(|(_, c)| c.sources().map(|b| b.source.id.clone()))
        .collect();
    plan_and_check(&req, catalogues, bundled_rules(), &unavailable);
}
