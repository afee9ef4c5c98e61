//! What the export reads: plain data built from the merged catalogue, so the web listener
//! and the command line can both feed it, and tests can build it by hand.

use helsedata::proto as pb;

/// How to reach an organisation: one e-mail address or one web page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// An e-mail address (without `mailto:`).
    Email(String),
    /// A web page.
    Page(String),
}

/// An organisation with its contact point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// The name used in Norway.
    pub name: String,
    /// How to reach it.
    pub contact: Contact,
}

/// The state of one custodian when the catalogue was read.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodianState {
    /// The custodian's id.
    pub id: String,
    /// Where its records came from (live, cached, stale, none).
    pub freshness: pb::Freshness,
    /// The catalogue revision of its records.
    pub catalogue_revision: String,
    /// When its catalogue last changed, when it says so.
    pub last_modified: Option<prost_types::Timestamp>,
    /// For a stale custodian: the time of its last good answer, from which its records have
    /// not been refreshed.
    pub stale_since: Option<prost_types::Timestamp>,
    /// What went wrong, when something did.
    pub message: String,
}

/// The catalogue as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueHeader {
    /// The national body that publishes the catalogue and decides for the listed registries
    /// (Helsedataservice).
    pub publisher: Agent,
    /// When the merged catalogue was read.
    pub generated_at: prost_types::Timestamp,
    /// Every configured custodian, ordered by id.
    pub custodians: Vec<CustodianState>,
}

impl CatalogueHeader {
    /// The ids of the custodians that contributed nothing (no answer and nothing cached).
    pub fn empty_handed(&self) -> Vec<&str> {
        self.custodians
            .iter()
            .filter(|c| c.freshness == pb::Freshness::None)
            .map(|c| c.id.as_str())
            .collect()
    }
}

/// Who decides on applications for a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// The national body (the catalogue's publisher) decides, under the national rules.
    National,
    /// Another body decides.
    Other(Agent),
}

/// One merged source and everything the export says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInput {
    /// The source as its custodian published it, with its access rules (FULL view).
    pub source: pb::DataSource,
    /// Who said it and how fresh it is.
    pub provenance: pb::Provenance,
    /// The data controller's contact.
    pub publisher_contact: Contact,
    /// Who decides on applications.
    pub decider: Decider,
    /// Where applications are filed: the effective route's address (a web or e-mail address,
    /// or words when none is published).
    pub application_url: String,
    /// HealthDCAT-AP health categories (IRIs of the EU Health Categories NAL).
    pub health_categories: Vec<String>,
    /// HealthDCAT-AP health themes (IRIs of the EU Health Themes NAL).
    pub health_themes: Vec<String>,
    /// Keywords in Norwegian Bokmål beyond the source's own topics.
    pub keywords_nb: Vec<String>,
    /// Keywords in English beyond the source's own topics.
    pub keywords_en: Vec<String>,
    /// The source's variable list; `None` when it could not be read at export time.
    pub variables: Option<Vec<pb::Variable>>,
}
