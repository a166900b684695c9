//! Helpers for end-to-end tests: real binaries, real Envoy, real sockets on loopback.

#![allow(dead_code)]

mod ports;
// Not every test binary that includes this module starts a server.
#[allow(unused_imports)]
pub use ports::free_port;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Envoy binary: `$GATEWRIGHT_ENVOY`, else `.venv/bin/envoy` of the repo (scripts/install-envoy.sh).
pub fn envoy() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEWRIGHT_ENVOY") {
        return PathBuf::from(p);
    }
    let p = repo().join(".venv/bin/envoy");
    assert!(
        p.exists(),
        "Envoy not found: run scripts/install-envoy.sh or set GATEWRIGHT_ENVOY (scripts/test.sh does both)"
    );
    p
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `gatewright` binary built for this test run.
pub fn gatewright() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gatewright"))
}

/// The echo backend, built next to `gatewright` (scripts/test.sh builds the whole workspace).
pub fn echo_bin() -> PathBuf {
    let p = gatewright().with_file_name("gatewright-echo");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace` first",
        p.display()
    );
    p
}

/// A child process stopped (and reaped) on drop: SIGTERM first, so a controller stops the
/// Envoys it started (they outlive a SIGKILL by design, to be adopted), then SIGKILL.
pub struct Proc {
    child: Child,
    /// Where its output goes, printed when a test fails: CI keeps nothing else of a run.
    log: Option<PathBuf>,
}

/// Lines of a failed test's process log worth printing: the end tells what went wrong.
const LOG_TAIL_LINES: usize = 400;

impl Drop for Proc {
    fn drop(&mut self) {
        // Once reaped, its pid may belong to someone else: no signals then.
        if !matches!(self.child.try_wait(), Ok(Some(_)))
            && term(&mut self.child, Duration::from_secs(5)).is_none()
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(log) = self.log.as_ref().filter(|_| std::thread::panicking()) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            eprintln!(
                "---- last {} lines of {} ----\n{}\n---- end of log ----",
                tail.len(),
                log.display(),
                tail.join("\n")
            );
        }
    }
}

impl Proc {
    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        term(&mut self.child, Duration::from_secs(10)).expect("process did not exit after SIGTERM")
    }
}

/// Sends SIGTERM and waits up to `grace` for the process to exit.
fn term(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Starts the echo backend on a port.
pub fn start_echo(port: u16, pod: &str) -> Proc {
    let child = Command::new(echo_bin())
        .args(["--listen", &format!("127.0.0.1:{port}"), "--pod", pod])
        .stdout(Stdio::null())
        .spawn()
        .expect("start echo");
    let p = Proc { child, log: None };
    wait_until(Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    p
}

/// Starts `gatewright serve` on a directory.
pub fn start_serve(dir: &Path, xds: u16, admin: u16, extra: &[&str]) -> Proc {
    let log_path = dir.with_extension("log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let child = Command::new(gatewright())
        .arg("serve")
        .arg("--config-dir")
        .arg(dir)
        .args(["--xds-address", &format!("127.0.0.1:{xds}")])
        .args(["--admin-address", &format!("127.0.0.1:{admin}")])
        .arg("--envoy-path")
        .arg(envoy())
        .args(extra)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start gatewright serve");
    Proc {
        child,
        log: Some(log_path),
    }
}

/// Polls until `f` holds, panicking after `timeout`.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// One HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Lower-cased header lines.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Resp {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A keep-alive HTTP/1.1 connection, so tests can prove a connection survives a change.
pub struct Conn {
    stream: TcpStream,
}

impl Conn {
    /// Connects to 127.0.0.1:port.
    pub fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Conn { stream })
    }

    /// Sends a GET with a Host header and reads the whole response.
    pub fn get(&mut self, host: &str, path: &str) -> std::io::Result<Resp> {
        write!(
            self.stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gatewright-test\r\n\r\n"
        )?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let mut lines = head.lines();
                let status: u16 = lines
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk)?;
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[end + 4..(end + 4 + len).min(buf.len())])
                    .to_string();
                return Ok(Resp {
                    status,
                    headers,
                    body,
                });
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh connection.
pub fn get(port: u16, host: &str, path: &str) -> std::io::Result<Resp> {
    Conn::open(port)?.get(host, path)
}

/// The controller's `/status` document.
pub fn status(admin: u16) -> serde_json::Value {
    get(admin, "127.0.0.1", "/status")
        .ok()
        .and_then(|r| serde_json::from_str(&r.body).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The quickstart manifests with the listener and backend ports replaced.
pub fn quickstart_dir(listener_port: u16, echo_port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["quickstart.yaml", "httpbin-service.yaml"] {
        let text = std::fs::read_to_string(repo().join("examples/quickstart").join(f))
            .expect("read quickstart");
        let text = text
            .replace("port: 8080", &format!("port: {listener_port}"))
            .replace("port: 3000", &format!("port: {echo_port}"));
        std::fs::write(dir.path().join(f), text).expect("write manifest");
    }
    dir
}

/// Writes a file atomically (write + rename), as editors do.
pub fn atomic_write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}
