//! Runs every case of the Gateway API v1.6.1 CRD validation suite (`tests/cel/*_test.go`,
//! transcribed as data in `../shared/gateway-api/v1.6.1/cel-cases/`, see its `SCHEMA.md`)
//! through `gatewright::validate` and checks that we agree with the API server.
//!
//! Each case's `object` (and `update`) is serialized to JSON and loaded with
//! `gatewright::load::parse_str`, so CRD defaults are applied exactly as in real use; loader
//! errors count as rejections. A case with `channel: both` runs under both channels.
//!
//! Agreement: when `wantErrors` is empty, no Error diagnostic; otherwise every wanted substring
//! occurs in some diagnostic's text `"<path>: <message>"` (so OpenAPI messages that repeat the
//! path, like `Invalid value: "x": spec.hostnames[0] in body should match ...`, and CEL
//! messages, which are the CRD's own text, both match). As the upstream harness does, a wanted
//! string may also match with every "more" replaced by "longer" (Kubernetes before 1.32).
//!
//! XBackendTrafficPolicy cases are skipped (we do not model that kind) and counted as such.
//! The test is skipped with a message when `../shared` is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatewright::validate::{validate, validate_status_update, validate_update, Channel};
use gatewright::{Diagnostic, Object, Severity};
use serde_json::Value;

fn cases_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
        .join("gateway-api/v1.6.1/cel-cases")
}

/// Loads one case object the way a user's manifest is loaded (defaults applied).
fn load(value: &Value) -> Result<Object, Vec<Diagnostic>> {
    let text = serde_json::to_string(value).expect("case object is JSON");
    let mut result = gatewright::load::parse_str(&text, "case");
    let errors: Vec<Diagnostic> = result
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !errors.is_empty() || result.objects.len() != 1 {
        return Err(errors);
    }
    Ok(result.objects.remove(0).object)
}

/// What the validator says about one case under one channel.
fn run(case: &Value, channel: Channel) -> Vec<Diagnostic> {
    let old = match load(&case["object"]) {
        Ok(o) => o,
        Err(errors) => return errors,
    };
    let Some(update) = case.get("update") else {
        return validate(&old, channel);
    };
    let new = match load(update) {
        Ok(o) => o,
        Err(errors) => return errors,
    };
    if case.get("updateSubresource").and_then(Value::as_str) == Some("status") {
        validate_status_update(&old, &new, channel)
    } else {
        // The Go test stops unless the create succeeds.
        let created = validate(&old, channel);
        if created.iter().any(|d| d.severity == Severity::Error) {
            return created;
        }
        validate_update(&old, &new, channel)
    }
}

fn agrees(want: &[String], got: &[Diagnostic]) -> bool {
    let errors: Vec<String> = got
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    if want.is_empty() {
        return errors.is_empty();
    }
    want.iter().all(|w| {
        let alt = w.replace("more", "longer");
        errors
            .iter()
            .any(|e| e.contains(w.as_str()) || e.contains(&alt))
    })
}

#[derive(Default)]
struct Tally {
    cases: usize,
    agreeing: usize,
    skipped: usize,
}

#[test]
fn validator_agrees_with_the_api_server() {
    let dir = cases_dir();
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    // CEL_CASES_VERBOSE=1 prints what the validator said about every case.
    let verbose = std::env::var_os("CEL_CASES_VERBOSE").is_some();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(file).expect("readable case file");
        let cases: Vec<Value> = serde_saphyr::from_str(&text).expect("case file is YAML");
        let tally = tallies.entry(name.clone()).or_default();
        for case in &cases {
            let case_name = case["name"].as_str().unwrap_or_default();
            if case["object"]["kind"] == "XBackendTrafficPolicy" {
                tally.skipped += 1;
                continue;
            }
            tally.cases += 1;
            let channels: &[Channel] = match case["channel"].as_str() {
                Some("standard") => &[Channel::Standard],
                Some("experimental") => &[Channel::Experimental],
                _ => &[Channel::Standard, Channel::Experimental],
            };
            let want: Vec<String> = case["wantErrors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str().map(str::to_string))
                .collect();
            let mut ok = true;
            for &channel in channels {
                let got = run(case, channel);
                if verbose {
                    println!("CASE {name} / {case_name:?} ({channel:?}) want {want:?}");
                    for d in &got {
                        println!("      {}: {}", d.path, d.message);
                    }
                }
                if !agrees(&want, &got) {
                    ok = false;
                    let got: Vec<String> = got
                        .iter()
                        .map(|d| format!("      {}: {}", d.path, d.message))
                        .collect();
                    disagreements.push(format!(
                        "{name} / {case_name:?} ({channel:?})\n    want: {want:?}\n    got:\n{}",
                        got.join("\n")
                    ));
                }
            }
            if ok {
                tally.agreeing += 1;
            }
        }
    }
    let (mut cases, mut agreeing, mut skipped) = (0, 0, 0);
    for (file, t) in &tallies {
        println!(
            "{file}: {}/{} cases agree{}",
            t.agreeing,
            t.cases,
            if t.skipped > 0 {
                format!(
                    ", {} skipped (XBackendTrafficPolicy is not modelled)",
                    t.skipped
                )
            } else {
                String::new()
            }
        );
        cases += t.cases;
        agreeing += t.agreeing;
        skipped += t.skipped;
    }
    println!("total: {agreeing}/{cases} cases agree, {skipped} skipped");
    for d in &disagreements {
        println!("DISAGREE {d}");
    }
    assert!(
        disagreements.is_empty(),
        "{} case runs disagree with the API server (listed above)",
        disagreements.len()
    );
}
