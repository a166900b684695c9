//! The xDS server under hostile clients, in process on 127.0.0.1: 1,000 concurrent streams
//! that never read, malformed requests, unknown type URLs, huge resource name lists and
//! oversized messages. Memory stays bounded, a well-behaved proxy keeps getting updates,
//! every stream's task ends when its client goes away, nothing crashes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::BytesValue;
use gatewright::xds::type_urls;
use gatewright_controller::xds_server::{
    EncodedResource, GatewaySnapshot, Snapshots, XdsEvent, XdsServer, MAX_REQUEST_BYTES,
    MAX_RESOURCE_NAMES,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Streaming};

const GATEWAY: &str = "default/gw";

/// A snapshot with `n` clusters of `size` bytes each (opaque to the server), content varying with `generation`.
fn snapshot(generation: u64, n: usize, size: usize) -> Snapshots {
    let mut clusters = BTreeMap::new();
    for i in 0..n {
        let bytes = vec![(generation as u8).wrapping_add(i as u8); size];
        clusters.insert(
            format!("default/svc-{i}/80").into(),
            EncodedResource {
                bytes: Arc::new(bytes),
                version: format!("{generation}-{i}").into(),
            },
        );
    }
    let mut resources = BTreeMap::new();
    resources.insert(type_urls::CLUSTER, clusters);
    Snapshots::from([(
        GATEWAY.to_string(),
        Arc::new(GatewaySnapshot {
            generation,
            resources,
        }),
    )])
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn node(id: &str) -> Option<Node> {
    Some(Node {
        id: id.into(),
        ..Default::default()
    })
}

fn cds(id: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        node: node(id),
        type_url: type_urls::CLUSTER.into(),
        response_nonce: nonce.into(),
        ..Default::default()
    }
}

/// Counts stream events; the controller would do this, here nothing else may grow.
#[derive(Default)]
struct Counters {
    open: AtomicI64,
    pushes: AtomicU64,
}

struct Harness {
    server: XdsServer,
    addr: std::net::SocketAddr,
    counters: Arc<Counters>,
}

