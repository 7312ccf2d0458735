//! Which Alerts an event goes to, with Flux's rules: event sources by kind,
//! namespace (the Alert's when unset), name or `*`, severity and labels;
//! then the inclusion and exclusion regexes on the message.
//!
//! Everything here but the label check is pure. Labels are read from the
//! event's object, through the API, only when a source that matched on
//! everything else has `matchLabels` (Flux does the same).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use regex::Regex;
use weir_api::notification::v1::CrossNamespaceObjectReference;
use weir_api::notification::v1beta3::{Alert, EventSeverity};
use weir_runtime::events::FluxEvent;

use crate::event::SEVERITY_ERROR;

/// How an event relates to one event source of an Alert.
#[derive(Debug, PartialEq, Eq)]
pub enum SourceMatch<'a> {
    No,
    Yes,
    /// Matches if the object carries these labels.
    IfLabels(&'a BTreeMap<String, String>),
}

/// Whether `event` matches `source` of `alert` on kind, namespace,
/// severity and name.
pub fn match_source<'a>(
    event: &FluxEvent,
    alert: &Alert,
    source: &'a CrossNamespaceObjectReference,
) -> SourceMatch<'a> {
    let o = &event.involved_object;
    let alert_ns = alert.metadata.namespace.as_deref().unwrap_or_default();
    let source_ns = source.namespace.as_deref().unwrap_or(alert_ns);
    // `*` for every namespace is a Weir addition (with name `*` only), as
    // documented on the API type; Flux compares namespaces literally.
    let namespace_ok =
        (source_ns == "*" && source.is_wildcard()) || o.namespace.as_deref() == Some(source_ns);
    if !namespace_ok || o.kind.as_deref() != Some(source.kind.as_str()) {
        return SourceMatch::No;
    }
    if alert.event_severity() == EventSeverity::Error && event.severity != SEVERITY_ERROR {
        return SourceMatch::No;
    }
    if !source.is_wildcard() && o.name.as_deref() != Some(source.name.as_str()) {
        return SourceMatch::No;
    }
    match &source.match_labels {
        None => SourceMatch::Yes,
        Some(labels) => SourceMatch::IfLabels(labels),
    }
}

/// Whether every selector label is on the object (an empty selector selects all).
pub fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// Compiled regexes, shared by every event: patterns are compiled once, not
/// per event. Invalid patterns are remembered as such.
#[derive(Default)]
pub struct RegexCache {
    compiled: Mutex<HashMap<String, Option<Arc<Regex>>>>,
}

/// Patterns kept before the cache starts over (edited Alerts leave old ones).
const REGEX_CACHE_LIMIT: usize = 4096;

impl RegexCache {
    /// The compiled pattern, or the compile error.
    pub fn get(&self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Ok(cache) = self.compiled.lock()
            && let Some(entry) = cache.get(pattern)
        {
            return entry
                .clone()
                .ok_or_else(|| format!("invalid regular expression '{pattern}'"));
        }
        let compiled = Regex::new(pattern).map(Arc::new);
        let result = compiled
            .as_ref()
            .map(Arc::clone)
            .map_err(|e| format!("invalid regular expression '{pattern}': {e}"));
        if let Ok(mut cache) = self.compiled.lock() {
            if cache.len() >= REGEX_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(pattern.to_owned(), compiled.ok());
        }
        result
    }
}

/// A pattern of an Alert that does not compile (reported on the Alert).
#[derive(Debug, PartialEq, Eq)]
pub struct BadPattern {
    pub list: &'static str,
    pub error: String,
}

