//! The two languages of the web pages: Norwegian bokmål by default, English one click away
//! or from `Accept-Language`. Fixed texts, labels of the contract's enum values, and ages.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use helsedata::proto as pb;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Norwegian bokmål (`nb`; `no` and `nn` also select it), the default.
    Nb,
    /// English (`en` or any `en-*` tag).
    En,
}

impl Lang {
    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Nb => "nb",
            Self::En => "en",
        }
    }

    /// The other language.
    pub fn other(self) -> Self {
        match self {
            Self::Nb => Self::En,
            Self::En => Self::Nb,
        }
    }

    /// The name of this language in itself.
    pub fn own_name(self) -> &'static str {
        match self {
            Self::Nb => "Norsk (bokmål)",
            Self::En => "English",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "nb" | "no" | "nn" | "nb-no" | "no-no" | "nn-no" => Some(Self::Nb),
            "en" => Some(Self::En),
            other if other.starts_with("en-") => Some(Self::En),
            _ => None,
        }
    }

    /// The language of a request: `?lang=`, then the `lang` cookie, then the first
    /// language of `Accept-Language` the pages speak, then bokmål.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(lang) = query.and_then(Self::parse) {
            return lang;
        }
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix("lang="))
            .find_map(Self::parse);
        if let Some(lang) = cookie {
            return lang;
        }
        let mut ranked: Vec<(f32, Self)> = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Self::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                // `q=0` means "not this language".
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, l)| *l).unwrap_or(Self::Nb)
    }

    /// The language of a page whose query asks for `param` (its `lang`, empty when it names
    /// none), as [`Lang::negotiate`] finds it, and the language to remember in the cookie:
    /// the one the query named, if any.
    pub fn of_page(param: &str, headers: &HeaderMap) -> (Self, Option<Self>) {
        let lang = Self::negotiate(Some(param).filter(|l| !l.is_empty()), headers);
        (lang, (!param.is_empty()).then_some(lang))
    }

    /// The text in this language, falling back to the other one.
    pub fn pick(self, text: Option<&pb::LocalizedText>) -> &str {
        let Some(text) = text else { return "" };
        let (first, second) = match self {
            Self::Nb => (&text.nb, &text.en),
            Self::En => (&text.en, &text.nb),
        };
        if first.is_empty() { second } else { first }
    }

    /// Picks `nb` or `en`.
    pub fn t(self, nb: &'static str, en: &'static str) -> &'static str {
        match self {
            Self::Nb => nb,
            Self::En => en,
        }
    }

    /// An age in words: "3 min", "2 t", "5 d".
    pub fn age(self, age: Duration) -> String {
        let s = age.as_secs();
        match (s, self) {
            (0..60, _) => format!("{s} s"),
            (60..3600, _) => format!("{} min", s / 60),
            (3600..86400, Self::Nb) => format!("{} t", s / 3600),
            (3600..86400, Self::En) => format!("{} h", s / 3600),
            (_, _) => format!("{} d", s / 86400),
        }
    }

    /// The label of an enum value of the contract, by its proto name.
    pub fn label(self, value: &str) -> String {
        let found = LABELS
            .iter()
            .find(|(name, _, _)| *name == value)
            .map(|(_, nb, en)| self.t(nb, en));
        match found {
            Some(text) => text.to_string(),
            None => value.to_string(),
        }
    }
}

