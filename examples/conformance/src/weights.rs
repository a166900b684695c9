//! Weighted distributions (SCHEMA.md §8) for any protocol: a sampler yields the answering pod
//! of one request, and the shares of the backends are checked against `expectedWeights`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// The parameters of one `weights` entry, with the upstream defaults.
pub struct Spec {
    /// Samples per attempt.
    pub total: usize,
    /// Samples in flight at once.
    pub concurrency: usize,
    /// Allowed difference between a share and its weight.
    pub tolerance: f64,
    /// Attempts before the test fails.
    pub attempts: u64,
    /// Backend name → expected share.
    pub expected: BTreeMap<String, f64>,
}

impl Spec {
    /// Reads a `weights` entry.
    pub fn of(w: &Value) -> Spec {
        Spec {
            total: w
                .get("totalRequests")
                .and_then(Value::as_u64)
                .unwrap_or(500) as usize,
            concurrency: w
                .get("concurrency")
                .and_then(Value::as_u64)
                .unwrap_or(10)
                .max(1) as usize,
            tolerance: w.get("tolerance").and_then(Value::as_f64).unwrap_or(0.05),
            attempts: w.get("maxAttempts").and_then(Value::as_u64).unwrap_or(10),
            expected: w
                .get("expectedWeights")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The backend of a pod name `<deployment>-<rs-hash>-<pod-hash>`: the last two segments go.
pub fn backend_of(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    parts[..parts.len().saturating_sub(2)].join("-")
}

/// A value in [0, 10000) for the `entropy` header or metadata of sample `i`, or None for the
/// half of the samples that carry none (upstream: with probability ½).
pub fn jitter(i: usize) -> Option<String> {
    let mut x = (i as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 31;
    (x & 1 == 0).then(|| ((x >> 1) % 10_000).to_string())
}

/// Checks one attempt's counts; None when the distribution matches.
fn judge(spec: &Spec, counts: &BTreeMap<String, usize>) -> Option<String> {
    for (b, n) in counts {
        match spec.expected.get(b) {
            None => return Some(format!("unexpected backend {b}")),
            Some(w) => {
                let share = *n as f64 / spec.total as f64;
                if (share - w).abs() > spec.tolerance {
                    return Some(format!("{b}: {share:.3}, want {w}"));
                }
            }
        }
    }
    let nonzero = spec.expected.values().filter(|w| **w > 0.0).count();
    (counts.len() != nonzero).then(|| format!("{} backends seen, want {nonzero}", counts.len()))
}

/// Runs attempts of `spec.total` samples until one matches the weights. `sample(i)` sends
/// request `i` and returns the pod that answered.
pub fn run(
    spec: &Spec,
    sample: impl Fn(usize) -> Result<String, String> + Sync,
) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..spec.attempts {
        let counts = Mutex::new(BTreeMap::<String, usize>::new());
        let errors = Mutex::new(Vec::<String>::new());
        let next = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for _ in 0..spec.concurrency {
                sc.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= spec.total {
                        return;
                    }
                    match sample(i) {
                        Ok(pod) => {
                            if let Ok(mut c) = counts.lock() {
                                *c.entry(backend_of(&pod)).or_default() += 1;
                            }
                        }
                        Err(m) => {
                            if let Ok(mut e) = errors.lock() {
                                e.push(m);
                            }
                        }
                    }
                });
            }
        });
        let errors = errors.into_inner().unwrap_or_default();
        let counts = counts.into_inner().unwrap_or_default();
        if let Some(e) = errors.first() {
            last = format!("{} failed samples, e.g. {e}", errors.len());
            continue;
        }
        match judge(spec, &counts) {
            None => return Ok(()),
            Some(b) => last = format!("{b} ({counts:?})"),
        }
    }
    Err(format!("distribution: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backend_drops_the_two_hash_segments() {
        assert_eq!(
            backend_of("tcp-backend-v1-bcdfghjklm-x2z4q"),
            "tcp-backend-v1"
        );
        assert_eq!(backend_of("solo"), "");
    }

    #[test]
    fn jitter_is_absent_for_about_half_and_in_range() {
        let vals: Vec<Option<String>> = (0..1000).map(jitter).collect();
        let some = vals.iter().filter(|v| v.is_some()).count();
        assert!((400..600).contains(&some), "{some}");
        assert!(vals
            .iter()
            .flatten()
            .all(|v| v.parse::<u32>().is_ok_and(|n| n < 10_000)));
    }

    #[test]
    fn a_zero_weight_backend_must_not_answer() {
        let spec = Spec::of(
            &json!({"expectedWeights": {"a": 0.7, "b": 0.3, "c": 0.0}, "totalRequests": 10}),
        );
        let ok: BTreeMap<String, usize> = [("a".to_string(), 7), ("b".to_string(), 3)].into();
        assert_eq!(judge(&spec, &ok), None);
        let bad: BTreeMap<String, usize> = [
            ("a".to_string(), 7),
            ("b".to_string(), 2),
            ("c".to_string(), 1),
        ]
        .into();
        assert!(judge(&spec, &bad).is_some());
        let missing: BTreeMap<String, usize> = [("a".to_string(), 10)].into();
        assert!(judge(&spec, &missing).is_some());
    }

    #[test]
    fn run_counts_samples_and_reports_failures() {
        let spec = Spec::of(
            &json!({"expectedWeights": {"a": 0.5, "b": 0.5}, "totalRequests": 100, "maxAttempts": 1}),
        );
        assert!(run(&spec, |i| Ok(
            if i % 2 == 0 { "a-x-y" } else { "b-x-y" }.to_string()
        ))
        .is_ok());
        assert!(run(&spec, |_| Err("boom".to_string())).is_err());
    }
}
