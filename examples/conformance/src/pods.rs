//! Pod processes: how a container of a Deployment's pod template becomes a local
//! `gatewright-echo --ip <pod ip>` process with the environment and mounted files Kubernetes
//! would give it, and what must answer before the pod is ready.
//!
//! echo-basic containers keep their env (the echo reads its mode and ports from it, as the
//! image does); the base CoreDNS container becomes the echo's whoami-like DNS responder.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::kube::{die_with_parent, Key, Probe};

/// Everything one pod's processes are built from.
pub struct PodEnv<'a> {
    /// Pod name.
    pub name: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Its address.
    pub ip: Ipv4Addr,
    /// The pod template's `spec`.
    pub spec: &'a Value,
    /// The cluster's objects (Secrets and ConfigMaps for volumes).
    pub objects: &'a BTreeMap<Key, Value>,
    /// The echo binary.
    pub echo: &'a Path,
    /// Where this pod's mounted files go.
    pub dir: PathBuf,
    /// Where its logs go.
    pub logs: &'a Path,
}

/// What a container runs as, which decides its ports and probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http,
    Grpc,
    Tcp,
    Udp,
    Dns,
}

fn is_echo_basic(c: &Value) -> bool {
    c.get("image")
        .and_then(Value::as_str)
        .is_some_and(|i| i.contains("gateway-api/echo-basic"))
}

fn is_coredns(c: &Value) -> bool {
    c.get("image")
        .and_then(Value::as_str)
        .is_some_and(|i| i.contains("coredns/coredns"))
}

/// The first `containerPort` of a container (CoreDNS's DNS port when declared).
fn container_port(c: &Value) -> Option<u16> {
    c.pointer("/ports/0/containerPort")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
}

/// Resolves a container's `env` as the kubelet would (literal values and downward-API
/// fieldRefs; other sources resolve to "").
fn resolve_env(c: &Value, p: &PodEnv) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        let val = match e.get("value").and_then(Value::as_str) {
            Some(v) => v.to_string(),
            None => match e
                .pointer("/valueFrom/fieldRef/fieldPath")
                .and_then(Value::as_str)
            {
                Some("metadata.name") => p.name.to_string(),
                Some("metadata.namespace") => p.namespace.to_string(),
                Some("status.podIP") => p.ip.to_string(),
                _ => String::new(),
            },
        };
        env.insert(name.to_string(), val);
    }
    env
}

/// The key/value content of a Secret or ConfigMap as files would hold it (base64 `data` of a
/// Secret and `binaryData` of a ConfigMap decoded; `stringData` as written).
fn volume_source(
    objects: &BTreeMap<Key, Value>,
    ns: &str,
    vol: &Value,
) -> Option<Vec<(String, Vec<u8>)>> {
    let b64 = |v: &Value| {
        v.as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    };
    let plain = |v: &Value| v.as_str().map(|s| s.as_bytes().to_vec());
    let (obj, sets): (&Value, [(&str, bool); 2]) = if let Some(s) = vol.get("secret") {
        let name = s.get("secretName").and_then(Value::as_str)?;
        let o = objects.get(&("Secret".to_string(), ns.to_string(), name.to_string()))?;
        (o, [("data", true), ("stringData", false)])
    } else if let Some(c) = vol.get("configMap") {
        let name = c.get("name").and_then(Value::as_str)?;
        let o = objects.get(&("ConfigMap".to_string(), ns.to_string(), name.to_string()))?;
        (o, [("binaryData", true), ("data", false)])
    } else {
        return None;
    };
    let mut all: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (field, encoded) in sets {
        for (k, v) in obj
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(bytes) = if encoded { b64(v) } else { plain(v) } {
                all.insert(k.clone(), bytes);
            }
        }
    }
    let src = vol.get("secret").or_else(|| vol.get("configMap"))?;
    match src.get("items").and_then(Value::as_array) {
        Some(items) => Some(
            items
                .iter()
                .filter_map(|i| {
                    let key = i.get("key").and_then(Value::as_str)?;
                    let path = i.get("path").and_then(Value::as_str).unwrap_or(key);
                    Some((path.to_string(), all.get(key)?.clone()))
                })
                .collect(),
        ),
        None => Some(all.into_iter().collect()),
    }
}

/// The Secrets and ConfigMaps that the runnable containers mount and that do not exist yet
/// (optional ones aside): until they do, the kubelet would not start the pod.
pub fn missing_sources(spec: &Value, ns: &str, objects: &BTreeMap<Key, Value>) -> Vec<Key> {
    let mounted: Vec<&str> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| is_echo_basic(c) || is_coredns(c))
        .flat_map(|c| {
            c.get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("name").and_then(Value::as_str))
        })
        .collect();
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| mounted.contains(&n))
        })
        .filter_map(|v| {
            let (kind, src, name_field) = if let Some(s) = v.get("secret") {
                ("Secret", s, "secretName")
            } else {
                ("ConfigMap", v.get("configMap")?, "name")
            };
            if src.get("optional").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let name = src.get(name_field).and_then(Value::as_str)?;
            let k = (kind.to_string(), ns.to_string(), name.to_string());
            (!objects.contains_key(&k)).then_some(k)
        })
        .collect()
}

