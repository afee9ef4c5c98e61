//! The proto3 canonical JSON mapping of the contract's messages, by prost-reflect over the
//! contract's own descriptor set: a JSON answer here is what grpcurl prints for the same
//! message. Query strings of GET requests are read into the same messages.

use std::sync::LazyLock;

use helsedata::{proto as pb, status::FieldError};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions,
};
use serde_json::{Map, Value};

/// The contract's descriptors (with the well-known types they import).
pub static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set compiled into the crate decodes")
});

/// A message of the contract with its fully qualified proto name.
pub trait Named: Message + Default {
    /// For example `helsedata.federation.v1.SearchDataSourcesRequest`.
    const NAME: &'static str;

    /// The message's descriptor.
    fn descriptor() -> MessageDescriptor {
        POOL.get_message_by_name(Self::NAME)
            .expect("every named message is in the contract")
    }
}

macro_rules! named {
    ($($ty:ident),* $(,)?) => {
        $(impl Named for pb::$ty {
            const NAME: &'static str = concat!("helsedata.federation.v1.", stringify!($ty));
        })*
    };
}

named!(
    ListCustodiansRequest,
    ListCustodiansResponse,
    SearchDataSourcesRequest,
    SearchDataSourcesResponse,
    GetDataSourceRequest,
    GetDataSourceResponse,
    ListVariablesRequest,
    FederatedListVariablesResponse,
    SearchVariablesRequest,
    FederatedSearchVariablesResponse,
    PlanApplicationRequest,
    ApplicationPlan,
);

/// The canonical JSON of `message` (lowerCamelCase names, enums by name, defaults omitted,
/// 64-bit integers as strings, Timestamp and Duration as strings).
pub fn to_json<M: Named>(message: &M) -> Value {
    let dynamic = DynamicMessage::decode(M::descriptor(), message.encode_to_vec().as_slice())
        .expect("a message encoded by prost decodes with its own descriptor");
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .expect("a dynamic message serializes to a JSON value")
}

/// Reads `M` from its canonical JSON (proto field names are accepted as well); unknown
/// fields are refused.
pub fn from_json<M: Named>(value: &Value) -> Result<M, FieldError> {
    let dynamic = DynamicMessage::deserialize_with_options(
        M::descriptor(),
        value,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| {
        FieldError::new(
            "body",
            format!("the body is not a valid {} in JSON: {e}", short(M::NAME)),
        )
    })?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| {
        FieldError::new(
            "body",
            format!("the body is not a valid {}: {e}", short(M::NAME)),
        )
    })
}

/// Reads `M` from the body of a request.
pub fn from_body<M: Named>(body: &[u8]) -> Result<M, FieldError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        FieldError::new(
            "body",
            format!(
                "the body is not JSON ({e}); send a {} as JSON with Content-Type: application/json",
                short(M::NAME)
            ),
        )
    })?;
    from_json(&value)
}

/// Reads `M` from query parameters. A parameter names a field by its proto or JSON name;
/// nested fields are joined with `.` (`years.from_year=1990`); a repeated field may be
/// given more than once.
pub fn from_query<M: Named>(pairs: &[(String, String)]) -> Result<M, FieldError> {
    let mut root = Map::new();
    for (key, raw) in pairs {
        put(&M::descriptor(), &mut root, key, key, raw)?;
    }
    from_json(&Value::Object(root)).map_err(|e| FieldError::new("query", e.description))
}

fn put(
    desc: &MessageDescriptor,
    object: &mut Map<String, Value>,
    full_key: &str,
    key: &str,
    raw: &str,
) -> Result<(), FieldError> {
    let (head, rest) = match key.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (key, None),
    };
    let field = desc
        .get_field_by_name(head)
        .or_else(|| desc.get_field_by_json_name(head))
        .ok_or_else(|| {
            let known: Vec<String> = desc.fields().map(|f| f.name().to_string()).collect();
            FieldError::new(
                full_key,
                format!(
                    "unknown parameter `{full_key}`; the parameters are {}",
                    known.join(", ")
                ),
            )
        })?;
    let name = field.name().to_string();
    match (field.kind(), rest) {
        (Kind::Message(inner), Some(rest)) if !field.is_list() => {
            let entry = object
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(map) => put(&inner, map, full_key, rest, raw),
                _ => Err(FieldError::new(full_key, "parameter given twice")),
            }
        }
        (_, Some(_)) => Err(FieldError::new(
            full_key,
            format!("`{head}` has no fields; use `{head}=` alone"),
        )),
        (kind, None) => {
            let value = scalar(&kind, raw).ok_or_else(|| {
                FieldError::new(
                    full_key,
                    format!("`{raw}` is not a valid value of `{full_key}`"),
                )
            })?;
            if field.is_list() {
                match object
                    .entry(name)
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(items) => items.push(value),
                    _ => return Err(FieldError::new(full_key, "parameter given twice")),
                }
            } else if object.insert(name, value).is_some() {
                return Err(FieldError::new(
                    full_key,
                    format!("`{full_key}` is given more than once; it takes one value"),
                ));
            }
            Ok(())
        }
    }
}

