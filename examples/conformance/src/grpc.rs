//! gRPC traffic expectations (SCHEMA.md §6.5 and §8): unary `GrpcEcho` calls over h2c with an
//! `:authority` override and metadata, checked against the echo's assertions, converging like
//! the upstream helper; and weighted distributions of gRPC calls.
//!
//! The harness is synchronous; each case runs its calls on a Tokio runtime of its own.

use std::time::{Duration, Instant};

use gatewright_echo::grpcecho::grpc_echo_client::GrpcEchoClient;
use gatewright_echo::grpcecho::{EchoRequest, EchoResponse};
use serde_json::{json, Value};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use crate::checks::Ctx;
use crate::traffic::target;
use crate::weights;

/// The service every method belongs to.
const SERVICE: &str = "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho";

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// A gRPC status code as Go's `codes.Code.String()` writes it (the expectations' spelling).
fn code_name(c: tonic::Code) -> String {
    match c {
        tonic::Code::Ok => "OK".into(),
        tonic::Code::Cancelled => "Canceled".into(),
        other => format!("{other:?}"),
    }
}

/// One call: method, authority and metadata of a `grpc` object.
#[derive(Clone)]
struct Call {
    method: String,
    authority: Option<String>,
    metadata: Vec<(String, String)>,
}

impl Call {
    fn of(g: &Value) -> Result<Call, String> {
        let method = match s(g, "method") {
            "" => "Echo",
            m => m,
        };
        if !matches!(method, "Echo" | "EchoTwo" | "EchoThree") {
            return Err(format!("unknown gRPC method {method}"));
        }
        Ok(Call {
            method: method.to_string(),
            authority: g
                .get("authority")
                .and_then(Value::as_str)
                .map(str::to_string),
            metadata: g
                .get("metadata")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or("").to_string()))
                .collect(),
        })
    }

    fn full_method(&self) -> String {
        format!("/{SERVICE}/{}", self.method)
    }
}

/// A lazily connecting h2c channel to `addr`, with `:authority` set to `authority` when given
/// (otherwise the address, as the Go client sends it). Needs a runtime context.
fn channel(addr: std::net::SocketAddr, authority: Option<&str>) -> Result<Channel, String> {
    let mut ep = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(10));
    if let Some(a) = authority {
        let origin = format!("http://{a}")
            .parse()
            .map_err(|e| format!("authority {a:?}: {e}"))?;
        ep = ep.origin(origin);
    }
    Ok(ep.connect_lazy())
}

/// Sends one call with a deadline; the response or the RPC status.
async fn send(
    ch: Channel,
    call: &Call,
    extra: Option<(&str, String)>,
    deadline: Duration,
) -> Result<EchoResponse, tonic::Status> {
    let mut req = tonic::Request::new(EchoRequest {});
    req.set_timeout(deadline);
    for (k, v) in call
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .chain(extra)
    {
        let key = MetadataKey::from_bytes(k.as_bytes())
            .map_err(|e| tonic::Status::invalid_argument(format!("metadata key {k}: {e}")))?;
        let val = MetadataValue::try_from(v.as_str())
            .map_err(|e| tonic::Status::invalid_argument(format!("metadata {k}: {e}")))?;
        req.metadata_mut().append(key, val);
    }
    let mut client = GrpcEchoClient::new(ch);
    let resp = match call.method.as_str() {
        "EchoTwo" => client.echo_two(req).await,
        "EchoThree" => client.echo_three(req).await,
        _ => client.echo(req).await,
    };
    resp.map(tonic::Response::into_inner)
}

