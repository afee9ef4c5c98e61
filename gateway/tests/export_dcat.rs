//! `gateway export-dcat --data` on the bundled data files: both formats written, nothing but
//! the document on standard output, bad arguments and broken data files named.

use std::process::Command;

fn gateway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command.env_remove("RUST_LOG");
    command
}

#[test]
fn bundled_export_writes_turtle_and_jsonld_with_every_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (format, file) in [("turtle", "catalogue.ttl"), ("jsonld", "catalogue.jsonld")] {
        let out = dir.path().join(file);
        let output = gateway()
            .args([
                "export-dcat",
                "--data",
                "--format",
                format,
                "--base",
                "https://katalog.example.no/",
                "--out",
            ])
            .arg(&out)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stderr).contains("wrote 104 datasets"));
        let bytes = std::fs::read(&out).expect("written");
        let triples: Vec<oxrdf::Triple> = match format {
            "turtle" => oxttl::TurtleParser::new()
                .for_slice(&bytes)
                .collect::<Result<_, _>>()
                .expect("Turtle parses"),
            _ => oxjsonld::JsonLdParser::new()
                .for_slice(&bytes)
                .map(|q| q.map(oxrdf::Triple::from))
                .collect::<Result<_, _>>()
                .expect("JSON-LD parses"),
        };
        let datasets = triples
            .iter()
            .filter(|t| {
                t.predicate.as_str() == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
                    && t.object.to_string() == "<http://www.w3.org/ns/dcat#Dataset>"
            })
            .count();
        assert_eq!(datasets, 104, "{format}");
        assert!(
            triples
                .iter()
                .all(|t| !t.subject.to_string().contains("helsedata.test")),
            "every minted IRI is under the given base"
        );
    }
}

#[test]
fn export_to_standard_output_is_the_document_alone() {
    let output = gateway()
        .args(["export-dcat", "--data", "--format", "turtle"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let triples = oxttl::TurtleParser::new()
        .for_slice(&output.stdout)
        .collect::<Result<Vec<_>, _>>()
        .expect("standard output is Turtle and nothing else");
    assert!(triples.len() > 104);
}

#[test]
fn a_bad_base_or_format_is_refused_with_what_to_give_instead() {
    let output = gateway()
        .args(["export-dcat", "--data", "--base", "katalog.example.no"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("katalog.example.no") && stderr.contains("https://"),
        "{stderr}"
    );

    let output = gateway()
        .args(["export-dcat", "--data", "--format", "rdfxml"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rdfxml") && stderr.contains("jsonld"),
        "{stderr}"
    );
}

#[test]
fn a_directory_of_data_files_is_exported_and_a_broken_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/../custodian-stub/data");
    for name in ["fhi.toml", "kreftregisteret.toml"] {
        std::fs::copy(format!("{bundled}/{name}"), dir.path().join(name)).expect("copy");
    }
    let output = gateway()
        .args(["export-dcat", "--format", "ntriples", "--data"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let triples = oxttl::NTriplesParser::new()
        .for_slice(&output.stdout)
        .collect::<Result<Vec<_>, _>>()
        .expect("N-Triples parses");
    let ids: std::collections::BTreeSet<String> = triples
        .iter()
        .filter(|t| t.predicate.as_str() == "http://purl.org/dc/terms/identifier")
        .filter_map(|t| match &t.object {
            oxrdf::Term::Literal(l) => Some(l.value().to_string()),
            _ => None,
        })
        .collect();
    assert!(ids.contains("msis"), "a source of fhi.toml is exported");
    assert!(
        ids.contains("krg-barnekreft"),
        "a source of kreftregisteret.toml is exported"
    );
    assert!(!ids.contains("kuhr"), "only the given files are exported");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("15 configured custodians have no data file")
            && stderr.contains("helsedirektoratet"),
        "the configured custodians without a file are named: {stderr}"
    );

    std::fs::write(
        dir.path().join("fhi.toml"),
        std::fs::read_to_string(format!("{bundled}/fhi.toml"))
            .expect("read")
            .replacen("revision = ", "revisjon = ", 1),
    )
    .expect("write");
    let output = gateway()
        .args(["export-dcat", "--data"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "nothing is written from a refused file"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fhi.toml:") && stderr.contains("revisjon"),
        "the refused file and field are named: {stderr}"
    );
}

#[test]
fn data_files_and_a_running_gateway_are_not_both_read() {
    let output = gateway()
        .args([
            "export-dcat",
            "--data",
            "--gateway",
            "https://127.0.0.1:50051",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--data") && stderr.contains("--gateway"),
        "{stderr}"
    );
}
