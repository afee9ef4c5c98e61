//! ListDataSources pages as the gateway receives them for a catalogue snapshot: the paging
//! fields are decoded at once, the records only when they are new. A page of the revision
//! the gateway already holds carries, by the custodian contract, the records the gateway
//! already holds, so a forced refetch (`cache-control: no-store`) of an unchanged catalogue
//! still asks the custodian for every page but no longer decodes (and then drops) every
//! record again.

use bytes::{Buf, BufMut, Bytes};
use helsedata::proto as pb;
use prost::{
    DecodeError, Message,
    encoding::{self, DecodeContext, WireType},
};
use tonic::{Request, Response, Status, codegen::http::uri::PathAndQuery};

use super::CustodianChannel;

/// Field numbers of `ListDataSourcesResponse` (custodian.proto).
mod field {
    pub const DATA_SOURCES: u32 = 1;
    pub const NEXT_PAGE_TOKEN: u32 = 2;
    pub const TOTAL_SIZE: u32 = 3;
    pub const CATALOGUE_REVISION: u32 = 4;
}

const SERVICE: &str = "helsedata.federation.v1.CustodianCatalogue";
const METHOD: &str = "ListDataSources";
const PATH: &str = "/helsedata.federation.v1.CustodianCatalogue/ListDataSources";

/// A `ListDataSourcesResponse` with its records left as the bytes they came in.
#[derive(Debug, Default)]
struct ReceivedPage {
    records: Vec<Bytes>,
    next_page_token: String,
    total_size: u32,
    catalogue_revision: String,
}

