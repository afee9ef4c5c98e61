//! The OpenAPI 3.1 document of the JSON API, generated from the contract's descriptors so
//! that it always describes exactly the messages that are served: every schema is the
//! canonical JSON form of a proto message, every query parameter a field of a request.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::json::Named;
use helsedata::proto as pb;

const ERROR_CODES: [(&str, &str); 7] = [
    (
        "400",
        "The request is invalid; `details` names the field at fault.",
    ),
    ("404", "No such data source, or no such path."),
    (
        "413",
        "The request body is larger than the limit (RESOURCE_EXHAUSTED).",
    ),
    ("429", "Too many requests from this address."),
    ("500", "The gateway could not answer."),
    (
        "503",
        "The custodian that owns the record cannot answer and nothing is cached, or the gateway is serving its limit of web requests (retry after a moment).",
    ),
    ("504", "The answer was not ready within the deadline."),
];

/// One operation of the API: its path, method, and the contract messages it reads and
/// answers.
struct Operation {
    path: &'static str,
    method: &'static str,
    summary: &'static str,
    request: MessageDescriptor,
    response: MessageDescriptor,
    path_fields: &'static [&'static str],
}

/// An example request of the plan operation.
const PLAN_EXAMPLE: &str = r#"{"dataSourceIds": ["mfr", "npr-somatikk"], "purpose": "PURPOSE_RESEARCH", "stage": "PROJECT_STAGE_NEW", "dataLevel": "DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL"}"#;

/// Builds the document.
pub fn document() -> Value {
    let mut schemas = BTreeMap::new();
    let mut paths = Map::new();
    let ops = [
        Operation {
            path: "/api/v1/custodians",
            method: "get",
            summary: "ListCustodians: every custodian with its live status.",
            request: pb::ListCustodiansRequest::descriptor(),
            response: pb::ListCustodiansResponse::descriptor(),
            path_fields: &[],
        },
        Operation {
            path: "/api/v1/datasources",
            method: "get",
            summary: "SearchDataSources: free text, filters and paging over the merged catalogue.",
            request: pb::SearchDataSourcesRequest::descriptor(),
            response: pb::SearchDataSourcesResponse::descriptor(),
            path_fields: &[],
        },
        Operation {
            path: "/api/v1/datasources/{id}",
            method: "get",
            summary: "GetDataSource: one source from its owner, with provenance.",
            request: pb::GetDataSourceRequest::descriptor(),
            response: pb::GetDataSourceResponse::descriptor(),
            path_fields: &["id"],
        },
        Operation {
            path: "/api/v1/datasources/{data_source_id}/variables",
            method: "get",
            summary: "ListVariables: one page of a source's variables.",
            request: pb::ListVariablesRequest::descriptor(),
            response: pb::FederatedListVariablesResponse::descriptor(),
            path_fields: &["data_source_id"],
        },
        Operation {
            path: "/api/v1/variables",
            method: "get",
            summary: "SearchVariables: variables across every custodian.",
            request: pb::SearchVariablesRequest::descriptor(),
            response: pb::FederatedSearchVariablesResponse::descriptor(),
            path_fields: &[],
        },
        Operation {
            path: "/api/v1/plan",
            method: "post",
            summary: "PlanApplication: which applications go where, who decides and delivers, and why.",
            request: pb::PlanApplicationRequest::descriptor(),
            response: pb::ApplicationPlan::descriptor(),
            path_fields: &[],
        },
    ];
    for Operation {
        path,
        method,
        summary,
        request,
        response,
        path_fields,
    } in ops
    {
        let mut op = Map::new();
        op.insert(
            "operationId".into(),
            json!(request.name().trim_end_matches("Request")),
        );
        op.insert("summary".into(), json!(summary));
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({
                "description": "The answer, in the proto3 canonical JSON mapping.",
                "content": {"application/json": {"schema": reference(&response)}},
            }),
        );
        for (code, text) in ERROR_CODES {
            responses.insert(
                code.into(),
                json!({
                    "description": text,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}},
                }),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        if method == "post" {
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": {"application/json": {
                        "schema": reference(&request),
                        "example": serde_json::from_str::<Value>(PLAN_EXAMPLE).unwrap_or_default(),
                    }},
                }),
            );
            collect(&request, &mut schemas);
        } else {
            op.insert(
                "parameters".into(),
                Value::Array(parameters(&request, path_fields)),
            );
        }
        collect(&response, &mut schemas);
        let mut item = Map::new();
        item.insert(method.into(), Value::Object(op));
        paths.insert(path.into(), Value::Object(item));
    }
    let mut components: Map<String, Value> = schemas.into_iter().collect();
    components.insert("google.rpc.Status".into(), status_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "helsedata federation gateway",
            "version": "v1",
            "description": "The merged catalogue of Norway's health-data custodians and application planning. Bodies are the proto3 canonical JSON mapping of the messages of helsedata.federation.v1 (what grpcurl prints); errors are google.rpc.Status with the HTTP status of AIP-193.",
        },
        "paths": paths,
        "components": {"schemas": components},
    })
}

