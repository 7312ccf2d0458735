//! Reading fields out of an object held as `serde_json::Value`.
//!
//! kstatus reads fields in two ways, and so do we:
//!
//! - *Lenient* getters ([`int_field`], [`string_field`]) return a default when
//!   the path is missing or holds the wrong type. kstatus uses these for the
//!   kind-specific counters (`GetIntField`, `GetStringField`).
//! - *Strict* lookups ([`nested_i64`], [`nested_str`], [`conditions`]) report a
//!   wrong type as an [`Error`]; kstatus fails `Compute` in those cases, and
//!   [`crate::compute`] turns that into an `Unknown` status.
//!
//! JSON `null` is treated as absent everywhere: the API server omits unset
//! fields, and a hand-written `field: null` means "unset" to a reader.

use serde_json::{Map, Value};

/// Why an object could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("the object is not a JSON object but {0}")]
    NotAnObject(&'static str),
    #[error("looking up {path} from resource: expected {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("unknown phase {0}")]
    UnknownPodPhase(String),
}

pub(crate) type Outcome<T> = core::result::Result<T, Error>;

/// A name for the JSON type of `value`, used in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: &[&str], expected: &'static str, found: &Value) -> Error {
    Error::WrongType {
        path: path.join("."),
        expected,
        found: type_name(found),
    }
}

/// Follows `path` leniently: `None` if any step is missing, null, or not an object.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut current = obj;
    for key in parents {
        current = current.get(*key)?.as_object()?;
    }
    current.get(*last).filter(|v| !v.is_null())
}

/// Follows `path` strictly: a non-object in the middle of the path is an error.
fn lookup_strict<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Outcome<Option<&'a Value>> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(None);
    };
    let mut current = obj;
    for (depth, key) in parents.iter().enumerate() {
        match current.get(*key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(map)) => current = map,
            Some(other) => return Err(wrong_type(&path[..=depth], "an object", other)),
        }
    }
    Ok(current.get(*last).filter(|v| !v.is_null()))
}

/// The integer at `path`, or `default` when missing or not an integer.
pub(crate) fn int_field(obj: &Map<String, Value>, path: &[&str], default: i64) -> i64 {
    lookup(obj, path).and_then(Value::as_i64).unwrap_or(default)
}

/// The string at `path`, or `default` when missing or not a string.
pub(crate) fn string_field<'a>(
    obj: &'a Map<String, Value>,
    path: &[&str],
    default: &'a str,
) -> &'a str {
    lookup(obj, path).and_then(Value::as_str).unwrap_or(default)
}

/// The integer at `path`; `Ok(None)` when absent, an error when not an integer.
pub(crate) fn nested_i64(obj: &Map<String, Value>, path: &[&str]) -> Outcome<Option<i64>> {
    match lookup_strict(obj, path)? {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(path, "an integer", value)),
    }
}

/// The string at `path`; `Ok(None)` when absent, an error when not a string.
pub(crate) fn nested_str<'a>(
    obj: &'a Map<String, Value>,
    path: &[&str],
) -> Outcome<Option<&'a str>> {
    match lookup_strict(obj, path)? {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .map(Some)
            .ok_or_else(|| wrong_type(path, "a string", value)),
    }
}

/// The array at `path`; `Ok(None)` when absent, an error when not an array.
pub(crate) fn nested_array<'a>(
    obj: &'a Map<String, Value>,
    path: &[&str],
) -> Outcome<Option<&'a Vec<Value>>> {
    match lookup_strict(obj, path)? {
        None => Ok(None),
        Some(value) => value
            .as_array()
            .map(Some)
            .ok_or_else(|| wrong_type(path, "an array", value)),
    }
}

/// One entry of `status.conditions`, with absent fields read as "".
#[derive(Debug, Default)]
pub(crate) struct Condition {
    pub(crate) type_: String,
    pub(crate) status: String,
    pub(crate) reason: String,
    pub(crate) message: String,
}

impl Condition {
    pub(crate) fn is(&self, type_: &str, status: &str) -> bool {
        self.type_ == type_ && self.status == status
    }
}

/// Decodes `status.conditions` the way kstatus's `GetObjectWithConditions` does:
/// missing is empty, but a wrongly shaped list or entry is an error.
pub(crate) fn conditions(obj: &Map<String, Value>) -> Outcome<Vec<Condition>> {
    let Some(items) = nested_array(obj, &["status", "conditions"])? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("status.conditions[{index}]");
            let entry = item.as_object().ok_or_else(|| Error::WrongType {
                path: path.clone(),
                expected: "an object",
                found: type_name(item),
            })?;
            let text = |key: &'static str| -> Outcome<String> {
                match entry.get(key) {
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(other) => Err(Error::WrongType {
                        path: format!("{path}.{key}"),
                        expected: "a string",
                        found: type_name(other),
                    }),
                }
            };
            Ok(Condition {
                type_: text("type")?,
                status: text("status")?,
                reason: text("reason")?,
                message: text("message")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("fixture must be an object"),
        }
    }

    #[test]
    fn lenient_getters_fall_back_on_wrong_types() {
        let obj = map(json!({"spec": {"replicas": "3", "type": 7}, "status": "odd"}));
        assert_eq!(int_field(&obj, &["spec", "replicas"], 1), 1);
        assert_eq!(
            string_field(&obj, &["spec", "type"], "ClusterIP"),
            "ClusterIP"
        );
        assert_eq!(int_field(&obj, &["status", "replicas"], 0), 0);
        assert_eq!(int_field(&obj, &["spec", "missing"], -1), -1);
    }

    #[test]
    fn strict_lookups_report_wrong_types_and_treat_null_as_absent() {
        let obj = map(json!({"metadata": {"generation": "2", "deletionTimestamp": null}}));
        let err = nested_i64(&obj, &["metadata", "generation"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "looking up metadata.generation from resource: expected an integer, found a string"
        );
        assert_eq!(
            nested_str(&obj, &["metadata", "deletionTimestamp"]).unwrap(),
            None
        );

        let obj = map(json!({"status": 5}));
        let err = nested_i64(&obj, &["status", "observedGeneration"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "looking up status from resource: expected an object, found a number"
        );
    }

    #[test]
    fn conditions_decode_and_reject_bad_shapes() {
        let obj = map(json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": null, "extra": 1}
        ]}}));
        let conds = conditions(&obj).unwrap();
        assert_eq!(conds.len(), 1);
        assert!(conds[0].is("Ready", "True"));
        assert_eq!(conds[0].reason, "");

        let obj = map(json!({"status": {"conditions": [{"type": 1}]}}));
        assert_eq!(
            conditions(&obj).unwrap_err().to_string(),
            "looking up status.conditions[0].type from resource: expected a string, found a number"
        );
        let obj = map(json!({"status": {"conditions": {"type": "Ready"}}}));
        assert!(conditions(&obj).is_err());
        let obj = map(json!({"status": {"conditions": ["Ready"]}}));
        assert!(conditions(&obj).is_err());
        assert!(conditions(&map(json!({}))).unwrap().is_empty());
    }
}