async fn start() -> Harness {
    let (server, mut events) = XdsServer::new();
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            match e {
                XdsEvent::Connected { .. } => {
                    c.open.fetch_add(1, Ordering::SeqCst);
                }
                XdsEvent::Disconnected { .. } => {
                    c.open.fetch_sub(1, Ordering::SeqCst);
                }
                XdsEvent::Push { .. } => {
                    c.pushes.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = server.clone();
    tokio::spawn(async move { s.serve(listener, None).await });
    Harness {
        server,
        addr,
        counters,
    }
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// Opens a SotW stream: the request sender (kept to keep the stream open) and the responses.
async fn sotw(
    ch: &Channel,
    first: DiscoveryRequest,
) -> Result<(mpsc::Sender<DiscoveryRequest>, Streaming<DiscoveryResponse>), tonic::Status> {
    let (tx, rx) = mpsc::channel(4);
    tx.send(first).await.expect("queue request");
    let resp = AggregatedDiscoveryServiceClient::new(ch.clone())
        .max_decoding_message_size(64 * 1024 * 1024)
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await?;
    Ok((tx, resp.into_inner()))
}

async fn next<T>(s: &mut Streaming<T>) -> Result<Option<T>, tonic::Status> {
    tokio::time::timeout(Duration::from_secs(20), s.message())
        .await
        .expect("no answer within 20s")
}

/// The status a stream ended with after one request.
async fn refused(ch: &Channel, req: DiscoveryRequest) -> Code {
    match sotw(ch, req).await {
        Err(s) => s.code(),
        Ok((_tx, mut rx)) => match next(&mut rx).await {
            Err(s) => s.code(),
            Ok(m) => panic!("expected the stream to be refused, got {m:?}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_clients_do_not_hurt_the_server_or_other_proxies() {
    let h = start().await;
    // 64 clusters of 1 KiB: each CDS response is about 64 KiB.
    h.server.publish(snapshot(1, 64, 1024));

    // A well-behaved proxy: gets the clusters, ACKs.
    let good_ch = channel(h.addr).await;
    let (good_tx, mut good_rx) = sotw(&good_ch, cds(GATEWAY, "")).await.expect("stream");
    let first = next(&mut good_rx).await.expect("response").expect("open");
    assert_eq!(first.resources.len(), 64);
    good_tx.send(cds(GATEWAY, &first.nonce)).await.expect("ack");

    let rss_before = rss_kib();

    // 1,000 streams over 20 connections that ask for everything and never read a byte.
    let mut hostile = Vec::new();
    for _ in 0..20 {
        let ch = channel(h.addr).await;
        for _ in 0..50 {
            hostile.push(sotw(&ch, cds(GATEWAY, "")).await.expect("hostile stream"));
        }
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while h.counters.open.load(Ordering::SeqCst) < 1001 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("1,001 streams connected");
    // Twenty updates the hostile streams never read: each would be ~64 MiB across them if queued.
    for g in 2..22 {
        h.server.publish(snapshot(g, 64, 1024));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Let every stream's task do what it will with those updates.
    let mut last = u64::MAX;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = h.counters.pushes.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    // Responses are built only when there is room for them: a few per stream that never reads, not one per update.
    let pushes = h.counters.pushes.load(Ordering::SeqCst);
    assert!(
        pushes < 1_000 * 5,
        "{pushes} responses built for 1,000 streams that never read 21 snapshots"
    );

    // The well-behaved proxy still gets the latest snapshot while they are connected.
    let latest = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let r = next(&mut good_rx).await.expect("response").expect("open");
            good_tx.send(cds(GATEWAY, &r.nonce)).await.expect("ack");
            if r.resources.first().is_some_and(|a| a.value[0] == 21) {
                return r;
            }
        }
    })
    .await
    .expect("the well-behaved proxy got the latest snapshot");
    assert_eq!(latest.resources.len(), 64);

    // Malformed and abusive requests on other connections, while all of that is going on.
    let ch = channel(h.addr).await;
    assert_eq!(
        refused(
            &ch,
            DiscoveryRequest {
                type_url: "type.googleapis.com/nope.Nope".into(),
                ..cds(GATEWAY, "")
            }
        )
        .await,
        Code::InvalidArgument,
        "unknown type URL"
    );
    assert_eq!(
        refused(
            &ch,
            DiscoveryRequest {
                node: None,
                ..cds(GATEWAY, "")
            }
        )
        .await,
        Code::InvalidArgument,
        "no node"
    );
    assert_eq!(
        refused(&ch, cds(&"x".repeat(100_000), "")).await,
        Code::InvalidArgument,
        "huge node id"
    );
    let many: Vec<String> = (0..MAX_RESOURCE_NAMES + 1)
        .map(|i| format!("n{i}"))
        .collect();
    assert_eq!(
        refused(
            &ch,
            DiscoveryRequest {
                type_url: type_urls::ENDPOINT.into(),
                resource_names: many.clone(),
                ..cds(GATEWAY, "")
            }
        )
        .await,
        Code::ResourceExhausted,
        "too many names"
    );
    assert_eq!(
        refused(
            &ch,
            DiscoveryRequest {
                type_url: type_urls::ENDPOINT.into(),
                resource_names: vec!["n".repeat(100_000)],
                ..cds(GATEWAY, "")
            }
        )
        .await,
        Code::InvalidArgument,
        "huge name"
    );
    // Larger than the server decodes.
    let huge: Vec<String> = (0..MAX_REQUEST_BYTES / 1000 + 10)
        .map(|i| format!("{i:01000}"))
        .collect();
    let code = refused(
        &ch,
        DiscoveryRequest {
            type_url: type_urls::ENDPOINT.into(),
            resource_names: huge,
            ..cds(GATEWAY, "")
        },
    )
    .await;
    assert!(
        matches!(
            code,
            Code::OutOfRange
                | Code::ResourceExhausted
                | Code::Internal
                | Code::Cancelled
                | Code::Unknown
        ),
        "oversized message: {code:?}"
    );
    // Delta: subscriptions add up over requests; the total is bounded too.
    {
        let (tx, rx) = mpsc::channel(8);
        let mut stream = AggregatedDiscoveryServiceClient::new(ch.clone())
            .delta_aggregated_resources(ReceiverStream::new(rx))
            .await
            .expect("delta stream")
            .into_inner();
        let mut code = None;
        for chunk in many.chunks(MAX_RESOURCE_NAMES / 4) {
            let req = DeltaDiscoveryRequest {
                node: node(GATEWAY),
                type_url: type_urls::ENDPOINT.into(),
                resource_names_subscribe: chunk.to_vec(),
                ..Default::default()
            };
            if tx.send(req).await.is_err() {
                break;
            }
        }
        loop {
            let r: Result<Option<DeltaDiscoveryResponse>, _> = next(&mut stream).await;
            match r {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(s) => {
                    code = Some(s.code());
                    break;
                }
            }
        }
        assert_eq!(
            code,
            Some(Code::ResourceExhausted),
            "accumulated delta subscriptions"
        );
    }
    // Bytes that are not a DiscoveryRequest (field 1 is not UTF-8).
    {
        let mut grpc = tonic::client::Grpc::new(ch.clone());
        grpc.ready().await.expect("ready");
        let (tx, rx) = mpsc::channel(1);
        tx.send(BytesValue {
            value: vec![0xff, 0xfe, 0x00],
        })
        .await
        .expect("queue");
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
        );
        let codec = tonic_prost::ProstCodec::<BytesValue, DiscoveryResponse>::default();
        let res = grpc
            .streaming(tonic::Request::new(ReceiverStream::new(rx)), path, codec)
            .await;
        match res {
            Err(s) => assert_ne!(s.code(), Code::Ok),
            Ok(r) => {
                let mut s = r.into_inner();
                assert!(
                    !matches!(next(&mut s).await, Ok(Some(_))),
                    "garbage got a response"
                );
            }
        }
        drop(tx);
    }

    let rss_during = rss_kib();
    let grown_mib = rss_during.saturating_sub(rss_before) / 1024;
    eprintln!("VmRSS before {rss_before} KiB, with 1,000 hostile streams {rss_during} KiB (+{grown_mib} MiB); {pushes} responses");
    // Queued updates would be 20 × 64 KiB × 1,000 = 1.25 GiB; bounded buffers keep it to a few hundred MiB.
    assert!(
        grown_mib < 512,
        "memory grew by {grown_mib} MiB with 1,000 hostile streams"
    );

    // The hostile clients go away: every stream's task ends, nothing stays behind.
    drop(hostile);
    tokio::time::timeout(Duration::from_secs(30), async {
        while h.counters.open.load(Ordering::SeqCst) > 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{} streams still open after their clients left",
            h.counters.open.load(Ordering::SeqCst)
        )
    });

    // And the server still serves: one more update reaches the well-behaved proxy.
    h.server.publish(snapshot(99, 64, 1024));
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let r = next(&mut good_rx).await.expect("response").expect("open");
            good_tx.send(cds(GATEWAY, &r.nonce)).await.expect("ack");
            if r.resources.first().is_some_and(|a| a.value[0] == 99) {
                break;
            }
        }
    })
    .await
    .expect("update after the hostile clients left");
    assert!(h.counters.pushes.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn repeated_acks_report_once() {
    let (server, mut events) = XdsServer::new();
    server.publish(snapshot(1, 2, 16));
    let mut st = gatewright_controller::xds_server::SotwStream::new(&server);
    let snaps = server.current();
    let r = st.on_request(cds(GATEWAY, ""), &snaps).expect("first");
    assert_eq!(r.len(), 1);
    for _ in 0..1000 {
        assert!(st
            .on_request(cds(GATEWAY, &r[0].nonce), &snaps)
            .expect("ack")
            .is_empty());
    }
    let mut acks = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e, XdsEvent::Ack { .. }) {
            acks += 1;
        }
    }
    assert_eq!(acks, 1, "a replayed ACK is reported once");
}

#[tokio::test]
async fn nack_messages_are_cut() {
    let (server, mut events) = XdsServer::new();
    server.publish(snapshot(1, 2, 16));
    let mut st = gatewright_controller::xds_server::SotwStream::new(&server);
    let snaps = server.current();
    let r = st.on_request(cds(GATEWAY, ""), &snaps).expect("first");
    let nack = DiscoveryRequest {
        error_detail: Some(envoy_types::pb::google::rpc::Status {
            code: 3,
            message: "é".repeat(1_000_000),
            details: Vec::new(),
        }),
        ..cds(GATEWAY, &r[0].nonce)
    };
    st.on_request(nack, &snaps).expect("nack");
    let mut found = false;
    while let Ok(e) = events.try_recv() {
        if let XdsEvent::Nack { message, .. } = e {
            assert!(
                message.len() <= gatewright_controller::xds_server::MAX_ERROR_MESSAGE_BYTES + 3
            );
            found = true;
        }
    }
    assert!(found);
}
