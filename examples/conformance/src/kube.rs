//! The "cluster": an object store written as one manifest file per object into the directory
//! `gatewright serve` watches, the applier rewrites of the upstream suite, the TLS material
//! it generates, and echo backends run as local processes with EndpointSlices pointing at them.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The GatewayClass the suite runs against.
pub const CLASS: &str = "gatewright-conformance";

/// Kind, namespace ("" when cluster-scoped) and name.
pub type Key = (String, String, String);

/// The key of an object.
pub fn key_of(v: &Value) -> Key {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}

/// Splits `ns/name` (or a bare cluster-scoped name).
pub fn split_ref(r: &str) -> (String, String) {
    match r.split_once('/') {
        Some((ns, n)) => (ns.to_string(), n.to_string()),
        None => (String::new(), r.to_string()),
    }
}

/// Parses a multi-document YAML file into objects (documents that are not objects are dropped).
pub fn parse_yaml(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut doc = String::new();
    let mut flush = |doc: &mut String| -> Result<(), String> {
        if !doc.trim().is_empty() {
            let v: Value = serde_saphyr::from_str(doc).map_err(|e| e.to_string())?;
            if v.is_object() {
                out.push(v);
            }
        }
        doc.clear();
        Ok(())
    };
    for line in text.lines() {
        if line.starts_with("---") {
            flush(&mut doc)?;
        } else {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    flush(&mut doc)?;
    Ok(out)
}

/// The current time, RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    // Seconds since the epoch as RFC 3339 (UTC), without a date library.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Makes a child get SIGTERM when the harness dies, however it dies, so no echo pod or
/// controller (and through it no Envoy) outlives a killed run.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
}

/// How readiness is told for one listener of a pod process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connect succeeds.
    Tcp(u16),
    /// The UDP port is bound (as /proc/net/udp lists it), so probing sends no datagram the
    /// backend would log or answer.
    Udp(u16),
}

/// A running pod: one process per echo-basic or CoreDNS container.
pub struct Pod {
    /// Pod name, `<deployment>-<hash>-<hash>`.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Its labels (the Deployment's pod template labels).
    pub labels: BTreeMap<String, String>,
    /// Its loopback address.
    pub ip: Ipv4Addr,
    /// The Deployment it belongs to (`ns/name`).
    pub deployment: String,
    /// What must answer before the pod counts as ready (empty: nothing runs).
    pub probes: Vec<Probe>,
    /// The processes, one per container we run.
    pub children: Vec<Child>,
    /// Mounted Secrets and ConfigMaps that do not exist yet: the pod has not started.
    pub waiting_for: Vec<Key>,
}

impl Drop for Pod {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The objects, the watched directory, and the pods.
pub struct Cluster {
    /// The watched directory.
    pub dir: PathBuf,
    /// Where pod logs go.
    pub logs: PathBuf,
    /// Every object, as the API server would hold it.
    pub objects: BTreeMap<Key, Value>,
    /// Running pods by name.
    pub pods: BTreeMap<String, Pod>,
    /// The echo binary.
    pub echo: PathBuf,
    /// The controller name of our GatewayClass.
    pub controller_name: String,
    /// The suite's `UsableNetworkAddresses` pool: addresses the implementation can give a
    /// Gateway (GatewayStaticAddresses), as `spec.addresses` entries.
    pub usable_addresses: Vec<Value>,
    /// The suite's `UnusableNetworkAddresses` pool.
    pub unusable_addresses: Vec<Value>,
    /// Each Gateway's `spec.addresses` as the applier wrote it from its manifest.
    pub original_addresses: BTreeMap<Key, Value>,
    next_ip: u32,
}

fn file_name(k: &Key) -> String {
    let clean = |s: &str| s.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    format!(
        "{}.{}.{}.yaml",
        k.0.to_lowercase(),
        if k.1.is_empty() { "_" } else { &k.1 },
        clean(&k.2)
    )
}

fn short_hash(s: &str, len: usize) -> String {
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut out = String::new();
    for _ in 0..len {
        out.push(ALPHA[(h % ALPHA.len() as u64) as usize] as char);
        h /= ALPHA.len() as u64;
        if h == 0 {
            h = 0x9e37_79b9_7f4a_7c15;
        }
    }
    out
}

impl Cluster {
    /// An empty cluster writing into `dir`.
    pub fn new(dir: PathBuf, logs: PathBuf, echo: PathBuf, controller_name: String) -> Self {
        Cluster {
            dir,
            logs,
            objects: BTreeMap::new(),
            pods: BTreeMap::new(),
            echo,
            controller_name,
            usable_addresses: Vec::new(),
            unusable_addresses: Vec::new(),
            original_addresses: BTreeMap::new(),
            next_ip: 0,
        }
    }