/// Labels of the enum values shown on the pages: proto name, bokmål, English.
#[rustfmt::skip]
const LABELS: &[(&str, &str, &str)] = &[
    ("DATA_SOURCE_KIND_CENTRAL_HEALTH_REGISTER", "Sentralt helseregister", "Central health register"),
    ("DATA_SOURCE_KIND_NATIONAL_QUALITY_REGISTER", "Nasjonalt medisinsk kvalitetsregister", "National medical quality register"),
    ("DATA_SOURCE_KIND_POPULATION_HEALTH_SURVEY", "Befolkningsbasert helseundersøkelse", "Population health survey"),
    ("DATA_SOURCE_KIND_STATISTICS_DATASET", "Statistikk", "Statistics dataset"),
    ("DATA_SOURCE_KIND_ADMINISTRATIVE_REGISTER", "Administrativt register", "Administrative register"),
    ("DATA_SOURCE_KIND_OTHER", "Annet", "Other"),
    ("CONSENT_REQUIREMENT_REQUIRED", "Samtykke kreves", "Consent required"),
    ("CONSENT_REQUIREMENT_NOT_REQUIRED", "Uten samtykke", "No consent required"),
    ("CONSENT_REQUIREMENT_UNKNOWN", "Ukjent", "Unknown"),
    ("IDENTIFIABILITY_DIRECTLY_IDENTIFIABLE", "Direkte identifiserbar", "Directly identifiable"),
    ("IDENTIFIABILITY_PSEUDONYMOUS", "Pseudonym", "Pseudonymous"),
    ("IDENTIFIABILITY_DE_IDENTIFIED", "Avidentifisert", "De-identified"),
    ("IDENTIFIABILITY_ANONYMOUS", "Anonym", "Anonymous"),
    ("IDENTIFIABILITY_MIXED", "Blandet", "Mixed"),
    ("IDENTIFIABILITY_UNKNOWN", "Ukjent", "Unknown"),
    ("HAP_PHASE_1", "Fase 1", "Phase 1"),
    ("HAP_PHASE_2", "Fase 2", "Phase 2"),
    ("HAP_PHASE_3", "Fase 3", "Phase 3"),
    ("HAP_PHASE_4", "Fase 4", "Phase 4"),
    ("HAP_PHASE_NOT_HAP", "Ikke HAP", "Not on the platform"),
    ("HAP_PHASE_UNDECIDED", "Ikke besluttet", "Undecided"),
    ("HAP_PHASE_NOT_PRIORITISED", "Foreløpig ikke prioritert", "Not prioritised yet"),
    ("HAP_PHASE_NOT_LISTED", "Ikke i planen", "Not in the plan"),
    ("APPLICATION_CHANNEL_HELSEDATA_FORM", "Søknadsskjema på helsedata.no", "Application form on helsedata.no"),
    ("APPLICATION_CHANNEL_ALTINN_FORM", "Skjema i Altinn", "Form in Altinn"),
    ("APPLICATION_CHANNEL_EMAIL_TO_REGISTER", "E-post til registeret", "E-mail to the register"),
    ("APPLICATION_CHANNEL_REGISTER_WEBSITE", "Registerets nettsted", "The register's website"),
    ("APPLICATION_CHANNEL_UNKNOWN", "Ukjent kanal", "Unknown channel"),
    ("FRESHNESS_LIVE", "direkte", "live"),
    ("FRESHNESS_CACHED", "mellomlagret", "cached"),
    ("FRESHNESS_STALE", "utdatert", "stale"),
    ("FRESHNESS_NONE", "ingen data", "no data"),
    ("OUTCOME_STATUS_OK", "svarte", "answered"),
    ("OUTCOME_STATUS_TIMEOUT", "svarte ikke i tide", "timed out"),
    ("OUTCOME_STATUS_UNAVAILABLE", "utilgjengelig", "unavailable"),
    ("OUTCOME_STATUS_REJECTED", "avvist", "rejected"),
    ("OUTCOME_STATUS_ERROR", "feil", "error"),
    ("OUTCOME_STATUS_NOT_ASKED", "ikke spurt", "not asked"),
    ("PURPOSE_RESEARCH", "Forskning", "Research"),
    ("PURPOSE_QUALITY_ASSURANCE", "Kvalitetssikring", "Quality assurance"),
    ("PURPOSE_HEALTH_ADMINISTRATION", "Helseforvaltning og planlegging", "Health administration and planning"),
    ("PURPOSE_STATISTICS", "Statistikk", "Statistics"),
    ("PURPOSE_OTHER", "Annet formål", "Other purpose"),
    ("PROJECT_STAGE_NEW", "Nytt prosjekt", "New project"),
    ("PROJECT_STAGE_CHANGE", "Endring av prosjekt", "Change to a project"),
    ("PROJECT_STAGE_NEW_DATA_PERIOD", "Nye dataperioder", "New data periods"),
    ("DATA_LEVEL_ANONYMOUS_AGGREGATED", "Anonym statistikk (tabeller)", "Anonymous statistics (tables)"),
    ("DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL", "Avidentifiserte data på individnivå", "De-identified individual-level data"),
    ("DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL", "Identifiserbare data på individnivå", "Identifiable individual-level data"),
    ("LINKAGE_POLICY_ALLOWED", "Kobling mulig", "Linkage allowed"),
    ("LINKAGE_POLICY_NOT_POSSIBLE", "Kobling ikke mulig", "Linkage not possible"),
    ("LINKAGE_POLICY_OWN_PSEUDONYM_MODEL_ONLY", "Bare egen pseudonymmodell", "Own pseudonym model only"),
    ("LINKAGE_POLICY_ANONYMOUS_OUTPUT_ONLY", "Bare anonyme resultater", "Anonymous output only"),
    ("LINKAGE_POLICY_UNKNOWN", "Ukjent", "Unknown"),
    ("BIOMATERIAL_AVAILABILITY_APPLY_WITH_DATA", "Kan søkes sammen med data", "May be applied for with the data"),
    ("BIOMATERIAL_AVAILABILITY_BIOBANK_MENTIONED", "Biobank nevnt", "A biobank is mentioned"),
    ("BIOMATERIAL_AVAILABILITY_NONE", "Ingen", "None"),
    ("FACT_BASIS_STATED", "oppgitt av forvalteren", "stated by the custodian"),
    ("FACT_BASIS_INFERRED", "utledet", "inferred"),
    ("FACT_BASIS_INHERITED", "arvet", "inherited"),
    ("FACT_BASIS_EXTERNAL", "fra annen kilde", "from another source"),
    ("VALUE_TYPE_TEXT", "tekst", "text"),
    ("VALUE_TYPE_INTEGER", "heltall", "integer"),
    ("VALUE_TYPE_DECIMAL", "desimaltall", "decimal"),
    ("VALUE_TYPE_DATE", "dato", "date"),
    ("VALUE_TYPE_DATETIME", "tidspunkt", "date and time"),
    ("VALUE_TYPE_BOOLEAN", "ja/nei", "yes/no"),
    ("VALUE_TYPE_CODE", "kode", "code"),
    ("VALUE_TYPE_IDENTIFIER", "identifikator", "identifier"),
    ("ROUTE_CONDITION_NEW_RESEARCH_PROJECT", "Nye forskningsprosjekter", "New research projects"),
    ("ROUTE_CONDITION_CHANGE_NEW_PERIOD_OR_NON_RESEARCH", "Endringer, nye perioder eller annet enn forskning", "Changes, new periods or other than research"),
    ("ROUTE_PART_CHANNEL", "kanal", "channel"),
    ("ROUTE_PART_DECIDED_BY", "hvem som beslutter", "who decides"),
    ("ROUTE_PART_PREPARED_BY", "hvem som tilrettelegger", "who prepares"),
    ("ROUTE_PART_DELIVERED_BY", "hvem som utleverer", "who delivers"),
    ("national.helsedataservice-decides", "Helsedataservice beslutter", "Helsedataservice decides"),
    ("national.common-form", "Felles søknadsskjema på helsedata.no", "The common helsedata.no form"),
    ("custodian.decided-by", "Hvem som beslutter", "Who decides"),
    ("custodian.delivered-by", "Hvem som tilrettelegger og utleverer", "Who prepares and delivers"),
    ("ROUTE_CONDITION_LEGACY", "Tidligere ordning", "Earlier arrangement"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn bokmal_is_the_default_and_english_comes_from_accept_language() {
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::Nb);
        let en = headers(&[("accept-language", "en-GB,en;q=0.9,nb;q=0.5")]);
        assert_eq!(Lang::negotiate(None, &en), Lang::En);
        let nb = headers(&[("accept-language", "en;q=0.4, nb")]);
        assert_eq!(Lang::negotiate(None, &nb), Lang::Nb);
        let refused = headers(&[("accept-language", "de, en;q=0")]);
        assert_eq!(
            Lang::negotiate(None, &refused),
            Lang::Nb,
            "q=0 refuses English"
        );
    }

    #[test]
    fn the_query_wins_over_the_cookie_and_the_cookie_over_the_header() {
        let both = headers(&[("cookie", "a=1; lang=en"), ("accept-language", "nb")]);
        assert_eq!(Lang::negotiate(None, &both), Lang::En);
        assert_eq!(Lang::negotiate(Some("nb"), &both), Lang::Nb);
    }

    #[test]
    fn labels_exist_for_every_channel_and_kind() {
        for channel in [
            "HELSEDATA_FORM",
            "ALTINN_FORM",
            "EMAIL_TO_REGISTER",
            "REGISTER_WEBSITE",
        ] {
            let name = format!("APPLICATION_CHANNEL_{channel}");
            assert_ne!(Lang::En.label(&name), name);
        }
        assert_eq!(Lang::En.label("FRESHNESS_STALE"), "stale");
        assert_eq!(Lang::Nb.age(Duration::from_secs(7200)), "2 t");
    }
}
