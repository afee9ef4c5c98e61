//! Tests of the planner, with fixtures shared by the files beside this one.

mod deadlines;
mod invoices;
mod linkage;
mod notes;
mod prerequisites;
mod route;

use super::*;

const RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/national-rules.toml");

fn rules() -> NationalRules {
    match NationalRules::load(RULES_PATH) {
        Ok(r) => r,
        Err(e) => panic!("the shipped rules file must load: {e}"),
    }
}

// ---- fixtures --------------------------------------------------------------------------

fn org(name: &str) -> Option<pb::Organisation> {
    Some(pb::Organisation {
        name: name.to_string(),
        ..Default::default()
    })
}

fn route(channel: pb::ApplicationChannel, processed_by: &str, url: &str) -> pb::ApplicationRoute {
    pb::ApplicationRoute {
        channel: channel as i32,
        processed_by: processed_by.to_string(),
        url: url.to_string(),
        ..Default::default()
    }
}

fn conditional(condition: pb::RouteCondition, r: pb::ApplicationRoute) -> pb::ConditionalRoute {
    pb::ConditionalRoute {
        condition: condition as i32,
        route: Some(r),
    }
}

fn linkage(policy: pb::LinkagePolicy, linked_by: &str) -> Option<pb::LinkageRules> {
    Some(pb::LinkageRules {
        policy: policy as i32,
        linked_by: linked_by.to_string(),
        ..Default::default()
    })
}

/// A source of `custodian` controlled by `controller`, with the default route `r`.
fn source(id: &str, custodian: &str, controller: &str, r: pb::ApplicationRoute) -> ResolvedSource {
    ResolvedSource {
        source: pb::DataSource {
            id: id.to_string(),
            custodian_id: custodian.to_string(),
            name: Some(pb::LocalizedText {
                nb: format!("Register {id}"),
                en: String::new(),
            }),
            kind: pb::DataSourceKind::CentralHealthRegister as i32,
            controller: org(controller),
            consent: pb::ConsentRequirement::NotRequired as i32,
            biomaterial: pb::BiomaterialAvailability::None as i32,
            ..Default::default()
        },
        rules: pb::AccessRules {
            data_source_id: id.to_string(),
            route: Some(r),
            linkage: linkage(pb::LinkagePolicy::Allowed, ""),
            ..Default::default()
        },
        custodian_id: custodian.to_string(),
    }
}

fn npr_like(id: &str, parent: &str) -> ResolvedSource {
    let mut s = source(
        id,
        "helsedirektoratet",
        "Helsedirektoratet",
        route(
            pb::ApplicationChannel::HelsedataForm,
            "Helsedirektoratet",
            "",
        ),
    );
    s.source.parent_id = parent.to_string();
    s.source.processor = org("Helsedirektoratet");
    s.rules.conditional_routes = vec![
        conditional(
            pb::RouteCondition::NewResearchProject,
            route(
                pb::ApplicationChannel::HelsedataForm,
                "Helsedirektoratet",
                "",
            ),
        ),
        conditional(
            pb::RouteCondition::ChangeNewPeriodOrNonResearch,
            route(
                pb::ApplicationChannel::RegisterWebsite,
                "Helsedirektoratet",
                "https://www.helsedirektoratet.no/npr",
            ),
        ),
    ];
    s.rules.delivered_by = "Helsedirektoratet".into();
    s.rules.contact_email = "helseregistre@helsedir.no".into();
    s.rules.deadlines = vec![
        deadline(
            "statistics and anonymous data",
            pb::DataLevel::AnonymousAggregated,
            30,
        ),
        deadline(
            "de-identified data",
            pb::DataLevel::DeidentifiedIndividual,
            60,
        ),
        deadline(
            "personally identifiable data",
            pb::DataLevel::IdentifiableIndividual,
            60,
        ),
    ];
    s.rules.prices = vec![npr_price()];
    s
}

fn deadline(applies_to: &str, level: pb::DataLevel, days: u32) -> pb::Deadline {
    pb::Deadline {
        applies_to: applies_to.to_string(),
        days: Some(days),
        working_days: false,
        text: format!("{days} days from a complete application"),
        data_level: level as i32,
        ..Default::default()
    }
}

fn npr_price() -> pb::Price {
    pb::Price {
        invoiced_by: "Helsedirektoratet".into(),
        text: "time spent on case processing".into(),
        amount_nok: Some(1100.0),
        unit: "hour".into(),
        minimum_units: Some(2.0),
        ..Default::default()
    }
}

