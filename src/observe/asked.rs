//! What a request asked for, as written to its audit record.
//!
//! Only identifiers are written: the values of fields named `id`, `…_id`, `ids` or `…_ids`
//! (data source, variable and custodian ids, in the request message or, on the web, in the
//! path, the query string or a JSON body). They name catalogue entries, never a person. A
//! free-text query (`query`, `q`) is written as its length in characters only: it is not
//! personal data by design, but a person may type anything into a search box. Every other
//! field (page tokens, purposes, languages) is left out. At most [`MAX_VALUES`] values of at
//! most [`MAX_VALUE_CHARS`] characters each are kept; `truncated` says when more were sent.

use std::{
    collections::{BTreeMap, HashMap},
    sync::LazyLock,
};

use prost_reflect::{DescriptorPool, DynamicMessage, Kind, Value};
use serde::Serialize;

/// Most identifier values written per request.
pub const MAX_VALUES: usize = 64;
/// Longest identifier value written, in characters (longer ones are cut).
pub const MAX_VALUE_CHARS: usize = 128;
/// Most bytes of a request body read for its ids.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The ids a request asked for and the length of its free-text query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// Identifier values by field name (`data_source_ids`, `id`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, Vec<String>>,
    /// Characters in the free-text query, when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_chars: Option<usize>,
    /// Whether values were left out (over the limits, or a compressed or unreadable body).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Asked {
    fn count(&self) -> usize {
        self.ids.values().map(Vec::len).sum()
    }

    /// Adds `value` for field `name` when the name is an identifier's (a query's: its length).
    pub fn add(&mut self, name: &str, value: &str) {
        let name = snake_case(name);
        if is_query(&name) {
            *self.query_chars.get_or_insert(0) += value.chars().count();
            return;
        }
        if !is_id(&name) || value.is_empty() {
            return;
        }
        if self.count() >= MAX_VALUES {
            self.truncated = true;
            return;
        }
        let mut kept: String = value.chars().take(MAX_VALUE_CHARS).collect();
        if kept.len() < value.len() {
            self.truncated = true;
            kept.push('…');
        }
        self.ids.entry(name).or_default().push(kept);
    }
}

fn is_id(name: &str) -> bool {
    name == "id" || name == "ids" || name.ends_with("_id") || name.ends_with("_ids")
}

fn is_query(name: &str) -> bool {
    name == "query" || name == "q"
}

/// `dataSourceIds` → `data_source_ids` (JSON names are the proto's in camel case).
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

static CONTRACT: LazyLock<Option<DescriptorPool>> = LazyLock::new(|| {
    let mut pool = DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).ok()?;
    pool.decode_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .ok()?;
    Some(pool)
});

/// Every method path (`/package.Service/Method`) of the contract, of grpc.health.v1 and of
/// server reflection, listed once, each with its place in the list (the metrics keep a
/// series per place). Only read after it is built, so its hasher need not be keyed.
static KNOWN_METHODS: LazyLock<HashMap<String, usize, foldhash::fast::FixedState>> =
    LazyLock::new(|| {
        let mut paths: Vec<String> = [
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        if let Some(pool) = CONTRACT.as_ref() {
            for service in pool.services() {
                for method in service.methods() {
                    paths.push(format!("/{}/{}", service.full_name(), method.name()));
                }
            }
        }
        paths.sort();
        paths.dedup();
        paths.into_iter().enumerate().map(|(i, p)| (p, i)).collect()
    });

/// `path` as a metric label when it is a method of the contract, of grpc.health.v1 or of
/// server reflection; `None` for anything else, which is counted under one label, so that
/// callers cannot make up metric labels. The label is the listed path itself, so counting a
/// call allocates nothing.
pub fn known_method(path: &str) -> Option<&'static str> {
    known_method_at(path).map(|(_, label)| label)
}

/// [`known_method`], with the method's place among the [`known_method_count`] known ones.
pub fn known_method_at(path: &str) -> Option<(usize, &'static str)> {
    KNOWN_METHODS
        .get_key_value(path)
        .map(|(label, &at)| (at, label.as_str()))
}

/// How many methods [`known_method`] knows.
pub fn known_method_count() -> usize {
    KNOWN_METHODS.len()
}

fn input_of(path: &str) -> Option<prost_reflect::MessageDescriptor> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let service = CONTRACT.as_ref()?.get_service_by_name(service)?;
    let method = service.methods().find(|m| m.name() == method)?;
    Some(method.input())
}

/// The ids asked for by the first gRPC message of `body` (the length-prefixed frames as
/// received, possibly cut at [`MAX_BODY_BYTES`]) sent to `path`.
pub fn from_grpc(path: &str, body: &[u8]) -> Asked {
    let mut asked = Asked::default();
    let Some(input) = input_of(path) else {
        return asked;
    };
    let Some((&compressed, rest)) = body.split_first() else {
        return asked;
    };
    let Some(length) = rest.get(..4) else {
        asked.truncated = true;
        return asked;
    };
    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
    let message = rest.get(4..4 + length);
    match (compressed, message) {
        (0, Some(message)) => match DynamicMessage::decode(input, message) {
            Ok(decoded) => walk_message(&decoded, &mut asked, 0),
            Err(_) => asked.truncated = true,
        },
        _ => asked.truncated = true,
    }
    asked
}

