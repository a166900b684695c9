//! A configuration Envoy rejects: forced through the extension hook, reported in status and
//! metrics, and not re-sent in a loop.

mod support;

use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::listener::v3::{filter, Filter, FilterChain, Listener};
use envoy_types::pb::google::protobuf::Any;
use gatewright::xds::GatewayResources;
use gatewright_controller::extension::Extension;
use gatewright_controller::serve::{serve, ServeOptions};
use support::*;

/// Adds a listener whose filter has a type Envoy has never heard of.
struct Poison;

impl Extension for Poison {
    fn post_process(&self, _gateway: &str, resources: &mut GatewayResources) {
        let mut bad = resources.listeners[0].clone();
        bad.name = "poisoned".into();
        bad.filter_chains = vec![FilterChain {
            filters: vec![Filter {
                name: "not.a.filter".into(),
                config_type: Some(filter::ConfigType::TypedConfig(Any {
                    type_url: "type.googleapis.com/gatewright.test.DoesNotExist".into(),
                    value: Vec::new(),
                })),
            }],
            ..Default::default()
        }];
        let _: &Listener = &bad;
        resources.listeners.push(bad);
    }
}

fn metric(admin: u16, name: &str) -> f64 {
    get(admin, "127.0.0.1", "/metrics")
        .map(|r| {
            r.body
                .lines()
                .filter(|l| l.starts_with(name))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0)
}

#[test]
fn a_rejected_config_shows_in_status_and_metrics_and_is_not_resent() {
    let (listener, echo_port, xds, admin) = (free_port(), free_port(), free_port(), free_port());
    let _echo = start_echo(echo_port, "httpbin-1-a");
    let dir = quickstart_dir(listener, echo_port);
    let opts = ServeOptions {
        config_dir: dir.path().to_path_buf(),
        xds_address: format!("127.0.0.1:{xds}").parse().expect("addr"),
        admin_address: format!("127.0.0.1:{admin}").parse().expect("addr"),
        envoy_path: Some(envoy()),
        controller_name: gatewright::translate::DEFAULT_CONTROLLER_NAME.into(),
        listen_address: "0.0.0.0".into(),
        debounce: Duration::from_millis(20),
        extension: Some(Arc::new(Poison)),
        envoy_log_level: "error".into(),
        delta: false,
        xds_tls: None,
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.spawn(async move {
        if let Err(e) = serve(opts).await {
            eprintln!("serve failed: {e}");
        }
    });

    let programmed = || {
        status(admin)["status"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["kind"] == "Gateway").cloned())
            .and_then(|g| {
                g["status"]["conditions"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["type"] == "Programmed").cloned())
            })
            .unwrap_or_default()
    };
    wait_until(Duration::from_secs(20), || {
        programmed()["reason"] == "Invalid"
    });
    let c = programmed();
    assert_eq!(c["status"], "False");
    assert!(
        c["message"]
            .as_str()
            .unwrap_or("")
            .contains("Envoy rejected"),
        "{c}"
    );
    assert!(metric(admin, "gatewright_xds_nacks_total") >= 1.0);

    // No loop: the rejected version is not pushed again while nothing changes.
    let pushes = metric(admin, "gatewright_xds_pushes_total");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(metric(admin, "gatewright_xds_pushes_total"), pushes);
    drop(rt);
}
