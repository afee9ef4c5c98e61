//! The merged answers (D and the gateway's SearchDataSources) decoded only as far as the load
//! generator checks them: each record's id and whether it carries access rules, the paging
//! fields and the custodian outcomes. prost skips every other field by its length without
//! building it, so a load generator decoding this way spends a fraction of the CPU of a full
//! decode, and the servers, not the load generator, are what a throughput phase measures
//! (`--light-client`).

use helsedata::proto as pb;
use tonic::{Request, Status, client::Grpc, codegen::http::uri::PathAndQuery, transport::Channel};

/// Of a `DataSource`: its id and whether it has access rules (catalogue.proto tags 1 and 29).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SourceKey {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(message, optional, tag = "29")]
    pub access_rules: Option<Present>,
}

/// A message that is there, its fields skipped.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Present {}

/// Of a `ListDataSourcesResponse` (custodian.proto tags 1 and 2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SourcePage {
    #[prost(message, repeated, tag = "1")]
    pub data_sources: Vec<SourceKey>,
    #[prost(string, tag = "2")]
    pub next_page_token: String,
}

/// Of a `FederatedDataSource`: its record (gateway.proto tag 1).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hit {
    #[prost(message, optional, tag = "1")]
    pub data_source: Option<SourceKey>,
}

/// Of a `SearchDataSourcesResponse` (gateway.proto tags 1, 3 and 4).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MergedPage {
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<Hit>,
    #[prost(uint32, tag = "3")]
    pub total_size: u32,
    #[prost(message, repeated, tag = "4")]
    pub custodians: Vec<pb::CustodianOutcome>,
}

/// What the checks read of a record, fully decoded or not.
pub trait Record {
    fn id(&self) -> &str;
    fn has_access_rules(&self) -> bool;
}

impl Record for pb::DataSource {
    fn id(&self) -> &str {
        &self.id
    }
    fn has_access_rules(&self) -> bool {
        self.access_rules.is_some()
    }
}

impl Record for SourceKey {
    fn id(&self) -> &str {
        &self.id
    }
    fn has_access_rules(&self) -> bool {
        self.access_rules.is_some()
    }
}

/// What the checks read of a merged SearchDataSources answer.
pub struct MergedView<'a> {
    /// Results on the page.
    pub results: usize,
    pub total_size: u32,
    pub outcomes: &'a [pb::CustodianOutcome],
    /// The distinct ids of the records on the page that carry access rules, sorted.
    pub ids_with_rules: Vec<&'a str>,
}

impl<'a> MergedView<'a> {
    fn of<R: Record + 'a>(
        results: usize,
        total_size: u32,
        outcomes: &'a [pb::CustodianOutcome],
        records: impl Iterator<Item = &'a R>,
    ) -> Self {
        let mut ids: Vec<&str> = records
            .filter(|r| r.has_access_rules())
            .map(|r| r.id())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        MergedView {
            results,
            total_size,
            outcomes,
            ids_with_rules: ids,
        }
    }
}

/// A merged answer, fully decoded or not.
pub trait Merged {
    fn view(&self) -> MergedView<'_>;
}

/// The full and the light answer name their fields alike.
macro_rules! merged {
    ($($answer:ty),*) => {$(
        impl Merged for $answer {
            fn view(&self) -> MergedView<'_> {
                let records = self.results.iter().filter_map(|r| r.data_source.as_ref());
                MergedView::of(self.results.len(), self.total_size, &self.custodians, records)
            }
        }
    )*};
}

merged!(pb::SearchDataSourcesResponse, MergedPage);

const LIST_DATA_SOURCES: &str = "/helsedata.federation.v1.CustodianCatalogue/ListDataSources";
const SEARCH_DATA_SOURCES: &str = "/helsedata.federation.v1.FederatedCatalogue/SearchDataSources";

async fn unary<Q, A>(
    channel: Channel,
    request: Request<Q>,
    path: &'static str,
    max_message: usize,
) -> Result<A, Status>
where
    Q: prost::Message + Send + Sync + 'static,
    A: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = Grpc::new(channel).max_decoding_message_size(max_message);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("the channel is not ready: {e}")))?;
    let codec = tonic_prost::ProstCodec::<Q, A>::default();
    Ok(grpc
        .unary(request, PathAndQuery::from_static(path), codec)
        .await?
        .into_inner())
}

/// A custodian's ListDataSources, decoded as a [`SourcePage`].
pub async fn list_data_sources(
    channel: Channel,
    request: pb::ListDataSourcesRequest,
    max_message: usize,
) -> Result<SourcePage, Status> {
    unary(
        channel,
        Request::new(request),
        LIST_DATA_SOURCES,
        max_message,
    )
    .await
}

/// The gateway's SearchDataSources, decoded as a [`MergedPage`].
pub async fn search_data_sources(
    channel: Channel,
    request: Request<pb::SearchDataSourcesRequest>,
    max_message: usize,
) -> Result<MergedPage, Status> {
    unary(channel, request, SEARCH_DATA_SOURCES, max_message).await
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn source(id: &str, rules: bool) -> pb::DataSource {
        pb::DataSource {
            id: id.into(),
            abbreviation: "X".repeat(300),
            access_rules: rules.then(pb::AccessRules::default),
            ..Default::default()
        }
    }

    #[test]
    fn a_full_answer_decodes_to_its_ids_rules_and_outcomes() {
        let full = pb::SearchDataSourcesResponse {
            results: vec![
                pb::FederatedDataSource {
                    data_source: Some(source("fhi-mfr", true)),
                    score: 1.5,
                    ..Default::default()
                },
                pb::FederatedDataSource {
                    data_source: Some(source("fhi-msis", false)),
                    ..Default::default()
                },
            ],
            next_page_token: "next".into(),
            total_size: 7,
            custodians: vec![pb::CustodianOutcome {
                custodian_id: "fhi".into(),
                status: pb::OutcomeStatus::Ok as i32,
                ..Default::default()
            }],
            ..Default::default()
        };
        let light = MergedPage::decode(full.encode_to_vec().as_slice()).expect("decodes");
        let keys: Vec<_> = light
            .results
            .iter()
            .map(|h| {
                let s = h.data_source.as_ref().expect("record");
                (s.id.as_str(), s.access_rules.is_some())
            })
            .collect();
        assert_eq!(keys, [("fhi-mfr", true), ("fhi-msis", false)]);
        assert_eq!(light.total_size, 7);
        assert_eq!(light.custodians, full.custodians);
    }

    #[test]
    fn a_custodian_page_decodes_to_its_ids_and_token() {
        let full = pb::ListDataSourcesResponse {
            data_sources: vec![source("kreft-krg", true)],
            next_page_token: "p2".into(),
            total_size: 3,
            catalogue_revision: "r1".into(),
        };
        let light = SourcePage::decode(full.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(light.data_sources.len(), 1);
        assert_eq!(light.data_sources[0].id, "kreft-krg");
        assert!(light.data_sources[0].access_rules.is_some());
        assert_eq!(light.next_page_token, "p2");
    }
}
