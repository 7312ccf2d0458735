//! Per-object substitution, against the outcomes Flux gives.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use weir_envsubst::{Error, Options, substitute_object};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const LAX: Options = Options { strict: false };
const STRICT: Options = Options { strict: true };

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
}

/// fluxcd/pkg kustomize TestKustomizationVarsub: ConfigMap vars (with quotes
/// kept in the values) plus inline vars; the disabled ConfigMap is untouched.
#[test]
fn flux_varsub_fixture() {
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "app",
            "namespace": "apps",
            "labels": {"environment": "${cluster_env:=dev}", "region": "${cluster_region}"}
        },
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {
                    "annotations": {
                        "prometheus.io/scrape": "${prometheus_scrape:=false}",
                        "prometheus.io/port": "${prometheus_port}"
                    },
                    "labels": {"app": "app"}
                },
                "spec": {"containers": [{
                    "name": "nginx",
                    "image": "${image}",
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {
                        "limits": {"cpu": "2000m", "memory": "512Mi"},
                        "requests": {"cpu": "100m", "memory": "64Mi"}
                    }
                }]}
            }
        }
    });
    let v = vars(&[
        ("prometheus_scrape", "\"true\""),
        ("prometheus_port", "\"9797\""),
        ("image", "nginx:1.21.4"),
        ("cluster_env", "prod"),
        ("cluster_region", "eu-central-1"),
    ]);
    let out = substitute_object(&deployment, &v, &LAX).unwrap();
    assert_eq!(
        out["metadata"]["labels"],
        json!({"environment": "prod", "region": "eu-central-1"})
    );
    assert_eq!(
        out["spec"]["template"]["metadata"]["annotations"],
        json!({"prometheus.io/port": "9797", "prometheus.io/scrape": "true"})
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("nginx:1.21.4")
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        json!("2000m")
    );

    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "labels": {
                "kustomize.toolkit.fluxcd.io/substitute": "disabled",
                "environment": "${cluster_env:=dev}",
                "region": "${cluster_region}"
            },
            "name": "app-vars",
            "namespace": "apps"
        },
        "data": {
            "prometheus_scrape": "${prometheus_scrape:=false}",
            "prometheus_port": "${prometheus_port}",
            "image": "${image}"
        }
    });
    assert_eq!(substitute_object(&config, &v, &STRICT).unwrap(), config);
}

