//! Which data source ids a custodian may publish: records it returns for any other id are
//! dropped by the merge and reported as merge issues.

use std::sync::Arc;

use super::Upstream;
use crate::catalogue::merge::OwnsIds;

/// The data source ids a custodian may publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    patterns: Vec<String>,
}

impl Ownership {
    /// From configured ids and `prefix*` patterns.
    pub fn new(patterns: Vec<String>) -> Self {
        Self { patterns }
    }

    /// Whether `id` is owned.
    pub fn owns(&self, id: &str) -> bool {
        self.patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => p == id,
        })
    }

    /// The configured patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

impl OwnsIds for Ownership {
    fn owns(&self, id: &str) -> bool {
        Ownership::owns(self, id)
    }
}

/// The first upstream, in configuration order, whose ownership covers `id`.
pub fn owner_of<'a>(upstreams: &'a [Arc<Upstream>], id: &str) -> Option<&'a Arc<Upstream>> {
    upstreams.iter().find(|u| u.ownership.owns(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_matches_ids_and_prefixes() {
        let owns = Ownership::new(vec!["npr*".into(), "kpr".into()]);
        assert!(owns.owns("npr"));
        assert!(owns.owns("npr-somatikk"));
        assert!(owns.owns("kpr"));
        assert!(!owns.owns("kpr2"));
        assert!(!owns.owns("mfr"));
    }
}
