//! Built-in field specs: where kustomize's transformers write (prefixes,
//! labels, namespaces, images, replicas, variable references) and which
//! fields refer to other resources by name. Custom configurations and CRDs
//! extend these.
//!
//! Table format, one entry per line:
//! `section|group|version|kind|c (create) or empty|path`, and for name
//! references a header `>group|version|kind` (the referenced kind) followed
//! by `ref|group|version|kind|create|path` lines (the referring fields).

use crate::error::{Error, Result};
use crate::kustomization::{FieldSpec, decode_field_spec};
use crate::resid::Gvk;
use crate::yaml::Node;

const BUILTIN_TABLE: &str = "\
namePrefix|||||metadata/name
nameSuffix|||||metadata/name
commonLabels||v1|Service|c|spec/selector
commonLabels||v1|ReplicationController|c|spec/selector
commonLabels|||Deployment|c|spec/selector/matchLabels
commonLabels|apps||Deployment||spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
commonLabels|apps||Deployment||spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
commonLabels|apps||Deployment||spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
commonLabels|apps||Deployment||spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
commonLabels|apps||Deployment||spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
commonLabels|||ReplicaSet|c|spec/selector/matchLabels
commonLabels|||DaemonSet|c|spec/selector/matchLabels
commonLabels|apps||StatefulSet|c|spec/selector/matchLabels
commonLabels|apps||StatefulSet||spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
commonLabels|apps||StatefulSet||spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
commonLabels|apps||StatefulSet||spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels
commonLabels|apps||StatefulSet||spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels
commonLabels|apps||StatefulSet||spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels
commonLabels|batch||Job||spec/selector/matchLabels
commonLabels|batch||CronJob||spec/jobTemplate/spec/selector/matchLabels
commonLabels|policy||PodDisruptionBudget||spec/selector/matchLabels
commonLabels|networking.k8s.io||NetworkPolicy||spec/podSelector/matchLabels
commonLabels|networking.k8s.io||NetworkPolicy||spec/ingress/from/podSelector/matchLabels
commonLabels|networking.k8s.io||NetworkPolicy||spec/egress/to/podSelector/matchLabels
commonLabels||||c|metadata/labels
commonLabels||v1|ReplicationController|c|spec/template/metadata/labels
commonLabels|||Deployment|c|spec/template/metadata/labels
commonLabels|||ReplicaSet|c|spec/template/metadata/labels
commonLabels|||DaemonSet|c|spec/template/metadata/labels
commonLabels|apps||StatefulSet|c|spec/template/metadata/labels
commonLabels|apps||StatefulSet|c|spec/volumeClaimTemplates[]/metadata/labels
commonLabels|batch||Job|c|spec/template/metadata/labels
commonLabels|batch||CronJob|c|spec/jobTemplate/metadata/labels
commonLabels|batch||CronJob|c|spec/jobTemplate/spec/template/metadata/labels
templateLabels||||c|metadata/labels
templateLabels||v1|ReplicationController|c|spec/template/metadata/labels
templateLabels|||Deployment|c|spec/template/metadata/labels
templateLabels|||ReplicaSet|c|spec/template/metadata/labels
templateLabels|||DaemonSet|c|spec/template/metadata/labels
templateLabels|apps||StatefulSet|c|spec/template/metadata/labels
templateLabels|apps||StatefulSet|c|spec/volumeClaimTemplates[]/metadata/labels
templateLabels|batch||Job|c|spec/template/metadata/labels
templateLabels|batch||CronJob|c|spec/jobTemplate/metadata/labels
templateLabels|batch||CronJob|c|spec/jobTemplate/spec/template/metadata/labels
commonAnnotations||||c|metadata/annotations
commonAnnotations||v1|ReplicationController|c|spec/template/metadata/annotations
commonAnnotations|||Deployment|c|spec/template/metadata/annotations
commonAnnotations|||ReplicaSet|c|spec/template/metadata/annotations
commonAnnotations|||DaemonSet|c|spec/template/metadata/annotations
commonAnnotations|||StatefulSet|c|spec/template/metadata/annotations
commonAnnotations|batch||Job|c|spec/template/metadata/annotations
commonAnnotations|batch||CronJob|c|spec/jobTemplate/metadata/annotations
commonAnnotations|batch||CronJob|c|spec/jobTemplate/spec/template/metadata/annotations
namespace|||Namespace|c|metadata/name
namespace|apiregistration.k8s.io||APIService|c|spec/service/namespace
namespace|apiextensions.k8s.io||CustomResourceDefinition||spec/conversion/webhook/clientConfig/service/namespace
images||||c|spec/containers[]/image
images||||c|spec/initContainers[]/image
images||||c|spec/volumes[]/image/reference
images||||c|spec/template/spec/containers[]/image
images||||c|spec/template/spec/initContainers[]/image
images||||c|spec/template/spec/volumes[]/image/reference
replicas|||Deployment|c|spec/replicas
replicas|||ReplicationController|c|spec/replicas
replicas|||ReplicaSet|c|spec/replicas
replicas|||StatefulSet|c|spec/replicas
varReference|||CronJob||spec/jobTemplate/spec/template/spec/containers/args
varReference|||CronJob||spec/jobTemplate/spec/template/spec/containers/command
varReference|||CronJob||spec/jobTemplate/spec/template/spec/containers/env/value
varReference|||CronJob||spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath
varReference|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/args
varReference|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/command
varReference|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/env/value
varReference|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||CronJob||spec/jobTemplate/spec/template/volumes/nfs/server
varReference|||DaemonSet||spec/template/spec/containers/args
varReference|||DaemonSet||spec/template/spec/containers/command
varReference|||DaemonSet||spec/template/spec/containers/env/value
varReference|||DaemonSet||spec/template/spec/containers/volumeMounts/mountPath
varReference|||DaemonSet||spec/template/spec/initContainers/args
varReference|||DaemonSet||spec/template/spec/initContainers/command
varReference|||DaemonSet||spec/template/spec/initContainers/env/value
varReference|||DaemonSet||spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||DaemonSet||spec/template/spec/volumes/nfs/server
varReference|||Deployment||spec/template/spec/containers/args
varReference|||Deployment||spec/template/spec/containers/command
varReference|||Deployment||spec/template/spec/containers/env/value
varReference|||Deployment||spec/template/spec/containers/volumeMounts/mountPath
varReference|||Deployment||spec/template/spec/initContainers/args
varReference|||Deployment||spec/template/spec/initContainers/command
varReference|||Deployment||spec/template/spec/initContainers/env/value
varReference|||Deployment||spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||Deployment||spec/template/spec/volumes/nfs/server
varReference|||Deployment||spec/template/metadata/annotations
varReference|||Ingress||spec/rules/host
varReference|||Ingress||spec/tls/hosts
varReference|||Ingress||spec/tls/secretName
varReference|||Job||spec/template/spec/containers/args
varReference|||Job||spec/template/spec/containers/command
varReference|||Job||spec/template/spec/containers/env/value
varReference|||Job||spec/template/spec/containers/volumeMounts/mountPath
varReference|||Job||spec/template/spec/initContainers/args
varReference|||Job||spec/template/spec/initContainers/command
varReference|||Job||spec/template/spec/initContainers/env/value
varReference|||Job||spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||Job||spec/template/spec/volumes/nfs/server
varReference|||Pod||spec/containers/args
varReference|||Pod||spec/containers/command
varReference|||Pod||spec/containers/env/value
varReference|||Pod||spec/containers/volumeMounts/mountPath
varReference|||Pod||spec/initContainers/args
varReference|||Pod||spec/initContainers/command
varReference|||Pod||spec/initContainers/env/value
varReference|||Pod||spec/initContainers/volumeMounts/mountPath
varReference|||Pod||spec/volumes/nfs/server
varReference|||ReplicaSet||spec/template/spec/containers/args
varReference|||ReplicaSet||spec/template/spec/containers/command
varReference|||ReplicaSet||spec/template/spec/containers/env/value
varReference|||ReplicaSet||spec/template/spec/containers/volumeMounts/mountPath
varReference|||ReplicaSet||spec/template/spec/initContainers/args
varReference|||ReplicaSet||spec/template/spec/initContainers/command
varReference|||ReplicaSet||spec/template/spec/initContainers/env/value
varReference|||ReplicaSet||spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||ReplicaSet||spec/template/spec/volumes/nfs/server
varReference|||Service||spec/ports/port
varReference|||Service||spec/ports/targetPort
varReference|||StatefulSet||spec/template/spec/containers/args
varReference|||StatefulSet||spec/template/spec/containers/command
varReference|||StatefulSet||spec/template/spec/containers/env/value
varReference|||StatefulSet||spec/template/spec/containers/volumeMounts/mountPath
varReference|||StatefulSet||spec/template/spec/initContainers/args
varReference|||StatefulSet||spec/template/spec/initContainers/command
varReference|||StatefulSet||spec/template/spec/initContainers/env/value
varReference|||StatefulSet||spec/template/spec/initContainers/volumeMounts/mountPath
varReference|||StatefulSet||spec/volumeClaimTemplates/spec/nfs/server
varReference|||PersistentVolume||spec/nfs/server
varReference|||||metadata/labels
varReference|||||metadata/annotations
>||Deployment
ref|||HorizontalPodAutoscaler||spec/scaleTargetRef/name
>||ReplicationController
ref|||HorizontalPodAutoscaler||spec/scaleTargetRef/name
>||ReplicaSet
ref|||HorizontalPodAutoscaler||spec/scaleTargetRef/name
>||StatefulSet
ref|||HorizontalPodAutoscaler||spec/scaleTargetRef/name
>|v1|ConfigMap
ref||v1|Pod||spec/volumes/configMap/name
ref||v1|Pod||spec/containers/env/valueFrom/configMapKeyRef/name
ref||v1|Pod||spec/initContainers/env/valueFrom/configMapKeyRef/name
ref||v1|Pod||spec/containers/envFrom/configMapRef/name
ref||v1|Pod||spec/initContainers/envFrom/configMapRef/name
ref||v1|Pod||spec/volumes/projected/sources/configMap/name
ref|||PodTemplate||template/spec/volumes/configMap/name
ref|||PodTemplate||template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||PodTemplate||template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||PodTemplate||template/spec/containers/envFrom/configMapRef/name
ref|||PodTemplate||template/spec/initContainers/envFrom/configMapRef/name
ref|||PodTemplate||template/spec/volumes/projected/sources/configMap/name
ref|||Deployment||spec/template/spec/volumes/configMap/name
ref|||Deployment||spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||Deployment||spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||Deployment||spec/template/spec/containers/envFrom/configMapRef/name
ref|||Deployment||spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||Deployment||spec/template/spec/volumes/projected/sources/configMap/name
ref|||ReplicaSet||spec/template/spec/volumes/configMap/name
ref|||ReplicaSet||spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||ReplicaSet||spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||ReplicaSet||spec/template/spec/containers/envFrom/configMapRef/name
ref|||ReplicaSet||spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||ReplicaSet||spec/template/spec/volumes/projected/sources/configMap/name
ref|||DaemonSet||spec/template/spec/volumes/configMap/name
ref|||DaemonSet||spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||DaemonSet||spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||DaemonSet||spec/template/spec/containers/envFrom/configMapRef/name
ref|||DaemonSet||spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||DaemonSet||spec/template/spec/volumes/projected/sources/configMap/name
ref|||StatefulSet||spec/template/spec/volumes/configMap/name
ref|||StatefulSet||spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||StatefulSet||spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||StatefulSet||spec/template/spec/containers/envFrom/configMapRef/name
ref|||StatefulSet||spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||StatefulSet||spec/template/spec/volumes/projected/sources/configMap/name
ref|||Job||spec/template/spec/volumes/configMap/name
ref|||Job||spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||Job||spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||Job||spec/template/spec/containers/envFrom/configMapRef/name
ref|||Job||spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||Job||spec/template/spec/volumes/projected/sources/configMap/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/volumes/configMap/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/volumes/projected/sources/configMap/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/containers/env/valueFrom/configMapKeyRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/configMapKeyRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/containers/envFrom/configMapRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/envFrom/configMapRef/name
ref|||Node||spec/configSource/configMap
ref|||Role||rules/resourceNames
ref|||ClusterRole||rules/resourceNames
ref|||Ingress||metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap
>|v1|Secret
ref||v1|Pod||spec/volumes/secret/secretName
ref||v1|Pod||spec/containers/env/valueFrom/secretKeyRef/name
ref||v1|Pod||spec/initContainers/env/valueFrom/secretKeyRef/name
ref||v1|Pod||spec/containers/envFrom/secretRef/name
ref||v1|Pod||spec/initContainers/envFrom/secretRef/name
ref||v1|Pod||spec/imagePullSecrets/name
ref||v1|Pod||spec/volumes/projected/sources/secret/name
ref|||PodTemplate||template/spec/volumes/secret/secretName
ref|||PodTemplate||template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||PodTemplate||template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||PodTemplate||template/spec/containers/envFrom/secretRef/name
ref|||PodTemplate||template/spec/initContainers/envFrom/secretRef/name
ref|||PodTemplate||template/spec/imagePullSecrets/name
ref|||PodTemplate||template/spec/volumes/projected/sources/secret/name
ref|||Deployment||spec/template/spec/volumes/secret/secretName
ref|||Deployment||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||Deployment||spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||Deployment||spec/template/spec/containers/envFrom/secretRef/name
ref|||Deployment||spec/template/spec/initContainers/envFrom/secretRef/name
ref|||Deployment||spec/template/spec/imagePullSecrets/name
ref|||Deployment||spec/template/spec/volumes/projected/sources/secret/name
ref|||ReplicaSet||spec/template/spec/volumes/secret/secretName
ref|||ReplicaSet||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||ReplicaSet||spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||ReplicaSet||spec/template/spec/containers/envFrom/secretRef/name
ref|||ReplicaSet||spec/template/spec/initContainers/envFrom/secretRef/name
ref|||ReplicaSet||spec/template/spec/imagePullSecrets/name
ref|||ReplicaSet||spec/template/spec/volumes/projected/sources/secret/name
ref|||DaemonSet||spec/template/spec/volumes/secret/secretName
ref|||DaemonSet||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||DaemonSet||spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||DaemonSet||spec/template/spec/containers/envFrom/secretRef/name
ref|||DaemonSet||spec/template/spec/initContainers/envFrom/secretRef/name
ref|||DaemonSet||spec/template/spec/imagePullSecrets/name
ref|||DaemonSet||spec/template/spec/volumes/projected/sources/secret/name
ref|||StatefulSet||spec/template/spec/volumes/secret/secretName
ref|||StatefulSet||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||StatefulSet||spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||StatefulSet||spec/template/spec/containers/envFrom/secretRef/name
ref|||StatefulSet||spec/template/spec/initContainers/envFrom/secretRef/name
ref|||StatefulSet||spec/template/spec/imagePullSecrets/name
ref|||StatefulSet||spec/template/spec/volumes/projected/sources/secret/name
ref|||Job||spec/template/spec/volumes/secret/secretName
ref|||Job||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||Job||spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||Job||spec/template/spec/containers/envFrom/secretRef/name
ref|||Job||spec/template/spec/initContainers/envFrom/secretRef/name
ref|||Job||spec/template/spec/imagePullSecrets/name
ref|||Job||spec/template/spec/volumes/projected/sources/secret/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/volumes/secret/secretName
ref|||CronJob||spec/jobTemplate/spec/template/spec/volumes/projected/sources/secret/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/containers/envFrom/secretRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/initContainers/envFrom/secretRef/name
ref|||CronJob||spec/jobTemplate/spec/template/spec/imagePullSecrets/name
ref|||Ingress||spec/tls/secretName
ref|||Ingress||metadata/annotations/ingress.kubernetes.io\\/auth-secret
ref|||Ingress||metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret
ref|||Ingress||metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret
ref|||Ingress||spec/tls/secretName
ref|||ServiceAccount||imagePullSecrets/name
ref|||StorageClass||parameters/secretName
ref|||StorageClass||parameters/adminSecretName
ref|||StorageClass||parameters/userSecretName
ref|||StorageClass||parameters/secretRef
ref|||Role||rules/resourceNames
ref|||ClusterRole||rules/resourceNames
ref|serving.knative.dev|v1|Service||spec/template/spec/containers/env/valueFrom/secretKeyRef/name
ref|||PersistentVolume||spec/azureFile/secretName
>|v1|Service
ref|apps||StatefulSet||spec/serviceName
ref|||Ingress||spec/rules/http/paths/backend/serviceName
ref|||Ingress||spec/backend/serviceName
ref|||Ingress||spec/rules/http/paths/backend/service/name
ref|||Ingress||spec/defaultBackend/service/name
ref|apiregistration.k8s.io||APIService||spec/service/name
ref|admissionregistration.k8s.io||ValidatingWebhookConfiguration||webhooks/clientConfig/service
ref|admissionregistration.k8s.io||MutatingWebhookConfiguration||webhooks/clientConfig/service
>rbac.authorization.k8s.io||Role
ref|rbac.authorization.k8s.io||RoleBinding||roleRef/name
>rbac.authorization.k8s.io||ClusterRole
ref|rbac.authorization.k8s.io||RoleBinding||roleRef/name
ref|rbac.authorization.k8s.io||ClusterRoleBinding||roleRef/name
>|v1|ServiceAccount
ref|rbac.authorization.k8s.io||RoleBinding||subjects
ref|rbac.authorization.k8s.io||ClusterRoleBinding||subjects
ref|||Pod||spec/serviceAccountName
ref|||StatefulSet||spec/template/spec/serviceAccountName
ref|||Deployment||spec/template/spec/serviceAccountName
ref|||ReplicationController||spec/template/spec/serviceAccountName
ref|||CronJob||spec/jobTemplate/spec/template/spec/serviceAccountName
ref|||Job||spec/template/spec/serviceAccountName
ref|||DaemonSet||spec/template/spec/serviceAccountName
>|v1|PersistentVolumeClaim
ref|||Pod||spec/volumes/persistentVolumeClaim/claimName
ref|||StatefulSet||spec/template/spec/volumes/persistentVolumeClaim/claimName
ref|||Deployment||spec/template/spec/volumes/persistentVolumeClaim/claimName
ref|||ReplicationController||spec/template/spec/volumes/persistentVolumeClaim/claimName
ref|||CronJob||spec/jobTemplate/spec/template/spec/volumes/persistentVolumeClaim/claimName
ref|||Job||spec/template/spec/volumes/persistentVolumeClaim/claimName
ref|||DaemonSet||spec/template/spec/volumes/persistentVolumeClaim/claimName
>|v1|PersistentVolume
ref|||PersistentVolumeClaim||spec/volumeName
ref|||ClusterRole||rules/resourceNames
>storage.k8s.io|v1|StorageClass
ref|||PersistentVolume||spec/storageClassName
ref|||PersistentVolumeClaim||spec/storageClassName
ref|||StatefulSet||spec/volumeClaimTemplates/spec/storageClassName
>scheduling.k8s.io|v1|PriorityClass
ref|||Pod||spec/priorityClassName
ref|||StatefulSet||spec/template/spec/priorityClassName
ref|||Deployment||spec/template/spec/priorityClassName
ref|||ReplicationController||spec/template/spec/priorityClassName
ref|||CronJob||spec/jobTemplate/spec/template/spec/priorityClassName
ref|||Job||spec/template/spec/priorityClassName
ref|||DaemonSet||spec/template/spec/priorityClassName
>networking.k8s.io/v1|v1|IngressClass
ref|||Ingress||spec/ingressClassName
>admissionregistration.k8s.io||ValidatingAdmissionPolicy
ref|admissionregistration.k8s.io||ValidatingAdmissionPolicyBinding||spec/policyName
";