#[test]
fn disabled_by_annotation_or_label() {
    for field in ["annotations", "labels"] {
        let obj = json!({
            "kind": "ConfigMap",
            "metadata": {"name": "x", field: {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}},
            "data": {"a": "${missing}", "b": "${bad"}
        });
        // Skipped before anything else: no strict error, no syntax error.
        assert_eq!(
            substitute_object(&obj, &vars(&[("x", "1")]), &STRICT).unwrap(),
            obj
        );
    }
    // Any other value does not disable.
    let obj = json!({
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "enabled"}},
        "data": {"a": "${x}"}
    });
    let out = substitute_object(&obj, &vars(&[("x", "1")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!(1));
}

#[test]
fn numbers_and_booleans_become_typed() {
    let obj = json!({
        "kind": "Deployment",
        "spec": {"replicas": "${replicas:=2}", "paused": "${paused}", "ratio": "${ratio}", "quoted": "v${replicas:=2}"}
    });
    let out =
        substitute_object(&obj, &vars(&[("paused", "true"), ("ratio", "0.5")]), &LAX).unwrap();
    assert_eq!(out["spec"]["replicas"], json!(2));
    assert!(out["spec"]["replicas"].is_i64());
    assert_eq!(out["spec"]["paused"], json!(true));
    assert_eq!(out["spec"]["ratio"], json!(0.5));
    assert_eq!(out["spec"]["quoted"], json!("v2"));
}

#[test]
fn yaml11_scalars_after_substitution() {
    let obj =
        cm(json!({"a": "${a}", "b": "${b}", "c": "${c}", "d": "${d}", "e": "${e}", "f": "${f}"}));
    let v = vars(&[
        ("a", "yes"),
        ("b", "off"),
        ("c", "0777"),
        ("d", "1e3"),
        ("e", "~"),
        ("f", "1_000"),
    ]);
    let out = substitute_object(&obj, &v, &LAX).unwrap();
    assert_eq!(
        out["data"],
        json!({"a": true, "b": false, "c": 511, "d": 1000, "e": null, "f": 1000})
    );
    assert!(out["data"]["d"].is_i64());
}

#[test]
fn untouched_values_survive_the_round_trip() {
    let obj = json!({
        "kind": "ConfigMap",
        "metadata": {"name": "x"},
        "data": {
            "yes": "yes",
            "n": "n",
            "num": "123",
            "empty": "",
            "script": "#!/bin/sh\necho \"$HOME\" ${NAME}\n  indented\n",
            "colon": "a: b",
            "hash": "a #b",
            "dollar": "$notavar and $ alone",
            "unicode": "héllo ✓"
        },
        "spec": {"list": [1, 2.5, true, null, "x"], "nested": {"deep": [{"k": "v"}]}, "big": 9007199254740993u64}
    });
    let out = substitute_object(&obj, &vars(&[("NAME", "world")]), &LAX).unwrap();
    let mut want = obj.clone();
    want["data"]["script"] = json!("#!/bin/sh\necho \"$HOME\" world\n  indented\n");
    // Numbers go through float64 as Flux's JSON round trip does.
    want["spec"]["big"] = json!(9007199254740992u64);
    assert_eq!(out, want);
}

#[test]
fn values_lose_newlines() {
    // Flux strips "\n" from every variable value.
    let obj = cm(json!({"a": "${v}"}));
    let out = substitute_object(&obj, &vars(&[("v", "line1\nline2\n")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!("line1line2"));
}

#[test]
fn multi_line_blocks_substitute_in_place() {
    let obj =
        cm(json!({"nginx.conf": "server {\n  listen ${port:=8080};\n  server_name ${host};\n}\n"}));
    let out = substitute_object(&obj, &vars(&[("host", "example.com")]), &LAX).unwrap();
    assert_eq!(
        out["data"]["nginx.conf"],
        json!("server {\n  listen 8080;\n  server_name example.com;\n}\n")
    );
}

#[test]
fn textual_substitution_can_change_structure() {
    // `key: a: b` is not valid YAML: Flux fails the same way.
    let obj = cm(json!({"a": "${v}"}));
    let err = substitute_object(&obj, &vars(&[("v", "x: s3cr3t")]), &LAX).unwrap_err();
    assert!(matches!(err, Error::Yaml(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");

    // ` #` starts a comment: the value becomes null.
    let out = substitute_object(&obj, &vars(&[("v", "#x")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!(null));
    let out = substitute_object(&obj, &vars(&[("v", "a #x")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!("a"));

    // A flow mapping injected in a plain position becomes a mapping.
    let out = substitute_object(&obj, &vars(&[("v", "{p: 1}")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!({"p": 1}));

    // Quotes in the value are YAML quotes.
    let out = substitute_object(&obj, &vars(&[("v", "'it''s'")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!("it's"));
    let out = substitute_object(&obj, &vars(&[("v", "it's: fine?")]), &LAX);
    assert!(out.is_err());

    // A colon not followed by a space is plain text.
    let out = substitute_object(&obj, &vars(&[("v", "host:8080")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!("host:8080"));
}

#[test]
fn substitution_inside_quoted_strings() {
    // A string that needs quoting is emitted quoted; the substituted text
    // lands inside the quotes.
    let obj = cm(json!({"a": "${v}: x"}));
    let out = substitute_object(&obj, &vars(&[("v", "true")]), &LAX).unwrap();
    assert_eq!(out["data"]["a"], json!("true: x"));
    // A single quote in the value breaks a single-quoted scalar.
    let err = substitute_object(&obj, &vars(&[("v", "it's")]), &LAX).unwrap_err();
    assert!(matches!(err, Error::Yaml(_)));
}

#[test]
fn strict_missing_variable() {
    let obj = cm(json!({"a": "${present}", "b": "${absent}"}));
    let err = substitute_object(&obj, &vars(&[("present", "p4ss")]), &STRICT).unwrap_err();
    assert_eq!(
        err,
        Error::Missing {
            name: "absent".into()
        }
    );
    assert!(!err.to_string().contains("p4ss"));
    // Non-strict: empty, which YAML reads as null.
    let out = substitute_object(&obj, &vars(&[("present", "p")]), &LAX).unwrap();
    assert_eq!(out["data"], json!({"a": "p", "b": null}));
    // Defaults satisfy strict mode.
    let obj = cm(json!({"a": "${absent:=d}", "b": "${absent:-e}"}));
    let out = substitute_object(&obj, &vars(&[("present", "p")]), &STRICT).unwrap();
    assert_eq!(out["data"], json!({"a": "d", "b": "e"}));
}

#[test]
fn no_variables_means_no_substitution() {
    // Flux only substitutes when at least one variable is defined.
    let obj = cm(json!({"a": "${absent}", "b": "$${x}", "c": "${bad"}));
    assert_eq!(
        substitute_object(&obj, &BTreeMap::new(), &STRICT).unwrap(),
        obj
    );
}

#[test]
fn escapes_in_objects() {
    let obj = cm(json!({"a": "$${x}", "b": "price $$5", "c": "${x:=${y}-z}"}));
    let out = substitute_object(&obj, &vars(&[("y", "w")]), &LAX).unwrap();
    assert_eq!(
        out["data"],
        json!({"a": "${x}", "b": "price $5", "c": "w-z"})
    );
}

#[test]
fn syntax_error_in_object() {
    let obj = cm(json!({"a": "echo ${@}"}));
    let err = substitute_object(&obj, &vars(&[("x", "1")]), &LAX).unwrap_err();
    assert_eq!(
        err,
        Error::Syntax {
            message: "unable to parse variable name".into()
        }
    );
}

#[test]
fn invalid_variable_names() {
    let obj = cm(json!({"a": "${x}"}));
    let err = substitute_object(&obj, &vars(&[("x", "1"), ("bad-name", "2")]), &LAX).unwrap_err();
    assert_eq!(err, Error::InvalidName("bad-name".into()));
    assert_eq!(
        err.to_string(),
        "'bad-name' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
    );
}

#[test]
fn keys_can_be_substituted() {
    let obj = cm(json!({"${k}": "v"}));
    let out = substitute_object(&obj, &vars(&[("k", "name")]), &LAX).unwrap();
    assert_eq!(out["data"], json!({"name": "v"}));
    // A key that reads as a number becomes its decimal text.
    let out = substitute_object(&obj, &vars(&[("k", "0x10")]), &LAX).unwrap();
    assert_eq!(out["data"], json!({"16": "v"}));
}
