//! Flux's API types, in Rust.
//!
//! One module per API group, one submodule per version, one file per kind,
//! at the version Flux stores today. The CRDs Weir installs are derived from
//! these types ([`crds`]), so the types are the single source of truth.

/// Writes accessors that several kinds share once: `artifact` (the status
/// artifact), `interval` (the parsed required interval), `timeout_60s` (the
/// parsed timeout, 60 s when unset), `suspended` (`spec.suspend`).
macro_rules! accessors {
    ($kind:ty { $($item:ident),* $(,)? }) => {
        impl $kind { $( $crate::accessors!(@ $item); )* }
    };
    (@ artifact) => {
        /// The artifact of the last successful reconciliation, if any.
        pub fn artifact(&self) -> Option<&$crate::meta::Artifact> {
            self.status.as_ref()?.artifact.as_ref()
        }
    };
    (@ interval) => {
        /// The reconciliation interval; `None` if it does not parse.
        pub fn interval(&self) -> Option<std::time::Duration> {
            $crate::duration::parse(&self.spec.interval).ok()
        }
    };
    (@ timeout_60s) => {
        /// The operation timeout, 60 seconds when unset.
        pub fn timeout(&self) -> std::time::Duration {
            self.spec
                .timeout
                .as_deref()
                .and_then(|d| $crate::duration::parse(d).ok())
                .unwrap_or(std::time::Duration::from_secs(60))
        }
    };
    (@ suspended) => {
        /// Whether `spec.suspend` is true.
        pub fn suspended(&self) -> bool {
            self.spec.suspend.unwrap_or(false)
        }
    };
}
pub(crate) use accessors;

pub mod duration;
pub mod helm;
pub mod image;
pub mod kustomize;
pub mod meta;
pub mod notification;
mod schema;
pub mod source;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

/// Every CRD Weir serves, shaped like Flux's published CRDs.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut all = Vec::new();
    all.extend(source::crds());
    all.extend(kustomize::crds());
    all.extend(helm::crds());
    all.extend(image::crds());
    all.extend(notification::crds());
    all.into_iter().map(flux_shape).collect()
}

/// The Flux controller that owns a kind, as Flux labels its CRDs.
fn component(group: &str, kind: &str) -> &'static str {
    match (group, kind) {
        ("source.toolkit.fluxcd.io", _) => "source-controller",
        ("kustomize.toolkit.fluxcd.io", _) => "kustomize-controller",
        ("helm.toolkit.fluxcd.io", _) => "helm-controller",
        ("image.toolkit.fluxcd.io", "ImageUpdateAutomation") => "image-automation-controller",
        ("image.toolkit.fluxcd.io", _) => "image-reflector-controller",
        _ => "notification-controller",
    }
}

/// Adjusts kube-derive's output where it differs from controller-gen's:
/// no `nullable` (Flux's optional fields are simply absent), the standard
/// `apiVersion`/`kind`/`metadata` properties at the root, no root `required`
/// or `title`, and the labels `flux check` and `flux uninstall` select on.
fn flux_shape(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let component = component(&crd.spec.group, &crd.spec.names.kind);
    let labels = crd.metadata.labels.get_or_insert_with(Default::default);
    labels.insert("app.kubernetes.io/part-of".into(), "flux".into());
    labels.insert("app.kubernetes.io/component".into(), component.into());
    labels.insert("app.kubernetes.io/instance".into(), "flux-system".into());
    for version in &mut crd.spec.versions {
        let Some(validation) = version.schema.as_mut() else {
            continue;
        };
        let Some(schema) = validation.open_api_v3_schema.as_mut() else {
            continue;
        };
        let mut value = serde_json::to_value(&*schema).unwrap_or(Value::Null);
        strip_nullable(&mut value);
        if let Some(root) = value.as_object_mut() {
            root.remove("title");
            root.remove("required");
            if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
                props.insert(
                    "apiVersion".into(),
                    json!({"type": "string", "description": "Versioned schema of this representation of an object."}),
                );
                props.insert(
                    "kind".into(),
                    json!({"type": "string", "description": "REST resource this object represents."}),
                );
                props.insert("metadata".into(), json!({"type": "object"}));
            }
        }
        if let Ok(shaped) = serde_json::from_value(value) {
            *schema = shaped;
        }
    }
    crd
}

fn strip_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("nullable");
            map.values_mut().for_each(strip_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_carry_flux_labels_and_no_nullable() {
        let crds = crds();
        assert_eq!(crds.len(), 14);
        for crd in &crds {
            let labels = crd.metadata.labels.clone().unwrap_or_default();
            assert_eq!(
                labels.get("app.kubernetes.io/part-of").map(String::as_str),
                Some("flux")
            );
            let json = serde_json::to_string(crd).expect("serialise");
            assert!(
                !json.contains("\"nullable\""),
                "{} still has nullable",
                crd.spec.names.kind
            );
            let root = &crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .expect("schema");
            assert!(
                root.required.is_none(),
                "{} requires fields at the root",
                crd.spec.names.kind
            );
            assert!(
                root.properties
                    .as_ref()
                    .is_some_and(|p| p.contains_key("metadata"))
            );
        }
    }

    #[test]
    fn image_update_automation_belongs_to_the_automation_controller() {
        assert_eq!(
            component("image.toolkit.fluxcd.io", "ImageUpdateAutomation"),
            "image-automation-controller"
        );
        assert_eq!(
            component("image.toolkit.fluxcd.io", "ImagePolicy"),
            "image-reflector-controller"
        );
    }
}