/// A referenced kind and the fields that refer to it by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameBackRefs {
    pub gvk: Gvk,
    pub referrers: Vec<FieldSpec>,
}

/// The field specs every transformer uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRefs>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

/// Kustomize's default legacy type order: these kinds come first, in this
/// order.
pub const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kustomize's default legacy type order: these kinds come last, in this
/// order.
pub const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// A kind's rank under a type order: kinds in `first` rank below zero in
/// list order, kinds in `last` above zero (`last` wins for a kind in both),
/// any other kind zero.
pub fn type_order_rank<S: AsRef<str>>(kind: &str, first: &[S], last: &[S]) -> i64 {
    if let Some(i) = last.iter().position(|k| k.as_ref() == kind) {
        return 1 + i as i64;
    }
    if let Some(i) = first.iter().position(|k| k.as_ref() == kind) {
        return i as i64 - first.len() as i64;
    }
    0
}

/// Kind ordering used to sort field specs (kustomize's default type order).
pub fn kind_rank(kind: &str) -> i64 {
    type_order_rank(kind, &ORDER_FIRST, &ORDER_LAST)
}

fn gvk_less(a: &Gvk, b: &Gvk) -> std::cmp::Ordering {
    kind_rank(&a.kind)
        .cmp(&kind_rank(&b.kind))
        .then_with(|| a.sort_string().cmp(&b.sort_string()))
}

