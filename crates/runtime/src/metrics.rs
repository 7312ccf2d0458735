//! Prometheus metrics under Flux's names.
//!
//! Dashboards written for Flux read `gotk_reconcile_duration_seconds` (a
//! histogram labelled by kind, name and namespace) and controller-runtime's
//! `controller_runtime_reconcile_total` / `_errors_total`; Weir exports the
//! same series so those dashboards keep working.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels identifying one reconciled object.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// Labels of controller-runtime's reconcile counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub controller: String,
    pub result: String,
}

/// How a reconcile ended, for `controller_runtime_reconcile_total{result}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    Success,
    Error,
    Requeue,
    RequeueAfter,
}

impl ReconcileResult {
    fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::Requeue => "requeue",
            ReconcileResult::RequeueAfter => "requeue_after",
        }
    }
}

type DurationFamily = Family<ObjectLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // Flux's buckets: 10ns × 10^k, ten of them.
    Histogram::new(exponential_buckets(10e-9, 10.0, 10))
}

/// A controller's metric registry.
pub struct Metrics {
    controller: String,
    registry: Mutex<Registry>,
    reconcile_duration: DurationFamily,
    reconcile_total: Family<ResultLabels, Counter>,
    reconcile_errors: Family<ResultLabels, Counter>,
}

impl Metrics {
    /// Creates the registry for the named controller (e.g. `source-controller`).
    pub fn new(controller: &str) -> Self {
        let mut registry = Registry::default();
        let reconcile_duration: DurationFamily = Family::new_with_constructor(duration_histogram);
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        let reconcile_errors = Family::<ResultLabels, Counter>::default();
        registry.register(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a GitOps Toolkit resource reconciliation.",
            reconcile_duration.clone(),
        );
        registry.register(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller.",
            reconcile_total.clone(),
        );
        registry.register(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller.",
            reconcile_errors.clone(),
        );
        Metrics {
            controller: controller.to_owned(),
            registry: Mutex::new(registry),
            reconcile_duration,
            reconcile_total,
            reconcile_errors,
        }
    }

    /// Records one finished reconcile of an object.
    pub fn record_reconcile(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        took: Duration,
        result: ReconcileResult,
    ) {
        self.reconcile_duration
            .get_or_create(&ObjectLabels {
                kind: kind.to_owned(),
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            })
            .observe(took.as_secs_f64());
        let labels = ResultLabels {
            controller: self.controller.clone(),
            result: result.as_str().to_owned(),
        };
        self.reconcile_total.get_or_create(&labels).inc();
        if result == ReconcileResult::Error {
            let labels = ResultLabels {
                controller: self.controller.clone(),
                result: String::new(),
            };
            self.reconcile_errors.get_or_create(&labels).inc();
        }
    }

    /// Forgets an object's series once it is deleted, so deleted objects do
    /// not keep growing the scrape.
    pub fn forget(&self, kind: &str, namespace: &str, name: &str) {
        self.reconcile_duration.remove(&ObjectLabels {
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        });
    }

    /// Lets a controller register metrics of its own.
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        let mut registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut registry)
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_flux_metric_names() {
        let m = Metrics::new("source-controller");
        m.record_reconcile(
            "GitRepository",
            "flux-system",
            "app",
            Duration::from_millis(20),
            ReconcileResult::Success,
        );
        m.record_reconcile(
            "GitRepository",
            "flux-system",
            "app",
            Duration::from_millis(5),
            ReconcileResult::Error,
        );
        let text = m.encode().expect("encode");
        assert!(
            text.contains(r#"gotk_reconcile_duration_seconds_count{kind="GitRepository",name="app",namespace="flux-system"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"controller_runtime_reconcile_total{controller="source-controller",result="success"} 1"#), "{text}");
        assert!(text.contains(r#"controller_runtime_reconcile_errors_total{controller="source-controller",result=""} 1"#), "{text}");
    }

    #[test]
    fn forget_drops_series() {
        let m = Metrics::new("c");
        m.record_reconcile(
            "Kustomization",
            "ns",
            "gone",
            Duration::from_millis(1),
            ReconcileResult::Success,
        );
        m.forget("Kustomization", "ns", "gone");
        assert!(!m.encode().expect("encode").contains(r#"name="gone""#));
    }
}
