//! What every page shows around its content, and small formatting helpers shared by the
//! pages.

use std::time::{Duration, SystemTime};

use helsedata::proto as pb;

use crate::web::i18n::Lang;

/// The frame of a page: language, title, navigation and the language switch.
pub struct Chrome {
    /// The page's language.
    pub lang: Lang,
    /// Title of the page.
    pub title: String,
    /// Which navigation entry is current ("search", "plan" or "").
    pub section: &'static str,
    /// The same page in the other language.
    pub switch_href: String,
}

impl Chrome {
    /// A frame for the page at `path_and_query` (used for the language switch).
    pub fn new(lang: Lang, title: &str, section: &'static str, path_and_query: &str) -> Self {
        Self {
            lang,
            title: title.to_string(),
            section,
            switch_href: with_param(path_and_query, "lang", lang.other().code()),
        }
    }

    /// The other language.
    pub fn other(&self) -> Lang {
        self.lang.other()
    }
}

/// A text in the page's language: its `localized_*` twin where one is given (its `nb` where
/// the page is in bokmål and the twin has one, else its `en`), else the plain (English) text.
pub fn one(lang: Lang, localized: Option<&pb::LocalizedText>, plain: String) -> String {
    match localized {
        Some(text) if !text.nb.is_empty() || !text.en.is_empty() => {
            lang.pick(Some(text)).to_string()
        }
        _ => plain,
    }
}

/// A list of texts in the page's language, entry for entry as [`one`]; `localized` is used
/// only when it runs parallel to `plain`.
pub fn many(lang: Lang, localized: &[pb::LocalizedText], plain: Vec<String>) -> Vec<String> {
    if localized.len() == plain.len() {
        localized
            .iter()
            .map(|t| lang.pick(Some(t)).to_string())
            .collect()
    } else {
        plain
    }
}

/// `path_and_query` with `key` set to `value` (replacing any earlier value).
pub fn with_param(path_and_query: &str, key: &str, value: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<(String, String)> = form_pairs(query)
        .into_iter()
        .filter(|(k, _)| k != key)
        .collect();
    pairs.push((key.to_string(), value.to_string()));
    format!("{path}?{}", encode(&pairs))
}

/// Decodes a query string.
pub fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Encodes query pairs.
pub fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Freshness of a custodian's data as shown beside a record.
pub struct Freshness {
    /// `live`, `cached`, `stale` or `none` (a CSS class).
    pub class: &'static str,
    /// The label, with the age when the data are not live.
    pub text: String,
}

/// The freshness of a record from its provenance.
pub fn freshness(lang: Lang, provenance: Option<&pb::Provenance>) -> Freshness {
    let Some(p) = provenance else {
        return Freshness {
            class: "none",
            text: lang.label("FRESHNESS_NONE"),
        };
    };
    let kind = pb::Freshness::try_from(p.freshness).unwrap_or(pb::Freshness::Unspecified);
    let class = match kind {
        pb::Freshness::Live => "live",
        pb::Freshness::Cached => "cached",
        pb::Freshness::Stale => "stale",
        _ => "none",
    };
    let label = lang.label(kind.as_str_name());
    let age = p.fetched_at.as_ref().and_then(age_of);
    let text = match (kind, age) {
        (pb::Freshness::Live, _) | (_, None) => label,
        (_, Some(age)) => format!("{label}, {} {}", lang.age(age), lang.t("gammel", "old")),
    };
    Freshness { class, text }
}

/// How long ago `at` was.
pub fn age_of(at: &prost_types::Timestamp) -> Option<Duration> {
    let at = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(at.seconds).ok()?)
        + Duration::from_nanos(u64::try_from(at.nanos).ok()?);
    SystemTime::now().duration_since(at).ok()
}

/// A timestamp as `YYYY-MM-DD HH:MM UTC`.
pub fn timestamp(at: Option<&prost_types::Timestamp>) -> String {
    let Some(at) = at else { return String::new() };
    let days = at.seconds.div_euclid(86_400);
    let secs = at.seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A year range in words.
pub fn years(lang: Lang, range: Option<&pb::YearRange>) -> String {
    match range {
        Some(pb::YearRange {
            from_year: Some(from),
            to_year: Some(to),
        }) => format!("{from}–{to}"),
        Some(pb::YearRange {
            from_year: Some(from),
            to_year: None,
        }) => format!("{from}–{}", lang.t("i dag", "today")),
        _ => String::new(),
    }
}

/// A link for an address: `mailto:` for an e-mail address, the address itself for a web
/// address, nothing for anything else.
pub fn address_href(address: &str) -> Option<String> {
    let address = address.trim();
    if address.starts_with("https://") || address.starts_with("http://") {
        Some(address.to_string())
    } else if address.contains('@') && !address.contains(char::is_whitespace) {
        Some(format!("mailto:{address}"))
    } else {
        None
    }
}

/// Where a rule comes from, in words: the national rules, the request, or a custodian.
pub fn origin(lang: Lang, origin: &str) -> String {
    match origin.strip_prefix("custodian:") {
        Some(id) => format!("{} {id}", lang.t("forvalteren", "the custodian")),
        None if origin == "national-rules" => lang
            .t("de nasjonale reglene", "the national rules")
            .to_string(),
        None if origin == "request" => lang.t("søknaden", "the request").to_string(),
        None => origin.to_string(),
    }
}

/// The label of an enum value given by number.
pub fn enum_label<E>(lang: Lang, value: i32, name: impl Fn(&E) -> &'static str) -> String
where
    E: TryFrom<i32>,
{
    match E::try_from(value) {
        Ok(v) => lang.label(name(&v)),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_dates() {
        let at = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        };
        assert_eq!(timestamp(Some(&at)), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn addresses_become_usable_links() {
        assert_eq!(
            address_href("https://helsedata.no").as_deref(),
            Some("https://helsedata.no")
        );
        assert_eq!(
            address_href("mfr@fhi.no").as_deref(),
            Some("mailto:mfr@fhi.no")
        );
        assert_eq!(address_href("ask the register"), None);
    }

    #[test]
    fn the_language_switch_keeps_the_query() {
        assert_eq!(
            with_param("/?q=kreft&lang=nb", "lang", "en"),
            "/?q=kreft&lang=en"
        );
    }
}
