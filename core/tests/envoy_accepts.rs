//! Real Envoy accepts every static bootstrap we build.
//!
//! For every Gateway of the Gateway API v1.6.1 conformance manifests (`base/manifests.yaml`
//! plus each `tests/*.yaml` on top of it, with `{GATEWAY_CLASS_NAME}` and
//! `{GATEWAY_CONTROLLER_NAME}` standing for a GatewayClass of ours, as the suite's applier
//! makes them) and of the Envoy Gateway v1.9.0 standard-only cases, the static bootstrap
//! (`gatewright::output::static_bootstrap`) is written to a temporary file and checked with
//! `envoy --mode validate -c FILE`. Identical bootstraps are validated once; validations
//! run three at a time.
//!
//! Envoy is `$GATEWRIGHT_ENVOY`, else `<repo>/.venv/bin/envoy` (`scripts/install-envoy.sh`
//! installs it; `scripts/test.sh` does both). The test is skipped with a message when
//! `../shared` is absent, and panics when no Envoy is found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use gatewright::load::parse_str;
use gatewright::{translate, Options, Snapshot};

mod eg_cases;

/// The GatewayClass the conformance placeholders stand for.
const CLASS: &str = "gatewright-conformance";

fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")).to_path_buf()
}

fn envoy() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEWRIGHT_ENVOY").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/envoy"));
    assert!(
        local.exists(),
        "Envoy not found: set GATEWRIGHT_ENVOY or run scripts/install-envoy.sh (scripts/test.sh does both)"
    );
    local.to_path_buf()
}

/// Conformance manifests as the suite applies them: placeholders replaced, plus our class.
fn conformance_snapshot(files: &[PathBuf]) -> Snapshot {
    let mut text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {CLASS}}}\nspec: {{controllerName: {}}}\n",
        eg_cases::CONTROLLER
    );
    for f in files {
        let body = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        text.push_str("---\n");
        text.push_str(
            &body
                .replace("{GATEWAY_CLASS_NAME}", CLASS)
                .replace("{GATEWAY_CONTROLLER_NAME}", eg_cases::CONTROLLER),
        );
        text.push('\n');
    }
    Snapshot::from_loaded(parse_str(&text, "conformance").objects)
}

/// Every bootstrap of a snapshot: (label, JSON text).
fn bootstraps(label: &str, snap: &Snapshot) -> Vec<(String, String)> {
    let opts = Options {
        controller_name: eg_cases::CONTROLLER.into(),
        ..Default::default()
    };
    let t = translate(snap, &opts);
    t.gateways
        .keys()
        .map(|g| {
            let b = gatewright::output::static_bootstrap(&t, g, "127.0.0.1")
                .unwrap_or_else(|e| panic!("{label} {g}: {e}"));
            (format!("{label} {g}"), b.to_string())
        })
        .collect()
}

/// Runs `envoy --mode validate` on one config; the error output when it is rejected.
fn validate(envoy: &Path, dir: &Path, n: usize, config: &str) -> Result<(), String> {
    let file = dir.join(format!("bootstrap-{n}.json"));
    std::fs::write(&file, config).map_err(|e| e.to_string())?;
    let out = Command::new(envoy)
        .args(["--mode", "validate", "--log-level", "error", "-c"])
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", envoy.display()))?;
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        Err(text.lines().rev().take(3).collect::<Vec<_>>().join(" | "))
    }
}

#[test]
fn envoy_accepts_every_bootstrap() {
    let shared = shared();
    if !shared.exists() {
        eprintln!(
            "skipping: {} is absent (shared reference data)",
            shared.display()
        );
        return;
    }
    let envoy = envoy();
    let conformance = shared.join("gateway-api/v1.6.1/conformance");
    let base = conformance.join("base/manifests.yaml");
    let mut tests: Vec<PathBuf> = std::fs::read_dir(conformance.join("tests"))
        .expect("conformance tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    tests.sort();

    // Identical configs are validated once: config -> labels of the Gateways producing it.
    let mut configs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut gateways = (0usize, 0usize);
    let mut add = |list: Vec<(String, String)>, conformance: bool| {
        for (label, config) in list {
            if conformance {
                gateways.0 += 1;
            } else {
                gateways.1 += 1;
            }
            configs.entry(config).or_default().push(label);
        }
    };
    add(
        bootstraps("base", &conformance_snapshot(std::slice::from_ref(&base))),
        true,
    );
    for t in &tests {
        let name = t
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        add(
            bootstraps(&name, &conformance_snapshot(&[base.clone(), t.clone()])),
            true,
        );
    }
    for case in eg_cases::cases() {
        add(bootstraps(&case, &eg_cases::snapshot(&case)), false);
    }

    let dir = std::env::temp_dir().join(format!("gatewright-envoy-accepts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // (index, config, labels of the Gateways producing it), taken by the validating threads.
    type Work = Vec<(usize, String, Vec<String>)>;
    let work: Arc<Mutex<Work>> = Arc::new(Mutex::new(
        configs
            .into_iter()
            .enumerate()
            .map(|(i, (c, labels))| (i, c, labels))
            .collect(),
    ));
    let distinct = work.lock().map(|w| w.len()).unwrap_or(0);
    let rejected: Arc<Mutex<Vec<String>>> = Arc::default();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (work, rejected, envoy, dir) =
                (work.clone(), rejected.clone(), envoy.clone(), dir.clone());
            std::thread::spawn(move || loop {
                let Some((n, config, labels)) = work.lock().expect("work").pop() else {
                    break;
                };
                if let Err(e) = validate(&envoy, &dir, n, &config) {
                    rejected
                        .lock()
                        .expect("rejected")
                        .push(format!("{}: {e}", labels.join(", ")));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("validation thread");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let rejected = rejected.lock().expect("rejected").clone();
    println!(
        "Envoy accepts {}/{} distinct bootstraps ({} conformance Gateways, {} Envoy Gateway case Gateways)",
        distinct - rejected.len(),
        distinct,
        gateways.0,
        gateways.1
    );
    for r in &rejected {
        println!("  rejected: {r}");
    }
    assert!(
        rejected.is_empty(),
        "Envoy rejected {} bootstraps",
        rejected.len()
    );
}
