//! Custodian data files: the TOML format a custodian publishes its catalogue in
//! ([`schema`]), and its loading and validation into the contract's types ([`load`]).
//!
//! The reference custodian serves what it loads; the gateway's `export-dcat --data` exports
//! data files without a running federation, so the loader lives here, shared by both.

mod convert;
pub mod load;
pub mod schema;

use crate::proto as pb;

/// A data source with its access rules and variable list.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceBundle {
    /// The source (without access rules).
    pub source: pb::DataSource,
    /// Its access rules.
    pub access: pb::AccessRules,
    /// Its variables, in published order.
    pub variables: Vec<pb::Variable>,
}
