//! Flux `spec.postBuild` variable substitution.
//!
//! A port of `github.com/fluxcd/pkg/envsubst` (Flux's fork of drone/envsubst)
//! and of the per-object application in `fluxcd/pkg/kustomize`
//! (`SubstituteVariables`), as kustomize-controller runs them.
//!
//! # Syntax
//!
//! Only the braced form is an expression; `$var` and a lone `$` are text.
//!
//! | form | result |
//! |------|--------|
//! | `${var}` | the value |
//! | `${var:=word}`, `${var=word}`, `${var:-word}` | the value if non-empty, else `word` |
//! | `${var:+word}`, `${var:?word}` | the same as `:-` (Flux maps them to the default function: `:+` does not substitute an alternative and `:?` does not fail) |
//! | `${#var}` | length in bytes |
//! | `${var^}`, `${var^^}`, `${var,}`, `${var,,}` | upper/lower case of the first / every character |
//! | `${var:pos}`, `${var:pos:len}` | substring (byte offsets; negative values count from the end) |
//! | `${var#pat}`, `${var##pat}` | remove the shortest / longest prefix matching a glob |
//! | `${var%pat}`, `${var%%pat}` | remove the shortest / longest suffix matching a glob |
//! | `${var/pat/rep}`, `${var//pat/rep}` | replace the first / every occurrence of the literal `pat` |
//! | `${var/#pat/rep}`, `${var/%pat/rep}` | replace a literal prefix / suffix |
//!
//! Defaults may nest (`${a:=${b:=x}-suffix}`). bash's `${var-word}`,
//! `${var+word}` and `${var?word}` (no colon) are syntax errors in Flux, and so
//! here. `$$` is an escape for `$` anywhere in the text, so `$${var}` yields
//! the literal `${var}` (and `$$` in ordinary text becomes `$`). Inside the
//! replacement operators `\/` and `\\` escape a slash and a backslash.
//!
//! # Strictness
//!
//! Non-strict (Flux's default), an unset variable reads as the empty string.
//! Strict (kustomize-controller's `StrictPostBuildSubstitutions` feature
//! gate), a variable that is not set fails with [`Error::Missing`], unless
//! it is read through a default operator (`:=`, `=`, `:-`, `:+`, `:?`); a set
//! but empty variable is fine. Arguments are evaluated before the variable,
//! so a missing variable inside an unused default also fails, as in Flux.
//!
//! # Objects
//!
//! [`substitute_object`] serialises the object to YAML exactly as kustomize
//! does, substitutes on the text, and decodes the result with YAML 1.1 typing
//! (go-yaml v2). Substitution is textual: a value such as `a: b`, `#x` or
//! `*x` changes the document structure or fails to parse, exactly as in Flux;
//! a value that reads as a number or boolean (`2`, `true`, `yes`, `on`,
//! `0777`) becomes one when placed in an unquoted position.
//!
//! Error messages name variables, never their values: values may come from
//! Secrets.

mod eval;
mod parse;
mod yaml;

use std::collections::BTreeMap;

use serde_json::Value;

/// The label and annotation that opt an object out of substitution.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`SUBSTITUTE_KEY`] that disables substitution.
pub const DISABLED_VALUE: &str = "disabled";
/// The pattern variable names must match (as Flux states it in errors).
pub const VAR_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// Substitution options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Fail on variables that are not set and have no default operator.
    pub strict: bool,
}

/// Substitution failures. Messages never contain variable values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Strict mode: a referenced variable is not set.
    #[error("variable not set (strict mode): {name:?}")]
    Missing { name: String },
    /// The text holds a malformed `${...}` expression.
    #[error("{message}")]
    Syntax { message: String },
    /// The object could not be written as YAML, or the substituted text is
    /// not valid YAML (or not an object).
    #[error("YAMLToJSON: {0}")]
    Yaml(String),
    /// A variable name does not match [`VAR_NAME_PATTERN`].
    #[error("'{0}' var name is invalid, must match '{VAR_NAME_PATTERN}'")]
    InvalidName(String),
}

