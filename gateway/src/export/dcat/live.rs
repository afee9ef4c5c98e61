//! The export of the gateway's own live merged catalogue, as a stream of chunks that a web
//! listener can send as a response body: `GET /catalogue.ttl`, `/catalogue.jsonld`, or
//! `/catalogue` with the format chosen by [`Format::from_accept`].

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use futures::{Stream, StreamExt, stream};
use helsedata::{deadline::Deadline, proto as pb};

use super::{
    ExportError, Format, GraphBuilder, Minter,
    build::{ConceptMapping, Decisions, custodian_states},
    encode::DcatEncoder,
};
use crate::{
    federation::{Federation, RequestContext},
    merged::MergedCatalogue,
    routing::rules::NationalRules,
};

/// Variables asked for per page (the custodians' maximum).
const VARIABLE_PAGE: i32 = 1000;

/// A catalogue document on its way out.
pub struct LiveExport<S> {
    /// The response's `content-type`.
    pub content_type: &'static str,
    /// The document, chunk by chunk: the catalogue, then one chunk per dataset, then the end.
    pub body: S,
}

/// What the live export needs from the gateway.
#[derive(Clone)]
pub struct LiveSource {
    /// The federation whose merged catalogue is exported.
    pub federation: Arc<Federation>,
    /// The national rules (who decides).
    pub rules: Arc<NationalRules>,
    /// The concept vocabulary's tags.
    pub concepts: Arc<dyn ConceptMapping>,
    /// The IRI minter.
    pub minter: Minter,
    /// Deadline of each read from the federation (the catalogue, each variable list).
    pub call_timeout: Duration,
}

struct State {
    source: LiveSource,
    catalogue: Arc<MergedCatalogue>,
    provenance: HashMap<String, pb::Provenance>,
    next: usize,
    encoder: Option<DcatEncoder>,
}

/// Reads the merged catalogue now (custodians that do not answer contribute their cached
/// records, marked stale) and streams it in `format`; each dataset's variable list is read as
/// its chunk is made, so memory holds one dataset at a time.
pub async fn export(
    source: LiveSource,
    format: Format,
) -> Result<
    LiveExport<impl Stream<Item = Result<Vec<u8>, ExportError>> + Send + 'static>,
    ExportError,
> {
    let ctx = RequestContext {
        deadline: Deadline::after(source.call_timeout),
        bypass_cache: false,
    };
    let view = source.federation.catalogue(ctx).await;
    let decisions = Decisions::new(&source.rules, HashMap::new());
    let header = decisions.header(
        prost_types::Timestamp::from(SystemTime::now()),
        custodian_states(&view.outcomes, &HashMap::new()),
    );
    let (encoder, first) =
        DcatEncoder::new(GraphBuilder::new(source.minter.clone(), header), format)?;
    let state = State {
        source,
        catalogue: view.catalogue,
        provenance: view.provenance,
        next: 0,
        encoder: Some(encoder),
    };
    let rest = stream::unfold(state, |mut st| async move {
        let record = st.catalogue.records().get(st.next).cloned();
        st.next += 1;
        match record {
            Some(record) => {
                let variables = variables(&st.source, &record.source.id).await;
                let provenance = st
                    .provenance
                    .get(&record.provenance.custodian_id)
                    .cloned()
                    .unwrap_or(record.provenance);
                let dataset = Decisions::new(&st.source.rules, HashMap::new()).dataset(
                    record.source,
                    provenance,
                    variables,
                    st.source.concepts.as_ref(),
                );
                let chunk = st.encoder.as_mut()?.dataset(&dataset);
                Some((chunk, st))
            }
            None => {
                let chunk = st.encoder.take()?.finish();
                Some((chunk, st))
            }
        }
    });
    Ok(LiveExport {
        content_type: format.content_type(),
        body: stream::once(async move { Ok(first) }).chain(rest),
    })
}

/// A source's variable list through the federation's cache, or `None` when it cannot be had.
async fn variables(source: &LiveSource, id: &str) -> Option<Vec<pb::Variable>> {
    let mut request = pb::ListVariablesRequest {
        data_source_id: id.to_string(),
        page_size: VARIABLE_PAGE,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let ctx = RequestContext {
            deadline: Deadline::after(source.call_timeout),
            bypass_cache: false,
        };
        match source.federation.list_variables(&request, ctx).await {
            Ok((page, _, _)) => {
                all.extend(page.variables);
                if page.next_page_token.is_empty() {
                    return Some(all);
                }
                request.page_token = page.next_page_token;
            }
            Err(error) => {
                tracing::warn!(source = id, %error, "variable list unavailable; exported without it");
                return None;
            }
        }
    }
}
