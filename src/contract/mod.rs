//! The rules of the public API in one place: every limit ([`limits`]), the syntax of ids and
//! variable ids ([`syntax`]), and one validation per request type ([`Validate`]).
//!
//! Both services call it first thing in each handler, before any work is done: the
//! custodian through [`CustodianApi::validate`], the gateway through
//! [`GatewayApi::validate`]. A refused request becomes a [`RequestError::InvalidArgument`],
//! which [`crate::status`] maps to `INVALID_ARGUMENT` with `google.rpc.BadRequest` details
//! naming each field at fault.
//!
//! Page tokens are checked later, where the answer is built: a token is bound to the query
//! and to the catalogue revision it was issued for, which only the domain knows.

pub mod limits;
pub mod syntax;
mod validate;

pub use limits::*;
pub use syntax::{
    check_enum, check_id, check_required_enum, check_text_len, check_variable_id, is_id,
    is_variable_name, variable_source_id,
};
pub use validate::{CustodianApi, GatewayApi, Service, Validate};

pub use crate::status::RequestError;
