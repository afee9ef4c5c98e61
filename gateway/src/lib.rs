//! The helsedata federation gateway: concurrent mutual-TLS fan-out to every custodian, one
//! merged catalogue with provenance, and application planning.
//!
//! The path of a request: [`server`] validates and reads the deadline → [`federation`] asks
//! the custodians through [`cache`] and [`fanout`] with the [`upstream`] client →
//! [`catalogue`] merges, indexes and ranks the answers → [`planning`] plans applications.
//! [`watch`] follows every custodian's changes and keeps the cache up to date; [`changes`]
//! is the change feed that consumers follow.
//! [`web`] serves the same service as pages and a JSON API over HTTPS. [`metrics`] counts
//! what the gateway does for the admin listener.

#![warn(missing_docs)]

pub mod cache;
pub mod catalogue;
pub mod changes;
pub mod concepts;
pub mod config;
pub mod export;
pub mod fanout;
pub mod federation;
pub mod metrics;
pub mod observe;
pub mod planning;
pub mod server;
pub mod upstream;
pub mod variable_cursors;
pub mod watch;
pub mod web;