/// Compares one call's outcome with the entry (code, method, namespace, pod prefix).
fn compare(e: &Value, call: &Call, r: &Result<EchoResponse, tonic::Status>) -> Result<(), String> {
    let want = match e.pointer("/response/code").and_then(Value::as_str) {
        Some(c) => c.to_string(),
        None => "OK".to_string(),
    };
    let got = match r {
        Ok(_) => "OK".to_string(),
        Err(st) => code_name(st.code()),
    };
    if got != want {
        let msg = r.as_ref().err().map(|st| st.message().to_string());
        return Err(format!("code {got} ({msg:?}), want {want}"));
    }
    let Ok(resp) = r else { return Ok(()) };
    let a = resp.assertions.clone().unwrap_or_default();
    if a.fully_qualified_method != call.full_method() {
        return Err(format!(
            "method {:?}, want {}",
            a.fully_qualified_method,
            call.full_method()
        ));
    }
    let c = a.context.unwrap_or_default();
    if let Some(ns) = e.get("namespace").and_then(Value::as_str) {
        if c.namespace != ns {
            return Err(format!("namespace {:?}, want {ns:?}", c.namespace));
        }
    }
    let backend = s(e, "backend");
    if !c.pod.starts_with(backend) {
        return Err(format!("pod {:?}, want {backend}*", c.pod));
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// Runs a `grpc` entry: 3 consecutive passes within 30 s, one connection per case (renewed
/// after an `Internal` error), each call's deadline what is left of the 30 s.
pub fn run(ctx: &Ctx, test: &Value, defaults: &Value, e: &Value) -> Result<(), String> {
    let call = Call::of(&e.get("grpc").cloned().unwrap_or_default())?;
    let addr = target(ctx, test, defaults, e, false)?.addr;
    let rt = runtime()?;
    let limit = ctx.wait(30);
    let deadline = Instant::now() + limit;
    rt.block_on(async {
        let mut ch = channel(addr, call.authority.as_deref())?;
        let mut ok = 0;
        let mut last = String::new();
        while ok < 3 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("not consistent within {limit:?}: {last}"));
            }
            let r = send(ch.clone(), &call, None, left).await;
            let internal = matches!(&r, Err(st) if st.code() == tonic::Code::Internal);
            match compare(e, &call, &r) {
                Ok(()) => ok += 1,
                Err(m) => {
                    ok = 0;
                    last = format!("{}: {m}", call.method);
                    if internal {
                        ch = channel(addr, call.authority.as_deref())?;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Ok(())
    })
}

/// Runs a `weights` entry of kind `grpc`: each sample is one call that must pass `perRequest`,
/// counted by the pod in its assertions; half the calls carry random `entropy` metadata.
pub fn weights(ctx: &Ctx, test: &Value, w: &Value) -> Result<(), String> {
    let call = Call::of(&w.get("grpc").cloned().unwrap_or_default())?;
    let defaults = json!({"gateway": s(w, "gateway")});
    let addr = target(ctx, test, &defaults, w, false)?.addr;
    let per = w.get("perRequest").cloned().unwrap_or_default();
    let entropy = w
        .pointer("/entropy/metadata")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let rt = runtime()?;
    let ch = {
        let _guard = rt.enter();
        channel(addr, call.authority.as_deref())?
    };
    let limit = ctx.wait(30);
    weights::run(&weights::Spec::of(w), |i| {
        let extra = entropy
            .as_deref()
            .and_then(|k| weights::jitter(i).map(|v| (k, v)));
        let r = rt.block_on(send(ch.clone(), &call, extra, limit));
        compare(&per, &call, &r)?;
        r.map(|resp| {
            resp.assertions
                .and_then(|a| a.context)
                .map(|c| c.pod)
                .unwrap_or_default()
        })
        .map_err(|st| st.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatewright_echo::grpcecho::{Assertions, Context};

    fn answer(method: &str, ns: &str, pod: &str) -> Result<EchoResponse, tonic::Status> {
        Ok(EchoResponse {
            assertions: Some(Assertions {
                fully_qualified_method: format!("/{SERVICE}/{method}"),
                context: Some(Context {
                    namespace: ns.into(),
                    pod: pod.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request: None,
        })
    }

    #[test]
    fn codes_are_spelled_as_in_go() {
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(code_name(tonic::Code::Unimplemented), "Unimplemented");
        assert_eq!(code_name(tonic::Code::Cancelled), "Canceled");
    }

    #[test]
    fn metadata_keys_are_lower_cased() {
        let c = Call::of(&json!({"method": "EchoTwo", "metadata": {"Version": "two"}})).unwrap();
        assert_eq!(c.metadata, vec![("version".to_string(), "two".to_string())]);
        assert_eq!(c.full_method(), format!("/{SERVICE}/EchoTwo"));
        assert!(Call::of(&json!({"method": "Nope"})).is_err());
    }

    #[test]
    fn comparison_checks_code_method_namespace_and_pod() {
        let call = Call::of(&json!({"method": "Echo"})).unwrap();
        let e = json!({"backend": "grpc-infra-backend-v1", "namespace": "ns"});
        assert!(compare(
            &e,
            &call,
            &answer("Echo", "ns", "grpc-infra-backend-v1-a-b")
        )
        .is_ok());
        assert!(compare(
            &e,
            &call,
            &answer("Echo", "ns", "grpc-infra-backend-v2-a-b")
        )
        .is_err());
        assert!(compare(
            &e,
            &call,
            &answer("EchoTwo", "ns", "grpc-infra-backend-v1-a-b")
        )
        .is_err());
        assert!(compare(
            &e,
            &call,
            &answer("Echo", "other", "grpc-infra-backend-v1-a-b")
        )
        .is_err());
        let unimpl = json!({"response": {"code": "Unimplemented"}});
        assert!(compare(&unimpl, &call, &Err(tonic::Status::unimplemented(""))).is_ok());
        assert!(compare(&unimpl, &call, &answer("Echo", "ns", "p")).is_err());
    }
}
