//! Request mirroring, observed the way the suite does it: through the mirror backends' logs
//! (`logs/<ns>.<pod>.log`, each pod's stdout). `mirroredTo` on an `http` case (SCHEMA.md §6.1)
//! and `kind: http-mirror-distribution` (§6.4).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checks::Ctx;
use crate::traffic::{eventually, new_uuid, set_request_id, Conn, Target};

/// How long a mirrored request may take to show up in the logs (the suite's requestTimeout,
/// polled every second).
const LOG_WAIT: Duration = Duration::from_secs(10);

/// The log files of one mirror backend's pods, each with the offset the watch starts at.
pub struct LogWatch {
    /// `ns/name` of the backend (pods labelled `app=<name>`).
    pub backend: String,
    files: Vec<(PathBuf, u64)>,
}

impl LogWatch {
    /// Starts a watch on the pods labelled `app=<name>` in `namespace`. With `from_now` only
    /// lines written from now on count; otherwise the whole log does (the suite's window starts
    /// 30 s in the past, and every watched path carries a fresh request id, so no older line can
    /// match).
    pub fn start(ctx: &Ctx, namespace: &str, name: &str, from_now: bool) -> Result<Self, String> {
        let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
        let files: Vec<(PathBuf, u64)> = c
            .pods
            .values()
            .filter(|p| {
                p.namespace == namespace && p.labels.get("app").map(String::as_str) == Some(name)
            })
            .map(|p| {
                let f = c.logs.join(format!("{}.{}.log", p.namespace, p.name));
                let at = if from_now {
                    std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0)
                } else {
                    0
                };
                (f, at)
            })
            .collect();
        if files.is_empty() {
            return Err(format!("no pods labelled app={name} in {namespace}"));
        }
        Ok(LogWatch {
            backend: format!("{namespace}/{name}"),
            files,
        })
    }

    /// The number of lines since the watch started that contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.files
            .iter()
            .map(|(f, at)| count_in(f, *at, needle))
            .sum()
    }
}

