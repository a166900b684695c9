//! Optional mutual TLS for the xDS server, and loopback defaults for everything that listens.
//!
//! Certificates are generated here with rcgen: a CA, a server certificate for 127.0.0.1 and
//! localhost, a client certificate signed by the CA, and a client certificate of another CA.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use gatewright::xds::type_urls;
use gatewright_controller::serve::XdsTlsOptions;
use gatewright_controller::xds_server::{EncodedResource, GatewaySnapshot, Snapshots, XdsServer};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};
use support::*;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

const GATEWAY: &str = "default/gw";

/// PEM files of one test PKI.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read pem")
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("ca")
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    server: bool,
    dir: &Path,
    stem: &str,
) {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate().expect("key");
    let cert = p.signed_by(&key, issuer).expect("sign");
    std::fs::write(dir.join(format!("{stem}.crt")), cert.pem()).expect("write cert");
    std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).expect("write key");
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca1 = ca("gatewright test CA");
    std::fs::write(dir.path().join("ca.crt"), ca1.pem()).expect("write ca");
    leaf(&ca1, "xds-server", true, dir.path(), "server");
    leaf(&ca1, "envoy", false, dir.path(), "client");
    let other = ca("another CA");
    leaf(&other, "intruder", false, dir.path(), "intruder");
    Pki { dir }
}

fn snapshot() -> Snapshots {
    let mut clusters = std::collections::BTreeMap::new();
    clusters.insert(
        "default/svc/80".into(),
        EncodedResource {
            bytes: Arc::new(vec![1, 2, 3]),
            version: "1".into(),
        },
    );
    let mut resources = std::collections::BTreeMap::new();
    resources.insert(type_urls::CLUSTER, clusters);
    Snapshots::from([(
        GATEWAY.to_string(),
        Arc::new(GatewaySnapshot {
            generation: 1,
            resources,
        }),
    )])
}

async fn start_tls(pki: &Pki) -> std::net::SocketAddr {
    let tls = XdsTlsOptions {
        cert: pki.path("server.crt"),
        key: pki.path("server.key"),
        client_ca: Some(pki.path("ca.crt")),
        ..Default::default()
    };
    let (server, mut events) = XdsServer::new();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    server.publish(snapshot());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = tls.server_config().expect("server TLS config");
    tokio::spawn(async move { server.serve(listener, Some(config)).await });
    addr
}

/// Connects with the given client identity (or none) and asks for the clusters.
async fn fetch(
    addr: std::net::SocketAddr,
    pki: &Pki,
    identity: Option<&str>,
) -> Result<usize, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.read("ca.crt")))
        .domain_name("localhost");
    if let Some(stem) = identity {
        tls = tls.identity(Identity::from_pem(
            pki.read(&format!("{stem}.crt")),
            pki.read(&format!("{stem}.key")),
        ));
    }
    let attempt = async {
        let ch = Endpoint::from_shared(format!("https://{addr}"))
            .map_err(|e| e.to_string())?
            .tls_config(tls)
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("connect: {e:?}"))?;
        let req = DiscoveryRequest {
            node: Some(Node {
                id: GATEWAY.into(),
                ..Default::default()
            }),
            type_url: type_urls::CLUSTER.into(),
            ..Default::default()
        };
        let mut stream = AggregatedDiscoveryServiceClient::new(ch)
            .stream_aggregated_resources(tokio_stream::iter(vec![req]))
            .await
            .map_err(|e| format!("stream: {e}"))?
            .into_inner();
        match stream.message().await {
            Ok(Some(r)) => Ok(r.resources.len()),
            Ok(None) => Err("stream ended".to_string()),
            Err(e) => Err(format!("response: {e}")),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .map_err(|_| "timed out".to_string())?
}