/// Whether the message passes the Alert's inclusion and exclusion lists:
/// with an inclusion list it must match one of its patterns, and it must
/// match none of the exclusion list (exclusion wins). Patterns that do not
/// compile match nothing and are returned for reporting.
pub fn message_allowed(
    message: &str,
    alert: &Alert,
    regexes: &RegexCache,
    bad: &mut Vec<BadPattern>,
) -> bool {
    let mut any = |list: &Option<Vec<String>>, name: &'static str| -> bool {
        let mut matched = false;
        for pattern in list.iter().flatten() {
            match regexes.get(pattern) {
                Ok(re) => {
                    if re.is_match(message) {
                        matched = true;
                        break;
                    }
                }
                Err(error) => bad.push(BadPattern { list: name, error }),
            }
        }
        matched
    };
    let included = match &alert.spec.inclusion_list {
        Some(list) if !list.is_empty() => any(&alert.spec.inclusion_list, "inclusion"),
        _ => true,
    };
    included && !any(&alert.spec.exclusion_list, "exclusion")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(spec: serde_json::Value) -> Alert {
        let mut spec = spec;
        spec["providerRef"] = json!({"name": "p"});
        serde_json::from_value(json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Alert",
            "metadata": {"name": "a", "namespace": "apps"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn event(kind: &str, ns: &str, name: &str, severity: &str, message: &str) -> FluxEvent {
        crate::event::parse(
            &serde_json::to_vec(&json!({
                "involvedObject": {"apiVersion": "x.toolkit.fluxcd.io/v1", "kind": kind, "namespace": ns, "name": name},
                "severity": severity, "timestamp": "2026-01-01T00:00:00Z",
                "message": message, "reason": "R", "reportingController": "c",
            }))
            .unwrap(),
        )
        .unwrap()
    }

    fn matches(alert: &Alert, event: &FluxEvent) -> Vec<bool> {
        alert
            .spec
            .event_sources
            .iter()
            .map(|s| match_source(event, alert, s) != SourceMatch::No)
            .collect()
    }

    #[test]
    fn sources_by_kind_namespace_and_name() {
        let a = alert(json!({"eventSources": [
            {"kind": "GitRepository", "name": "*"},
            {"kind": "Kustomization", "name": "app", "namespace": "other"},
            {"kind": "HelmRelease", "name": "*", "namespace": "*"},
        ]}));
        let ok = "info";
        assert_eq!(
            matches(&a, &event("GitRepository", "apps", "x", ok, "m")),
            [true, false, false]
        );
        assert_eq!(
            matches(&a, &event("GitRepository", "other", "x", ok, "m")),
            [false, false, false],
            "unset namespace is the Alert's"
        );
        assert_eq!(
            matches(&a, &event("Kustomization", "other", "app", ok, "m")),
            [false, true, false]
        );
        assert_eq!(
            matches(&a, &event("Kustomization", "other", "app2", ok, "m")),
            [false, false, false]
        );
        assert_eq!(
            matches(&a, &event("HelmRelease", "anywhere", "r", ok, "m")),
            [false, false, true]
        );
    }

    #[test]
    fn severity_error_drops_info() {
        let a = alert(
            json!({"eventSeverity": "error", "eventSources": [{"kind": "GitRepository", "name": "*"}]}),
        );
        assert_eq!(
            matches(&a, &event("GitRepository", "apps", "x", "info", "m")),
            [false]
        );
        assert_eq!(
            matches(&a, &event("GitRepository", "apps", "x", "error", "m")),
            [true]
        );
        let info = alert(json!({"eventSources": [{"kind": "GitRepository", "name": "*"}]}));
        assert_eq!(
            matches(&info, &event("GitRepository", "apps", "x", "error", "m")),
            [true]
        );
    }

    #[test]
    fn match_labels_are_deferred_and_checked() {
        let a = alert(
            json!({"eventSources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}}]}),
        );
        let e = event("GitRepository", "apps", "x", "info", "m");
        let SourceMatch::IfLabels(sel) = match_source(&e, &a, &a.spec.event_sources[0]) else {
            panic!("expected a label condition");
        };
        let with = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        let other = BTreeMap::from([("team".to_owned(), "b".to_owned())]);
        assert!(labels_match(sel, Some(&with)));
        assert!(!labels_match(sel, Some(&other)));
        assert!(!labels_match(sel, None));
        assert!(labels_match(&BTreeMap::new(), None));
    }

    #[test]
    fn inclusion_and_exclusion() {
        let cache = RegexCache::default();
        let a = alert(json!({
            "eventSources": [{"kind": "GitRepository", "name": "*"}],
            "inclusionList": [".*succeeded.*", "(unclosed"],
            "exclusionList": ["^Dependencies"]
        }));
        let mut bad = Vec::new();
        assert!(message_allowed("upgrade succeeded", &a, &cache, &mut bad));
        assert!(!message_allowed("upgrade failed", &a, &cache, &mut bad));
        assert!(!message_allowed(
            "Dependencies succeeded",
            &a,
            &cache,
            &mut bad
        ));
        assert!(bad.iter().all(|b| b.list == "inclusion"));
        assert!(bad[0].error.contains("(unclosed"), "{:?}", bad[0]);
        let none = alert(json!({"eventSources": [], "exclusionList": ["x"]}));
        let mut bad = Vec::new();
        assert!(message_allowed("anything", &none, &cache, &mut bad));
        assert!(!message_allowed("has x", &none, &cache, &mut bad));
        assert!(bad.is_empty());
    }
}
