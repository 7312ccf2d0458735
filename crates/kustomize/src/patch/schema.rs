//! Lookups in the generated OpenAPI patch-metadata table ([`super::schema_table`]),
//! mirroring how kyaml navigates its `ResourceSchema`: a kind's schema by
//! `(apiVersion, kind)`, a property's schema (falling back to the map value
//! schema), an array's element schema, and the list patch strategy and keys.

use super::schema_table::{GVKS, NONE, SCHEMAS, SchemaEntry};

/// A schema node of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema(u16);

impl Schema {
    fn entry(self) -> &'static SchemaEntry {
        // Indices only come from the table itself, so they are in range.
        &SCHEMAS[usize::from(self.0)]
    }

    fn from_index(i: u16) -> Option<Schema> {
        (i != NONE && usize::from(i) < SCHEMAS.len()).then_some(Schema(i))
    }

    /// The schema kustomize uses for a resource of this `apiVersion` and `kind`
    /// (`None` for kinds its built-in schema does not know, e.g. custom resources).
    pub fn for_kind(api_version: &str, kind: &str) -> Option<Schema> {
        let i = GVKS
            .binary_search_by(|(a, k, _)| (*a, *k).cmp(&(api_version, kind)))
            .ok()?;
        Schema::from_index(GVKS[i].2)
    }

    /// The schema of a field: the declared property, else the value schema of
    /// a map type.
    pub fn field(self, name: &str) -> Option<Schema> {
        let e = self.entry();
        match e.props.binary_search_by(|(p, _)| (*p).cmp(name)) {
            Ok(i) => Schema::from_index(e.props[i].1),
            Err(_) => Schema::from_index(e.additional),
        }
    }

    /// The element schema of an array.
    pub fn elements(self) -> Option<Schema> {
        Schema::from_index(self.entry().items)
    }

    /// `x-kubernetes-patch-strategy` (empty when absent).
    pub fn strategy(self) -> &'static str {
        self.entry().strategy
    }

    /// The merge keys of a list (`x-kubernetes-list-map-keys`, else the
    /// `x-kubernetes-patch-merge-key`); empty for lists of primitives.
    pub fn merge_keys(self) -> &'static [&'static str] {
        self.entry().keys
    }

    /// Whether list elements are merged (the strategy includes `merge`) rather
    /// than the list being replaced.
    pub fn is_associative(self) -> bool {
        self.strategy().split(',').any(|s| s == "merge")
    }

    /// Walks a path of field names (`"[]"` steps into array elements).
    pub fn lookup(self, path: &[&str]) -> Option<Schema> {
        let mut s = self;
        for p in path {
            s = if *p == "[]" {
                s.elements()?
            } else {
                s.field(p)?
            };
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gvk_table_is_sorted_for_binary_search() {
        assert!(GVKS.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        for e in SCHEMAS.iter() {
            assert!(e.props.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn deployment_containers_merge_by_name() {
        let d = Schema::for_kind("apps/v1", "Deployment").expect("Deployment schema");
        let containers = d
            .lookup(&["spec", "template", "spec", "containers"])
            .expect("containers");
        assert!(containers.is_associative());
        assert_eq!(containers.merge_keys(), &["name"]);
        let ports = containers.lookup(&["[]", "ports"]).expect("ports");
        assert_eq!(ports.merge_keys(), &["containerPort", "protocol"]);
        let volumes = d
            .lookup(&["spec", "template", "spec", "volumes"])
            .expect("volumes");
        assert_eq!(volumes.strategy(), "merge,retainKeys");
        assert!(volumes.is_associative());
        let finalizers = d.lookup(&["metadata", "finalizers"]).expect("finalizers");
        assert!(finalizers.is_associative());
        assert!(finalizers.merge_keys().is_empty());
    }

    #[test]
    fn kustomize_schema_is_kubernetes_1_21() {
        // kustomize v5.8 embeds the v1.21.2 schema: old beta kinds are known,
        // newer kinds are not (they merge as untyped objects).
        assert!(Schema::for_kind("batch/v1beta1", "CronJob").is_some());
        assert!(Schema::for_kind("policy/v1beta1", "PodSecurityPolicy").is_some());
        assert!(Schema::for_kind("autoscaling/v2", "HorizontalPodAutoscaler").is_none());
        assert!(Schema::for_kind("example.com/v1", "Widget").is_none());
        let pod = Schema::for_kind("v1", "Pod").expect("Pod");
        assert!(pod.lookup(&["spec", "schedulingGates"]).is_none());
        // Map values: labels are strings; unknown fields have no schema.
        let labels = pod.lookup(&["metadata", "labels", "app"]);
        assert!(labels.is_some());
        assert!(pod.lookup(&["spec", "noSuchField"]).is_none());
    }

    #[test]
    fn non_merge_strategies_are_not_associative() {
        let pdb = Schema::for_kind("policy/v1beta1", "PodDisruptionBudget").expect("pdb");
        let sel = pdb.lookup(&["spec", "selector"]).expect("selector");
        assert!(!sel.is_associative());
        let dep = Schema::for_kind("apps/v1", "Deployment").expect("Deployment");
        // `strategy` is a $ref, so its own retainKeys extension is not kept.
        let strategy = dep.lookup(&["spec", "strategy"]).expect("strategy");
        assert_eq!(strategy.strategy(), "");
    }
}
