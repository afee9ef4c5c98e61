//! Paging of SearchVariables across custodians with one composite page token: each
//! custodian's own cursor inside one opaque, versioned token, so that a search pages through
//! every hit of every custodian, however deep, without the gateway holding any state.
//!
//! Every custodian is read in pages of the caller's page size `P`, through the page tokens it
//! issues (opaque to the gateway). A cursor is the token of the custodian page where its
//! unread hits begin, the token of the page after it, and how many hits of the first page are
//! already served. For a gateway page, each custodian contributes its `P` best unread hits
//! (the rest of its current page and, when some were served, its next page); the `P` best of
//! all are served and each cursor moves past what its custodian contributed. Custodians and
//! gateway order hits alike (score, then variable id), so what a custodian contributed is
//! always a prefix of its unread hits.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use helsedata::{proto as pb, status::FieldError};
use prost::Message as _;

/// Layout version written into every token; a token of another version is refused.
const VERSION: u32 = 1;

/// Where one custodian's unread hits begin.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Cursor {
    /// Id of the custodian whose hits this cursor pages through.
    #[prost(string, tag = "1")]
    pub custodian_id: String,
    /// Its page token for the page holding the first unread hit (empty: its first page).
    #[prost(string, tag = "2")]
    pub page_token: String,
    /// Its page token for the page after that one, once known (empty: not known or none).
    #[prost(string, tag = "3")]
    pub next_page_token: String,
    /// Hits of the first page already served.
    #[prost(uint32, tag = "4")]
    pub served: u32,
    /// Whether every hit of this custodian has been served.
    #[prost(bool, tag = "5")]
    pub done: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Token {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(uint64, tag = "2")]
    fingerprint: u64,
    #[prost(uint32, tag = "3")]
    page_size: u32,
    #[prost(message, repeated, tag = "4")]
    cursors: Vec<Cursor>,
}

/// The cursors of one search, from the caller's page token (or fresh ones for a first page).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursors {
    fingerprint: u64,
    page_size: usize,
    /// One per custodian asked, ordered by custodian id.
    pub cursors: Vec<Cursor>,
}

impl Cursors {
    /// Cursors at the start of every custodian's hits.
    pub fn first_page(fingerprint: u64, page_size: usize, custodians: &[&str]) -> Self {
        let mut ids: Vec<&str> = custodians.to_vec();
        ids.sort_unstable();
        ids.dedup();
        Self {
            fingerprint,
            page_size,
            cursors: ids
                .into_iter()
                .map(|id| Cursor {
                    custodian_id: id.to_string(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    /// Decodes a page token; refuses a token of another search, page size or layout.
    pub fn decode(token: &str, fingerprint: u64, page_size: usize) -> Result<Self, FieldError> {
        let refused = |why: &str| {
            FieldError::new(
                "page_token",
                format!(
                    "{why}; send the next_page_token of the previous page unchanged, with the same query, data_source_ids and page_size, or start again without a token"
                ),
            )
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| refused("page_token is not a token this gateway issued"))?;
        let t = Token::decode(bytes.as_slice())
            .map_err(|_| refused("page_token is not a token this gateway issued"))?;
        if t.version != VERSION {
            return Err(refused("page_token is from another version of the gateway"));
        }
        if t.fingerprint != fingerprint {
            return Err(refused("page_token belongs to another search"));
        }
        if t.page_size as usize != page_size {
            return Err(refused(&format!(
                "page_token was issued for page_size {}, not {page_size}",
                t.page_size
            )));
        }
        Ok(Self {
            fingerprint,
            page_size,
            cursors: t.cursors,
        })
    }

    /// The token of the next page, or an empty string when every custodian is done.
    pub fn encode(&self) -> String {
        if self.cursors.iter().all(|c| c.done) {
            return String::new();
        }
        let token = Token {
            version: VERSION,
            fingerprint: self.fingerprint,
            page_size: self.page_size as u32,
            cursors: self.cursors.clone(),
        };
        URL_SAFE_NO_PAD.encode(token.encode_to_vec())
    }

    /// The page size every custodian is read with.
    pub fn page_size(&self) -> usize {
        self.page_size
    }
}

impl Cursor {
    /// The custodian page tokens to read for this page: none when done, the current page,
    /// and the one after it when some hits of the current page were already served.
    pub fn pages_to_read(&self) -> Vec<String> {
        if self.done {
            return Vec::new();
        }
        let mut pages = vec![self.page_token.clone()];
        if self.served > 0 && !self.next_page_token.is_empty() {
            pages.push(self.next_page_token.clone());
        }
        pages
    }
}

/// One custodian's answers to [`Cursor::pages_to_read`], in the same order.
pub type PagesRead = Vec<pb::SearchVariablesResponse>;

/// Chooses the best `page_size` hits among the custodians' unread hits and moves every
/// cursor past what its custodian contributed. `read[i]` holds the pages read for
/// `cursors.cursors[i]`, or `None` when that custodian could not be read: its cursor stays
/// where it is, to be read on a later page. Returns the hits, best first, each with the index
/// of its custodian's cursor.
pub fn next_page(
    cursors: &mut Cursors,
    read: &[Option<PagesRead>],
) -> Vec<(usize, pb::VariableHit)> {
    let size = cursors.page_size;
    let mut candidates: Vec<(usize, pb::VariableHit)> = Vec::new();
    for (i, (cursor, pages)) in cursors.cursors.iter().zip(read).enumerate() {
        let (false, Some(pages)) = (cursor.done, pages) else {
            continue;
        };
        let unread = pages
            .first()
            .into_iter()
            .flat_map(|p| p.hits.iter().skip(cursor.served as usize))
            .chain(pages.iter().skip(1).flat_map(|p| p.hits.iter()))
            .take(size);
        candidates.extend(unread.map(|h| (i, h.clone())));
    }
    candidates.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then_with(|| id(&a.1).cmp(id(&b.1)))
    });
    candidates.truncate(size);
    let mut taken = vec![0u32; cursors.cursors.len()];
    for (i, _) in &candidates {
        taken[*i] += 1;
    }
    for ((cursor, pages), taken) in cursors.cursors.iter_mut().zip(read).zip(taken) {
        let (false, Some(pages)) = (cursor.done, pages) else {
            continue;
        };
        advance(cursor, pages, taken);
    }
    candidates
}

fn advance(cursor: &mut Cursor, pages: &PagesRead, taken: u32) {
    let Some(current) = pages.first() else {
        return;
    };
    let in_current = current.hits.len() as u32;
    let served = cursor.served + taken;
    if served < in_current {
        cursor.served = served;
        cursor.next_page_token = current.next_page_token.clone();
        return;
    }
    if current.next_page_token.is_empty() {
        cursor.done = true;
        cursor.served = in_current;
        return;
    }
    cursor.page_token = current.next_page_token.clone();
    cursor.served = served - in_current;
    cursor.next_page_token = pages
        .get(1)
        .map(|p| p.next_page_token.clone())
        .unwrap_or_default();
    if cursor.served > 0
        && pages.get(1).is_some_and(|p| p.next_page_token.is_empty())
        && cursor.served as usize >= pages[1].hits.len()
    {
        cursor.done = true;
    }
}

fn id(hit: &pb::VariableHit) -> &str {
    hit.variable.as_ref().map_or("", |v| v.id.as_str())
}

#[cfg(test)]
mod tests;