fn moba_like() -> ResolvedSource {
    let mut s = source(
        "moba",
        "fhi",
        "Folkehelseinstituttet (FHI)",
        route(pb::ApplicationChannel::HelsedataForm, "FHI", ""),
    );
    s.source.kind = pb::DataSourceKind::PopulationHealthSurvey as i32;
    s.source.consent = pb::ConsentRequirement::Required as i32;
    s.source.biomaterial = pb::BiomaterialAvailability::ApplyWithData as i32;
    s.rules.contact_before_applying = true;
    s
}

fn krg_brystkreft() -> ResolvedSource {
    let mut s = source(
        "krg-brystkreft",
        "kreftregisteret",
        "Kreftregisteret",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    s.source.parent_id = "kreftregisteret".into();
    s.source.kind = pb::DataSourceKind::NationalQualityRegister as i32;
    s
}

fn ssb_inntekt() -> ResolvedSource {
    let mut s = source(
        "ssb-inntekt",
        "ssb",
        "Statistisk sentralbyrå (SSB)",
        route(pb::ApplicationChannel::Unknown, "", ""),
    );
    s.source.kind = pb::DataSourceKind::StatisticsDataset as i32;
    s.rules.linkage = linkage(pb::LinkagePolicy::Unknown, "");
    s
}

fn cprn_like() -> ResolvedSource {
    let mut s = source(
        "cprn",
        "siv",
        "Sykehuset i Vestfold HF (SiV)",
        route(pb::ApplicationChannel::EmailToRegister, "", ""),
    );
    s.source.kind = pb::DataSourceKind::NationalQualityRegister as i32;
    s.rules.contact_email = "cprnregister@siv.no".into();
    s
}

fn nois_like() -> ResolvedSource {
    let mut s = source(
        "nois",
        "fhi",
        "Folkehelseinstituttet (FHI)",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    s.source.identifiability = pb::Identifiability::DeIdentified as i32;
    s.rules.linkage = linkage(pb::LinkagePolicy::NotPossible, "");
    s
}

fn input(
    purpose: pb::Purpose,
    stage: pb::ProjectStage,
    level: pb::DataLevel,
    mut sources: Vec<ResolvedSource>,
) -> PlanInput {
    sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
    PlanInput {
        purpose,
        stage,
        data_level: level,
        linkage_wanted: false,
        biomaterial_wanted: false,
        sources,
        variables: Vec::new(),
        unknown_data_source_ids: Vec::new(),
        unknown_variable_ids: Vec::new(),
        unresolved_data_source_ids: Vec::new(),
    }
}

fn research_new(level: pb::DataLevel, sources: Vec<ResolvedSource>) -> PlanInput {
    input(pb::Purpose::Research, pb::ProjectStage::New, level, sources)
}

fn variable(
    source: &str,
    name: &str,
    identifiability: pb::VariableIdentifiability,
) -> pb::Variable {
    pb::Variable {
        id: format!("{source}/{name}"),
        data_source_id: source.to_string(),
        name: name.to_string(),
        identifiability: identifiability as i32,
        ..Default::default()
    }
}

// ---- assertion helpers -----------------------------------------------------------------

fn only_application(plan: &pb::ApplicationPlan) -> &pb::PlannedApplication {
    assert_eq!(
        plan.applications.len(),
        1,
        "one application expected: {:#?}",
        plan.applications
    );
    &plan.applications[0]
}

fn application_for<'p>(
    plan: &'p pb::ApplicationPlan,
    source_id: &str,
) -> &'p pb::PlannedApplication {
    plan.applications
        .iter()
        .find(|a| a.data_source_ids.iter().any(|id| id == source_id))
        .unwrap_or_else(|| {
            panic!(
                "no application covers {source_id}: {:#?}",
                plan.applications
            )
        })
}

fn traces<'p>(
    plan: &'p pb::ApplicationPlan,
    rule: &str,
    source_id: &str,
) -> Vec<&'p pb::RuleTraceEntry> {
    plan.trace
        .iter()
        .filter(|t| t.rule == rule && t.data_source_id == source_id)
        .collect()
}

fn codes(app: &pb::PlannedApplication) -> Vec<&str> {
    app.prerequisites.iter().map(|p| p.code.as_str()).collect()
}

fn prerequisite<'p>(app: &'p pb::PlannedApplication, code: &str) -> &'p pb::Prerequisite {
    app.prerequisites
        .iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("no prerequisite {code}: {:?}", codes(app)))
}

fn statutory_days(app: &pb::PlannedApplication) -> Option<u32> {
    app.deadlines
        .iter()
        .find(|d| d.applies_to.starts_with("statutory"))
        .and_then(|d| d.days)
}

// ---- a. and b.: Helsedataservice and the custodian's conditional routes ------------------
