//! `gatewright validate` agrees with every shared CEL case (../shared/gateway-api/v1.6.1/cel-cases),
//! run as a user would: one manifest file per case, exit code and printed diagnostics.
//! Update cases (`oldSelf`, status subresource) are checked through the library in core/tests.

mod support;

use std::process::Command;

use support::*;

#[test]
fn validate_command_agrees_with_every_cel_case() {
    let dir = repo().join("../shared/gateway-api/v1.6.1/cel-cases");
    if !dir.exists() {
        eprintln!("skipping: {} is absent", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut agree, mut disagree) = (0, Vec::new());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(file).expect("read cases");
        let cases: Vec<serde_json::Value> = serde_saphyr::from_str(&text).expect("parse cases");
        for case in cases {
            if case.get("update").is_some() || case["object"]["kind"] == "XBackendTrafficPolicy" {
                continue;
            }
            let channels: &[&str] = match case["channel"].as_str() {
                Some("both") => &["standard", "experimental"],
                Some("standard") => &["standard"],
                _ => &["experimental"],
            };
            let manifest = tmp.path().join("case.json");
            std::fs::write(&manifest, case["object"].to_string()).expect("write case");
            let want: Vec<String> = case["wantErrors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for ch in channels {
                let out = Command::new(gatewright())
                    .args(["validate", "-o", "json", "--channel", ch, "-f"])
                    .arg(&manifest)
                    .output()
                    .expect("run gatewright validate");
                let diags: Vec<serde_json::Value> =
                    serde_json::from_slice(&out.stdout).unwrap_or_default();
                let texts: Vec<String> = diags
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: {}",
                            d["path"].as_str().unwrap_or(""),
                            d["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                let code = out.status.code();
                let ok = if want.is_empty() {
                    code == Some(0)
                } else {
                    code == Some(1)
                        && want
                            .iter()
                            .all(|w| texts.iter().any(|t| t.contains(w.as_str())))
                };
                if ok {
                    agree += 1;
                } else {
                    disagree.push(format!(
                        "{} / {} [{ch}]: exit {code:?}, want {want:?}, got {texts:?}",
                        file.file_name()
                            .map(|f| f.to_string_lossy().to_string())
                            .unwrap_or_default(),
                        case["name"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    eprintln!(
        "gatewright validate: {agree} case runs agree, {} disagree",
        disagree.len()
    );
    assert!(
        disagree.is_empty(),
        "disagreeing cases:\n{}",
        disagree.join("\n")
    );
    assert!(agree > 300, "too few cases ran: {agree}");
}