fn same_spec(a: &FieldSpec, b: &FieldSpec) -> bool {
    a.gvk.is_selected_by(&b.gvk) && a.path == b.path
}

/// Adds a field spec unless an equivalent one is present; a create flag
/// disagreement is an error.
pub fn merge_one(list: &mut Vec<FieldSpec>, fs: FieldSpec) -> Result<()> {
    if let Some(existing) = list.iter().find(|x| same_spec(x, &fs)) {
        if existing.create != fs.create {
            return Err(Error::new("conflicting fieldspecs"));
        }
        return Ok(());
    }
    list.push(fs);
    Ok(())
}

pub fn merge_all(list: &mut Vec<FieldSpec>, incoming: &[FieldSpec]) -> Result<()> {
    for fs in incoming {
        merge_one(list, fs.clone())?;
    }
    Ok(())
}

fn sort_specs(list: &mut [FieldSpec]) {
    crate::gosort::sort_by(list, |a, b| gvk_less(&a.gvk, &b.gvk).is_lt());
}

impl TransformerConfig {
    /// The built-in configuration.
    pub fn builtin() -> TransformerConfig {
        let mut c = TransformerConfig::default();
        let mut current: Option<usize> = None;
        for line in BUILTIN_TABLE.lines() {
            if let Some(h) = line.strip_prefix('>') {
                let p: Vec<&str> = h.split('|').collect();
                c.name_reference.push(NameBackRefs {
                    gvk: Gvk::new(p[0], p[1], p[2]),
                    referrers: Vec::new(),
                });
                current = Some(c.name_reference.len() - 1);
                continue;
            }
            let p: Vec<&str> = line.splitn(6, '|').collect();
            if p.len() != 6 {
                continue;
            }
            let fs = FieldSpec {
                gvk: Gvk::new(p[1], p[2], p[3]),
                path: p[5].to_string(),
                create: p[4] == "c",
            };
            let list = match p[0] {
                "namePrefix" => &mut c.name_prefix,
                "nameSuffix" => &mut c.name_suffix,
                "namespace" => &mut c.namespace,
                "commonLabels" => &mut c.common_labels,
                "templateLabels" => &mut c.template_labels,
                "commonAnnotations" => &mut c.common_annotations,
                "varReference" => &mut c.var_reference,
                "images" => &mut c.images,
                "replicas" => &mut c.replicas,
                "ref" => match current {
                    Some(i) => &mut c.name_reference[i].referrers,
                    None => continue,
                },
                _ => continue,
            };
            list.push(fs);
        }
        c.sort();
        c
    }

