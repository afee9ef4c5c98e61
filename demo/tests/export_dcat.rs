//! `demo export-dcat` on the bundled data: both formats written, bad arguments named.

use std::process::Command;

fn gateway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
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
        .args(["export-dcat", "--format", "turtle"])
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
        .args(["export-dcat", "--base", "katalog.example.no"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("katalog.example.no") && stderr.contains("https://"),
        "{stderr}"
    );

    let output = gateway()
        .args(["export-dcat", "--format", "rdfxml"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rdfxml") && stderr.contains("jsonld"),
        "{stderr}"
    );
}
