//! The validation of every request type, field by field.

use super::*;

fn plan(req: &pb::PlanApplicationRequest) -> Result<(), RequestError> {
    GatewayApi::validate(req)
}

fn fields(err: &RequestError) -> Vec<&str> {
    err.violations().iter().map(|v| v.field.as_str()).collect()
}

mod plan_application {
    use super::*;

    fn request() -> pb::PlanApplicationRequest {
        pb::PlanApplicationRequest {
            data_source_ids: vec!["npr".into()],
            variable_ids: vec!["mfr/birth_weight".into()],
            purpose: pb::Purpose::Research as i32,
            stage: pb::ProjectStage::New as i32,
            data_level: pb::DataLevel::DeidentifiedIndividual as i32,
            linkage_wanted: false,
            biomaterial_wanted: false,
        }
    }

    #[test]
    fn well_formed_request_passes() {
        assert_eq!(plan(&request()), Ok(()));
    }

    #[test]
    fn missing_purpose_is_invalid_and_lists_accepted_values() {
        let req = pb::PlanApplicationRequest {
            purpose: 0,
            ..request()
        };
        let err = plan(&req).expect_err("purpose is required");
        assert_eq!(fields(&err), vec!["purpose"]);
        let text = &err.violations()[0].description;
        assert!(
            text.contains("required") && text.contains("PURPOSE_RESEARCH"),
            "{text}"
        );
        let status: tonic::Status = err.into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn unknown_stage_and_data_level_values_are_invalid() {
        let req = pb::PlanApplicationRequest {
            stage: 42,
            data_level: -1,
            ..request()
        };
        let err = plan(&req).expect_err("unknown enum values refused");
        assert_eq!(fields(&err), vec!["stage", "data_level"]);
        assert!(
            err.violations()[0]
                .description
                .contains("PROJECT_STAGE_NEW_DATA_PERIOD")
        );
    }

    #[test]
    fn request_without_sources_or_variables_is_invalid() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: vec![],
            variable_ids: vec![],
            ..request()
        };
        let err = plan(&req).expect_err("empty request refused");
        assert_eq!(fields(&err), vec!["data_source_ids"]);
    }

    #[test]
    fn malformed_variable_ids_are_named_by_index() {
        let req = pb::PlanApplicationRequest {
            variable_ids: vec![
                "mfr/birth_weight".into(),
                "birth_weight".into(),
                "mfr/Birth-Weight".into(),
                "MFR/x".into(),
                "mfr/".into(),
            ],
            ..request()
        };
        let err = plan(&req).expect_err("malformed variable ids refused");
        assert_eq!(
            fields(&err),
            vec![
                "variable_ids[1]",
                "variable_ids[2]",
                "variable_ids[3]",
                "variable_ids[4]"
            ]
        );
        assert!(
            err.violations()[0]
                .description
                .contains("<data source id>/<name>")
        );
    }

    #[test]
    fn malformed_source_ids_are_named_by_index() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: vec!["npr".into(), "NPR".into()],
            ..request()
        };
        let err = plan(&req).expect_err("malformed source id refused");
        assert_eq!(fields(&err), vec!["data_source_ids[1]"]);
    }

    #[test]
    fn too_many_ids_are_refused_with_a_bounded_error_list() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: (0..201).map(|i| format!("s{i}")).collect(),
            variable_ids: vec!["x".into(); 2001],
            ..request()
        };
        let err = plan(&req).expect_err("too many ids refused");
        let f = fields(&err);
        assert_eq!(&f[..2], &["data_source_ids", "variable_ids"]);
        assert_eq!(f.len(), 2 + 2001, "every violation is found");
        let status: tonic::Status = err.into();
        let details = tonic_types::StatusExt::get_error_details(&status);
        let listed = &details.bad_request().expect("bad request").field_violations;
        assert_eq!(
            listed.len(),
            MAX_VIOLATIONS + 1,
            "the rest are counted in one"
        );
        assert!(listed[MAX_VIOLATIONS].description.starts_with("1983 more"));
    }
}

mod search_data_sources {
    use super::*;

    fn refused(req: pb::SearchDataSourcesRequest) -> Vec<String> {
        let err = GatewayApi::validate(&req).expect_err("refused");
        fields(&err).into_iter().map(str::to_string).collect()
    }

