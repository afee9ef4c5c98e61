//! The health concept vocabulary the gateway searches with: the file named by the `concepts`
//! setting, or the copy of `gateway/config/health-concepts.toml` built into the gateway.

use helsedata::concepts::{Vocabulary, VocabularyError};

use crate::config::GatewayConfig;

/// The vocabulary built into the gateway.
pub const BUNDLED: &str = include_str!("../config/health-concepts.toml");

/// Loads and validates the configured vocabulary (the bundled one when none is configured).
pub fn load(config: &GatewayConfig) -> Result<Vocabulary, VocabularyError> {
    match &config.concepts {
        Some(path) => Vocabulary::load(path),
        None => Vocabulary::from_toml("gateway/config/health-concepts.toml (built in)", BUNDLED),
    }
}
