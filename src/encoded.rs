//! Answers a server sends as bytes it encoded itself: a server builds such an answer from
//! parts it keeps encoded (the gateway keeps every merged record's encoding), so that a
//! large answer is copied rather than cloned, encoded and dropped for every request. The
//! bytes are one protobuf message of the contract; a client decodes them as that message.
//!
//! The servers' generated code sends [`SearchDataSourcesAnswer`] for SearchDataSources and
//! [`SearchVariablesAnswer`] for a custodian's SearchVariables (`build.rs` maps the messages
//! to them for the servers only; clients keep the messages).

use std::marker::PhantomData;

use bytes::{Buf, BufMut, Bytes};
use prost::{
    DecodeError, Message,
    encoding::{DecodeContext, WireType},
};
use tonic::Status;

use crate::proto as pb;

/// The encoding of one `M`, written by whoever built it.
pub struct Encoded<M> {
    bytes: Bytes,
    message: PhantomData<fn() -> M>,
}

/// A SearchDataSources answer as the gateway sends it.
pub type SearchDataSourcesAnswer = Encoded<pb::SearchDataSourcesResponse>;

/// A SearchVariables answer as a custodian sends it: its hits encoded from the catalogue's
/// own variables, not from copies of them.
pub type SearchVariablesAnswer = Encoded<pb::SearchVariablesResponse>;

impl<M> Encoded<M> {
    /// Bytes that are the encoding of one `M`, as prost would write it.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self {
            bytes,
            message: PhantomData,
        }
    }

    /// The message's bytes, as sent on the wire (without the gRPC frame header).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl<M: Message + Default> Encoded<M> {
    /// The message the bytes encode (for callers in the same process, such as the web
    /// surface); `INTERNAL` if they do not decode, which would be a fault of the encoder.
    pub fn into_message(self) -> Result<M, Status> {
        M::decode(self.bytes).map_err(|e| {
            tracing::error!(error = %e, "an answer encoded ahead does not decode");
            Status::internal(
                "the answer could not be assembled; retry, and report it if it persists",
            )
        })
    }
}

impl<M> Default for Encoded<M> {
    fn default() -> Self {
        Self::from_bytes(Bytes::new())
    }
}

impl<M> std::fmt::Debug for Encoded<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoded({} bytes)", self.bytes.len())
    }
}

/// Sending writes the bytes as they are. Decoding into this type keeps nothing (servers
/// only send it; a client decodes the message itself).
impl<M> Message for Encoded<M> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.bytes);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }

    fn clear(&mut self) {
        self.bytes = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_answer_is_sent_as_its_bytes_and_decodes_as_its_message() {
        let message = pb::SearchDataSourcesResponse {
            next_page_token: "t".into(),
            total_size: 3,
            ..Default::default()
        };
        let answer = SearchDataSourcesAnswer::from_bytes(message.encode_to_vec().into());
        assert_eq!(answer.encoded_len(), message.encoded_len());
        assert_eq!(answer.encode_to_vec(), message.encode_to_vec());
        assert_eq!(answer.into_message().expect("decodes"), message);
    }

    #[test]
    fn bytes_that_are_not_the_message_are_an_internal_error() {
        let answer = SearchDataSourcesAnswer::from_bytes(Bytes::from_static(&[0x0a, 0x05]));
        let error = answer.into_message().expect_err("cut short");
        assert_eq!(error.code(), tonic::Code::Internal);
    }
}