/// Whether `name` is a valid variable name: an ASCII letter or underscore,
/// then ASCII letters, digits and underscores (`[:alpha:]` is ASCII in Go's
/// regexp).
pub fn valid_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b == b'_' || b.is_ascii_alphabetic() => {}
        _ => return false,
    }
    bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

/// Substitutes the variables in `text` (Flux's `envsubst.Eval`). `vars`
/// returns a variable's value, `None` when it is not set.
pub fn substitute(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    opts: &Options,
) -> Result<String, Error> {
    let nodes = parse::parse(text).map_err(|e| Error::Syntax {
        message: e.message().to_string(),
    })?;
    let strict = opts.strict;
    let lookup = move |name: &str| match vars(name) {
        Some(v) => (v, true),
        // Non-strict, Flux's mapping reports every variable as set.
        None => (String::new(), !strict),
    };
    let mut out = String::with_capacity(text.len());
    eval::eval(&nodes, &lookup, &mut out).map_err(|e| match e {
        eval::EvalError::Missing(name) => Error::Missing { name },
    })?;
    Ok(out)
}

/// Whether an object opts out of substitution through the
/// `kustomize.toolkit.fluxcd.io/substitute: disabled` label or annotation.
pub fn substitution_disabled(obj: &Value) -> bool {
    let meta = obj.get("metadata");
    ["labels", "annotations"].iter().any(|field| {
        meta.and_then(|m| m.get(field))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some(DISABLED_VALUE)
    })
}