    fn sort(&mut self) {
        for l in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.namespace,
            &mut self.common_labels,
            &mut self.template_labels,
            &mut self.labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            sort_specs(l);
        }
        crate::gosort::sort_by(&mut self.name_reference, |a, b| {
            gvk_less(&a.gvk, &b.gvk).is_lt()
        });
    }

    /// Merges another configuration into this one.
    pub fn merge(&mut self, other: &TransformerConfig) -> Result<()> {
        merge_all(&mut self.name_prefix, &other.name_prefix)?;
        merge_all(&mut self.name_suffix, &other.name_suffix)?;
        merge_all(&mut self.namespace, &other.namespace)?;
        merge_all(&mut self.common_annotations, &other.common_annotations)?;
        merge_all(&mut self.common_labels, &other.common_labels)?;
        merge_all(&mut self.labels, &other.labels)?;
        merge_all(&mut self.template_labels, &other.template_labels)?;
        merge_all(&mut self.var_reference, &other.var_reference)?;
        for nbr in &other.name_reference {
            self.add_name_reference(nbr.clone())?;
        }
        merge_all(&mut self.images, &other.images)?;
        merge_all(&mut self.replicas, &other.replicas)?;
        self.sort();
        Ok(())
    }

    pub fn add_name_reference(&mut self, nbr: NameBackRefs) -> Result<()> {
        let mut found = false;
        for existing in self.name_reference.iter_mut() {
            if existing.gvk == nbr.gvk {
                merge_all(&mut existing.referrers, &nbr.referrers)?;
                found = true;
            }
        }
        if !found {
            self.name_reference.push(nbr);
        }
        Ok(())
    }

    /// Reads a `configurations:` file.
    pub fn decode(doc: &Node, file: &str) -> Result<TransformerConfig> {
        let known = [
            "namePrefix",
            "nameSuffix",
            "namespace",
            "commonLabels",
            "templateLabels",
            "labels",
            "commonAnnotations",
            "nameReference",
            "varReference",
            "images",
            "replicas",
        ];
        let f = crate::decode::object(doc, "TransformerConfig", &known)
            .map_err(|e| e.context(format!("configuration file {file}")))?;
        let specs = |name: &str| -> Result<Vec<FieldSpec>> {
            let mut out = Vec::new();
            for n in crate::decode::list(f.get(name), name)? {
                out.push(decode_field_spec(n, name)?);
            }
            Ok(out)
        };
        let mut c = TransformerConfig {
            name_prefix: specs("namePrefix")?,
            name_suffix: specs("nameSuffix")?,
            namespace: specs("namespace")?,
            common_labels: specs("commonLabels")?,
            template_labels: specs("templateLabels")?,
            labels: specs("labels")?,
            common_annotations: specs("commonAnnotations")?,
            var_reference: specs("varReference")?,
            images: specs("images")?,
            replicas: specs("replicas")?,
            name_reference: Vec::new(),
        };
        for n in crate::decode::list(f.get("nameReference"), "nameReference")? {
            let nf = crate::decode::object(
                n,
                "NameBackReferences",
                &["group", "version", "kind", "fieldSpecs"],
            )?;
            let mut referrers = Vec::new();
            for r in crate::decode::list(nf.get("fieldSpecs"), "fieldSpecs")? {
                referrers.push(decode_field_spec(r, "nameReference.fieldSpecs")?);
            }
            c.name_reference.push(NameBackRefs {
                gvk: Gvk::new(
                    &crate::decode::opt_string(nf.get("group"), "group")?,
                    &crate::decode::opt_string(nf.get("version"), "version")?,
                    &crate::decode::opt_string(nf.get("kind"), "kind")?,
                ),
                referrers,
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_loads() {
        let c = TransformerConfig::builtin();
        assert_eq!(c.name_prefix.len(), 1);
        assert!(
            c.common_labels
                .iter()
                .any(|f| f.path == "spec/selector" && f.create)
        );
        let cm = c
            .name_reference
            .iter()
            .find(|n| n.gvk.kind == "ConfigMap")
            .expect("configmap refs");
        assert!(cm.referrers.len() > 40);
        assert_eq!(c.replicas.len(), 4);
    }
}
