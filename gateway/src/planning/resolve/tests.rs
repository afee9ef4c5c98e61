use super::*;

fn request(sources: &[&str], variables: &[&str]) -> pb::PlanApplicationRequest {
    pb::PlanApplicationRequest {
        data_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        variable_ids: variables.iter().map(|v| v.to_string()).collect(),
        purpose: pb::Purpose::Research as i32,
        stage: pb::ProjectStage::Change as i32,
        data_level: pb::DataLevel::AnonymousAggregated as i32,
        linkage_wanted: true,
        biomaterial_wanted: false,
    }
}

fn data_source(id: &str) -> pb::DataSource {
    pb::DataSource {
        id: id.to_string(),
        custodian_id: "as-published".to_string(),
        ..Default::default()
    }
}

fn rules(id: &str) -> pb::AccessRules {
    pb::AccessRules {
        data_source_id: id.to_string(),
        ..Default::default()
    }
}

fn variable(id: &str) -> pb::Variable {
    pb::Variable {
        id: id.to_string(),
        data_source_id: variable_source_id(id).unwrap_or_default().to_string(),
        ..Default::default()
    }
}

fn answered(custodian: &str, id: &str, variables: Option<Vec<pb::Variable>>) -> SourceAnswers {
    SourceAnswers {
        custodian_id: custodian.to_string(),
        data_source_id: id.to_string(),
        source: Answer::Found(data_source(id)),
        rules: Answer::Found(rules(id)),
        variables,
    }
}

#[test]
fn request_choices_are_copied() {
    let input = resolve(&request(&["npr"], &[]), vec![], vec![]);
    assert_eq!(input.purpose, pb::Purpose::Research);
    assert_eq!(input.stage, pb::ProjectStage::Change);
    assert_eq!(input.data_level, pb::DataLevel::AnonymousAggregated);
    assert!(input.linkage_wanted);
    assert!(!input.biomaterial_wanted);
}

#[test]
fn answered_sources_are_resolved_sorted_and_owned_by_the_custodian_asked() {
    let input = resolve(
        &request(&["npr", "mfr"], &[]),
        vec![],
        vec![
            answered("helsedirektoratet", "npr", None),
            answered("fhi", "mfr", None),
        ],
    );
    let ids: Vec<&str> = input.sources.iter().map(|s| s.source.id.as_str()).collect();
    assert_eq!(ids, vec!["mfr", "npr"]);
    assert_eq!(input.sources[0].custodian_id, "fhi");
    assert_eq!(input.sources[0].source.custodian_id, "fhi");
    assert_eq!(input.sources[1].rules, rules("npr"));
}

#[test]
fn not_found_is_unknown_and_unavailable_is_unresolved() {
    let mut gone = answered("fhi", "gone", None);
    gone.rules = Answer::NotFound;
    let mut down = answered("fhi", "down", None);
    down.source = Answer::Unavailable;
    let mut half = answered("fhi", "half", None);
    half.source = Answer::NotFound;
    half.rules = Answer::Unavailable;
    let input = resolve(
        &request(&["zz", "gone", "down", "half"], &[]),
        vec!["zz".to_string()],
        vec![gone, down, half],
    );
    assert!(input.sources.is_empty());
    assert_eq!(input.unknown_data_source_ids, vec!["gone", "half", "zz"]);
    assert_eq!(input.unresolved_data_source_ids, vec!["down"]);
}

#[test]
fn only_requested_variables_are_kept_and_missing_ones_of_known_sources_are_unknown() {
    let req = request(
        &[],
        &[
            "mfr/birth_weight",
            "mfr/no_such",
            "down/x",
            "zz/y",
            "mfr/no_such",
        ],
    );
    let mut down = answered("fhi", "down", None);
    down.rules = Answer::Unavailable;
    let input = resolve(
        &req,
        vec!["zz".to_string()],
        vec![
            answered(
                "fhi",
                "mfr",
                Some(vec![variable("mfr/birth_weight"), variable("mfr/other")]),
            ),
            down,
        ],
    );
    let ids: Vec<&str> = input.variables.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, vec!["mfr/birth_weight"]);
    assert_eq!(input.unknown_variable_ids, vec!["mfr/no_such", "zz/y"]);
    assert_eq!(input.unresolved_data_source_ids, vec!["down"]);
}

#[test]
fn variables_are_wanted_only_for_their_own_source() {
    let req = request(&["npr"], &["mfr/birth_weight", "bad"]);
    assert!(wants_variables_of(&req, "mfr"));
    assert!(!wants_variables_of(&req, "npr"));
    assert!(!wants_variables_of(&req, "bad"));
}