fn walk_message(message: &DynamicMessage, asked: &mut Asked, depth: usize) {
    if depth > 4 {
        return;
    }
    for (field, value) in message.fields() {
        let name = field.name();
        match (field.kind(), value) {
            (Kind::String, Value::String(s)) => asked.add(name, s),
            (Kind::String, Value::List(items)) => {
                for item in items {
                    if let Value::String(s) = item {
                        asked.add(name, s);
                    }
                }
            }
            (Kind::Message(_), Value::Message(m)) => walk_message(m, asked, depth + 1),
            (Kind::Message(_), Value::List(items)) => {
                for item in items {
                    if let Value::Message(m) = item {
                        walk_message(m, asked, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The ids asked for by a web request: path parameters (`template` is the matched route,
/// `/api/v1/datasources/{id}`), query parameters and, for a JSON body, its fields.
pub fn from_web(template: Option<&str>, path: &str, query: Option<&str>, json: &[u8]) -> Asked {
    let mut asked = Asked::default();
    if let Some(template) = template {
        for (name, value) in template.split('/').zip(path.split('/')) {
            if let Some(name) = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                let decoded = percent_decoded(value);
                asked.add(name, &decoded);
            }
        }
    }
    if let Some(query) = query {
        match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            Ok(pairs) => {
                for (name, value) in pairs {
                    for part in value.split(',') {
                        asked.add(&name, part);
                    }
                }
            }
            Err(_) => asked.truncated = true,
        }
    }
    if !json.is_empty() {
        match serde_json::from_slice::<serde_json::Value>(json) {
            Ok(value) => walk_json(None, &value, &mut asked, 0),
            Err(_) => asked.truncated = true,
        }
    }
    asked
}

fn percent_decoded(segment: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={segment}"))
        .ok()
        .and_then(|mut pairs| pairs.pop())
        .map(|(_, v)| v)
        .unwrap_or_else(|| segment.to_string())
}

fn walk_json(name: Option<&str>, value: &serde_json::Value, asked: &mut Asked, depth: usize) {
    if depth > 6 {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            if let Some(name) = name {
                asked.add(name, s);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                walk_json(name, item, asked, depth + 1);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                walk_json(Some(key), item, asked, depth + 1);
            }
        }
        _ => {}
    }
}

/// Encodes `message` as one uncompressed gRPC frame (for tests of [`from_grpc`]).
pub fn grpc_frame<M: prost::Message>(message: &M) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut frame = vec![0];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto as pb;

    #[test]
    fn grpc_requests_give_their_ids_and_only_the_length_of_the_query() {
        let frame = grpc_frame(&pb::PlanApplicationRequest {
            data_source_ids: vec!["kreftregisteret".into(), "moba".into()],
            variable_ids: vec!["moba-v1".into()],
            ..Default::default()
        });
        let asked = from_grpc(
            "/helsedata.federation.v1.FederatedCatalogue/PlanApplication",
            &frame,
        );
        assert_eq!(asked.ids["data_source_ids"], ["kreftregisteret", "moba"]);
        assert_eq!(asked.ids["variable_ids"], ["moba-v1"]);
        let frame = grpc_frame(&pb::SearchDataSourcesRequest {
            query: "kreft i lunge".into(),
            custodian_ids: vec!["fhi".into()],
            ..Default::default()
        });
        let asked = from_grpc(
            "/helsedata.federation.v1.FederatedCatalogue/SearchDataSources",
            &frame,
        );
        assert_eq!(asked.query_chars, Some(13));
        assert_eq!(asked.ids["custodian_ids"], ["fhi"]);
        let json = serde_json::to_string(&asked).unwrap();
        assert!(
            !json.contains("kreft"),
            "the query text is not written: {json}"
        );
    }

    #[test]
    fn unknown_methods_and_garbage_give_nothing_and_never_panic() {
        assert_eq!(known_method("/x.Y/Z"), None);
        assert_eq!(known_method("/grpc.health.v1.Health/Check/"), None);
        assert_eq!(
            known_method("/grpc.health.v1.Health/Check"),
            Some("/grpc.health.v1.Health/Check")
        );
        let path = "/helsedata.federation.v1.FederatedCatalogue/SearchDataSources";
        assert_eq!(known_method(path), Some(path));
        let reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
        assert_eq!(known_method(reflection), Some(reflection));
        assert_eq!(from_grpc("/x.Y/Z", b"\0\0\0\0\x01\x0a"), Asked::default());
        let path = "/helsedata.federation.v1.FederatedCatalogue/GetDataSource";
        assert!(from_grpc(path, b"\0\0\0\0\x09\xff\xff").truncated);
        assert!(from_grpc(path, b"\x01\0\0\0\x01\x00").truncated);
        assert_eq!(from_grpc(path, b""), Asked::default());
    }

    #[test]
    fn web_requests_give_path_query_and_json_ids_with_limits() {
        let asked = from_web(
            Some("/api/v1/datasources/{id}/variables"),
            "/api/v1/datasources/mo%20ba/variables",
            Some("q=hjerte&custodianIds=fhi,hdir&pageToken=abc"),
            br#"{"dataSourceIds": ["a", "b"], "purpose": "secret"}"#,
        );
        assert_eq!(asked.ids["id"], ["mo ba"]);
        assert_eq!(asked.ids["custodian_ids"], ["fhi", "hdir"]);
        assert_eq!(asked.ids["data_source_ids"], ["a", "b"]);
        assert_eq!(asked.query_chars, Some(6));
        assert!(!asked.ids.contains_key("page_token") && !asked.ids.contains_key("purpose"));
        let many: Vec<String> = (0..100).map(|i| format!("id={i}")).collect();
        let asked = from_web(None, "/", Some(&many.join("&")), b"");
        assert_eq!(asked.ids["id"].len(), MAX_VALUES);
        assert!(asked.truncated);
    }
}