/// Writes the container's Secret and ConfigMap mounts under the pod directory and returns
/// (mountPath, local directory), longest mountPath first so nested mounts win.
fn materialize_mounts(c: &Value, p: &PodEnv) -> Vec<(String, PathBuf)> {
    let volumes: Vec<&Value> = p
        .spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut mounts = Vec::new();
    for m in c
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(path)) = (
            m.get("name").and_then(Value::as_str),
            m.get("mountPath").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(vol) = volumes
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
        else {
            continue;
        };
        let dir = p.dir.join(name);
        // Missing sources were waited for (`missing_sources`); other volume types stay empty.
        for (rel, bytes) in volume_source(p.objects, p.namespace, vol).unwrap_or_default() {
            let f = dir.join(rel.trim_start_matches('/'));
            if let Some(parent) = f.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if let Err(e) = std::fs::write(&f, bytes) {
                eprintln!("pod {}/{}: {}: {e}", p.namespace, p.name, f.display());
            }
        }
        let _ = std::fs::create_dir_all(&dir);
        mounts.push((path.trim_end_matches('/').to_string(), dir));
    }
    mounts.sort_by_key(|(m, _)| std::cmp::Reverse(m.len()));
    mounts
}

/// Rewrites a value naming a file under a mountPath to the materialized file.
fn rewrite_path(v: &str, mounts: &[(String, PathBuf)]) -> String {
    for (mount, dir) in mounts {
        if v == mount {
            return dir.display().to_string();
        }
        if let Some(rest) = v
            .strip_prefix(mount.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            return dir.join(rest).display().to_string();
        }
    }
    v.to_string()
}

fn port(env: &BTreeMap<String, String>, var: &str, default: u16) -> u16 {
    env.get(var).and_then(|p| p.parse().ok()).unwrap_or(default)
}

fn set(env: &BTreeMap<String, String>, var: &str) -> bool {
    env.get(var).is_some_and(|v| !v.is_empty())
}

/// The mode echo-basic picks (ECHO.md §1, in its order), and the listeners it opens.
fn probes(mode: Mode, env: &BTreeMap<String, String>) -> Vec<Probe> {
    let tls = |key_var: &str| set(env, "TLS_SERVER_CERT") && set(env, key_var);
    match mode {
        Mode::Http => {
            let mut v = vec![
                Probe::Tcp(port(env, "HTTP_PORT", 3000)),
                Probe::Tcp(port(env, "H2C_PORT", 3001)),
            ];
            if tls("TLS_SERVER_PRIVKEY") {
                v.push(Probe::Tcp(port(env, "HTTPS_PORT", 8443)));
            }
            v
        }
        Mode::Grpc => {
            let mut v = vec![Probe::Tcp(port(env, "HTTP_PORT", 3000))];
            if tls("TLS_SERVER_PRIV_KEY") {
                v.push(Probe::Tcp(port(env, "HTTPS_PORT", 8443)));
            }
            v
        }
        Mode::Tcp => {
            let mut v = vec![Probe::Tcp(port(env, "TCP_PORT", 3000))];
            if tls("TLS_SERVER_PRIV_KEY") {
                v.push(Probe::Tcp(port(env, "TLS_PORT", 8443)));
            }
            v
        }
        Mode::Udp => vec![Probe::Udp(port(env, "UDP_PORT", 8080))],
        Mode::Dns => vec![Probe::Udp(port(env, "DNS_PORT", 53))],
    }
}

fn mode_of(env: &BTreeMap<String, String>) -> Mode {
    if set(env, "DNS_SERVER") {
        Mode::Dns
    } else if set(env, "GRPC_ECHO_SERVER") {
        Mode::Grpc
    } else if set(env, "TCP_ECHO_SERVER") {
        Mode::Tcp
    } else if set(env, "UDP_ECHO_SERVER") {
        Mode::Udp
    } else {
        Mode::Http
    }
}

