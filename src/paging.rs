//! AIP-158 style paging: validated page sizes and opaque page tokens bound to their query.
//!
//! A token encodes the offset of the next item and a fingerprint of the request's filters,
//! so a token reused with other filters is refused instead of returning a wrong page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::status::{FieldError, RequestError};

/// Page size limits of one list or search call.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    /// Used when the caller sends 0.
    pub default_size: usize,
    /// Largest accepted page size.
    pub max_size: usize,
}

impl PageLimits {
    /// Pages of `default_size` when the caller asks for none, of at most `max_size`.
    pub const fn new(default_size: usize, max_size: usize) -> Self {
        Self {
            default_size,
            max_size,
        }
    }

    /// The largest page size, as a request's `page_size` field.
    pub const fn largest_page(self) -> i32 {
        self.max_size as i32
    }
}

/// Checks a request's `page_size` against `limits` and returns the page size it means (0 is
/// the default size).
pub fn check_page_size(page_size: i32, limits: PageLimits) -> Result<usize, FieldError> {
    match page_size {
        0 => Ok(limits.default_size),
        n if n < 0 => Err(FieldError::new(
            "page_size",
            format!(
                "page_size must not be negative (got {n}); use 0 for the default of {}",
                limits.default_size
            ),
        )),
        n if n as usize > limits.max_size => Err(FieldError::new(
            "page_size",
            format!(
                "page_size {n} is over the maximum of {}; ask for {} or fewer and follow next_page_token",
                limits.max_size, limits.max_size
            ),
        )),
        n => Ok(n as usize),
    }
}

/// A validated page request: where to start and how many to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Index of the first item.
    pub offset: usize,
    /// Number of items to return.
    pub size: usize,
    fingerprint: u64,
}

const TOKEN_VERSION: u8 = 1;

impl PageRequest {
    /// Validates `page_size` and `page_token` against the limits and the query fingerprint.
    pub fn parse(
        page_size: i32,
        page_token: &str,
        limits: PageLimits,
        fingerprint: u64,
    ) -> Result<Self, RequestError> {
        let size = check_page_size(page_size, limits)?;
        let offset = if page_token.is_empty() {
            0
        } else {
            decode_token(page_token, fingerprint)?
        };
        Ok(Self {
            offset,
            size,
            fingerprint,
        })
    }

    /// The token for the page after this one, or an empty string when `total` is reached.
    pub fn next_token(&self, total: usize) -> String {
        let next = self.offset.saturating_add(self.size);
        if next >= total {
            String::new()
        } else {
            encode_token(next, self.fingerprint)
        }
    }

    /// The index range of this page within `total` items.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(total);
        let end = self.offset.saturating_add(self.size).min(total);
        start..end
    }

    /// Puts `items` in the order of `order` as far as this page reaches, drops what comes
    /// after it (a page never needs it), and returns the page's range within them. Only the
    /// items up to the page's end are sorted, so a first page of 50 out of 40,000 matches
    /// costs a selection, not a full sort. Count `items` for the total before calling.
    pub fn order_page<T>(
        &self,
        items: &mut Vec<T>,
        mut order: impl FnMut(&T, &T) -> std::cmp::Ordering,
    ) -> std::ops::Range<usize> {
        let range = self.range(items.len());
        if range.end > 0 && range.end < items.len() {
            items.select_nth_unstable_by(range.end - 1, &mut order);
            items.truncate(range.end);
        }
        items.sort_unstable_by(order);
        range
    }
}

/// A fingerprint of the parts of a request that a page token must not outlive.
pub fn fingerprint(parts: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

fn encode_token(offset: usize, fingerprint: u64) -> String {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&(offset as u64).to_be_bytes());
    bytes.extend_from_slice(&fingerprint.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_token(token: &str, fingerprint: u64) -> Result<usize, RequestError> {
    let bad = |why: &str| -> RequestError {
        FieldError::new(
            "page_token",
            format!("page_token is not valid ({why}); pass the next_page_token of the previous response unchanged, or leave it empty for the first page"),
        )
        .into()
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| bad("not a token issued by this service"))?;
    if bytes.len() != 17 || bytes[0] != TOKEN_VERSION {
        return Err(bad("not a token issued by this service"));
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&bytes[1..9]);
    let mut print = [0u8; 8];
    print.copy_from_slice(&bytes[9..17]);
    if u64::from_be_bytes(print) != fingerprint {
        return Err(bad(
            "it belongs to a request with other filters or query, or to an earlier revision of the catalogue, which has changed since: start again from the first page",
        ));
    }
    usize::try_from(u64::from_be_bytes(offset)).map_err(|_| bad("offset out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default_size: 10,
        max_size: 100,
    };

    #[test]
    fn zero_means_default_size() {
        let page = PageRequest::parse(0, "", LIMITS, 1).unwrap();
        assert_eq!((page.offset, page.size), (0, 10));
    }

    #[test]
    fn negative_and_oversized_pages_are_refused_with_the_field_named() {
        for size in [-1, 101] {
            let err = PageRequest::parse(size, "", LIMITS, 1).unwrap_err();
            assert_eq!(err.violations()[0].field, "page_size");
        }
    }

    #[test]
    fn tokens_walk_the_pages_and_end_empty() {
        let first = PageRequest::parse(4, "", LIMITS, 7).unwrap();
        assert_eq!(first.range(10), 0..4);
        let token = first.next_token(10);
        let second = PageRequest::parse(4, &token, LIMITS, 7).unwrap();
        assert_eq!(second.range(10), 4..8);
        let third = PageRequest::parse(4, &second.next_token(10), LIMITS, 7).unwrap();
        assert_eq!(third.range(10), 8..10);
        assert!(third.next_token(10).is_empty());
    }

    #[test]
    fn garbage_and_foreign_tokens_are_refused() {
        assert!(PageRequest::parse(4, "not-a-token!", LIMITS, 7).is_err());
        let token = PageRequest::parse(4, "", LIMITS, 7).unwrap().next_token(10);
        let err = PageRequest::parse(4, &token, LIMITS, 8).unwrap_err();
        assert!(err.to_string().contains("other filters"));
    }
}
