//! Exports of the merged catalogue in formats other systems harvest.

pub mod dcat;
