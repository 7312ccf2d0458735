//! `image.toolkit.fluxcd.io`: container image scanning, tag selection and Git update automation.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub mod v1;

/// The CRDs of the `image.toolkit.fluxcd.io` group.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        v1::ImagePolicy::crd(),
        v1::ImageRepository::crd(),
        v1::ImageUpdateAutomation::crd(),
    ]
}