#[tokio::test]
async fn mtls_admits_a_ca_signed_client_and_refuses_others() {
    let pki = pki();
    let addr = start_tls(&pki).await;
    assert_eq!(
        fetch(addr, &pki, Some("client")).await,
        Ok(1),
        "a client with a certificate of the client CA gets its clusters"
    );
    let without = fetch(addr, &pki, None).await;
    assert!(
        without.is_err(),
        "a client without a certificate got {without:?}"
    );
    let intruder = fetch(addr, &pki, Some("intruder")).await;
    assert!(
        intruder.is_err(),
        "a client with a certificate of another CA got {intruder:?}"
    );
    // Plain text to a TLS server gets nothing either.
    let plain = async {
        let ch = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        let req = DiscoveryRequest {
            node: Some(Node {
                id: GATEWAY.into(),
                ..Default::default()
            }),
            type_url: type_urls::CLUSTER.into(),
            ..Default::default()
        };
        AggregatedDiscoveryServiceClient::new(ch)
            .stream_aggregated_resources(tokio_stream::iter(vec![req]))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let plain = tokio::time::timeout(Duration::from_secs(10), plain)
        .await
        .unwrap_or(Err("timed out".into()));
    assert!(plain.is_err(), "a plain-text client was served");
}

#[test]
fn tls_settings_that_cannot_work_are_refused() {
    let pki = pki();
    let tls = XdsTlsOptions {
        cert: pki.path("server.crt"),
        key: pki.path("server.key"),
        client_ca: Some(pki.path("ca.crt")),
        ..Default::default()
    };
    let e = tls.envoy_files().expect_err("no Envoy certificate");
    assert!(e.to_string().contains("--xds-envoy-cert"), "{e}");
    let missing = XdsTlsOptions {
        cert: pki.path("nope.crt"),
        ..tls.clone()
    };
    assert!(missing.server_config().is_err());
    let files = XdsTlsOptions {
        envoy_cert: Some(pki.path("client.crt")),
        envoy_key: Some(pki.path("client.key")),
        ..tls
    }
    .envoy_files()
    .expect("Envoy files");
    assert!(Path::new(&files.cert_file).is_absolute());
    assert!(
        files.ca_file.ends_with("ca.crt"),
        "server CA defaults to the client CA"
    );
}

/// `gatewright serve --help` shows loopback defaults for the xDS and admin (status, metrics) addresses.
#[test]
fn serve_listens_on_loopback_unless_told_otherwise() {
    let out = std::process::Command::new(gatewright())
        .args(["serve", "--help"])
        .output()
        .expect("run gatewright serve --help");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--xds-address", "--admin-address"] {
        let section = help
            .split(flag)
            .nth(1)
            .unwrap_or_else(|| panic!("{flag} missing from --help:\n{help}"));
        let default = section
            .split("[default: ")
            .nth(1)
            .and_then(|s| s.split(']').next())
            .unwrap_or_else(|| panic!("{flag} has no default"));
        let addr: std::net::SocketAddr = default.parse().expect("default is an address");
        assert!(
            addr.ip().is_loopback(),
            "{flag} defaults to {addr}, not loopback"
        );
    }
    // Envoy's own admin interface, in every bootstrap the controller writes, is loopback too.
    let b = gatewright::xds::bootstrap::ads_bootstrap(
        GATEWAY,
        "127.0.0.1",
        18000,
        false,
        &Default::default(),
    );
    let json = gatewright::xds::render::to_json(&b).expect("render");
    assert_eq!(
        json["admin"]["address"]["socket_address"]["address"], "127.0.0.1",
        "{json}"
    );
}

/// Whether the controller's status says Envoy acknowledged the Gateway's configuration.
fn acknowledged(admin: u16) -> bool {
    status(admin)["status"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["kind"] == "Gateway").cloned())
        .and_then(|g| g["status"]["conditions"].as_array().cloned())
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "Programmed"
                    && c["status"] == "True"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("Envoy acknowledged"))
            })
        })
}

fn serve_with_mtls(pki: &Pki, envoy_identity: &str) -> (Proc, Proc, tempfile::TempDir, u16, u16) {
    let (listener, echo_port, xds, admin) = (free_port(), free_port(), free_port(), free_port());
    let echo = start_echo(echo_port, "httpbin-tls");
    let dir = quickstart_dir(listener, echo_port);
    let arg = |name: &str| pki.path(name).to_string_lossy().into_owned();
    let serve = start_serve(
        dir.path(),
        xds,
        admin,
        &[
            "--xds-tls-cert",
            &arg("server.crt"),
            "--xds-tls-key",
            &arg("server.key"),
            "--xds-client-ca",
            &arg("ca.crt"),
            "--xds-envoy-cert",
            &arg(&format!("{envoy_identity}.crt")),
            "--xds-envoy-key",
            &arg(&format!("{envoy_identity}.key")),
        ],
    );
    (echo, serve, dir, listener, admin)
}

/// Real Envoy, started by `gatewright serve` with mutual TLS on xDS, gets its config and serves traffic.
#[test]
fn envoy_fetches_over_mtls_from_gatewright_serve() {
    let pki = pki();
    let (_echo, _serve, _dir, listener, admin) = serve_with_mtls(&pki, "client");
    wait_until(Duration::from_secs(30), || acknowledged(admin));
    wait_until(Duration::from_secs(30), || {
        get(listener, "www.example.com", "/headers").is_ok_and(|r| r.status == 200)
    });
}

/// An Envoy whose certificate is not of the client CA gets nothing.
#[test]
fn envoy_with_a_foreign_certificate_gets_no_config() {
    let pki = pki();
    let (_echo, _serve, _dir, listener, admin) = serve_with_mtls(&pki, "intruder");
    // The controller is up and has translated (its status is served) ...
    wait_until(Duration::from_secs(30), || !status(admin).is_null());
    // ... but Envoy never gets a configuration.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !acknowledged(admin),
        "Envoy with a foreign certificate was served"
    );
    assert!(get(listener, "www.example.com", "/headers").is_err());
}
