//! BackendTLSPolicy: target Services, certificate validation, status.

use super::common::{conditions, local_ref, parent_ref, Cx, Path};
use super::route::exists_one;
use crate::model::limits;
use crate::model::*;

/// `BackendTLSPolicy.spec`.
pub(crate) fn spec(cx: &mut Cx, s: &BackendTlsPolicySpec) {
    let spec = Path::root("spec");
    target_refs(cx, &spec.f("targetRefs"), &s.target_refs);
    validation(cx, &spec.f("validation"), &s.validation);
    if let Some(o) = &s.options {
        cx.map(&spec.f("options"), o, &limits::OPTIONS);
    }
}

fn target_refs(cx: &mut Cx, path: &Path, refs: &[LocalPolicyTargetReferenceWithSectionName]) {
    cx.count(path, refs.len(), &limits::TARGET_REFS);
    for (i, r) in refs.iter().enumerate() {
        let p = path.i(i);
        cx.str(&p.f("group"), &r.group, &limits::GROUP);
        cx.str(&p.f("kind"), &r.kind, &limits::KIND);
        cx.str(&p.f("name"), &r.name, &limits::OBJECT_NAME);
        cx.opt_str(
            &p.f("sectionName"),
            r.section_name.as_deref(),
            &limits::SECTION_NAME,
        );
    }
    type Target = LocalPolicyTargetReferenceWithSectionName;
    let same =
        |p1: &Target, p2: &Target| p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name;
    let no_section = |p: &Target| p.section_name.as_deref().is_none_or(str::is_empty);
    let specified = refs.iter().all(|p1| {
        refs.iter()
            .all(|p2| !same(p1, p2) || no_section(p1) == no_section(p2))
    });
    cx.rule(
        path,
        specified,
        "sectionName must be specified when targetRefs includes 2 or more references to the same target",
    );
    let unique = refs.iter().all(|p1| {
        exists_one(refs, |p2| {
            same(p1, p2)
                && ((no_section(p1) && no_section(p2))
                    || (p1.section_name.is_some()
                        && p2.section_name.is_some()
                        && p1.section_name == p2.section_name))
        })
    });
    cx.rule(
        path,
        unique,
        "sectionName must be unique when targetRefs includes 2 or more references to the same target",
    );
}

fn validation(cx: &mut Cx, path: &Path, v: &BackendTlsPolicyValidation) {
    if let Some(refs) = &v.ca_certificate_refs {
        let rp = path.f("caCertificateRefs");
        cx.count(&rp, refs.len(), &limits::BACKEND_CA_REFS);
        for (i, r) in refs.iter().enumerate() {
            local_ref(cx, &rp.i(i), r);
        }
    }
    cx.opt_str(
        &path.f("wellKnownCACertificates"),
        v.well_known_ca_certificates.as_deref(),
        &limits::WELL_KNOWN_CA,
    );
    cx.str(&path.f("hostname"), &v.hostname, &limits::PRECISE_HOSTNAME);
    if let Some(sans) = &v.subject_alt_names {
        let sp = path.f("subjectAltNames");
        cx.count(&sp, sans.len(), &limits::SUBJECT_ALT_NAMES);
        for (i, san) in sans.iter().enumerate() {
            subject_alt_name(cx, &sp.i(i), san);
        }
    }
    let has_refs = v
        .ca_certificate_refs
        .as_ref()
        .is_some_and(|r| !r.is_empty());
    let has_well_known = v
        .well_known_ca_certificates
        .as_deref()
        .is_some_and(|w| !w.is_empty());
    cx.rule(
        path,
        !(has_refs && has_well_known),
        "must not contain both CACertificateRefs and WellKnownCACertificates",
    );
    cx.rule(
        path,
        has_refs || has_well_known,
        "must specify either CACertificateRefs or WellKnownCACertificates",
    );
}

fn subject_alt_name(cx: &mut Cx, path: &Path, san: &SubjectAltName) {
    cx.str(&path.f("type"), &san.type_, &limits::SAN_TYPE);
    cx.opt_str(
        &path.f("hostname"),
        san.hostname.as_deref(),
        &limits::HOSTNAME,
    );
    cx.opt_str(&path.f("uri"), san.uri.as_deref(), &limits::SAN_URI);
    let has_hostname = san.hostname.as_deref().is_some_and(|h| !h.is_empty());
    let has_uri = san.uri.as_deref().is_some_and(|u| !u.is_empty());
    let rules = [
        (
            san.type_ != "Hostname" || has_hostname,
            "SubjectAltName element must contain Hostname, if Type is set to Hostname",
        ),
        (
            !(san.type_ != "Hostname" && has_hostname),
            "SubjectAltName element must not contain Hostname, if Type is not set to Hostname",
        ),
        (
            san.type_ != "URI" || has_uri,
            "SubjectAltName element must contain URI, if Type is set to URI",
        ),
        (
            !(san.type_ != "URI" && has_uri),
            "SubjectAltName element must not contain URI, if Type is not set to URI",
        ),
    ];
    for (ok, message) in rules {
        cx.rule(path, ok, message);
    }
}

/// `BackendTLSPolicy.status`.
pub(crate) fn status(cx: &mut Cx, s: &PolicyStatus) {
    let ap = Path::root("status").f("ancestors");
    cx.count(&ap, s.ancestors.len(), &limits::ANCESTORS);
    for (i, a) in s.ancestors.iter().enumerate() {
        let p = ap.i(i);
        parent_ref(cx, &p.f("ancestorRef"), &a.ancestor_ref);
        cx.str(
            &p.f("controllerName"),
            &a.controller_name,
            &limits::CONTROLLER_NAME,
        );
        conditions(
            cx,
            &p.f("conditions"),
            &a.conditions,
            &limits::PARENT_CONDITIONS,
        );
    }
}
