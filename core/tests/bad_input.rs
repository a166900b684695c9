//! Hostile input: the answer is a diagnostic, never a panic or a hang.

use gatewright::load::{files::load_bytes, parse_str};
use gatewright::validate::{validate, Channel};
use gatewright::{translate, Options, Snapshot};

/// Loads, validates and translates; every step must return.
fn survive(bytes: &[u8]) -> usize {
    let r = load_bytes(bytes, "hostile.yaml");
    for l in &r.objects {
        let _ = validate(&l.object, Channel::Experimental);
    }
    let t = translate(
        &Snapshot::from_loaded(r.objects.clone()),
        &Options::default(),
    );
    let _ = gatewright::output::document(&t, &Default::default());
    r.diagnostics.len()
}

const ROUTE: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: s, port: 80}]\n";

#[test]
fn truncated_yaml_at_every_byte_never_panics() {
    for i in 0..ROUTE.len() {
        survive(&ROUTE.as_bytes()[..i]);
    }
}

#[test]
fn wrong_types_and_huge_numbers_are_diagnostics() {
    for bad in [
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: [{name: a, port: 99999999999999999999999, protocol: HTTP}]}\n",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: c, listeners: [{name: a, port: -5, protocol: HTTP}]}\n",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {gatewayClassName: [1, 2], listeners: 7}\n",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{backendRefs: [{name: s, port: 1e400}]}]}\n",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: nope\n",
        "- just\n- a\n- list\n",
        "42\n",
    ] {
        let r = parse_str(bad, "bad.yaml");
        let errs = r.diagnostics.len()
            + r.objects
                .iter()
                .map(|l| validate(&l.object, Channel::Standard).len())
                .sum::<usize>();
        assert!(errs > 0, "no diagnostic for {bad}");
        survive(bad.as_bytes());
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!(
        "kind: HTTPRoute\nspec: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(survive(deep.as_bytes()) > 0);
    let deep_block: String = (0..5_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    survive(deep_block.as_bytes());
}

#[test]
fn non_utf8_bytes_are_a_diagnostic() {
    let mut bytes = ROUTE.as_bytes().to_vec();
    bytes.insert(20, 0xff);
    bytes.insert(21, 0xfe);
    let r = load_bytes(&bytes, "binary.yaml");
    assert!(r.has_errors());
    assert!(r.diagnostics[0].message.contains("not valid UTF-8"));
}

#[test]
fn ten_megabyte_strings_are_handled() {
    let big = "x".repeat(10 * 1024 * 1024);
    let text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r}}\nspec:\n  hostnames: [\"{big}\"]\n"
    );
    let r = parse_str(&text, "big.yaml");
    let diags: Vec<_> = r
        .objects
        .iter()
        .flat_map(|l| validate(&l.object, Channel::Standard))
        .collect();
    assert!(!diags.is_empty(), "a 10 MB hostname must be rejected");
    // The diagnostic must not echo 10 MB back.
    assert!(
        diags.iter().all(|d| d.message.len() < 4096),
        "diagnostic too long"
    );
}

#[test]
fn billion_laughs_does_not_expand() {
    let text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    survive(text.as_bytes());
}