/// Starts a process for every echo-basic and CoreDNS container of the pod; returns the
/// processes and the probes that tell when they listen. Other images get no process.
pub fn start(p: &PodEnv) -> (Vec<Child>, Vec<Probe>) {
    let mut children = Vec::new();
    let mut all_probes = Vec::new();
    let containers: Vec<&Value> = p
        .spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| is_echo_basic(c) || is_coredns(c))
        .collect();
    for (i, c) in containers.into_iter().enumerate() {
        let mounts = materialize_mounts(c, p);
        let mut env = resolve_env(c, p);
        for v in env.values_mut() {
            *v = rewrite_path(v, &mounts);
        }
        env.entry("POD_NAME".into())
            .or_insert_with(|| p.name.to_string());
        env.entry("NAMESPACE".into())
            .or_insert_with(|| p.namespace.to_string());
        if is_coredns(c) {
            env.insert("DNS_SERVER".into(), "1".into());
            env.insert(
                "DNS_PORT".into(),
                container_port(c).unwrap_or(53).to_string(),
            );
        }
        let log = if i == 0 {
            p.logs.join(format!("{}.{}.log", p.namespace, p.name))
        } else {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("c");
            p.logs
                .join(format!("{}.{}.{cname}.log", p.namespace, p.name))
        };
        let mut cmd = Command::new(p.echo);
        cmd.args(["--ip", &p.ip.to_string()])
            .env_clear()
            .envs(
                std::env::vars()
                    .filter(|(k, _)| matches!(k.as_str(), "PATH" | "RUST_LOG" | "RUST_BACKTRACE")),
            )
            .envs(&env)
            .stdin(Stdio::null());
        match std::fs::File::create(&log) {
            Ok(f) => {
                if let Ok(f2) = f.try_clone() {
                    cmd.stderr(f2);
                }
                cmd.stdout(f);
            }
            Err(_) => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        die_with_parent(&mut cmd);
        match cmd.spawn() {
            Ok(child) => {
                children.push(child);
                all_probes.extend(probes(mode_of(&env), &env));
            }
            Err(e) => eprintln!("pod {}/{}: {}: {e}", p.namespace, p.name, p.echo.display()),
        }
    }
    (children, all_probes)
}

/// Whether a UDP socket is bound on `ip:port`, from /proc/net/udp (no datagram is sent and
/// the port is never taken from the backend).
pub fn udp_bound(ip: Ipv4Addr, port: u16) -> bool {
    // /proc/net/udp writes the address as the in-memory u32 in hex, i.e. native byte order.
    let want = format!("{:08X}:{port:04X}", u32::from_ne_bytes(ip.octets()));
    std::fs::read_to_string("/proc/net/udp")
        .map(|t| {
            t.lines()
                .skip(1)
                .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_paths_under_a_mount_point_at_the_pod_directory() {
        let mounts = vec![(
            "/etc/secret-volume".to_string(),
            PathBuf::from("/w/p/secret-volume"),
        )];
        assert_eq!(
            rewrite_path("/etc/secret-volume/crt", &mounts),
            "/w/p/secret-volume/crt"
        );
        assert_eq!(
            rewrite_path("/etc/secret-volumex", &mounts),
            "/etc/secret-volumex"
        );
        assert_eq!(rewrite_path("1", &mounts), "1");
    }

    #[test]
    fn secret_items_are_decoded_and_renamed() {
        let mut objects = BTreeMap::new();
        objects.insert(
            ("Secret".to_string(), "ns".to_string(), "s".to_string()),
            json!({"data": {"tls.crt": "Y2VydA=="}, "stringData": {"tls.key": "key"}}),
        );
        let vol = json!({"name": "v", "secret": {"secretName": "s", "items": [
            {"key": "tls.crt", "path": "crt"}, {"key": "tls.key", "path": "key"}]}});
        let files = volume_source(&objects, "ns", &vol).unwrap();
        assert_eq!(
            files,
            vec![
                ("crt".to_string(), b"cert".to_vec()),
                ("key".to_string(), b"key".to_vec())
            ]
        );
    }

    #[test]
    fn pods_wait_for_mounted_sources_only() {
        let spec = json!({
            "containers": [{"image": "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
                            "volumeMounts": [{"name": "a", "mountPath": "/a"}]}],
            "volumes": [{"name": "a", "secret": {"secretName": "s"}},
                        {"name": "b", "configMap": {"name": "unmounted"}}],
        });
        let mut objects = BTreeMap::new();
        let s = ("Secret".to_string(), "ns".to_string(), "s".to_string());
        assert_eq!(missing_sources(&spec, "ns", &objects), vec![s.clone()]);
        objects.insert(s, json!({}));
        assert!(missing_sources(&spec, "ns", &objects).is_empty());
    }

    #[test]
    fn modes_follow_echo_basic_order_and_defaults() {
        let env: BTreeMap<String, String> = [("TCP_ECHO_SERVER", "1"), ("UDP_ECHO_SERVER", "1")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(mode_of(&env), Mode::Tcp);
        assert_eq!(probes(Mode::Tcp, &env), vec![Probe::Tcp(3000)]);
        assert_eq!(probes(Mode::Udp, &env), vec![Probe::Udp(8080)]);
    }

    #[test]
    fn udp_bound_sees_a_bound_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        assert!(udp_bound(Ipv4Addr::LOCALHOST, port));
        drop(s);
        assert!(!udp_bound(Ipv4Addr::LOCALHOST, port));
    }
}
