//! Schema helpers (`#[schemars(schema_with = ...)]`) that make generated CRD
//! schemas match Flux's controller-gen output where schemars' defaults differ.

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Schema of an optional field without the `null` schemars adds to
/// `Option<Enum>`: Flux's enums list only the valid strings.
pub(crate) fn optional<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    T::json_schema(generator)
}

/// Schema for a `conditions` list with the validations Flux's CRDs carry for
/// `metav1.Condition` (lengths, patterns, status enum), which k8s-openapi's schema lacks.
///
/// Use on an `Option<Vec<Condition>>` field with
/// `#[schemars(schema_with = "crate::schema::conditions")]`.
pub fn conditions(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "description": "Condition contains details for one aspect of the current state of this API Resource.",
            "type": "object",
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
            "properties": {
                "lastTransitionTime": {
                    "description": "Last time the condition changed status.",
                    "type": "string",
                    "format": "date-time"
                },
                "message": {
                    "description": "Human-readable details about the last transition; may be empty.",
                    "type": "string",
                    "maxLength": 32768
                },
                "observedGeneration": {
                    "description": "Generation of the object the condition was computed from.",
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0
                },
                "reason": {
                    "description": "CamelCase machine-readable reason for the last transition.",
                    "type": "string",
                    "maxLength": 1024,
                    "minLength": 1,
                    "pattern": "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
                },
                "status": {
                    "description": "Condition status: True, False or Unknown.",
                    "type": "string",
                    "enum": ["True", "False", "Unknown"]
                },
                "type": {
                    "description": "Condition type, CamelCase or foo.example.com/CamelCase.",
                    "type": "string",
                    "maxLength": 316,
                    "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
                }
            }
        }
    })
}

/// Schema for an optional `metav1.LabelSelector` field as controller-gen emits it (atomic map
/// and list types), which k8s-openapi's schema lacks.
///
/// Use on an `Option<LabelSelector>` field with
/// `#[schemars(schema_with = "crate::schema::label_selector")]`.
pub fn label_selector(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({
        "type": "object",
        "properties": {
            "matchExpressions": {
                "description": "Label selector requirements, all of which must hold.",
                "type": "array",
                "items": {
                    "description": "A key, an operator and values that a label must satisfy.",
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {
                            "description": "Label key the requirement applies to.",
                            "type": "string"
                        },
                        "operator": {
                            "description": "One of In, NotIn, Exists and DoesNotExist.",
                            "type": "string"
                        },
                        "values": {
                            "description": "Values for In and NotIn; empty for Exists and DoesNotExist.",
                            "type": "array",
                            "items": {"type": "string"},
                            "x-kubernetes-list-type": "atomic"
                        }
                    }
                },
                "x-kubernetes-list-type": "atomic"
            },
            "matchLabels": {
                "description": "Labels that must all be present with these values.",
                "type": "object",
                "additionalProperties": {"type": "string"}
            }
        },
        "x-kubernetes-map-type": "atomic"
    })
}

/// Schema of a Go `int` field: an integer without a `format`, as controller-gen emits it.
pub fn go_int(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "integer"})
}
