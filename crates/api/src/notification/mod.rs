//! `notification.toolkit.fluxcd.io`: Providers and Alerts forward Flux events to external
//! systems, Receivers turn incoming webhooks into reconcile requests.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub mod v1;
pub mod v1beta3;

/// The API group of the notification toolkit.
pub const GROUP: &str = "notification.toolkit.fluxcd.io";

/// The CRDs of the notification toolkit group, one per kind (Provider and Alert at
/// `v1beta3`, Receiver at `v1`).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        <v1beta3::Provider as kube::CustomResourceExt>::crd(),
        <v1beta3::Alert as kube::CustomResourceExt>::crd(),
        <v1::Receiver as kube::CustomResourceExt>::crd(),
    ]
}