/// Lines of `file` from byte `from` on (from the start if the file was recreated) with `needle`.
fn count_in(file: &PathBuf, from: u64, needle: &str) -> usize {
    let Ok(mut f) = std::fs::File::open(file) else {
        return 0;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < from { 0 } else { from };
    if f.seek(SeekFrom::Start(start)).is_err() {
        return 0;
    }
    BufReader::new(f)
        .split(b'\n')
        .map_while(Result::ok)
        .filter(|l| String::from_utf8_lossy(l).contains(needle))
        .count()
}

/// The line the echo backend logs for a request to `path` (query included).
fn log_line(path: &str) -> String {
    format!("Echoing back request made to {path} to client")
}

fn mirrored_to(e: &Value) -> Vec<Value> {
    e.get("mirroredTo")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Starts a watch for every `mirroredTo` backend of a case (none when it has no mirrors).
pub fn watch_all(ctx: &Ctx, e: &Value) -> Result<Vec<LogWatch>, String> {
    mirrored_to(e)
        .iter()
        .map(|m| LogWatch::start(ctx, str_of(m, "namespace"), str_of(m, "name"), false))
        .collect()
}

/// Every watched backend must log the case's request within [`LOG_WAIT`], polled every 1 s.
pub fn expect_logged(watches: &[LogWatch], e: &Value) -> Result<(), String> {
    if watches.is_empty() {
        return Ok(());
    }
    let path = e
        .pointer("/request/path")
        .and_then(Value::as_str)
        .unwrap_or("/");
    let needle = log_line(path);
    let deadline = Instant::now() + LOG_WAIT;
    loop {
        let missing: Vec<&str> = watches
            .iter()
            .filter(|w| w.count(&needle) == 0)
            .map(|w| w.backend.as_str())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not mirrored to {missing:?}: no log line {needle:?}"
            ));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `[n·p − k·√(n·p·(1−p)), n·p + k·√(n·p·(1−p))]`: the accepted mirror count for `n` requests
/// mirrored with probability `p`, `k` standard deviations wide.
pub fn expected_range(n: f64, p: f64, k: f64) -> (f64, f64) {
    let mean = n * p;
    let sd = (n * p * (1.0 - p)).sqrt();
    (mean - k * sd, mean + k * sd)
}

/// Parameters of `mirrorDistribution`.
struct Params {
    total: usize,
    concurrent: usize,
    stddevs: f64,
    attempts: u64,
    pause: Duration,
    per_request: usize,
}

impl Params {
    fn of(test: &Value) -> Params {
        let m = test.get("mirrorDistribution").cloned().unwrap_or_default();
        let n = |k: &str, d: u64| m.get(k).and_then(Value::as_u64).unwrap_or(d);
        let pause = m
            .get("sleepBetweenAttempts")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_suffix('s'))
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(2.0);
        Params {
            total: n("totalRequests", 500) as usize,
            concurrent: n("concurrentRequests", 10).max(1) as usize,
            stddevs: m
                .get("toleranceStdDevs")
                .and_then(Value::as_f64)
                .unwrap_or(3.0),
            attempts: n("attempts", 5),
            pause: Duration::from_secs_f64(pause),
            per_request: n("perRequestRequiredConsecutiveSuccesses", 1) as usize,
        }
    }
}

/// Sends `total` cases, `concurrent` at a time, each until `per_request` successes.
fn send_all(case: &Value, t: &Target, p: &Params, timeout: Duration) -> Result<(), String> {
    let conn = Conn {
        scheme: "http",
        tls: None,
    };
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::<String>::new());
    std::thread::scope(|sc| {
        for _ in 0..p.concurrent {
            sc.spawn(|| {
                while next.fetch_add(1, Ordering::SeqCst) < p.total {
                    if let Err(m) = eventually(case, t, &conn, p.per_request, timeout) {
                        if let Ok(mut e) = errors.lock() {
                            e.push(m);
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().map_err(|e| e.to_string())?;
    match errors.first() {
        None => Ok(()),
        Some(e) => Err(format!("{} requests failed, e.g. {e}", errors.len())),
    }
}

/// Counts per backend once the logs stop growing: mirrors are sent after the response, so the
/// last few may land just after the last request returns.
fn settled_counts(watches: &[LogWatch], needle: &str) -> BTreeMap<String, usize> {
    let read = || -> BTreeMap<String, usize> {
        watches
            .iter()
            .map(|w| (w.backend.clone(), w.count(needle)))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = read();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = read();
        if now == last || Instant::now() >= deadline {
            return now;
        }
        last = now;
    }
}

/// `kind: http-mirror-distribution`: one normal case, then rounds of `total` requests with a
/// fresh request id until every mirror backend's count is within the expected range.
pub fn distribution(
    ctx: &Ctx,
    test: &Value,
    e: &Value,
    t: &Target,
    timeout: Duration,
) -> Result<(), String> {
    let p = Params::of(test);
    let conn = Conn {
        scheme: "http",
        tls: None,
    };
    let mut plain = e.clone();
    if let Some(o) = plain.as_object_mut() {
        o.remove("mirroredTo");
    }
    eventually(&plain, t, &conn, 3, timeout)?;
    let mirrors = mirrored_to(e);
    let mut last = String::new();
    for round in 0..p.attempts {
        if round > 0 {
            std::thread::sleep(p.pause);
        }
        let mut case = plain.clone();
        set_request_id(&mut case, &new_uuid());
        let watches = mirrors
            .iter()
            .map(|m| LogWatch::start(ctx, str_of(m, "namespace"), str_of(m, "name"), true))
            .collect::<Result<Vec<_>, _>>()?;
        send_all(&case, t, &p, timeout)?;
        let path = case
            .pointer("/request/path")
            .and_then(Value::as_str)
            .unwrap_or("/");
        let counts = settled_counts(&watches, &log_line(path));
        let mut bad = Vec::new();
        for m in &mirrors {
            let backend = format!("{}/{}", str_of(m, "namespace"), str_of(m, "name"));
            let percent = m.get("percent").and_then(Value::as_f64).unwrap_or(100.0);
            let (lo, hi) = expected_range(p.total as f64, percent / 100.0, p.stddevs);
            let n = counts.get(&backend).copied().unwrap_or(0);
            if (n as f64) < lo || (n as f64) > hi {
                bad.push(format!("{backend}: {n} mirrored, want [{lo:.1}, {hi:.1}]"));
            }
        }
        if bad.is_empty() {
            return Ok(());
        }
        last = format!("round {}: {}", round + 1, bad.join("; "));
    }
    Err(format!("mirror distribution: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_matches_the_transcribed_bounds() {
        let (lo, hi) = expected_range(500.0, 0.2, 3.0);
        assert!((lo - 73.167).abs() < 0.001 && (hi - 126.833).abs() < 0.001);
        let (lo, hi) = expected_range(500.0, 0.35, 3.0);
        assert!((lo - 143.004).abs() < 0.001 && (hi - 206.996).abs() < 0.001);
    }

    #[test]
    fn counts_lines_after_the_offset() {
        let dir = std::env::temp_dir().join(format!("mirror-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let f = dir.join("ns.pod.log");
        std::fs::write(&f, "Echoing back request made to /a to client (x)\n").expect("write");
        let from = std::fs::metadata(&f).expect("metadata").len();
        let more = "Echoing back request made to /a to client (y)\nother\n";
        std::fs::write(
            &f,
            format!("Echoing back request made to /a to client (x)\n{more}"),
        )
        .expect("write");
        assert_eq!(count_in(&f, 0, &log_line("/a")), 2);
        assert_eq!(count_in(&f, from, &log_line("/a")), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