    fn write(&self, k: &Key, v: &Value) {
        let name = file_name(k);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let text = serde_json::to_string_pretty(v).unwrap_or_default();
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, self.dir.join(name));
        }
    }

    /// The applier's `spec.addresses` replacement (BASE.md §1): the fake-invalid entries, then
    /// the unusable pool if a placeholder asks for it, then the usable pool; pool entries
    /// without a type become `IPAddress`.
    fn addresses(&self, addrs: &[Value]) -> Vec<Value> {
        let has = |placeholder: &str| {
            addrs
                .iter()
                .any(|a| a.get("value").and_then(Value::as_str) == Some(placeholder))
        };
        let typed = |pool: &[Value]| -> Vec<Value> {
            pool.iter()
                .map(|a| {
                    let mut a = a.clone();
                    if a.get("type").is_none_or(Value::is_null) {
                        a["type"] = json!("IPAddress");
                    }
                    a
                })
                .collect()
        };
        let mut out: Vec<Value> = addrs
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) == Some("test/fake-invalid-type"))
            .cloned()
            .collect();
        if has("PLACEHOLDER_UNUSABLE_ADDRS") {
            out.extend(typed(&self.unusable_addresses));
        }
        if has("PLACEHOLDER_USABLE_ADDRS") {
            out.extend(typed(&self.usable_addresses));
        }
        out
    }

    /// The applier's rewrites (BASE.md §1).
    fn rewrite(&self, v: &mut Value) {
        match v.get("kind").and_then(Value::as_str) {
            Some("Gateway") => {
                v["spec"]["gatewayClassName"] = json!(CLASS);
                if let Some(addrs) = v.pointer("/spec/addresses").and_then(Value::as_array) {
                    if !addrs.is_empty() {
                        let kept = self.addresses(addrs);
                        if kept.is_empty() {
                            if let Some(spec) = v["spec"].as_object_mut() {
                                spec.remove("addresses");
                            }
                        } else {
                            v["spec"]["addresses"] = json!(kept);
                        }
                    }
                }
            }
            Some("GatewayClass") => {
                v["spec"]["controllerName"] = json!(self.controller_name);
            }
            _ => {}
        }
    }

    /// Creates or updates an object: generation bumps when `spec` changes, as the API server does.
    pub fn apply(&mut self, mut v: Value) {
        self.rewrite(&mut v);
        if v.get("kind").and_then(Value::as_str) == Some("Gateway") {
            if let Some(a) = v.pointer("/spec/addresses") {
                self.original_addresses.insert(key_of(&v), a.clone());
            }
        }
        self.store(v);
    }

    /// Stores a changed object as a patch does, without the applier's rewrites: they apply
    /// to manifests only.
    pub fn store(&mut self, mut v: Value) {
        let k = key_of(&v);
        if k.0 == "Deployment" {
            self.objects.insert(k.clone(), v.clone());
            self.start_deployment(&v);
            self.sync_endpoints();
            return;
        }
        let (generation, created) = match self.objects.get(&k) {
            Some(old) => {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let created = old
                    .pointer("/metadata/creationTimestamp")
                    .cloned()
                    .unwrap_or(json!(now_rfc3339()));
                (
                    if old.get("spec") != v.get("spec") {
                        g + 1
                    } else {
                        g
                    },
                    created,
                )
            }
            None => (1, json!(now_rfc3339())),
        };
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("generation".into(), json!(generation));
            m.insert("creationTimestamp".into(), created);
        }
        self.write(&k, &v);
        let is_service = k.0 == "Service";
        self.objects.insert(k.clone(), v);
        if is_service {
            self.sync_endpoints();
        }
        self.start_waiting_pods(&k);
    }

    /// Starts the Deployments whose pods waited for the object `k` (a mounted Secret or
    /// ConfigMap that has just been created).
    fn start_waiting_pods(&mut self, k: &Key) {
        let deps: std::collections::BTreeSet<String> = self
            .pods
            .values()
            .filter(|p| p.waiting_for.contains(k))
            .map(|p| p.deployment.clone())
            .collect();
        if deps.is_empty() {
            return;
        }
        for dep in deps {
            let (ns, name) = split_ref(&dep);
            let key = ("Deployment".to_string(), ns, name);
            if let Some(d) = self.objects.get(&key).cloned() {
                self.start_deployment(&d);
            }
        }
        self.sync_endpoints();
    }

    /// Deletes an object (and the pods of a Deployment).
    pub fn delete(&mut self, k: &Key) {
        if self.objects.remove(k).is_none() {
            return;
        }
        if k.0 == "Deployment" {
            let dep = format!("{}/{}", k.1, k.2);
            self.pods.retain(|_, p| p.deployment != dep);
            self.sync_endpoints();
            return;
        }
        let _ = std::fs::remove_file(self.dir.join(file_name(k)));
        if k.0 == "Service" {
            let slice = (
                "EndpointSlice".to_string(),
                k.1.clone(),
                format!("{}-harness", k.2),
            );
            self.delete(&slice);
        }
    }

    /// An object by kind and `ns/name`.
    pub fn get(&self, kind: &str, r: &str) -> Option<&Value> {
        let (ns, n) = split_ref(r);
        self.objects.get(&(kind.to_string(), ns, n))
    }

    fn alloc_ip(&mut self) -> Ipv4Addr {
        self.next_ip += 1;
        let n = self.next_ip;
        Ipv4Addr::new(
            127,
            200 + (n / 250 / 250) as u8,
            (n / 250 % 250) as u8,
            (n % 250 + 1) as u8,
        )
    }

    /// Replaces the pods of a Deployment: one process per echo-basic or CoreDNS container
    /// (see `pods`), each on its own loopback address.
    fn start_deployment(&mut self, d: &Value) {
        let (_, ns, name) = key_of(d);
        let dep = format!("{ns}/{name}");
        self.pods.retain(|_, p| p.deployment != dep);
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let labels: BTreeMap<String, String> = d
            .pointer("/spec/template/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let spec = d
            .pointer("/spec/template/spec")
            .cloned()
            .unwrap_or(json!({}));
        let rs = short_hash(&format!("{dep}/rs"), 10);
        let pods_dir = self.logs.parent().unwrap_or(&self.logs).join("pods");
        for i in 0..replicas {
            let pod = format!("{name}-{rs}-{}", short_hash(&format!("{dep}/{i}"), 5));
            let ip = self.alloc_ip();
            let waiting_for = crate::pods::missing_sources(&spec, &ns, &self.objects);
            let env = crate::pods::PodEnv {
                name: &pod,
                namespace: &ns,
                ip,
                spec: &spec,
                objects: &self.objects,
                echo: &self.echo,
                dir: pods_dir.join(format!("{ns}.{pod}")),
                logs: &self.logs,
            };
            let (children, probes) = if waiting_for.is_empty() {
                crate::pods::start(&env)
            } else {
                (Vec::new(), Vec::new())
            };
            self.pods.insert(
                pod.clone(),
                Pod {
                    name: pod,
                    namespace: ns.clone(),
                    labels: labels.clone(),
                    ip,
                    deployment: dep.clone(),
                    probes,
                    children,
                    waiting_for: waiting_for.clone(),
                },
            );
        }
    }

    /// Waits until every pod process listens on all its ports.
    pub fn wait_pods_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        for p in self.pods.values() {
            if !p.waiting_for.is_empty() {
                eprintln!(
                    "pod {}/{} waits for {:?}",
                    p.namespace, p.name, p.waiting_for
                );
                return false;
            }
            for probe in &p.probes {
                let ready = || match *probe {
                    Probe::Tcp(port) => {
                        TcpStream::connect_timeout(&(p.ip, port).into(), Duration::from_millis(200))
                            .is_ok()
                    }
                    Probe::Udp(port) => crate::pods::udp_bound(p.ip, port),
                };
                while !ready() {
                    if Instant::now() > deadline {
                        eprintln!("pod {}/{} not ready: {probe:?}", p.namespace, p.name);
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        true
    }

    /// The pods of a Deployment `ns/name`.
    pub fn pods_of(&self, dep: &str) -> Vec<&Pod> {
        self.pods.values().filter(|p| p.deployment == dep).collect()
    }

    /// Writes one EndpointSlice per selector Service, listing the pods it selects.
    pub fn sync_endpoints(&mut self) {
        let services: Vec<Value> = self
            .objects
            .iter()
            .filter(|(k, _)| k.0 == "Service")
            .map(|(_, v)| v.clone())
            .collect();
        for svc in services {
            let (_, ns, name) = key_of(&svc);
            let Some(sel) = svc.pointer("/spec/selector").and_then(Value::as_object) else {
                continue;
            };
            let pods: Vec<&Pod> = self
                .pods
                .values()
                .filter(|p| {
                    p.namespace == ns
                        && p.waiting_for.is_empty()
                        && sel
                            .iter()
                            .all(|(k, v)| p.labels.get(k).map(String::as_str) == v.as_str())
                })
                .collect();
            let ports: Vec<Value> = svc
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let target = p
                        .get("targetPort")
                        .and_then(Value::as_u64)
                        .or_else(|| p.get("port").and_then(Value::as_u64))
                        .unwrap_or(0);
                    let mut e = json!({
                        "port": target,
                        "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP")),
                    });
                    if let Some(n) = p.get("name") {
                        e["name"] = n.clone();
                    }
                    if let Some(a) = p.get("appProtocol") {
                        e["appProtocol"] = a.clone();
                    }
                    e
                })
                .collect();
            let endpoints: Vec<Value> = pods
                .iter()
                .map(|p| {
                    json!({
                        "addresses": [p.ip.to_string()],
                        "conditions": {"ready": true, "serving": true, "terminating": false},
                        "targetRef": {"kind": "Pod", "name": p.name, "namespace": p.namespace},
                    })
                })
                .collect();
            let slice = json!({
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": format!("{name}-harness"),
                    "namespace": ns,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": ports,
                "endpoints": endpoints,
            });
            let k = key_of(&slice);
            if self.objects.get(&k) != Some(&slice) {
                self.write(&k, &slice);
                self.objects.insert(k, slice);
            }
        }
    }
}