/// The JSON form of one query value for a field of `kind`: booleans and numbers as JSON
/// literals, enum numbers as numbers, everything else as a string the JSON mapping reads.
fn scalar(kind: &Kind, raw: &str) -> Option<Value> {
    match kind {
        Kind::Bool => match raw {
            "true" | "1" | "on" => Some(Value::Bool(true)),
            "false" | "0" | "" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Enum(_) => Some(match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(raw.to_string()),
        }),
        Kind::Message(_) => None,
        _ => Some(Value::String(raw.to_string())),
    }
}

fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn answers_use_the_canonical_mapping() {
        let response = pb::SearchDataSourcesResponse {
            total_size: 3,
            next_page_token: "abc".into(),
            custodians: vec![pb::CustodianOutcome {
                custodian_id: "fhi".into(),
                status: pb::OutcomeStatus::Ok as i32,
                latency: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 1_500_000,
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = to_json(&response);
        assert_eq!(json["totalSize"], 3);
        assert_eq!(json["nextPageToken"], "abc");
        assert_eq!(json["custodians"][0]["custodianId"], "fhi");
        assert_eq!(json["custodians"][0]["status"], "OUTCOME_STATUS_OK");
        assert_eq!(json["custodians"][0]["latency"], "0.001500s");
        assert!(json.get("results").is_none(), "defaults are omitted");
    }

    #[test]
    fn query_parameters_fill_nested_repeated_and_enum_fields() {
        let req: pb::SearchDataSourcesRequest = from_query(&pairs(&[
            ("query", "kreft"),
            ("custodian_ids", "fhi"),
            ("custodianIds", "ssb"),
            ("kind", "DATA_SOURCE_KIND_CENTRAL_HEALTH_REGISTER"),
            ("years.from_year", "1990"),
            ("page_size", "5"),
        ]))
        .unwrap();
        assert_eq!(req.query, "kreft");
        assert_eq!(req.custodian_ids, vec!["fhi", "ssb"]);
        assert_eq!(req.kind, pb::DataSourceKind::CentralHealthRegister as i32);
        assert_eq!(req.years.unwrap().from_year, Some(1990));
        assert_eq!(req.page_size, 5);
    }

    #[test]
    fn unknown_parameters_and_values_are_named() {
        let err =
            from_query::<pb::SearchDataSourcesRequest>(&pairs(&[("colour", "red")])).unwrap_err();
        assert_eq!(err.field, "colour");
        assert!(err.description.contains("query"), "{}", err.description);
        let err =
            from_query::<pb::SearchDataSourcesRequest>(&pairs(&[("kind", "DATA_SOURCE_KIND_X")]))
                .unwrap_err();
        assert!(
            err.description.contains("DATA_SOURCE_KIND_X"),
            "{}",
            err.description
        );
    }

    #[test]
    fn bodies_round_trip_and_bad_json_is_explained() {
        let req: pb::PlanApplicationRequest = from_body(
            br#"{"dataSourceIds": ["mfr"], "purpose": "PURPOSE_RESEARCH", "linkage_wanted": true}"#,
        )
        .unwrap();
        assert_eq!(req.data_source_ids, vec!["mfr"]);
        assert!(req.linkage_wanted);
        assert_eq!(to_json(&req)["purpose"], "PURPOSE_RESEARCH");
        let err = from_body::<pb::PlanApplicationRequest>(b"{not json").unwrap_err();
        assert!(err.description.contains("not JSON"), "{}", err.description);
        let err = from_body::<pb::PlanApplicationRequest>(br#"{"sources": []}"#).unwrap_err();
        assert!(err.description.contains("sources"), "{}", err.description);
    }
}
