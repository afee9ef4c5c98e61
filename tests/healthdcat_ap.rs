//! The HealthDCAT-AP export of the live merged catalogue, judged by the EU's own SHACL shapes
//! (the offline validator in `tests/fixtures/healthdcat-ap`, run with pyshacl), and read back
//! with the same RDF library; and the same export served by the web listener over HTTPS,
//! with its format negotiated from `Accept`.

mod web_support;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, OnceLock},
    time::Duration,
};

use gateway::{
    export::dcat::{
        Format, Minter,
        build::ConceptMapping,
        files, reader,
        vocab::{
            CV_CONTACT_POINT, DCAT_DATASET, DCT_IDENTIFIER, DCT_MODIFIED, DCT_PUBLISHER, DCT_TITLE,
            FOAF_NAME, FOAF_PAGE, HEALTH_CATEGORY, HEALTH_HDAB, RDF_TYPE, VCARD_HAS_EMAIL,
            VCARD_HAS_URL,
        },
    },
    planning::rules::NationalRules,
};
use helsedata::{concepts::Vocabulary, custodian_data::load::LoadedCatalogue};
use oxrdf::{NamedOrBlankNode, Term, Triple};
use oxttl::{TurtleParser, TurtleSerializer};

const BASE: &str = "https://katalog.example.no/";

fn concepts() -> Vocabulary {
    Vocabulary::load(fixture::repo_path("gateway/config/health-concepts.toml"))
        .expect("concept vocabulary loads")
}

fn setup(format: Format) -> reader::ExportSetup {
    reader::ExportSetup {
        rules: Arc::new(rules()),
        concepts: Arc::new(concepts()),
        minter: Minter::new(BASE).expect("base"),
        format,
    }
}

fn rules() -> NationalRules {
    NationalRules::load(fixture::repo_path("gateway/config/national-rules.toml"))
        .expect("national rules load")
}

/// Makes sure pyshacl is importable, installing it from PyPI once when it is not.
fn python_with_pyshacl() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let has = |py: &str| {
            Command::new(py)
                .args(["-c", "import pyshacl"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has("python3") {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "pyshacl",
                ])
                .status()
                .expect("python3 runs");
            assert!(status.success(), "pip install pyshacl failed");
            assert!(has("python3"), "pyshacl still not importable after install");
        }
    });
    "python3"
}

/// What the validator said about one file.
struct Verdict {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Verdict {
    fn lines(&self, severity: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{severity}\t")))
            .collect()
    }

    fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }
}

