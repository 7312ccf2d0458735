//! `source.toolkit.fluxcd.io`: sources that fetch content and publish it as artifacts.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub mod v1;

/// The CRDs of the `source.toolkit.fluxcd.io` group.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        v1::Bucket::crd(),
        v1::ExternalArtifact::crd(),
        v1::GitRepository::crd(),
        v1::HelmChart::crd(),
        v1::HelmRepository::crd(),
        v1::OCIRepository::crd(),
    ]
}
