//! Status assertions (SCHEMA.md §7), polled against the controller's `/status` document.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kube::{split_ref, Cluster};

/// What one test sees: the run's cluster and controller, and its own remembered values (tests
/// marked parallel upstream run side by side).
pub struct Ctx<'a> {
    /// The cluster, shared by every test of the run.
    pub cluster: &'a Mutex<Cluster>,
    /// The controller's admin endpoint.
    pub admin: SocketAddr,
    /// Upper bound on every wait, seconds (upstream timeouts are longer).
    pub max_wait: u64,
    /// The controller name.
    pub controller_name: String,
    /// Values stored by `remember` / `rememberGeneration`.
    pub memory: Mutex<BTreeMap<String, Value>>,
}

impl Ctx<'_> {
    /// A wait of `secs` seconds, capped by `--max-wait`.
    pub fn wait(&self, secs: u64) -> Duration {
        Duration::from_secs(secs.min(self.max_wait))
    }

    /// Every status object the controller reports.
    pub fn statuses(&self) -> Vec<Value> {
        let req = crate::http::Request {
            method: "GET".into(),
            path: "/status".into(),
            host: "127.0.0.1".into(),
            ..Default::default()
        };
        crate::http::send(self.admin, &req, None, Duration::from_secs(5))
            .ok()
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .and_then(|v| v.get("status").cloned())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// The status of one object (`ns/name`, or a bare name for cluster-scoped kinds).
    pub fn status_of(&self, kind: &str, r: &str) -> Option<Value> {
        let (ns, name) = split_ref(r);
        self.statuses().into_iter().find_map(|s| {
            let k = s.get("kind").and_then(Value::as_str) == Some(kind);
            let n = s.pointer("/metadata/name").and_then(Value::as_str) == Some(&name);
            let sns = s
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            (k && n && sns == ns).then(|| s.get("status").cloned().unwrap_or(Value::Null))
        })
    }

    /// `metadata.generation` of an object.
    pub fn generation(&self, kind: &str, r: &str) -> i64 {
        self.cluster
            .lock()
            .ok()
            .and_then(|c| {
                c.get(kind, r)
                    .and_then(|v| v.pointer("/metadata/generation"))
                    .and_then(Value::as_i64)
            })
            .unwrap_or(1)
    }

    /// The Gateway's address, once its conditions are current and it has one.
    pub fn gateway_address(&self, gw: &str) -> Option<String> {
        let st = self.status_of("Gateway", gw)?;
        let g = self.generation("Gateway", gw);
        if !latest(&st, g) {
            return None;
        }
        st.get("addresses")?
            .as_array()?
            .iter()
            .find(|a| a.get("type").is_some())
            .and_then(|a| a.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// The type (default `IPAddress`) and value of an address entry.
fn type_value(x: &Value) -> (String, String) {
    (
        x.get("type")
            .and_then(Value::as_str)
            .unwrap_or("IPAddress")
            .to_string(),
        s(x, "value").to_string(),
    )
}

/// The (type, value) pairs a `gatewayStatusAddresses` entry names: `"usable …"` and
/// `"unusable …"` the suite's address pools, `"invalid …"` the Gateway's `test/fake-invalid-type`
/// entries as applied; anything else is an IPAddress value.
fn named_addresses(c: &crate::kube::Cluster, gw: &str, desc: &str) -> Vec<(String, String)> {
    if desc.starts_with("usable") {
        c.usable_addresses.iter().map(type_value).collect()
    } else if desc.starts_with("unusable") {
        c.unusable_addresses.iter().map(type_value).collect()
    } else if desc.starts_with("invalid") {
        let (ns, name) = crate::kube::split_ref(gw);
        c.original_addresses
            .get(&("Gateway".to_string(), ns, name))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|x| s(x, "type") == "test/fake-invalid-type")
            .map(type_value)
            .collect()
    } else {
        vec![("IPAddress".to_string(), desc.to_string())]
    }
}

/// Polls `f` every 100 ms until it returns Ok, for at most `timeout`.
pub fn poll(timeout: Duration, mut f: impl FnMut() -> Result<(), String>) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn conds(v: Option<&Value>) -> Vec<Value> {
    v.and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Whether every condition in `status.conditions` has `observedGeneration == generation`.
pub fn latest(status: &Value, generation: i64) -> bool {
    conds(status.get("conditions"))
        .iter()
        .all(|c| c.get("observedGeneration").and_then(Value::as_i64) == Some(generation))
}

/// Whether `actual` holds a condition matching `want` (`{type, status, reason?}`).
pub fn has_condition(actual: &[Value], want: &Value) -> bool {
    let f = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    actual.iter().any(|c| {
        f(c, "type") == f(want, "type")
            && (f(want, "status").is_empty() || f(c, "status") == f(want, "status"))
            && (want.get("reason").is_none() || f(c, "reason") == f(want, "reason"))
    })
}

fn all_conditions(actual: &[Value], want: &[Value]) -> Result<(), String> {
    for w in want {
        if !has_condition(actual, w) {
            return Err(format!(
                "missing condition {w}; have {}",
                Value::from(actual.to_vec())
            ));
        }
    }
    Ok(())
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn parents_latest(st: &Value, g: i64) -> bool {
    conds(st.get("parents")).iter().all(|p| latest(p, g))
}

/// Runs one status assertion.
pub fn run(ctx: &Ctx, a: &Value) -> Result<(), String> {
    let kind = s(a, "assert");
    match kind {
        "namespacesReady" => {
            let nss: Vec<String> = a
                .get("namespaces")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            poll(ctx.wait(300), || {
                let gws: Vec<String> = {
                    let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
                    c.objects
                        .iter()
                        .filter(|(k, v)| {
                            k.0 == "Gateway"
                                && nss.contains(&k.1)
                                && v.pointer(
                                    "/metadata/annotations/gateway-api~1skip-this-for-readiness",
                                )
                                .and_then(Value::as_str)
                                    != Some("true")
                        })
                        .map(|(k, _)| format!("{}/{}", k.1, k.2))
                        .collect()
                };
                for gw in gws {
                    let st = ctx
                        .status_of("Gateway", &gw)
                        .ok_or(format!("no status for {gw}"))?;
                    if !latest(&st, ctx.generation("Gateway", &gw)) {
                        return Err(format!("{gw}: stale conditions"));
                    }
                    let c = conds(st.get("conditions"));
                    all_conditions(
                        &c,
                        &[
                            serde_json::json!({"type": "Accepted", "status": "True"}),
                            serde_json::json!({"type": "Programmed", "status": "True"}),
                        ],
                    )
                    .map_err(|e| format!("{gw}: {e}"))?;
                }
                Ok(())
            })
        }
        "gatewayAndRoutesAccepted" | "gatewayAndTLSRoutesAccepted" => {
            let gw = s(a, "gateway");
            poll(ctx.wait(180), || {
                ctx.gateway_address(gw)
                    .map(|_| ())
                    .ok_or(format!("{gw}: no address"))
            })?;
            let (gns, gname) = split_ref(gw);
            let route_kind = a
                .get("routeKind")
                .and_then(Value::as_str)
                .unwrap_or("TLSRoute");
            for r in a
                .get("routes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = r.as_str().unwrap_or("");
                let (rns, _) = split_ref(r);
                let want = serde_json::json!({
                    "assert": "routeParents", "routeKind": route_kind, "route": r,
                    "namespaceRequired": rns != gns,
                    "parents": [{
                        "parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                      "name": gname, "namespace": gns},
                        "controllerName": ctx.controller_name,
                        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}],
                    }],
                });
                run(ctx, &want)?;
            }
            if kind == "gatewayAndRoutesAccepted" {
                poll(ctx.wait(60), || {
                    let st = ctx.status_of("Gateway", gw).ok_or("no gateway status")?;
                    for l in conds(st.get("listeners")) {
                        for t in ["ResolvedRefs", "Accepted", "Programmed"] {
                            let w = serde_json::json!({"type": t, "status": "True"});
                            if !has_condition(&conds(l.get("conditions")), &w) {
                                return Err(format!("listener {}: not {t}", s(&l, "name")));
                            }
                        }
                    }
                    Ok(())
                })?;
            }
            Ok(())
        }
        "routeParents" => {
            let rk = s(a, "routeKind");
            let r = s(a, "route");
            let ns_required = a
                .get("namespaceRequired")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let (rns, _) = split_ref(r);
            poll(ctx.wait(60), || {
                let st = ctx.status_of(rk, r).ok_or(format!("no status for {r}"))?;
                let g = ctx.generation(rk, r);
                if !parents_latest(&st, g) {
                    return Err("stale route parent conditions".into());
                }
                let actual = conds(st.get("parents"));
                for want in conds(a.get("parents")) {
                    let wr = want.get("parentRef").cloned().unwrap_or_default();
                    let found = actual.iter().any(|p| {
                        let ar = p.get("parentRef").cloned().unwrap_or_default();
                        let wns = wr
                            .get("namespace")
                            .and_then(Value::as_str)
                            .unwrap_or(&rns)
                            .to_string();
                        s(p, "controllerName")
                            == s(&want, "controllerName")
                                .replace("{CONTROLLER_NAME}", &ctx.controller_name)
                            && !s(&ar, "group").is_empty()
                            && s(&ar, "group") == s(&wr, "group")
                            && !s(&ar, "kind").is_empty()
                            && s(&ar, "kind") == s(&wr, "kind")
                            && s(&ar, "name") == s(&wr, "name")
                            && (ar.get("namespace").and_then(Value::as_str) == Some(&wns)
                                || (!ns_required && ar.get("namespace").is_none()))
                            && all_conditions(
                                &conds(p.get("conditions")),
                                &conds(want.get("conditions")),
                            )
                            .is_ok()
                    });
                    if !found {
                        return Err(format!(
                            "{r}: no parent like {want}; have {}",
                            Value::from(actual.clone())
                        ));
                    }
                }
                Ok(())
            })
        }
        "routeCondition" => {
            let rk = s(a, "routeKind");
            let r = s(a, "route");
            let (pns, pname) = split_ref(s(a, "parent"));
            let want = a.get("condition").cloned().unwrap_or_default();
            poll(ctx.wait(60), || {
                let st = ctx.status_of(rk, r).ok_or(format!("no status for {r}"))?;
                if !parents_latest(&st, ctx.generation(rk, r)) {
                    return Err("stale route parent conditions".into());
                }
                let parents = conds(st.get("parents"));
                let ok = parents.iter().any(|p| {
                    let pr = p.get("parentRef").cloned().unwrap_or_default();
                    s(&pr, "name") == pname
                        && pr
                            .get("namespace")
                            .and_then(Value::as_str)
                            .is_none_or(|n| n == pns)
                        && has_condition(&conds(p.get("conditions")), &want)
                });
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "{r}: no {want} for parent {pname}; have {}",
                        Value::from(parents)
                    ))
                }
            })
        }
        "routeNoAcceptedParents" => {
            let rk = s(a, "routeKind");
            let r = s(a, "route");
            let mut empties = 0;
            let deadline = Instant::now() + ctx.wait(60);
            loop {
                let st = ctx.status_of(rk, r).unwrap_or(Value::Null);
                let parents = conds(st.get("parents"));
                if parents.is_empty() {
                    empties += 1;
                    if empties >= 2 {
                        return Ok(());
                    }
                } else {
                    empties = 0;
                    if parents.len() == 1
                        && latest(&parents[0], ctx.generation(rk, r))
                        && has_condition(
                            &conds(parents[0].get("conditions")),
                            &serde_json::json!({"type": "Accepted", "status": "False"}),
                        )
                    {
                        return Ok(());
                    }
                }
                if Instant::now() > deadline {
                    return Err(format!("{r}: parents {}", Value::from(parents)));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        "routeLatestConditions" => {
            let r = s(a, "route");
            let rk = a
                .get("routeKind")
                .and_then(Value::as_str)
                .unwrap_or("HTTPRoute");
            poll(ctx.wait(60), || {
                let st = ctx.status_of(rk, r).ok_or("no status")?;
                if parents_latest(&st, ctx.generation(rk, r))
                    && !conds(st.get("parents")).is_empty()
                {
                    Ok(())
                } else {
                    Err("stale".into())
                }
            })
        }
        "gatewayCondition" => {
            let gw = s(a, "gateway");
            let want = a.get("condition").cloned().unwrap_or_default();
            poll(ctx.wait(180), || {
                let st = ctx.status_of("Gateway", gw).ok_or("no status")?;
                if !latest(&st, ctx.generation("Gateway", gw)) {
                    return Err("stale gateway conditions".into());
                }
                all_conditions(&conds(st.get("conditions")), std::slice::from_ref(&want))
            })
        }
        "gatewayLatestConditions" => {
            let gw = s(a, "gateway");
            poll(ctx.wait(60), || {
                let st = ctx.status_of("Gateway", gw).ok_or("no status")?;
                if latest(&st, ctx.generation("Gateway", gw)) {
                    Ok(())
                } else {
                    Err("stale".into())
                }
            })
        }
        "gatewayClassAccepted" | "gatewayClassLatestConditions" => {
            let gc = s(a, "gatewayClass");
            let want_status = s(a, "status");
            poll(ctx.wait(180), || {
                let st = ctx.status_of("GatewayClass", gc).ok_or("no status")?;
                if !latest(&st, ctx.generation("GatewayClass", gc)) {
                    return Err("stale".into());
                }
                if kind == "gatewayClassAccepted" {
                    let w = serde_json::json!({"type": "Accepted", "status": want_status});
                    all_conditions(&conds(st.get("conditions")), &[w])?;
                }
                Ok(())
            })
        }
        "gatewayHasAddress" => {
            let gw = s(a, "gateway");
            poll(ctx.wait(180), || {
                ctx.gateway_address(gw)
                    .map(|_| ())
                    .ok_or("no address".into())
            })
        }
        "gatewayStatusAddresses" => {
            let gw = s(a, "gateway");
            let want = a.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            let named = |field: &str| -> Result<Vec<(String, String)>, String> {
                let c = ctx.cluster.lock().map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                for d in a.get(field).and_then(Value::as_array).into_iter().flatten() {
                    out.extend(named_addresses(&c, gw, d.as_str().unwrap_or("")));
                }
                Ok(out)
            };
            let (present, absent) = (named("contains")?, named("notContains")?);
            poll(ctx.wait(180), || {
                let st = ctx
                    .status_of("Gateway", gw)
                    .ok_or(format!("{gw}: no status"))?;
                let have: Vec<(String, String)> = st
                    .get("addresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(type_value)
                    .collect();
                if have.len() != want {
                    return Err(format!("{gw}: status.addresses {have:?}, want {want}"));
                }
                if let Some(p) = present.iter().find(|p| !have.contains(p)) {
                    return Err(format!("{gw}: status.addresses {have:?} lack {p:?}"));
                }
                if let Some(p) = have.iter().find(|h| absent.iter().any(|x| x.1 == h.1)) {
                    return Err(format!("{gw}: status.addresses hold {p:?}"));
                }
                Ok(())
            })
        }
        "gatewayListeners" | "listenerSetListeners" => {
            let (k, obj) = if kind == "gatewayListeners" {
                ("Gateway", s(a, "gateway"))
            } else {
                ("ListenerSet", s(a, "listenerSet"))
            };
            let want = conds(a.get("listeners"));
            poll(ctx.wait(60), || {
                let st = ctx.status_of(k, obj).ok_or("no status")?;
                if !latest(&st, ctx.generation(k, obj)) {
                    return Err("stale".into());
                }
                let actual = conds(st.get("listeners"));
                if actual.len() != want.len() {
                    return Err(format!("{} listeners, want {}", actual.len(), want.len()));
                }
                for w in &want {
                    let l = actual
                        .iter()
                        .find(|l| s(l, "name") == s(w, "name"))
                        .ok_or(format!("no listener {}", s(w, "name")))?;
                    let wk = conds(w.get("supportedKinds"));
                    let ak = conds(l.get("supportedKinds"));
                    if wk.is_empty() && !ak.is_empty() {
                        return Err("supportedKinds not empty".into());
                    }
                    for kk in &wk {
                        let g = kk
                            .get("group")
                            .and_then(Value::as_str)
                            .unwrap_or("gateway.networking.k8s.io");
                        if !ak.iter().any(|x| {
                            s(x, "kind") == s(kk, "kind")
                                && x.get("group")
                                    .and_then(Value::as_str)
                                    .unwrap_or("gateway.networking.k8s.io")
                                    == g
                        }) {
                            return Err(format!("missing kind {kk}"));
                        }
                    }
                    if l.get("attachedRoutes") != w.get("attachedRoutes") {
                        return Err(format!(
                            "listener {}: attachedRoutes {:?}, want {:?}",
                            s(w, "name"),
                            l.get("attachedRoutes"),
                            w.get("attachedRoutes")
                        ));
                    }
                    all_conditions(&conds(l.get("conditions")), &conds(w.get("conditions")))
                        .map_err(|e| format!("listener {}: {e}", s(w, "name")))?;
                }
                Ok(())
            })
        }
        "gatewayListenerConditions" | "listenerSetListenerConditions" => {
            let (k, obj) = if kind == "gatewayListenerConditions" {
                ("Gateway", s(a, "gateway"))
            } else {
                ("ListenerSet", s(a, "listenerSet"))
            };
            let mut names: Vec<String> = conds(a.get("listeners"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if let Some(l) = a.get("listener").and_then(Value::as_str) {
                names.push(l.to_string());
            }
            let want = conds(a.get("conditions"));
            poll(ctx.wait(60), || {
                let st = ctx.status_of(k, obj).ok_or("no status")?;
                if k == "ListenerSet" && !latest(&st, ctx.generation(k, obj)) {
                    return Err("stale".into());
                }
                let actual = conds(st.get("listeners"));
                for n in &names {
                    let l = actual
                        .iter()
                        .find(|l| s(l, "name") == n)
                        .ok_or(format!("no listener {n}"))?;
                    all_conditions(&conds(l.get("conditions")), &want)
                        .map_err(|e| format!("listener {n}: {e}"))?;
                }
                Ok(())
            })
        }
        "gatewayZeroRoutes" => {
            let gw = s(a, "gateway");
            poll(ctx.wait(60), || {
                let st = ctx.status_of("Gateway", gw).ok_or("no status")?;
                if !latest(&st, ctx.generation("Gateway", gw)) {
                    return Err("stale".into());
                }
                let l = conds(st.get("listeners"));
                if l.is_empty()
                    || (l.len() == 1
                        && l[0].get("attachedRoutes").and_then(Value::as_i64) == Some(0))
                {
                    Ok(())
                } else {
                    Err(format!("listeners {}", Value::from(l)))
                }
            })
        }
        "gatewayAttachedListenerSets" => {
            let gw = s(a, "gateway");
            let want = a.get("count").and_then(Value::as_i64).unwrap_or(0);
            poll(ctx.wait(60), || {
                let st = ctx.status_of("Gateway", gw).ok_or("no status")?;
                if !latest(&st, ctx.generation("Gateway", gw)) {
                    return Err("stale".into());
                }
                let n = st
                    .get("attachedListenerSets")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if n == want {
                    Ok(())
                } else {
                    Err(format!("attachedListenerSets {n}, want {want}"))
                }
            })
        }
        "listenerSetCondition" => {
            let ls = s(a, "listenerSet");
            let want = a.get("condition").cloned().unwrap_or_default();
            poll(ctx.wait(180), || {
                let st = ctx.status_of("ListenerSet", ls).ok_or("no status")?;
                if !latest(&st, ctx.generation("ListenerSet", ls)) {
                    return Err("stale".into());
                }
                all_conditions(&conds(st.get("conditions")), std::slice::from_ref(&want))
            })
        }
        "parentAndRoutesAccepted" => {
            let (pns, pname) = split_ref(s(a, "parent"));
            let rk = s(a, "routeKind");
            for r in a
                .get("routes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = r.as_str().unwrap_or("");
                let (rns, _) = split_ref(r);
                run(
                    ctx,
                    &serde_json::json!({
                        "assert": "routeParents", "routeKind": rk, "route": r,
                        "namespaceRequired": rns != pns,
                        "parents": [{
                            "parentRef": {"group": "gateway.networking.k8s.io", "kind": "ListenerSet",
                                          "name": pname, "namespace": pns},
                            "controllerName": ctx.controller_name,
                            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}],
                        }],
                    }),
                )?;
            }
            let ls = s(a, "parent");
            poll(ctx.wait(60), || {
                let st = ctx.status_of("ListenerSet", ls).ok_or("no status")?;
                if !latest(&st, ctx.generation("ListenerSet", ls)) {
                    return Err("stale".into());
                }
                for l in conds(st.get("listeners")) {
                    for t in ["ResolvedRefs", "Accepted", "Programmed"] {
                        if !has_condition(
                            &conds(l.get("conditions")),
                            &serde_json::json!({"type": t, "status": "True"}),
                        ) {
                            return Err(format!("listener {} not {t}", s(&l, "name")));
                        }
                    }
                }
                Ok(())
            })
        }
        "backendTLSPolicyCondition" | "backendTLSPolicyLatestConditions" => {
            let p = s(a, "policy");
            let (ans, aname) = split_ref(s(a, "ancestor"));
            let want = a.get("condition").cloned();
            let once = a.get("oneShot").and_then(Value::as_bool).unwrap_or(false);
            let check = || {
                // A policy the controller has not reported on yet has the API server's empty
                // status: no ancestors, so nothing is stale (the Go check reads the object).
                let exists = ctx
                    .cluster
                    .lock()
                    .map_err(|e| e.to_string())?
                    .get("BackendTLSPolicy", p)
                    .is_some();
                let st = match ctx.status_of("BackendTLSPolicy", p) {
                    Some(st) => st,
                    None if exists => Value::Null,
                    None => return Err(format!("no BackendTLSPolicy {p}")),
                };
                let g = ctx.generation("BackendTLSPolicy", p);
                let ancestors = conds(st.get("ancestors"));
                if !ancestors.iter().all(|x| latest(x, g)) {
                    return Err("stale".to_string());
                }
                let Some(w) = &want else { return Ok(()) };
                if ancestors.iter().any(|x| {
                    let r = x.get("ancestorRef").cloned().unwrap_or_default();
                    s(&r, "name") == aname
                        && r.get("namespace")
                            .and_then(Value::as_str)
                            .is_none_or(|n| n == ans)
                        && has_condition(&conds(x.get("conditions")), w)
                }) {
                    Ok(())
                } else {
                    Err(format!("no {w}; have {}", Value::from(ancestors)))
                }
            };
            if once {
                check()
            } else {
                poll(ctx.wait(60), check)
            }
        }
        "specListenerCount" | "specAddressCount" => {
            let gw = s(a, "gateway");
            let field = if kind == "specListenerCount" {
                "/spec/listeners"
            } else {
                "/spec/addresses"
            };
            let want = a.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
            let n = ctx
                .cluster
                .lock()
                .ok()
                .and_then(|c| {
                    c.get("Gateway", gw)
                        .and_then(|v| v.pointer(field))
                        .and_then(Value::as_array)
                        .map(Vec::len)
                })
                .unwrap_or(0);
            if n == want {
                Ok(())
            } else {
                Err(format!("{gw}: {n} entries in {field}, want {want}"))
            }
        }
        "rememberGeneration" => {
            let g = ctx.generation(s(a, "kind"), s(a, "object"));
            if let Ok(mut m) = ctx.memory.lock() {
                m.insert(s(a, "as").to_string(), Value::from(g));
            }
            Ok(())
        }
        "generationChanged" => {
            let g = ctx.generation(s(a, "kind"), s(a, "object"));
            let before = ctx
                .memory
                .lock()
                .ok()
                .and_then(|m| m.get(s(a, "since")).cloned());
            if before != Some(Value::from(g)) {
                Ok(())
            } else {
                Err(format!("generation still {g}"))
            }
        }
        other => Err(format!(
            "assertion {other} is not implemented by the harness"
        )),
    }
}
