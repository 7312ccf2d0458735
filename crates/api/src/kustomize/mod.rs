//! `kustomize.toolkit.fluxcd.io`: the Kustomization API, which builds and applies
//! Kubernetes manifests fetched from a source.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub mod v1;

/// The API group of the kustomize toolkit.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// The CRDs of the kustomize toolkit group, one per kind.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![<v1::Kustomization as kube::CustomResourceExt>::crd()]
}
