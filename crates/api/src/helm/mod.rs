//! `helm.toolkit.fluxcd.io`: the HelmRelease API, which installs and upgrades Helm
//! charts fetched from a source.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub mod v2;

/// The API group of the helm toolkit.
pub const GROUP: &str = "helm.toolkit.fluxcd.io";

/// The CRDs of the helm toolkit group, one per kind.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![<v2::HelmRelease as kube::CustomResourceExt>::crd()]
}