impl Message for ReceivedPage {
    /// Written only by tests: the message it stands for.
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for record in &self.records {
            encoding::bytes::encode(field::DATA_SOURCES, record, buf);
        }
        if !self.next_page_token.is_empty() {
            encoding::string::encode(field::NEXT_PAGE_TOKEN, &self.next_page_token, buf);
        }
        if self.total_size != 0 {
            encoding::uint32::encode(field::TOTAL_SIZE, &self.total_size, buf);
        }
        if !self.catalogue_revision.is_empty() {
            encoding::string::encode(field::CATALOGUE_REVISION, &self.catalogue_revision, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            field::DATA_SOURCES => {
                let mut record = Bytes::new();
                encoding::bytes::merge(wire_type, &mut record, buf, ctx)?;
                self.records.push(record);
                Ok(())
            }
            field::NEXT_PAGE_TOKEN => {
                encoding::string::merge(wire_type, &mut self.next_page_token, buf, ctx)
            }
            field::TOTAL_SIZE => encoding::uint32::merge(wire_type, &mut self.total_size, buf, ctx),
            field::CATALOGUE_REVISION => {
                encoding::string::merge(wire_type, &mut self.catalogue_revision, buf, ctx)
            }
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.records
            .iter()
            .map(|r| encoding::bytes::encoded_len(field::DATA_SOURCES, r))
            .sum::<usize>()
            + if self.next_page_token.is_empty() {
                0
            } else {
                encoding::string::encoded_len(field::NEXT_PAGE_TOKEN, &self.next_page_token)
            }
            + if self.total_size == 0 {
                0
            } else {
                encoding::uint32::encoded_len(field::TOTAL_SIZE, &self.total_size)
            }
            + if self.catalogue_revision.is_empty() {
                0
            } else {
                encoding::string::encoded_len(field::CATALOGUE_REVISION, &self.catalogue_revision)
            }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// One page of a snapshot.
#[derive(Debug)]
pub struct Page {
    /// The records, decoded; `None` when the page is of the revision the gateway holds.
    pub sources: Option<Vec<pb::DataSource>>,
    /// Token for the next page; empty on the last page.
    pub next_page_token: String,
    /// Revision of the catalogue the page was cut from.
    pub catalogue_revision: String,
}

impl ReceivedPage {
    /// The page, its records decoded unless it is of revision `held`.
    fn into_page(self, held: Option<&str>) -> Result<Page, Status> {
        let known = !self.catalogue_revision.is_empty() && held == Some(&self.catalogue_revision);
        let sources = if known {
            None
        } else {
            let decoded: Result<Vec<pb::DataSource>, DecodeError> = self
                .records
                .into_iter()
                .map(pb::DataSource::decode)
                .collect();
            Some(decoded.map_err(|e| {
                Status::internal(format!(
                    "the custodian's ListDataSources answer does not decode: {e}"
                ))
            })?)
        };
        Ok(Page {
            sources,
            next_page_token: self.next_page_token,
            catalogue_revision: self.catalogue_revision,
        })
    }
}

/// ListDataSources on `channel`, its records decoded unless the page is of revision `held`;
/// answers larger than `max_message_bytes` are refused as the generated client refuses them.
pub async fn list(
    channel: CustodianChannel,
    mut request: Request<pb::ListDataSourcesRequest>,
    max_message_bytes: usize,
    held: Option<String>,
) -> Result<Response<Page>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(max_message_bytes);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("the custodian's channel is not ready: {e}")))?;
    request
        .extensions_mut()
        .insert(tonic::GrpcMethod::new(SERVICE, METHOD));
    let codec = tonic_prost::ProstCodec::<pb::ListDataSourcesRequest, ReceivedPage>::default();
    let answer = grpc
        .unary(request, PathAndQuery::from_static(PATH), codec)
        .await?;
    let (metadata, page, extensions) = answer.into_parts();
    let page = page.into_page(held.as_deref())?;
    Ok(Response::from_parts(metadata, page, extensions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str) -> pb::DataSource {
        pb::DataSource {
            id: id.into(),
            custodian_id: "fhi".into(),
            abbreviation: id.to_uppercase(),
            ..Default::default()
        }
    }

    fn answer(revision: &str) -> pb::ListDataSourcesResponse {
        pb::ListDataSourcesResponse {
            data_sources: vec![source("fhi-mfr"), source("fhi-msis")],
            next_page_token: "next".into(),
            total_size: 9,
            catalogue_revision: revision.into(),
        }
    }

    fn received(message: &pb::ListDataSourcesResponse) -> ReceivedPage {
        ReceivedPage::decode(message.encode_to_vec().as_slice()).expect("decodes")
    }

    #[test]
    fn a_page_of_a_new_revision_is_decoded_whole() {
        let message = answer("r2");
        let page = received(&message).into_page(Some("r1")).expect("decodes");
        assert_eq!(page.sources, Some(message.data_sources));
        assert_eq!(page.next_page_token, "next");
        assert_eq!(page.catalogue_revision, "r2");
    }

    #[test]
    fn a_page_of_the_held_revision_is_not_decoded_again() {
        let page = received(&answer("r1")).into_page(Some("r1")).expect("read");
        assert_eq!(page.sources, None);
        assert_eq!(page.next_page_token, "next");
    }

    #[test]
    fn a_page_without_a_revision_is_always_decoded() {
        let page = received(&answer("")).into_page(Some("")).expect("decodes");
        assert_eq!(page.sources.map(|s| s.len()), Some(2));
    }

    #[test]
    fn the_received_page_stands_for_the_message_byte_for_byte() {
        let message = answer("r1");
        let page = received(&message);
        assert_eq!(page.encode_to_vec(), message.encode_to_vec());
        assert_eq!(page.encoded_len(), message.encoded_len());
    }

    #[test]
    fn a_record_that_does_not_decode_is_an_internal_error_naming_the_call() {
        let page = ReceivedPage {
            records: vec![Bytes::from_static(&[0x0a, 0x09, 0x01])],
            catalogue_revision: "r2".into(),
            ..Default::default()
        };
        let error = page.into_page(Some("r1")).expect_err("garbled");
        assert_eq!(error.code(), tonic::Code::Internal);
        assert!(
            error.message().contains("ListDataSources"),
            "{}",
            error.message()
        );
    }
}