/// Applies post-build substitution to one object, as Flux's
/// `SubstituteVariables` does:
///
/// * an object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute:
///   disabled` is returned unchanged;
/// * with no variables at all, nothing is substituted (not even in strict
///   mode, and `$$` escapes stay as they are): the object is returned
///   unchanged;
/// * every variable name must be valid ([`Error::InvalidName`]);
/// * newlines are removed from values (Flux strips `\n` from inline and
///   ConfigMap/Secret values when it loads them; doing it again is harmless);
/// * the object is written as YAML the way kustomize writes it, substituted
///   as text, and read back with go-yaml v2 typing; numbers then go through
///   Go's `float64` as the resource re-reads the JSON.
pub fn substitute_object(
    obj: &Value,
    vars: &BTreeMap<String, String>,
    opts: &Options,
) -> Result<Value, Error> {
    if substitution_disabled(obj) || vars.is_empty() {
        return Ok(obj.clone());
    }
    if let Some(bad) = vars.keys().find(|k| !valid_var_name(k)) {
        return Err(Error::InvalidName(bad.clone()));
    }
    let values: BTreeMap<&str, String> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.replace('\n', "")))
        .collect();
    let text = yaml::to_yaml(obj)?;
    let out = substitute(&text, &|name| values.get(name).cloned(), opts)?;
    let decoded = yaml::yaml_to_json(&out)?;
    if !decoded.is_object() {
        return Err(Error::Yaml(
            "the substituted object is not a mapping".to_string(),
        ));
    }
    yaml::normalize(&decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    type Params<'a> = &'a [(&'a str, &'a str)];

    fn eval_with(input: &str, params: &[(&str, &str)], strict: bool) -> Result<String, Error> {
        let map: HashMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        substitute(input, &|n| map.get(n).cloned(), &Options { strict })
    }

    // Expected outputs from fluxcd/pkg envsubst eval_test.go (TestExpand),
    // which runs with every variable reported as set.
    #[test]
    fn expand() {
        let v01 = [("var01", "abcdEFGH28ij")];
        let path = [("path_name", "/home/bozo/ideas/thoughts.for.today")];
        let z = [("stringZ", "abcABC123ABCabc")];
        let cases: Vec<(Params<'_>, &str, &str)> = vec![
            (&[], "abcdEFGH28ij", "abcdEFGH28ij"),
            (&v01, "${#var01}", "12"),
            (&v01, "${var01^}", "AbcdEFGH28ij"),
            (&v01, "${var01^^}", "ABCDEFGH28IJ"),
            (&[("var01", "ABCDEFGH28IJ")], "${var01,}", "aBCDEFGH28IJ"),
            (&[("var01", "ABCDEFGH28IJ")], "${var01,,}", "abcdefgh28ij"),
            (&path, "${path_name:11}", "ideas/thoughts.for.today"),
            (&path, "${path_name:11:5}", "ideas"),
            (&[("var", "abc")], "${var=xyz}", "abc"),
            (&[], "${var=xyz}", "xyz"),
            (
                &[("default_var", "foo")],
                "something ${var=${default_var}}",
                "something foo",
            ),
            (
                &[("default_var", "foo1")],
                "foo: ${var=${default_var}-suffix}",
                "foo: foo1-suffix",
            ),
            (
                &[("default_var", "foo1")],
                "foo: ${var=prefix${default_var}-suffix}",
                "foo: prefixfoo1-suffix",
            ),
            (&[], "${var:=xyz}", "xyz"),
            (&z, "${stringZ/%abc/XYZ}", "abcABC123ABCXYZ"),
            (&z, "${stringZ/#abc/XYZ}", "XYZABC123ABCabc"),
            (
                &[("stringZ", "somevalue")],
                "${stringZ/#/prefix-}",
                "prefix-somevalue",
            ),
            (
                &[("stringZ", "somevalue")],
                "${stringZ/%/-suffix}",
                "somevalue-suffix",
            ),
            (&z, "${stringZ//abc/xyz}", "xyzABC123ABCxyz"),
            (&z, "${stringZ/abc/xyz}", "xyzABC123ABCabc"),
            (
                &[("filename", "bash.string.txt")],
                "${filename#*.}",
                "string.txt",
            ),
            (&[("filename", "path/to/file")], "${filename#*/}", "to/file"),
            (
                &[("filename", "/path/to/file")],
                "${filename#*/}",
                "path/to/file",
            ),
            (&[("filename", "bash.string.txt")], "${filename##*.}", "txt"),
            (&[("filename", "path/to/file")], "${filename##*/}", "file"),
            (&[("filename", "/path/to/file")], "${filename##*/}", "file"),
            (
                &[("filename", "bash.string.txt")],
                "${filename%.*}",
                "bash.string",
            ),
            (
                &[("filename", "bash.string.txt")],
                "${filename%%.*}",
                "bash",
            ),
            (&v01, "${var=${var01^^}}", "ABCDEFGH28IJ"),
            (&v01, "$${var01}", "${var01}"),
            (
                &v01,
                "some text ${var01}$${var$${var01}$var01${var01}",
                "some text abcdEFGH28ij${var${var01}$var01abcdEFGH28ij",
            ),
            (
                &[("default_var", "foo")],
                "something $${var=${default_var}}",
                "something ${var=foo}",
            ),
            (&[("stringZ", "foo/bar")], r"${stringZ/\//-}", "foo-bar"),
            (
                &[("stringZ", "foo/bar/baz")],
                r"${stringZ//\//-}",
                "foo-bar-baz",
            ),
            (
                &[("default_var", "foo")],
                r"\\something ${var=${default_var}}",
                r"\\something foo",
            ),
            (&[("stringZ", "foo.bar")], "${stringZ/./}", "foobar"),
        ];
        for (params, input, want) in cases {
            assert_eq!(
                eval_with(input, params, false).as_deref(),
                Ok(want),
                "{input}"
            );
        }
    }

    // fluxcd/pkg envsubst eval_test.go (TestExpandStrict).
    #[test]
    fn expand_strict() {
        assert_eq!(
            eval_with("abcdEFGH28ij", &[], true).as_deref(),
            Ok("abcdEFGH28ij")
        );
        assert_eq!(
            eval_with("${foo}", &[("foo", "bar")], true).as_deref(),
            Ok("bar")
        );
        assert_eq!(eval_with("${foo}", &[("foo", "")], true).as_deref(), Ok(""));
        assert_eq!(
            eval_with("${missing}", &[], true),
            Err(Error::Missing {
                name: "missing".into()
            })
        );
        assert_eq!(
            eval_with("${missing:=default}", &[("foo", "bar")], true).as_deref(),
            Ok("default")
        );
        for input in [
            "${#missing}",
            "${missing^}",
            "${missing^^}",
            "${missing,}",
            "${missing,,}",
            "${missing:0}",
            "${missing:0:10}",
            "${missing/pattern/replacement}",
            "${missing//pattern/replacement}",
            "${missing/#pattern/replacement}",
            "${missing/%pattern/replacement}",
            "${missing#pattern}",
            "${missing##pattern}",
            "${missing%pattern}",
            "${missing%%pattern}",
        ] {
            assert_eq!(
                eval_with(input, &[], true),
                Err(Error::Missing {
                    name: "missing".into()
                }),
                "{input}"
            );
        }
        assert_eq!(
            eval_with("${missing:-fallback}", &[], true).as_deref(),
            Ok("fallback")
        );
        assert_eq!(
            eval_with("${missing:=assigned}", &[], true).as_deref(),
            Ok("assigned")
        );
        assert_eq!(
            eval_with("${missing=assigned}", &[], true).as_deref(),
            Ok("assigned")
        );
    }

    #[test]
    fn non_strict_unset_is_empty() {
        assert_eq!(eval_with("a${x}b", &[], false).as_deref(), Ok("ab"));
        assert_eq!(eval_with("${#x}", &[], false).as_deref(), Ok("0"));
    }

    #[test]
    fn strict_evaluates_unused_defaults() {
        assert_eq!(
            eval_with("${a:=${b}}", &[("a", "x")], true),
            Err(Error::Missing { name: "b".into() })
        );
    }

    #[test]
    fn colon_plus_and_question_are_defaults() {
        assert_eq!(
            eval_with("${a:+alt}", &[("a", "set")], false).as_deref(),
            Ok("set")
        );
        assert_eq!(eval_with("${a:+alt}", &[], false).as_deref(), Ok("alt"));
        assert_eq!(eval_with("${a:?msg}", &[], true).as_deref(), Ok("msg"));
        // An empty but set variable takes the default too (`=` as well).
        assert_eq!(eval_with("${a=d}", &[("a", "")], true).as_deref(), Ok("d"));
    }

    #[test]
    fn dollar_forms() {
        assert_eq!(eval_with("$a", &[("a", "x")], true).as_deref(), Ok("$a"));
        assert_eq!(eval_with("cost: $$5", &[], true).as_deref(), Ok("cost: $5"));
        assert_eq!(eval_with("$", &[], true).as_deref(), Ok("$"));
        assert_eq!(eval_with("a$", &[], true).as_deref(), Ok("a$"));
        assert_eq!(eval_with("$$$", &[], true).as_deref(), Ok("$$"));
        // No escaping inside default arguments.
        assert_eq!(eval_with("${a:=x$$y}", &[], true).as_deref(), Ok("x$$y"));
    }

    #[test]
    fn syntax_errors_name_the_problem() {
        let err = eval_with("${a-b}", &[], false).unwrap_err();
        assert_eq!(err.to_string(), "missing closing brace");
        let err = eval_with("${}", &[], false).unwrap_err();
        assert_eq!(err.to_string(), "unable to parse variable name");
        let err = eval_with("${a:=b", &[], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to parse substitution within function"
        );
    }

    #[test]
    fn missing_error_names_variable() {
        let err = eval_with("${DB_PASSWORD}", &[], true).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"variable not set (strict mode): "DB_PASSWORD""#
        );
    }

    #[test]
    fn var_names() {
        for ok in ["a", "_", "_a1", "A_B_9", "cluster_env"] {
            assert!(valid_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é", "a b", "$a"] {
            assert!(!valid_var_name(bad), "{bad}");
        }
    }
}