/// A generated certificate: PEM certificate and key.
pub struct Cert {
    /// PEM certificate.
    pub cert: String,
    /// PEM private key.
    pub key: String,
}

fn leaf_params(hosts: &[&str], client: bool) -> Result<rcgen::CertificateParams, rcgen::Error> {
    let mut p = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, "default");
    dn.push(rcgen::DnType::OrganizationName, "Acme Co");
    p.distinguished_name = dn;
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![if client {
        rcgen::ExtendedKeyUsagePurpose::ClientAuth
    } else {
        rcgen::ExtendedKeyUsagePurpose::ServerAuth
    }];
    for h in hosts {
        let san = if let Ok(ip) = h.parse::<std::net::IpAddr>() {
            rcgen::SanType::IpAddress(ip)
        } else if h.contains("://") || *h == "*" {
            rcgen::SanType::URI(rcgen::string::Ia5String::try_from(h.to_string())?)
        } else {
            rcgen::SanType::DnsName(rcgen::string::Ia5String::try_from(h.to_string())?)
        };
        p.subject_alt_names.push(san);
    }
    Ok(p)
}

/// A self-signed leaf (BASE.md: the suite's `certificate` and `tls-validity-checks-certificate`).
/// Keys are ECDSA P-256 rather than the suite's RSA 2048 (ring generates no RSA keys); nothing
/// the tests observe depends on the key type.
pub fn self_signed(hosts: &[&str]) -> Result<Cert, rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let cert = leaf_params(hosts, false)?.self_signed(&key)?;
    Ok(Cert {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A CA and the signer of leaves.
pub struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
    params: rcgen::CertificateParams,
}

impl Ca {
    /// A fresh self-signed CA (`CN=gatewayapi`).
    pub fn new() -> Result<Ca, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let mut p = rcgen::CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "gatewayapi");
        dn.push(rcgen::DnType::OrganizationName, "Kubernetes Gateway API");
        dn.push(rcgen::DnType::CountryName, "US");
        p.distinguished_name = dn;
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = p.clone().self_signed(&key)?;
        Ok(Ca {
            cert,
            key,
            params: p,
        })
    }

    /// The CA certificate and key as PEM.
    pub fn pem(&self) -> Cert {
        Cert {
            cert: self.cert.pem(),
            key: self.key.serialize_pem(),
        }
    }

    /// A leaf signed by this CA.
    pub fn sign(&self, hosts: &[&str], client: bool) -> Result<Cert, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = leaf_params(hosts, client)?.signed_by(&key, &issuer)?;
        Ok(Cert {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// A `kubernetes.io/tls` Secret holding `c`.
pub fn tls_secret(r: &str, c: &Cert) -> Value {
    let (ns, name) = split_ref(r);
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"namespace": ns, "name": name},
        "stringData": {"tls.crt": c.cert, "tls.key": c.key},
    })
}