/// Runs the EU shapes at the non-public level, with the recommended shapes' warnings.
fn validate(file: &Path) -> Verdict {
    let python = python_with_pyshacl();
    let output = Command::new(python)
        .arg(fixture::repo_path(
            "tests/fixtures/healthdcat-ap/validate.py",
        ))
        .args([
            "--level",
            "non-public",
            "--dcat-ap",
            "3.0.1",
            "--trust-nal-prefix",
            "--recommended",
        ])
        .arg(file)
        .output()
        .expect("validate.py runs");
    Verdict {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_conforms(verdict: &Verdict, datasets: usize, what: &str) {
    let violations = verdict.lines("Violation");
    assert_eq!(
        verdict.code,
        Some(0),
        "{what}: the EU shapes found violations:\n{}\n{}",
        violations.join("\n"),
        verdict.stderr
    );
    assert!(violations.is_empty(), "{what}: {violations:?}");
    assert_eq!(
        verdict.summary(),
        format!("{datasets} conforming, 0 with violations (0 violations)"),
        "{what}"
    );
    let warnings = verdict.lines("Warning");
    let mut by_property: BTreeMap<&str, usize> = BTreeMap::new();
    for line in &warnings {
        let property = line.split('\t').nth(2).unwrap_or("?");
        *by_property.entry(property).or_default() += 1;
    }
    println!(
        "{what}: {datasets} datasets, 0 violations, {} warnings from the recommended shapes:",
        warnings.len()
    );
    for (property, count) in by_property {
        println!("  {count:5}  {property}");
    }
}

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write export");
    path
}

/// The bundled gateway configuration, its national rules file found from the tests.
fn bundled_config() -> gateway::config::GatewayConfig {
    let mut config = gateway::config::GatewayConfig::load(None).expect("bundled config");
    config.national_rules = fixture::repo_path("gateway/config/national-rules.toml");
    config
}

/// The bundled data files, as `gateway export-dcat --data` loads them.
fn bundled_files() -> Vec<LoadedCatalogue> {
    helsedata::custodian_data::load_dir(&fixture::repo_path(files::BUNDLED_DATA))
        .expect("the bundled data files load")
}

/// The export of the bundled data files, merged by `config` as `gateway export-dcat --data`
/// merges them.
fn files_export(config: &gateway::config::GatewayConfig, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    let export = files::export(&bundled_files(), config, &setup(format), &mut out).expect("export");
    assert_eq!(export.datasets.len(), 104);
    assert!(
        export.warnings().is_empty(),
        "every bundled file is configured and merges cleanly: {:?}",
        export.warnings()
    );
    out
}

fn bundled_turtle() -> Vec<u8> {
    files_export(&bundled_config(), Format::Turtle)
}

fn parse(turtle: &[u8]) -> Vec<Triple> {
    TurtleParser::new()
        .for_slice(turtle)
        .collect::<Result<Vec<_>, _>>()
        .expect("the export parses as Turtle")
}

async fn export_live(federation: &fixture::Federation, format: Format) -> (usize, Vec<u8>) {
    let grpc = federation.client().await;
    let mut out = Vec::new();
    let count = reader::write(grpc, setup(format), &mut out)
        .await
        .expect("export from the running gateway");
    (count, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_export_of_all_bundled_sources_passes_the_eu_shapes_in_both_formats() {
    let federation = fixture::Federation::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for format in [Format::Turtle, Format::JsonLd] {
        let (count, bytes) = export_live(&federation, format).await;
        assert_eq!(count, 104, "every merged source is exported");
        let file = temp_file(&dir, &format!("catalogue.{}", format.extension()), &bytes);
        assert_conforms(&validate(&file), 104, &format!("{format:?}"));
        if format == Format::Turtle {
            assert_modified_is_the_custodians_time(&parse(&bytes));
        }
    }
}

/// `gateway export-dcat --data` (what the binary runs, without a running federation) writes
/// the bundled data files in both formats, and the EU shapes accept them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_dcat_of_the_bundled_data_files_passes_the_eu_shapes_in_both_formats() {
    use gateway::export::dcat::cli::{self, ExportArgs, OutputArgs};

    let dir = tempfile::tempdir().expect("temp dir");
    for format in [Format::Turtle, Format::JsonLd] {
        let out = dir.path().join(format!("bundled.{}", format.extension()));
        let args = ExportArgs {
            output: OutputArgs {
                format,
                out: Some(out.clone()),
                base: Some(BASE.into()),
                concepts: fixture::repo_path("gateway/config/health-concepts.toml"),
            },
            data: Some(fixture::repo_path(files::BUNDLED_DATA)),
            gateway: None,
            gateway_identity: helsedata::identity::gateway_identity(),
            client_cert: PathBuf::from("no-client-certificate-is-needed.pem"),
            client_key: PathBuf::from("no-client-key-is-needed.key"),
        };
        cli::run(&bundled_config(), args)
            .await
            .expect("export-dcat --data of the bundled files");
        let bytes = std::fs::read(&out).expect("the export was written to --out");
        let triples = match format {
            Format::Turtle => parse(&bytes),
            _ => parse_jsonld(&bytes),
        };
        assert_eq!(datasets(&triples).len(), 104, "{format:?}");
        assert_conforms(
            &validate(&out),
            104,
            &format!("export-dcat --data, {format:?}"),
        );
        assert_modified_is_the_custodians_time(&triples);
    }
}

/// What a dataset says of itself that must not depend on where the catalogue was read:
/// titles, publisher, who decides, when its catalogue last changed.
#[derive(Debug, PartialEq, Eq)]
struct DatasetFacts {
    titles: BTreeSet<(String, String)>,
    publisher: BTreeSet<(String, String)>,
    hdab: Option<String>,
    hdab_name: BTreeSet<(String, String)>,
    modified: BTreeSet<(String, String)>,
}

fn dataset_facts(triples: &[Triple]) -> BTreeMap<String, DatasetFacts> {
    datasets(triples)
        .into_iter()
        .map(|subject| {
            let ds = subject.trim_start_matches('<').trim_end_matches('>');
            let publisher = object(triples, ds, DCT_PUBLISHER);
            let hdab = object(triples, ds, HEALTH_HDAB);
            let id = literals(triples, ds, DCT_IDENTIFIER)
                .into_iter()
                .map(|(_, id)| id)
                .collect::<Vec<_>>()
                .join(" ");
            let facts = DatasetFacts {
                titles: literals(triples, ds, DCT_TITLE),
                publisher: publisher
                    .map(|p| literals(triples, &p, FOAF_NAME))
                    .unwrap_or_default(),
                hdab_name: hdab
                    .as_ref()
                    .map(|h| literals(triples, h, FOAF_NAME))
                    .unwrap_or_default(),
                hdab,
                modified: literals(triples, ds, DCT_MODIFIED),
            };
            (id, facts)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_files_export_is_what_a_running_gateway_over_them_exports() {
    let federation = fixture::Federation::start().await;
    let (count, live) = export_live(&federation, Format::Turtle).await;
    assert_eq!(count, 104);
    let from_files = files_export(&federation.config, Format::Turtle);
    let live = dataset_facts(&parse(&live));
    let from_files = dataset_facts(&parse(&from_files));
    assert_eq!(live.len(), 104);
    assert_eq!(
        live.keys().collect::<Vec<_>>(),
        from_files.keys().collect::<Vec<_>>(),
        "the same dataset ids"
    );
    for (id, facts) in &live {
        assert!(
            !facts.titles.is_empty() && facts.hdab.is_some(),
            "{id}: {facts:?}"
        );
        assert_eq!(Some(facts), from_files.get(id), "{id}");
    }
}

/// Every dataset's `dct:modified` is the time its custodian says its catalogue last changed
/// (which the gateway passes on in ListCustodians), not a date guessed from the revision.
fn assert_modified_is_the_custodians_time(triples: &[Triple]) {
    for catalogue in fixture::bundled() {
        let expected = catalogue
            .info()
            .last_modified
            .expect("every bundled custodian states when its catalogue last changed")
            .to_string();
        for bundle in catalogue.sources() {
            let ds = format!("{BASE}datasets/{}", bundle.source.id);
            let modified: Vec<String> = literals(triples, &ds, DCT_MODIFIED)
                .into_iter()
                .map(|(_, value)| value)
                .collect();
            assert_eq!(modified, vec![expected.clone()], "dct:modified of {ds}");
        }
    }
}

#[test]
fn the_judge_bites_when_one_dataset_loses_its_hdab() {
    let triples = parse(&bundled_turtle());
    let victim = format!("{BASE}datasets/mfr");
    let kept: Vec<&Triple> = triples
        .iter()
        .filter(|t| {
            !(t.predicate.as_ref() == HEALTH_HDAB
                && t.subject
                    == NamedOrBlankNode::NamedNode(oxrdf::NamedNode::new_unchecked(&victim)))
        })
        .collect();
    assert_eq!(
        kept.len(),
        triples.len() - 1,
        "exactly one hdab triple removed"
    );
    let mut serializer = TurtleSerializer::new().for_writer(Vec::new());
    for t in kept {
        serializer.serialize_triple(t).expect("serialize");
    }
    let broken = serializer.finish().expect("finish");
    let dir = tempfile::tempdir().expect("temp dir");
    let verdict = validate(&temp_file(&dir, "broken.ttl", &broken));
    assert_eq!(verdict.code, Some(1), "{}", verdict.stdout);
    let violations = verdict.lines("Violation");
    assert!(
        violations
            .iter()
            .any(|l| l.contains(&victim) && l.contains("healthdcatap:hdab")),
        "{violations:?}"
    );
    assert!(
        violations.iter().all(|l| l.contains(&victim)),
        "only the changed dataset fails: {violations:?}"
    );
    assert_eq!(
        verdict.summary(),
        "103 conforming, 1 with violations (1 violations)"
    );
}

/// Literals of `predicate` on `subject`, as (language, value).
fn literals(
    triples: &[Triple],
    subject: &str,
    predicate: oxrdf::NamedNodeRef<'_>,
) -> BTreeSet<(String, String)> {
    triples
        .iter()
        .filter(|t| {
            t.predicate.as_ref() == predicate && t.subject.to_string() == format!("<{subject}>")
        })
        .filter_map(|t| match &t.object {
            Term::Literal(l) => Some((
                l.language().unwrap_or_default().to_string(),
                l.value().to_string(),
            )),
            _ => None,
        })
        .collect()
}

fn object(triples: &[Triple], subject: &str, predicate: oxrdf::NamedNodeRef<'_>) -> Option<String> {
    triples
        .iter()
        .find(|t| {
            t.predicate.as_ref() == predicate && t.subject.to_string() == format!("<{subject}>")
        })
        .and_then(|t| match &t.object {
            Term::NamedNode(n) => Some(n.as_str().to_string()),
            _ => None,
        })
}

#[test]
fn turtle_round_trip_matches_the_merged_catalogue() {
    let triples = parse(&bundled_turtle());
    let rules = rules();
    let catalogues = fixture::bundled();
    let vocabulary = concepts();
    let mut seen = 0;
    let mut mapped = 0;
    for catalogue in &catalogues {
        for bundle in catalogue.sources() {
            let s = &bundle.source;
            let ds = format!("{BASE}datasets/{}", s.id);
            let ids = literals(&triples, &ds, DCT_IDENTIFIER);
            assert_eq!(
                ids,
                BTreeSet::from([(String::new(), s.id.clone())]),
                "{}",
                s.id
            );
            let titles = literals(&triples, &ds, DCT_TITLE);
            let name = s.name.clone().unwrap_or_default();
            assert!(
                titles.contains(&("nb".into(), name.nb.trim().to_string())),
                "{}: {titles:?}",
                s.id
            );
            if !name.en.trim().is_empty() {
                assert!(
                    titles.contains(&("en".into(), name.en.trim().to_string())),
                    "{}: {titles:?}",
                    s.id
                );
            }
            let publisher = object(&triples, &ds, DCT_PUBLISHER).expect("publisher");
            let controller = s
                .controller
                .as_ref()
                .map(|c| c.name.trim().to_string())
                .unwrap_or_default();
            assert_eq!(
                literals(&triples, &publisher, FOAF_NAME),
                BTreeSet::from([(String::new(), controller)]),
                "{}",
                s.id
            );
            let contact = object(&triples, &publisher, CV_CONTACT_POINT).expect("contact point");
            let address = object(&triples, &contact, VCARD_HAS_EMAIL)
                .or_else(|| object(&triples, &contact, VCARD_HAS_URL));
            assert!(
                address.is_some_and(|a| a.starts_with("mailto:") || a.starts_with("https://")),
                "{}: the publisher's vcard:Kind contact point has an e-mail or URL IRI",
                s.id
            );
            let hdab = object(&triples, &ds, HEALTH_HDAB).expect("hdab");
            let hdab_name = literals(&triples, &hdab, FOAF_NAME);
            let full = helsedata::proto::DataSource {
                access_rules: Some(bundle.access.clone()),
                ..s.clone()
            };
            let route = gateway::catalogue::merge::effective_route_of(&full, &rules);
            let in_registry = rules
                .helsedataservice_registry(&s.id, &s.parent_id)
                .is_some();
            assert!(!in_registry || route.by_helsedataservice, "{}", s.id);
            if route.by_helsedataservice {
                assert_eq!(hdab, format!("{BASE}agents/national-body"), "{}", s.id);
                assert_eq!(
                    hdab_name,
                    BTreeSet::from([(String::new(), "Helsedataservice".to_string())])
                );
            } else {
                assert_eq!(
                    hdab_name,
                    BTreeSet::from([(String::new(), route.decided_by.trim().to_string())]),
                    "{}",
                    s.id
                );
                assert_ne!(hdab, format!("{BASE}agents/national-body"), "{}", s.id);
            }
            let tags = vocabulary.tags(s);
            if !tags.health_categories.is_empty() {
                let exported: BTreeSet<String> = triples
                    .iter()
                    .filter(|t| {
                        t.predicate.as_ref() == HEALTH_CATEGORY
                            && t.subject.to_string() == format!("<{ds}>")
                    })
                    .map(|t| match &t.object {
                        Term::NamedNode(n) => n.as_str().to_string(),
                        other => other.to_string(),
                    })
                    .collect();
                assert_eq!(
                    exported,
                    tags.health_categories.iter().cloned().collect(),
                    "{}",
                    s.id
                );
                mapped += 1;
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 104);
    println!(
        "{mapped} of {seen} datasets take their health categories from the concept vocabulary"
    );
    assert!(
        mapped > 0,
        "no source takes its categories from its concepts"
    );
    for (id, decider) in [
        ("mfr", "Helsedataservice"),
        ("npr-somatikk", "Helsedataservice"),
        ("abla-nor", ""),
    ] {
        let hdab = object(&triples, &format!("{BASE}datasets/{id}"), HEALTH_HDAB).expect("hdab");
        let is_national = hdab == format!("{BASE}agents/national-body");
        assert_eq!(is_national, !decider.is_empty(), "{id}");
    }
}

/// Sources whose concepts give no health category and that therefore carry their kind's
/// (`docs/healthdcat-ap.md`, "healthCategory"). Lower it when tags are added; never raise it.
const MOST_KIND_FALLBACKS: usize = 34;

#[test]
fn few_sources_fall_back_to_their_kinds_health_category() {
    let triples = parse(&bundled_turtle());
    let vocabulary = concepts();
    let mut fallbacks = Vec::new();
    for catalogue in &fixture::bundled() {
        for bundle in catalogue.sources() {
            let s = &bundle.source;
            if !vocabulary.tags(s).health_categories.is_empty() {
                continue;
            }
            let ds = format!("<{BASE}datasets/{}>", s.id);
            let exported: Vec<&Term> = triples
                .iter()
                .filter(|t| t.predicate.as_ref() == HEALTH_CATEGORY && t.subject.to_string() == ds)
                .map(|t| &t.object)
                .collect();
            assert_eq!(exported.len(), 1, "{}: one category, its kind's", s.id);
            fallbacks.push(s.id.clone());
        }
    }
    println!(
        "{} of 104 sources carry their kind's health category: {}",
        fallbacks.len(),
        fallbacks.join(", ")
    );
    assert!(
        fallbacks.len() <= MOST_KIND_FALLBACKS,
        "{} sources fall back to their kind's health category (at most {MOST_KIND_FALLBACKS}): tag them with concepts that say what they hold",
        fallbacks.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custodian_that_stops_answering_contributes_its_cached_datasets_marked_stale() {
    let mut federation = fixture::Federation::start_with(|c| {
        c.cache.catalogue_ttl_ms = 1;
        c.cache.record_ttl_ms = 1;
    })
    .await;
    let (count, _) = export_live(&federation, Format::Turtle).await;
    assert_eq!(count, 104);
    federation.stop_custodian("fhi").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (count, bytes) = export_live(&federation, Format::Turtle).await;
    assert_eq!(
        count, 104,
        "fhi's datasets are still exported from the cache"
    );
    let triples = parse(&bytes);
    let catalogue = format!("{BASE}catalogue");
    let description = literals(
        &triples,
        &catalogue,
        gateway::export::dcat::vocab::DCT_DESCRIPTION,
    );
    let english = description
        .iter()
        .find(|(lang, _)| lang == "en")
        .map(|(_, v)| v.clone())
        .expect("English description");
    assert!(english.contains("fhi (stale since "), "{english}");
    let record = literals(
        &triples,
        &format!("{BASE}datasets/mfr/record"),
        gateway::export::dcat::vocab::DCT_DESCRIPTION,
    );
    assert!(
        record
            .iter()
            .any(|(_, v)| v.contains("last good answer") && v.contains("stale since")),
        "{record:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    assert_conforms(
        &validate(&temp_file(&dir, "stale.ttl", &bytes)),
        104,
        "stale",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_streams_one_chunk_per_dataset_with_its_content_type() {
    use futures::StreamExt;

    let federation = fixture::Federation::start().await;
    let body = reader::export(federation.client().await, setup(Format::JsonLd))
        .await
        .expect("export starts");
    assert_eq!(body.content_type, "application/ld+json");
    let chunks: Vec<Vec<u8>> = body.chunks.map(|c| c.expect("chunk")).collect().await;
    assert_eq!(
        chunks.len(),
        1 + 104 + 1,
        "catalogue, one chunk per dataset, end"
    );
    for chunk in &chunks[1..105] {
        let text = String::from_utf8_lossy(chunk);
        let datasets = text
            .matches("\"http://www.w3.org/ns/dcat#Dataset\"")
            .count();
        assert_eq!(datasets, 1, "one dataset per chunk:\n{text}");
    }
    let document: serde_json::Value =
        serde_json::from_slice(&chunks.concat()).expect("the chunks make one JSON document");
    let graph = document["@graph"].as_array().expect("@graph");
    assert!(graph.len() > 104 * 5, "{}", graph.len());
}

/// The datasets of a parsed export.
fn datasets(triples: &[Triple]) -> BTreeSet<String> {
    triples
        .iter()
        .filter(|t| t.predicate.as_ref() == RDF_TYPE && t.object == Term::from(DCAT_DATASET))
        .map(|t| t.subject.to_string())
        .collect()
}

/// The triples of a JSON-LD document, read back with the same library.
fn parse_jsonld(bytes: &[u8]) -> Vec<Triple> {
    oxjsonld::JsonLdParser::new()
        .for_slice(bytes)
        .map(|q| q.map(Triple::from))
        .collect::<Result<Vec<_>, _>>()
        .expect("the export parses as JSON-LD")
}

fn parse_ntriples(bytes: &[u8]) -> Vec<Triple> {
    oxttl::NTriplesParser::new()
        .for_slice(bytes)
        .collect::<Result<Vec<_>, _>>()
        .expect("the export parses as N-Triples")
}

async fn web_federation() -> web_support::WebFederation {
    web_support::WebFederation::start(|c| c.web.public_url = BASE.into()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_listener_streams_the_export_that_the_eu_shapes_accept() {
    let web = web_federation().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, content_type, format) in [
        (
            "/catalogue.ttl",
            "text/turtle; charset=utf-8",
            Format::Turtle,
        ),
        ("/catalogue.jsonld", "application/ld+json", Format::JsonLd),
    ] {
        let reply = web.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.header("content-type"), content_type, "{path}");
        assert_eq!(
            reply.header("transfer-encoding"),
            "chunked",
            "{path} is streamed, not sent as one buffer"
        );
        assert!(reply.header("content-length").is_empty(), "{path}");
        assert!(
            reply
                .header("cache-control")
                .starts_with("public, max-age="),
            "{path}: {}",
            reply.header("cache-control")
        );
        assert_eq!(
            reply.header("content-disposition"),
            format!(
                "inline; filename=\"helsedata-catalogue.{}\"",
                format.extension()
            ),
            "{path}"
        );
        for guarded in [
            "content-security-policy",
            "strict-transport-security",
            "x-content-type-options",
        ] {
            assert!(!reply.header(guarded).is_empty(), "{path}: {guarded}");
        }
        let triples = match format {
            Format::Turtle => parse(&reply.body),
            _ => parse_jsonld(&reply.body),
        };
        assert_eq!(datasets(&triples).len(), 104, "{path}");
        assert_eq!(
            object(&triples, &format!("{BASE}datasets/mfr"), FOAF_PAGE),
            Some(format!("{BASE}sources/mfr")),
            "minted under web.public_url"
        );
        let file = temp_file(&dir, &format!("served.{}", format.extension()), &reply.body);
        assert_conforms(&validate(&file), 104, path);
    }
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_serves_the_format_the_accept_header_prefers_and_406_otherwise() {
    let web = web_federation().await;
    let cases: [(Option<&str>, &str, Format); 6] = [
        (None, "text/turtle; charset=utf-8", Format::Turtle),
        (
            Some("text/turtle"),
            "text/turtle; charset=utf-8",
            Format::Turtle,
        ),
        (Some("*/*"), "text/turtle; charset=utf-8", Format::Turtle),
        (
            Some("application/ld+json"),
            "application/ld+json",
            Format::JsonLd,
        ),
        (
            Some("text/turtle;q=0.4, application/ld+json;q=0.9"),
            "application/ld+json",
            Format::JsonLd,
        ),
        (
            Some("application/n-triples"),
            "application/n-triples",
            Format::NTriples,
        ),
    ];
    for (accept, content_type, format) in cases {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let reply = web.request("GET", "/catalogue", &headers, Vec::new()).await;
        assert_eq!(reply.status, 200, "{accept:?}: {}", reply.text());
        assert_eq!(reply.header("content-type"), content_type, "{accept:?}");
        assert_eq!(reply.header("vary"), "accept", "{accept:?}");
        let triples = match format {
            Format::Turtle => parse(&reply.body),
            Format::JsonLd => parse_jsonld(&reply.body),
            Format::NTriples => parse_ntriples(&reply.body),
        };
        assert_eq!(datasets(&triples).len(), 104, "{accept:?}");
    }

    let nt = web.get("/catalogue.nt").await;
    assert_eq!(nt.status, 200);
    assert_eq!(nt.header("content-type"), "application/n-triples");
    assert_eq!(datasets(&parse_ntriples(&nt.body)).len(), 104);

    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = web
        .request("GET", "/catalogue", &[("accept", browser)], Vec::new())
        .await;
    assert_eq!(page.status, 303, "a browser is sent to the web catalogue");
    assert_eq!(page.header("location"), "/");
    assert_eq!(page.header("vary"), "accept");

    for refused in ["application/xml", "image/png, text/turtle;q=0"] {
        let reply = web
            .request("GET", "/catalogue", &[("accept", refused)], Vec::new())
            .await;
        assert_eq!(reply.status, 406, "{refused}");
        assert_eq!(reply.header("vary"), "accept");
        let text = reply.text();
        for named in ["text/turtle", "application/ld+json", "/catalogue.ttl"] {
            assert!(text.contains(named), "the 406 says what to ask for: {text}");
        }
        assert!(!reply.header("content-security-policy").is_empty());
    }
    let errors = web_support::server_errors();
    assert!(errors.is_empty(), "logged as server errors: {errors:#?}");
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_export_dcat_writes_what_the_running_gateway_serves_to_a_file() {
    use gateway::export::dcat::cli::{self, ExportArgs, OutputArgs};

    let federation = fixture::Federation::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("catalogue.jsonld");
    let mut config = federation.config.clone();
    config.web.public_url = BASE.into();
    let args = ExportArgs {
        output: OutputArgs {
            format: Format::JsonLd,
            out: Some(out.clone()),
            base: None,
            concepts: fixture::repo_path("gateway/config/health-concepts.toml"),
        },
        data: None,
        gateway: Some(federation.gateway.endpoint()),
        gateway_identity: helsedata::identity::gateway_identity(),
        client_cert: federation.pki.pki.client_cert(),
        client_key: federation.pki.pki.client_key(),
    };
    cli::run(&config, args)
        .await
        .expect("export-dcat against the running gateway");
    let bytes = std::fs::read(&out).expect("the export was written to --out");
    let triples = parse_jsonld(&bytes);
    assert_eq!(datasets(&triples).len(), 104);
    assert_eq!(
        object(&triples, &format!("{BASE}datasets/mfr"), FOAF_PAGE),
        Some(format!("{BASE}sources/mfr")),
        "without --base, IRIs are minted under web.public_url"
    );
    assert_conforms(&validate(&out), 104, "export-dcat --format jsonld");
}