    #[test]
    fn a_plain_query_passes() {
        let req = pb::SearchDataSourcesRequest {
            query: "fødselsregister".into(),
            ..Default::default()
        };
        assert_eq!(GatewayApi::validate(&req), Ok(()));
    }

    #[test]
    fn a_query_without_a_searchable_word_is_refused_and_says_so() {
        for query in ["🙂🙂", "!!! ???", "– … —", "og the", "\u{200b}"] {
            let req = pb::SearchDataSourcesRequest {
                query: query.into(),
                ..Default::default()
            };
            let err = GatewayApi::validate(&req).expect_err(query);
            assert_eq!(fields(&err), ["query"], "{query:?}");
            assert!(
                err.violations()[0]
                    .description
                    .contains("no word to search for")
            );
        }
        for query in ["", "   ", "ICD-10 🙂", "2020"] {
            let req = pb::SearchDataSourcesRequest {
                query: query.into(),
                ..Default::default()
            };
            assert_eq!(GatewayApi::validate(&req), Ok(()), "{query:?}");
        }
        let list = pb::ListDataSourcesRequest {
            filter: Some(pb::DataSourceFilter {
                text: "🙂".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = CustodianApi::validate(&list).expect_err("emoji-only filter text");
        assert_eq!(fields(&err), ["filter.text"]);
    }

    #[test]
    fn bad_filters_and_limits_are_named() {
        let base = pb::SearchDataSourcesRequest::default;
        let long = pb::SearchDataSourcesRequest {
            query: "a".repeat(MAX_QUERY_CHARS + 1),
            ..base()
        };
        assert_eq!(refused(long), ["query"]);
        assert_eq!(
            refused(pb::SearchDataSourcesRequest { kind: 99, ..base() }),
            ["kind"]
        );
        assert_eq!(
            refused(pb::SearchDataSourcesRequest {
                custodian_ids: vec!["FHI".into()],
                ..base()
            }),
            ["custodian_ids"]
        );
        let years = pb::SearchDataSourcesRequest {
            years: Some(pb::YearRange {
                from_year: Some(2020),
                to_year: Some(2010),
            }),
            ..base()
        };
        assert_eq!(refused(years), ["years"]);
        let page = pb::SearchDataSourcesRequest {
            page_size: SEARCH_DATA_SOURCES_PAGE.max_size as i32 + 1,
            ..base()
        };
        assert_eq!(refused(page), ["page_size"]);
    }
}

mod variables {
    use super::*;

    fn search(page_size: i32) -> pb::SearchVariablesRequest {
        pb::SearchVariablesRequest {
            query: "ICD-10".into(),
            page_size,
            ..Default::default()
        }
    }

    #[test]
    fn search_page_limits_differ_between_the_services() {
        assert_eq!(CustodianApi::validate(&search(1000)), Ok(()));
        let err = GatewayApi::validate(&search(1000)).expect_err("over the gateway's limit");
        assert_eq!(fields(&err), ["page_size"]);
    }

    #[test]
    fn an_empty_query_and_malformed_filters_are_refused() {
        let empty = pb::SearchVariablesRequest {
            query: " - ".into(),
            ..Default::default()
        };
        let err = CustodianApi::validate(&empty).expect_err("no words");
        assert_eq!(fields(&err), ["query"]);
        let many = pb::SearchVariablesRequest {
            data_source_ids: vec!["mfr".into(); MAX_FILTER_IDS + 1],
            ..search(0)
        };
        let err = GatewayApi::validate(&many).expect_err("too many ids");
        assert_eq!(fields(&err), ["data_source_ids"]);
    }

    #[test]
    fn list_and_get_check_the_id_first() {
        let list = pb::ListVariablesRequest {
            data_source_id: "Mfr".into(),
            page_size: 5000,
            page_token: String::new(),
        };
        let err = CustodianApi::validate(&list).expect_err("bad id");
        assert_eq!(fields(&err), ["data_source_id"]);
        let get = pb::GetDataSourceRequest {
            id: String::new(),
            view: 0,
        };
        let err = GatewayApi::validate(&get).expect_err("id required");
        assert_eq!(err.violations()[0].description, "id is required");
    }
}