/// A ConfigMap holding a CA as `ca.crt` and `key.crt`.
pub fn ca_configmap(r: &str, c: &Cert) -> Value {
    let (ns, name) = split_ref(r);
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"namespace": ns, "name": name},
        "data": {"ca.crt": c.cert, "key.crt": c.key},
    })
}

/// The TLS objects `suite.Setup` generates (BASE.md §3), in creation order.
pub fn generated_tls() -> Result<Vec<Value>, rcgen::Error> {
    let mut out = vec![
        tls_secret(
            "gateway-conformance-web-backend/certificate",
            &self_signed(&["*"])?,
        ),
        tls_secret(
            "gateway-conformance-infra/tls-validity-checks-certificate",
            &self_signed(&["*", "*.org", "*.wildcard.org"])?,
        ),
    ];
    let a = Ca::new()?;
    out.push(ca_configmap(
        "gateway-conformance-web-backend/web-backend-cm",
        &a.pem(),
    ));
    let b = Ca::new()?;
    out.push(ca_configmap(
        "gateway-conformance-infra/tls-validity-checks-ca-certificate",
        &b.pem(),
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-validity-checks-client-certificate",
        &b.sign(&[], true)?,
    ));
    let c = Ca::new()?;
    out.push(ca_configmap(
        "gateway-conformance-infra/tls-validity-checks-per-port-ca-certificate",
        &c.pem(),
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-validity-checks-per-port-client-certificate",
        &c.sign(&[], true)?,
    ));
    let d = Ca::new()?;
    out.push(ca_configmap(
        "gateway-conformance-infra/tls-checks-ca-certificate",
        &d.pem(),
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-checks-certificate",
        &d.sign(
            &[
                "abc.example.com",
                "spiffe://abc.example.com/test-identity",
                "other.example.com",
            ],
            false,
        )?,
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-checks-client-certificate",
        &d.sign(&[], true)?,
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-passthrough-checks-certificate",
        &d.sign(&["abc.example.com"], false)?,
    ));
    out.push(tls_secret(
        "gateway-conformance-app-backend/tls-passthrough-checks-certificate",
        &d.sign(&["abc.example.com"], false)?,
    ));
    out.push(tls_secret(
        "gateway-conformance-infra/tls-terminate-checks-certificate",
        &d.sign(&["tls.example.com"], false)?,
    ));
    let e = Ca::new()?;
    out.push(ca_configmap(
        "gateway-conformance-infra/mismatch-ca-certificate",
        &e.pem(),
    ));
    Ok(out)
}