fn reference(desc: &MessageDescriptor) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", desc.full_name())})
}

/// The query (and path) parameters of a GET request: its fields, nested message fields
/// joined with `.`.
fn parameters(desc: &MessageDescriptor, path_fields: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for field in desc.fields() {
        if path_fields.contains(&field.name()) {
            out.push(json!({
                "name": field.name(),
                "in": "path",
                "required": true,
                "schema": {"type": "string", "minLength": 1},
                "example": "mfr",
            }));
            continue;
        }
        match field.kind() {
            Kind::Message(inner) if !field.is_list() => {
                for nested in inner.fields() {
                    out.push(json!({
                        "name": format!("{}.{}", field.name(), nested.name()),
                        "in": "query",
                        "required": false,
                        "schema": scalar_schema(&nested),
                    }));
                }
            }
            _ => {
                let schema = field_schema(&field);
                let mut param = json!({
                    "name": field.name(),
                    "in": "query",
                    "required": false,
                    "schema": schema,
                });
                if field.is_list() {
                    param["style"] = json!("form");
                    param["explode"] = json!(true);
                }
                out.push(param);
            }
        }
    }
    out
}

fn collect(desc: &MessageDescriptor, schemas: &mut BTreeMap<String, Value>) {
    let name = desc.full_name().to_string();
    if schemas.contains_key(&name) || well_known(desc).is_some() {
        return;
    }
    schemas.insert(name.clone(), Value::Null);
    let mut properties = Map::new();
    for field in desc.fields() {
        properties.insert(field.json_name().to_string(), field_schema(&field));
        if let Kind::Message(inner) = field.kind() {
            collect(&inner, schemas);
        }
    }
    schemas.insert(
        name,
        json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        }),
    );
}

fn field_schema(field: &FieldDescriptor) -> Value {
    let item = scalar_schema(field);
    if field.is_list() {
        json!({"type": "array", "items": item})
    } else {
        item
    }
}

fn well_known(desc: &MessageDescriptor) -> Option<Value> {
    match desc.full_name() {
        "google.protobuf.Timestamp" => Some(json!({"type": "string", "format": "date-time"})),
        "google.protobuf.Duration" => {
            Some(json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"}))
        }
        _ => None,
    }
}

fn scalar_schema(field: &FieldDescriptor) -> Value {
    match field.kind() {
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "minimum": 0, "maximum": 4294967295u64})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "string", "pattern": "^-?[0-9]+$"})
        }
        Kind::Float | Kind::Double => json!({"type": "number"}),
        Kind::Enum(e) => json!({
            "type": "string",
            "enum": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>(),
        }),
        Kind::Message(m) => well_known(&m).unwrap_or_else(|| reference(&m)),
    }
}

fn status_schema() -> Value {
    json!({
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "description": "The google.rpc.Code."},
            "message": {"type": "string", "description": "What was wrong and how to fix it."},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["@type"],
                    "properties": {"@type": {"type": "string"}},
                },
            },
        },
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/api/v1/plan"]["post"]["requestBody"].is_object());
    }

    #[test]
    fn search_parameters_are_every_field_of_the_request() {
        let doc = document();
        let params = doc["paths"]["/api/v1/datasources"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        for expected in [
            "query",
            "custodian_ids",
            "kind",
            "years.from_year",
            "channel",
            "page_token",
            "view",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
    }
}
