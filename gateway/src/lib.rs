//! The helsedata federation gateway: concurrent mutual-TLS fan-out to every custodian, one
//! merged catalogue with provenance, and application routing.
//!
//! The path of a request: [`server`] validates and reads the deadline → [`federation`] asks
//! the custodians through [`cache`] and [`fanout`] over [`upstream`] channels → [`merge`] and
//! [`merged`] combine and rank the answers → [`routing`] plans applications. [`web`] serves
//! the same service as pages and a JSON API over HTTPS.

#![warn(missing_docs)]

pub mod breaker;
pub mod cache;
pub mod config;
pub mod fanout;
pub mod federation;
pub mod merge;
pub mod merged;
pub mod routing;
pub mod server;
pub mod upstream;
pub mod web;