/// The `tls.crt` of a Secret, or the `ca.crt` of a ConfigMap, as the cluster holds it.
pub fn pem_of(c: &Cluster, kind: &str, r: &str, key: &str) -> Option<String> {
    let v = c.get(kind, r)?;
    v.get("stringData")
        .or_else(|| v.get("data"))
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The trust anchors for a client told to trust the `tls.crt` of Secret `secret`: that
/// certificate, plus the CA (a ConfigMap `ca.crt` in the cluster) that issued it when it is a
/// CA-signed leaf. Go accepts a leaf that is itself in its root pool; WebPKI does not, so the
/// issuing CA is trusted as well (BASE.md, "Tests that trust a leaf certificate directly").
pub fn server_trust_pem(c: &Cluster, secret: &str) -> Option<String> {
    let leaf = pem_of(c, "Secret", secret, "tls.crt")?;
    let issuer = c
        .objects
        .iter()
        .filter(|(k, _)| k.0 == "ConfigMap")
        .filter_map(|(k, _)| pem_of(c, "ConfigMap", &format!("{}/{}", k.1, k.2), "ca.crt"))
        .find(|ca| issued_by(&leaf, ca));
    Some(match issuer {
        Some(ca) if !issued_by(&leaf, &leaf) => format!("{leaf}\n{ca}"),
        _ => leaf,
    })
}

/// Whether the first certificate of `leaf_pem` chains to `ca_pem` (names aside).
fn issued_by(leaf_pem: &str, ca_pem: &str) -> bool {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    let Some(Ok(leaf)) = CertificateDer::pem_slice_iter(leaf_pem.as_bytes()).next() else {
        return false;
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return false;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let Ok(v) =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider).build()
    else {
        return false;
    };
    let name = ServerName::from(std::net::Ipv4Addr::new(192, 0, 2, 1));
    match v.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now()) {
        Ok(_) => true,
        // The chain verified; only the (arbitrary) name did not match.
        Err(rustls::Error::InvalidCertificate(e)) => matches!(
            e,
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        ),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_signed_leaf_is_trusted_through_its_issuer() {
        let mut c = Cluster::new(
            PathBuf::from("/nonexistent"),
            PathBuf::from("/nonexistent"),
            PathBuf::from("echo"),
            "x".into(),
        );
        let ca = Ca::new().unwrap();
        let other = Ca::new().unwrap();
        let leaf = ca.sign(&["abc.example.com"], false).unwrap();
        c.objects.insert(
            ("Secret".into(), "ns".into(), "leaf".into()),
            tls_secret("ns/leaf", &leaf),
        );
        for (name, x) in [("a-other", &other), ("b-ca", &ca)] {
            c.objects.insert(
                ("ConfigMap".into(), "ns".into(), name.into()),
                ca_configmap(&format!("ns/{name}"), &x.pem()),
            );
        }
        let pem = server_trust_pem(&c, "ns/leaf").unwrap();
        assert!(pem.starts_with(&leaf.cert));
        assert!(pem.contains(&ca.pem().cert));
        assert!(!pem.contains(&other.pem().cert));
        let own = self_signed(&["*"]).unwrap();
        c.objects.insert(
            ("Secret".into(), "ns".into(), "self".into()),
            tls_secret("ns/self", &own),
        );
        assert_eq!(server_trust_pem(&c, "ns/self").unwrap(), own.cert);
    }
}
