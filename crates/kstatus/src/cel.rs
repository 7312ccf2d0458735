//! Health decided by CEL expressions, as Flux's kustomize-controller does for
//! `spec.healthCheckExprs` and `spec.dependsOn[].readyExpr`.
//!
//! A pure library like the rest of the crate: the objects are
//! [`serde_json::Value`]s as the API server returns them.
//!
//! # `spec.healthCheckExprs` ([`HealthExprs`], [`HealthChecks`])
//!
//! The semantics of `fluxcd/pkg` `runtime/cel` (`StatusEvaluator`,
//! `StatusReader`, `NewExpression`), which kustomize-controller uses:
//!
//! - **Which objects.** A check applies to the objects of its *group and
//!   kind*: the version in `apiVersion` is ignored (`cert-manager.io/v1` also
//!   matches a `cert-manager.io/v1beta1` object). Two checks for the same
//!   group and kind are an error, and so is a check without a kind (Flux's CRD
//!   requires it). For a matching object the expressions replace the
//!   built-in kstatus rules entirely: not even `deletionTimestamp` or the
//!   `Reconciling`/`Stalled` conditions are looked at.
//! - **Variables.** Each top-level field of the object is a variable:
//!   `status.conditions.filter(e, e.type == 'Ready')`, `metadata.generation`,
//!   `spec.replicas`, `data.key`. There is no `self`.
//! - **Order.** First, when the object has `status.observedGeneration` and
//!   `metadata.generation` and they differ, the status is InProgress without
//!   evaluating anything. Then `inProgress` (if set), `failed` (if set) and
//!   `current` are evaluated in that order, and the first that is `true`
//!   decides: InProgress, Failed, Current. When none is `true` the object is
//!   InProgress. An empty `inProgress`/`failed` counts as not set; `current`
//!   is required.
//! - **Errors.** Flux only *parses* these expressions (no type check, since
//!   objects need not have the usual top-level fields), so a syntax error is
//!   the only compile error. At evaluation, a field that does not exist is an
//!   error — `status` missing at the top level ("undeclared reference"), or a
//!   missing key below it ("no such key") — and so is a result that is not a
//!   `bool`. Any error stops the evaluation (later expressions are not tried);
//!   kstatus's reader turns it into the status Unknown, so kustomize-controller
//!   keeps polling until the health-check timeout. [`HealthExprs::status`]
//!   does that mapping.
//! - **Missing fields.** Guard with `has(status.conditions)` (false when
//!   `status` exists without `conditions`, but an error when `status` itself is
//!   missing, as the Flux docs warn), or with optional syntax, which Flux
//!   enables: `status.?conditions.orValue([])`. Beware that `all` is true on an
//!   empty list: `status.conditions.filter(e, e.type == 'Ready').all(...)`
//!   holds for an object without a `Ready` condition.
//!
//! # `spec.dependsOn[].readyExpr` ([`ReadyExpr`])
//!
//! The semantics of kustomize-controller's `checkDependencies` and
//! `evalReadyExpr` (also `fluxcd/pkg` `runtime/dependency`):
//!
//! - **Variables.** `self` is the object declaring the dependency (the
//!   Kustomization being reconciled), `dep` is the dependency object. Any
//!   other free variable is a compile error.
//! - **Compile.** Unlike health checks, Flux *compiles* (type-checks) the
//!   expression with `self` and `dep` declared as `google.protobuf.Struct`,
//!   and requires the output type to be `bool`: `dep.status.ready` alone is
//!   rejected ("output type mismatch: expected bool, got dyn"), while
//!   `dep.status.ready == true` is accepted. kustomize-controller reports a
//!   compile error as a terminal error (no retry until the object changes).
//! - **Evaluate.** `true` means ready; `false` means "dependency 'ns/name' is
//!   not ready according to readyExpr eval"; an evaluation error (such as a
//!   missing field) is returned as is, and the dependency counts as not ready.
//! - **Replaces the built-in check.** With a `readyExpr`, the dependency's
//!   `Ready` condition, its observed generation and its applied revision are
//!   not checked; they are only when the `AdditiveCELDependencyCheck` feature
//!   gate is on, and then after the expression returned `true`. That decision
//!   is the caller's: this module only evaluates the expression.
//!
//! # The CEL environment
//!
//! Flux uses cel-go with the standard library, optional types
//! (`.?field`, `orValue`), the `strings`, `sets` and `encoders` extensions,
//! and cross-type numeric comparisons. Here: the `cel` crate's standard
//! library (macros `has`, `all`, `exists`, `exists_one`, `map`, `filter`;
//! `matches` with the `regex` crate), optional types, its `strings` and
//! `encoders` (`base64.encode`/`base64.decode`) extensions, and `sets.contains`,
//! `sets.equivalent`, `sets.intersects` defined here. Not available:
//! `timestamp()` and `duration()` (they would need the `chrono` feature and its
//! time-zone database). JSON integers are CEL `int` (as in Go's unstructured
//! objects, so `metadata.generation == 2` works), larger ones `uint`, and other
//! numbers `double`.
//!
//! Error texts follow Flux's wrapping ("failed to evaluate the CEL expression
//! '…': …"); the inner message is the `cel` crate's ("No such key: x") rather
//! than cel-go's ("no such key: x").

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use ::cel::common::ast::{Expr, IdedExpr, LiteralValue};
use ::cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull};
use ::cel::common::types::{CelString, CelUInt, LIST_TYPE};
use ::cel::common::value::{CowVal, Val};
use ::cel::{Context, Env, ExecutionError, Program};
use serde_json::Value;

use crate::fields::{self, nested_i64, string_field};
use crate::{Result, Status};

/// Why a CEL expression could not be compiled or evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A health check without its required `current` expression.
    #[error("expression Current not specified")]
    CurrentNotSpecified,
    /// A health-check expression that does not parse.
    #[error(
        "failed to parse the expression {which}: failed to parse the CEL expression '{expr}': {message}"
    )]
    ParseHealthCheck {
        which: Which,
        expr: String,
        message: String,
    },
    /// A `readyExpr` that does not parse, or refers to a variable other than
    /// `self` and `dep`.
    #[error("failed to parse the CEL expression '{expr}': {message}")]
    Parse { expr: String, message: String },
    /// A `readyExpr` whose type is known not to be `bool`.
    #[error("CEL expression output type mismatch: expected bool, got {got}")]
    OutputType { expr: String, got: String },
    /// Evaluating the expression failed, e.g. on a missing field.
    #[error("failed to evaluate the CEL expression '{expr}': {message}")]
    Evaluate { expr: String, message: String },
    /// The expression evaluated to something other than a `bool`.
    #[error("failed to evaluate CEL expression as boolean: '{expr}' (got {got})")]
    NotBool { expr: String, got: String },
    /// The object could not be read: not a JSON object, or
    /// `status.observedGeneration`/`metadata.generation` not an integer.
    #[error("{0}")]
    Object(String),
    /// A health check without a kind.
    #[error("healthchecks[{index}]: kind is required (apiVersion {api_version})")]
    KindNotSpecified { index: usize, api_version: String },
    /// Two health checks for the same group and kind.
    #[error("duplicate custom health check for GroupKind {group_kind} at healthchecks[{index}]")]
    Duplicate { group_kind: String, index: usize },
    /// A health check of a list whose expressions do not compile.
    #[error("failed to create custom status evaluator for healthchecks[{index}]: {source}")]
    HealthCheck { index: usize, source: Box<Error> },
}

impl From<fields::Error> for Error {
    fn from(err: fields::Error) -> Self {
        Error::Object(err.to_string())
    }
}

/// One of the three expressions of a health check, named as Flux names them
/// in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Which {
    Current,
    InProgress,
    Failed,
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Which::Current => "Current",
            Which::InProgress => "InProgress",
            Which::Failed => "Failed",
        })
    }
}

/// The environment every expression is compiled and run in; built once.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // The extensions only declare overloads under names the standard
        // library does not use, so they cannot conflict; should a future
        // version make one fail, the environment goes without it.
        let _ = env.add_extension(::cel::extensions::strings);
        let _ = env.add_extension(::cel::extensions::encoders);
        let _ = env.add_extension(sets_extension);
        Arc::new(env)
    })
}

/// A compiled expression and its source, for error messages.
#[derive(Debug)]
struct Expression {
    source: String,
    program: Program,
}

impl Expression {
    fn parse(source: &str) -> core::result::Result<Self, String> {
        env()
            .compile(source)
            .map(|program| Expression {
                source: source.to_owned(),
                program,
            })
            .map_err(|err| err.to_string())
    }

    /// Runs the expression in `ctx` and requires a `bool`.
    fn evaluate_bool(&self, ctx: &Context<'_, '_>) -> core::result::Result<bool, Error> {
        let value = self.program.execute(ctx).map_err(|err| Error::Evaluate {
            expr: self.source.clone(),
            message: err.to_string(),
        })?;
        match value {
            ::cel::Value::Bool(b) => Ok(b),
            other => Err(Error::NotBool {
                expr: self.source.clone(),
                got: other.type_of().to_string(),
            }),
        }
    }
}

/// A context with `vars` bound, converted once for every expression
/// evaluated on the same objects.
fn context<'a, 'v>(vars: impl IntoIterator<Item = (&'a str, &'v Value)>) -> Context<'v, 'v> {
    let mut ctx = Context::with_env(Arc::clone(env()));
    for (name, value) in vars {
        ctx.add_variable_as_val(name, to_val(value));
    }
    ctx
}

/// A JSON value as a CEL value, borrowing its strings.
fn to_val<'v>(value: &'v Value) -> Box<dyn Val + 'v> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => {
            Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>()))
        }
        Value::Object(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

// ---------------------------------------------------------------------------
// healthCheckExprs
// ---------------------------------------------------------------------------

/// The CEL expressions of one `spec.healthCheckExprs` entry, compiled once.
///
/// See the [module documentation](self) for the semantics.
#[derive(Debug)]
pub struct HealthExprs {
    current: Expression,
    in_progress: Option<Expression>,
    failed: Option<Expression>,
}

impl HealthExprs {
    /// Compiles the expressions; `in_progress` and `failed` are optional
    /// (`None` or empty), `current` is required.
    ///
    /// The error names the expression that does not parse, as Flux does:
    /// "failed to parse the expression Failed: failed to parse the CEL
    /// expression '…': …".
    pub fn new(
        current: &str,
        in_progress: Option<&str>,
        failed: Option<&str>,
    ) -> core::result::Result<Self, Error> {
        if current.is_empty() {
            return Err(Error::CurrentNotSpecified);
        }
        let parse = |which: Which, source: &str| {
            Expression::parse(source).map_err(|message| Error::ParseHealthCheck {
                which,
                expr: source.to_owned(),
                message,
            })
        };
        let optional = |which: Which, source: Option<&str>| {
            source
                .filter(|s| !s.is_empty())
                .map(|s| parse(which, s))
                .transpose()
        };
        Ok(HealthExprs {
            current: parse(Which::Current, current)?,
            failed: optional(Which::Failed, failed)?,
            in_progress: optional(Which::InProgress, in_progress)?,
        })
    }

    /// The status of `obj` by these expressions.
    ///
    /// InProgress when `status.observedGeneration` is set and differs from
    /// `metadata.generation`; otherwise the first of `inProgress`, `failed`,
    /// `current` that is `true` decides, and InProgress when none is. An
    /// evaluation error (a missing field, a result that is not a `bool`) is
    /// returned as the error; Flux then reports the status Unknown (see
    /// [`HealthExprs::status`]).
    pub fn evaluate(&self, obj: &Value) -> core::result::Result<Result, Error> {
        let map = obj.as_object().ok_or_else(|| {
            Error::Object(format!(
                "the object is not a JSON object but {}",
                fields::type_name(obj)
            ))
        })?;
        // Flux reads status.observedGeneration first, and metadata.generation
        // only when it is there.
        if let Some(observed) = nested_i64(map, &["status", "observedGeneration"])?
            && let Some(generation) = nested_i64(map, &["metadata", "generation"])?
            && observed != generation
        {
            let kind = string_field(map, &["kind"], "");
            return Ok(Result {
                status: Status::InProgress,
                message: format!(
                    "{kind} generation is {generation}, but latest observed generation is {observed}"
                ),
            });
        }

        let ctx = context(map.iter().map(|(k, v)| (k.as_str(), v)));
        for (expr, status, name) in [
            (&self.in_progress, Status::InProgress, "inProgress"),
            (&self.failed, Status::Failed, "failed"),
        ] {
            if let Some(expr) = expr
                && expr.evaluate_bool(&ctx)?
            {
                return Ok(Result {
                    status,
                    message: format!("healthCheckExprs: {name} expression is true"),
                });
            }
        }
        if self.current.evaluate_bool(&ctx)? {
            return Ok(Result {
                status: Status::Current,
                message: "healthCheckExprs: current expression is true".to_owned(),
            });
        }
        Ok(Result {
            status: Status::InProgress,
            message: "healthCheckExprs: no expression is true".to_owned(),
        })
    }

    /// Like [`HealthExprs::evaluate`], with an error reported as
    /// [`Status::Unknown`] and the error as the message: what kstatus's
    /// generic status reader does with Flux's evaluator errors, so a waiter
    /// keeps polling until its timeout.
    pub fn status(&self, obj: &Value) -> Result {
        self.evaluate(obj).unwrap_or_else(|err| Result {
            status: Status::Unknown,
            message: err.to_string(),
        })
    }
}

/// One `spec.healthCheckExprs` entry, borrowed from wherever the caller keeps
/// it (kstatus does not depend on Weir's API types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CustomHealthCheck<'a> {
    pub api_version: &'a str,
    pub kind: Option<&'a str>,
    pub current: &'a str,
    pub in_progress: Option<&'a str>,
    pub failed: Option<&'a str>,
}

/// The group of an `apiVersion`, as Kubernetes' `ParseGroupVersion` reads it:
/// `v1` is the core group `""`, `group/version` is `group`, and anything else
/// (which Go rejects, falling back to an empty group) is `""`.
fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, version)) if !version.contains('/') => group,
        _ => "",
    }
}

/// Whether a check for `api_version` and `kind` applies to `obj`: same group
/// (the version is ignored, as Flux matches by GroupKind) and same kind. A
/// check without a kind (or with an empty one) applies to nothing.
pub fn applies_to(api_version: &str, kind: Option<&str>, obj: &Value) -> bool {
    let Some(kind) = kind.filter(|k| !k.is_empty()) else {
        return false;
    };
    let obj_kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let obj_api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    kind == obj_kind && group_of(api_version) == group_of(obj_api_version)
}

/// The first of `checks` that applies to `obj` (see [`applies_to`]);
/// `key` gives a check's `apiVersion` and `kind`.
///
/// ```
/// use serde_json::json;
/// use weir_kstatus::cel::find_check;
///
/// struct Check { api_version: String, kind: Option<String> }
/// let checks = [Check { api_version: "cert-manager.io/v1".into(), kind: Some("Certificate".into()) }];
/// let cert = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate"});
/// let found = find_check(&checks, &cert, |c| (c.api_version.as_str(), c.kind.as_deref()));
/// assert!(found.is_some());
/// ```
pub fn find_check<'c, T>(
    checks: &'c [T],
    obj: &Value,
    key: impl Fn(&T) -> (&str, Option<&str>),
) -> Option<&'c T> {
    checks.iter().find(|check| {
        let (api_version, kind) = key(check);
        applies_to(api_version, kind, obj)
    })
}

/// A Kustomization's `spec.healthCheckExprs`, compiled once, keyed by group
/// and kind as Flux's `cel.NewStatusReader` does.
#[derive(Debug, Default)]
pub struct HealthChecks {
    checks: Vec<(String, String, HealthExprs)>,
}

impl HealthChecks {
    /// Compiles every check. Fails on the first check without a kind, with an
    /// expression that does not compile, or for a group and kind an earlier
    /// check already covers, naming its index as Flux does.
    pub fn new<'a>(
        checks: impl IntoIterator<Item = CustomHealthCheck<'a>>,
    ) -> core::result::Result<Self, Error> {
        let mut compiled: Vec<(String, String, HealthExprs)> = Vec::new();
        for (index, check) in checks.into_iter().enumerate() {
            let kind =
                check
                    .kind
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| Error::KindNotSpecified {
                        index,
                        api_version: check.api_version.to_owned(),
                    })?;
            let group = group_of(check.api_version);
            if compiled.iter().any(|(g, k, _)| g == group && k == kind) {
                let group_kind = if group.is_empty() {
                    kind.to_owned()
                } else {
                    format!("{kind}.{group}")
                };
                return Err(Error::Duplicate { group_kind, index });
            }
            let exprs = HealthExprs::new(check.current, check.in_progress, check.failed).map_err(
                |err| Error::HealthCheck {
                    index,
                    source: Box::new(err),
                },
            )?;
            compiled.push((group.to_owned(), kind.to_owned(), exprs));
        }
        Ok(HealthChecks { checks: compiled })
    }

    /// Whether there are no checks.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// The check for `obj`'s group and kind, if any.
    pub fn find(&self, obj: &Value) -> Option<&HealthExprs> {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        self.find_group_kind(group_of(api_version), kind)
    }

    /// The check for a group (`""` for the core group) and kind, if any.
    pub fn find_group_kind(&self, group: &str, kind: &str) -> Option<&HealthExprs> {
        self.checks
            .iter()
            .find(|(g, k, _)| g == group && k == kind)
            .map(|(_, _, exprs)| exprs)
    }

    /// The status of `obj`: by its check's expressions when one applies (an
    /// error being [`Status::Unknown`]), otherwise by [`crate::compute`].
    pub fn compute(&self, obj: &Value) -> Result {
        match self.find(obj) {
            Some(exprs) => exprs.status(obj),
            None => crate::compute(obj),
        }
    }
}

// ---------------------------------------------------------------------------
// readyExpr
// ---------------------------------------------------------------------------

/// A `spec.dependsOn[].readyExpr`, compiled once.
///
/// See the [module documentation](self) for the semantics.
#[derive(Debug)]
pub struct ReadyExpr {
    expr: Expression,
}

/// The variables a `readyExpr` sees.
const READY_VARS: [&str; 2] = ["self", "dep"];

impl ReadyExpr {
    /// Compiles `source`, checking as Flux's compile step does that it refers
    /// to no variable but `self` and `dep`, and that its type is not known to
    /// be something other than `bool` (a bare field such as `dep.status.ready`
    /// is `dyn` to Flux, and rejected).
    pub fn new(source: &str) -> core::result::Result<Self, Error> {
        let expr = Expression::parse(source).map_err(|message| Error::Parse {
            expr: source.to_owned(),
            message,
        })?;
        let root = expr.program.expression();
        let mut bound = Vec::new();
        if let Some((name, id)) = first_undeclared(root, &mut bound) {
            let (line, column) = line_column(&expr.program, id);
            return Err(Error::Parse {
                expr: source.to_owned(),
                message: format!(
                    "ERROR: <input>:{line}:{column}: undeclared reference to '{name}' (in container '')"
                ),
            });
        }
        match static_type(root) {
            Ty::Bool | Ty::Unknown => Ok(ReadyExpr { expr }),
            Ty::Dyn => Err(Error::OutputType {
                expr: source.to_owned(),
                got: "dyn".to_owned(),
            }),
            Ty::Other(got) => Err(Error::OutputType {
                expr: source.to_owned(),
                got: got.to_owned(),
            }),
        }
    }

    /// Whether the dependency is ready: the expression with `self` bound to
    /// the object declaring the dependency and `dep` to the dependency.
    ///
    /// An error (a missing field, a result that is not a `bool`) means the
    /// dependency is not ready; Flux reports the error as the reason.
    pub fn evaluate(&self, self_obj: &Value, dep: &Value) -> core::result::Result<bool, Error> {
        let ctx = context([(READY_VARS[0], self_obj), (READY_VARS[1], dep)]);
        self.expr.evaluate_bool(&ctx)
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.expr.source
    }
}

/// Kustomize-controller's message for a dependency whose `readyExpr` is
/// false; `dependency` is `namespace/name`.
pub fn not_ready_message(dependency: &str) -> String {
    format!("dependency '{dependency}' is not ready according to readyExpr eval")
}

/// 1-based line and column of expression `id`, as cel-go prints them.
fn line_column(program: &Program, id: u64) -> (usize, usize) {
    let info = program.source_info();
    let Some((start, _)) = info.offset_for(id) else {
        return (1, 1);
    };
    let before = info.source.get(..start as usize).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Identifiers CEL declares itself: type names usable as values.
const DECLARED_IDENTS: [&str; 11] = [
    "bool",
    "bytes",
    "double",
    "dyn",
    "int",
    "list",
    "map",
    "null_type",
    "string",
    "type",
    "uint",
];

/// The first free identifier of `expr` that is not a `readyExpr` variable, a
/// built-in type name, or a variable bound by an enclosing macro.
fn first_undeclared<'e>(expr: &'e IdedExpr, bound: &mut Vec<&'e str>) -> Option<(&'e str, u64)> {
    match &expr.expr {
        Expr::Ident(name) => {
            let name = name.as_str();
            let declared = READY_VARS.contains(&name)
                || DECLARED_IDENTS.contains(&name)
                || bound.contains(&name);
            (!declared).then_some((name, expr.id))
        }
        Expr::Call(call) => {
            // `base64.decode(x)` may reach us as a call on the identifier
            // `base64`: a namespace, not a variable.
            let namespaced = call
                .target
                .as_deref()
                .and_then(|t| match &t.expr {
                    Expr::Ident(ns) => Some(ns.as_str()),
                    _ => None,
                })
                .is_some_and(|ns| {
                    !bound.contains(&ns) && !READY_VARS.contains(&ns) && is_namespace(ns)
                });
            let target = call.target.as_deref().filter(|_| !namespaced);
            target
                .into_iter()
                .chain(call.args.iter())
                .find_map(|e| first_undeclared(e, bound))
        }
        Expr::Select(select) => first_undeclared(&select.operand, bound),
        Expr::List(list) => list
            .elements
            .iter()
            .find_map(|e| first_undeclared(e, bound)),
        Expr::Map(map) => map.entries.iter().find_map(|entry| match &entry.expr {
            ::cel::common::ast::EntryExpr::MapEntry(e) => {
                first_undeclared(&e.key, bound).or_else(|| first_undeclared(&e.value, bound))
            }
            ::cel::common::ast::EntryExpr::StructField(f) => first_undeclared(&f.value, bound),
        }),
        Expr::Struct(s) => s.entries.iter().find_map(|entry| match &entry.expr {
            ::cel::common::ast::EntryExpr::MapEntry(e) => {
                first_undeclared(&e.key, bound).or_else(|| first_undeclared(&e.value, bound))
            }
            ::cel::common::ast::EntryExpr::StructField(f) => first_undeclared(&f.value, bound),
        }),
        Expr::Comprehension(c) => {
            if let Some(found) = first_undeclared(&c.iter_range, bound)
                .or_else(|| first_undeclared(&c.accu_init, bound))
            {
                return Some(found);
            }
            let depth = bound.len();
            bound.push(c.iter_var.as_str());
            if let Some(v2) = &c.iter_var2 {
                bound.push(v2.as_str());
            }
            bound.push(c.accu_var.as_str());
            let found = first_undeclared(&c.loop_cond, bound)
                .or_else(|| first_undeclared(&c.loop_step, bound))
                .or_else(|| first_undeclared(&c.result, bound));
            bound.truncate(depth);
            found
        }
        Expr::Literal(_) | Expr::Unspecified => None,
    }
}

/// Function namespaces of the environment.
fn is_namespace(name: &str) -> bool {
    matches!(name, "base64" | "sets" | "strings" | "optional")
}

/// What the type of an expression is known to be, for the output-type check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Bool,
    /// A field of `self`/`dep` or an index into one: cel-go's `dyn`.
    Dyn,
    /// Known, and not `bool`.
    Other(&'static str),
    /// Not worked out here; left to the evaluation-time check.
    Unknown,
}

/// The static type of `expr` as far as a cheap look tells; conservative:
/// [`Ty::Unknown`] whenever cel-go's checker might find `bool`.
fn static_type(expr: &IdedExpr) -> Ty {
    match &expr.expr {
        Expr::Literal(lit) => match lit {
            LiteralValue::Boolean(_) => Ty::Bool,
            LiteralValue::Bytes(_) => Ty::Other("bytes"),
            LiteralValue::Double(_) => Ty::Other("double"),
            LiteralValue::Int(_) => Ty::Other("int"),
            LiteralValue::Null => Ty::Other("null_type"),
            LiteralValue::String(_) => Ty::Other("string"),
            LiteralValue::UInt(_) => Ty::Other("uint"),
        },
        Expr::List(_) => Ty::Other("list"),
        Expr::Map(_) => Ty::Other("map"),
        Expr::Ident(name) if READY_VARS.contains(&name.as_str()) => Ty::Other("map(string, dyn)"),
        Expr::Select(select) if select.test => Ty::Bool,
        Expr::Select(select) => match static_type(&select.operand) {
            Ty::Dyn | Ty::Other("map(string, dyn)") => Ty::Dyn,
            _ => Ty::Unknown,
        },
        Expr::Comprehension(c) => match &c.result.expr {
            Expr::Ident(name) if *name == c.accu_var => static_type(&c.accu_init),
            _ => static_type(&c.result),
        },
        Expr::Call(call) => {
            // `base64.decode(x)` is a call of `decode` on the identifier
            // `base64`: name it as declared.
            let namespace = call.target.as_deref().and_then(|t| match &t.expr {
                Expr::Ident(ns) if is_namespace(ns) => Some(ns.as_str()),
                _ => None,
            });
            match namespace {
                Some(ns) => call_type(&format!("{ns}.{}", call.func_name), None, &call.args),
                None => call_type(&call.func_name, call.target.as_deref(), &call.args),
            }
        }
        Expr::Ident(_) | Expr::Struct(_) | Expr::Unspecified => Ty::Unknown,
    }
}

fn call_type(name: &str, target: Option<&IdedExpr>, args: &[IdedExpr]) -> Ty {
    use ::cel::common::ast::operators as op;
    match name {
        op::LOGICAL_AND
        | op::LOGICAL_OR
        | op::LOGICAL_NOT
        | op::EQUALS
        | op::NOT_EQUALS
        | op::LESS
        | op::LESS_EQUALS
        | op::GREATER
        | op::GREATER_EQUALS
        | op::IN
        | op::NOT_STRICTLY_FALSE => Ty::Bool,
        op::INDEX => match args.first().map(static_type) {
            Some(Ty::Dyn | Ty::Other("map(string, dyn)")) => Ty::Dyn,
            _ => Ty::Unknown,
        },
        op::CONDITIONAL => {
            let (a, b) = match args {
                [_, a, b] => (static_type(a), static_type(b)),
                _ => return Ty::Unknown,
            };
            match (a, b) {
                (Ty::Bool, Ty::Bool) => Ty::Bool,
                (Ty::Unknown, _) | (_, Ty::Unknown) => Ty::Unknown,
                (Ty::Other(x), Ty::Other(y)) if x == y => Ty::Other(x),
                _ => Ty::Dyn,
            }
        }
        op::ADD | op::SUBSTRACT | op::MULTIPLY | op::DIVIDE | op::MODULO | op::NEGATE => target
            .into_iter()
            .chain(args)
            .map(static_type)
            .find_map(|t| match t {
                Ty::Other(t) => Some(Ty::Other(t)),
                _ => None,
            })
            .unwrap_or(Ty::Dyn),
        "startsWith" | "endsWith" | "contains" | "matches" | "hasValue" | "bool"
        | "sets.contains" | "sets.equivalent" | "sets.intersects" => Ty::Bool,
        "size" | "int" | "indexOf" | "lastIndexOf" => Ty::Other("int"),
        "uint" => Ty::Other("uint"),
        "double" => Ty::Other("double"),
        "string" | "lowerAscii" | "upperAscii" | "trim" | "replace" | "substring" | "charAt"
        | "join" | "format" | "strings.quote" | "reverse" | "base64.encode" => Ty::Other("string"),
        "bytes" | "base64.decode" => Ty::Other("bytes"),
        "split" => Ty::Other("list(string)"),
        "type" => Ty::Other("type"),
        "dyn" => Ty::Dyn,
        _ => Ty::Unknown,
    }
}

// ---------------------------------------------------------------------------
// The sets extension (cel-go's ext.Sets), which Flux enables.
// ---------------------------------------------------------------------------

fn sets_extension(env: &mut Env) -> core::result::Result<(), ::cel::DeclarationError> {
    let lists = || vec![LIST_TYPE, LIST_TYPE];
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        lists(),
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        lists(),
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        lists(),
        sets_intersects,
    )?;
    Ok(())
}

/// The elements of a list, borrowed.
type Elements<'b, 'v> = Vec<&'b (dyn Val + 'v)>;

/// The elements of a `list` argument.
fn elements<'b, 'v>(
    function: &str,
    list: &'b (dyn Val + 'v),
) -> core::result::Result<Elements<'b, 'v>, ExecutionError> {
    let iterable = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::function_error(function, "expected a list"))?;
    let mut iter = iterable.iter();
    let mut out = Vec::new();
    while let Some(v) = iter.next() {
        out.push(v);
    }
    Ok(out)
}

/// Whether every element of `sub` is in `of`, with CEL equality.
fn all_in(sub: &[&(dyn Val + '_)], of: &[&(dyn Val + '_)]) -> bool {
    sub.iter().all(|x| of.iter().any(|y| x.equals(*y)))
}

fn two_lists<'b, 'v>(
    function: &str,
    args: &'b [CowVal<'b, 'v>],
) -> core::result::Result<(Elements<'b, 'v>, Elements<'b, 'v>), ExecutionError> {
    match args {
        [a, b] => Ok((elements(function, &**a)?, elements(function, &**b)?)),
        _ => Err(ExecutionError::invalid_argument_count(2, args.len())),
    }
}

fn bool_val<'b, 'v>(b: bool) -> CowVal<'b, 'v> {
    CowVal::owned(CelBool::from(b))
}

fn sets_contains<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> core::result::Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists("sets.contains", &args)?;
    Ok(bool_val(all_in(&b, &a)))
}

fn sets_equivalent<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> core::result::Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists("sets.equivalent", &args)?;
    Ok(bool_val(all_in(&a, &b) && all_in(&b, &a)))
}

fn sets_intersects<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> core::result::Result<CowVal<'b, 'v>, ExecutionError> {
    let (a, b) = two_lists("sets.intersects", &args)?;
    Ok(bool_val(a.iter().any(|x| b.iter().any(|y| x.equals(*y)))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn exprs(current: &str, in_progress: Option<&str>, failed: Option<&str>) -> HealthExprs {
        HealthExprs::new(current, in_progress, failed).expect("expressions compile")
    }

    fn status_of(e: &HealthExprs, obj: &Value) -> Status {
        e.evaluate(obj).expect("evaluates").status
    }

    /// The SealedSecret example of Flux's Kustomization docs.
    fn sealed_secret_check() -> HealthExprs {
        exprs(
            "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
            None,
            Some("status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')"),
        )
    }

    fn sealed_secret(conditions: Value) -> Value {
        json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "creds", "namespace": "apps", "generation": 1},
            "spec": {"encryptedData": {"password": "AgB..."}},
            "status": {"observedGeneration": 1, "conditions": conditions},
        })
    }

    #[test]
    fn sealed_secret_example_from_flux_docs() {
        let check = sealed_secret_check();
        let synced = sealed_secret(json!([{"type": "Synced", "status": "True"}]));
        let result = check.evaluate(&synced).expect("evaluates");
        assert_eq!(result.status, Status::Current);
        assert_eq!(
            result.message,
            "healthCheckExprs: current expression is true"
        );

        let failed =
            sealed_secret(json!([{"type": "Synced", "status": "False", "message": "no key"}]));
        let result = check.evaluate(&failed).expect("evaluates");
        assert_eq!(result.status, Status::Failed);
        assert_eq!(
            result.message,
            "healthCheckExprs: failed expression is true"
        );

        let unknown = sealed_secret(json!([{"type": "Synced", "status": "Unknown"}]));
        let result = check.evaluate(&unknown).expect("evaluates");
        assert_eq!(result.status, Status::InProgress);
        assert_eq!(result.message, "healthCheckExprs: no expression is true");

        // `all` is true on an empty list and `failed` comes before `current`:
        // an object without conditions is Failed, as in Flux's own tests.
        assert_eq!(status_of(&check, &sealed_secret(json!([]))), Status::Failed);
    }

    /// A cert-manager Certificate with all three expressions.
    fn certificate_check() -> HealthExprs {
        exprs(
            "status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')",
            Some(
                "has(status.conditions) && status.conditions.exists(e, e.type == 'Issuing' && e.status == 'True')",
            ),
            Some(
                "status.conditions.exists(e, e.type == 'Ready' && e.status == 'False' && e.reason != 'DoesNotExist')",
            ),
        )
    }

    fn certificate(generation: i64, observed: i64, conditions: Value) -> Value {
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "web-tls", "namespace": "apps", "generation": generation},
            "spec": {"secretName": "web-tls", "dnsNames": ["web.example.com"],
                     "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
            "status": {"observedGeneration": observed, "conditions": conditions},
        })
    }

    #[test]
    fn certificate_each_outcome() {
        let check = certificate_check();
        let ready = certificate(
            2,
            2,
            json!([{"type": "Ready", "status": "True", "reason": "Ready"}]),
        );
        assert_eq!(status_of(&check, &ready), Status::Current);

        // inProgress is evaluated first: Issuing wins over a stale Ready=True.
        let issuing = certificate(
            2,
            2,
            json!([{"type": "Ready", "status": "True"}, {"type": "Issuing", "status": "True"}]),
        );
        let result = check.evaluate(&issuing).expect("evaluates");
        assert_eq!(result.status, Status::InProgress);
        assert_eq!(
            result.message,
            "healthCheckExprs: inProgress expression is true"
        );

        let failed = certificate(
            2,
            2,
            json!([{"type": "Ready", "status": "False", "reason": "Failed"}]),
        );
        assert_eq!(status_of(&check, &failed), Status::Failed);

        let not_yet = certificate(
            2,
            2,
            json!([{"type": "Ready", "status": "False", "reason": "DoesNotExist"}]),
        );
        assert_eq!(status_of(&check, &not_yet), Status::InProgress);
    }

    #[test]
    fn generation_mismatch_is_in_progress_before_any_expression() {
        // `current` would fail on a missing field: it is never evaluated.
        let check = exprs("status.missing.field", None, None);
        let stale = certificate(3, 2, json!([{"type": "Ready", "status": "True"}]));
        let result = check.evaluate(&stale).expect("evaluates");
        assert_eq!(result.status, Status::InProgress);
        assert_eq!(
            result.message,
            "Certificate generation is 3, but latest observed generation is 2"
        );
        // Without status.observedGeneration the expressions decide.
        let no_observed =
            json!({"kind": "X", "metadata": {"generation": 3}, "status": {"ok": true}});
        assert_eq!(
            status_of(&exprs("status.ok", None, None), &no_observed),
            Status::Current
        );
        // An observedGeneration that is not an integer is an error, as in Flux.
        let bad = json!({"metadata": {"generation": 3}, "status": {"observedGeneration": "3"}});
        let err = check.evaluate(&bad).expect_err("wrong type");
        assert!(matches!(err, Error::Object(_)), "{err:?}");
    }

    /// The precedence cases of Flux's `StatusEvaluator` tests.
    #[test]
    fn in_progress_then_failed_then_current() {
        let check = exprs("data.current", Some("data.inProgress"), Some("data.failed"));
        let obj = |current: bool, in_progress: bool, failed: bool| json!({"data": {"current": current, "inProgress": in_progress, "failed": failed}});
        assert_eq!(
            status_of(&check, &obj(true, true, true)),
            Status::InProgress
        );
        assert_eq!(
            status_of(&check, &obj(false, true, true)),
            Status::InProgress
        );
        assert_eq!(status_of(&check, &obj(true, false, true)), Status::Failed);
        assert_eq!(status_of(&check, &obj(true, false, false)), Status::Current);
        assert_eq!(
            status_of(&check, &obj(false, false, false)),
            Status::InProgress
        );
        // An error in the first expression evaluated is returned, although a
        // later one would have been true.
        let typo = exprs(
            "data.current",
            Some("data.inProgresss"),
            Some("data.failed"),
        );
        let err = typo
            .evaluate(&obj(true, false, false))
            .expect_err("no such key");
        assert!(
            matches!(&err, Error::Evaluate { expr, .. } if expr == "data.inProgresss"),
            "{err:?}"
        );
    }

    /// A Deployment checked by expressions instead of kstatus's rule.
    #[test]
    fn deployment_expressions() {
        let check = exprs(
            "status.availableReplicas == spec.replicas",
            Some("status.updatedReplicas < spec.replicas"),
            Some("status.conditions.exists(c, c.type == 'Progressing' && c.status == 'False')"),
        );
        let deployment = |updated: i64, available: i64, progressing: &str| {
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "generation": 4},
                "spec": {"replicas": 3},
                "status": {"observedGeneration": 4, "updatedReplicas": updated,
                           "availableReplicas": available,
                           "conditions": [{"type": "Progressing", "status": progressing}]},
            })
        };
        assert_eq!(
            status_of(&check, &deployment(3, 3, "True")),
            Status::Current
        );
        assert_eq!(
            status_of(&check, &deployment(1, 3, "True")),
            Status::InProgress
        );
        assert_eq!(
            status_of(&check, &deployment(3, 1, "False")),
            Status::Failed
        );
        assert_eq!(
            status_of(&check, &deployment(3, 2, "True")),
            Status::InProgress
        );
    }

    #[test]
    fn compile_error_names_the_expression() {
        let err = HealthExprs::new("status.ready", None, Some("status.conditions.filter(e,"))
            .expect_err("does not parse");
        assert!(
            matches!(&err, Error::ParseHealthCheck { which: Which::Failed, expr, .. } if expr == "status.conditions.filter(e,"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(
                "failed to parse the expression Failed: failed to parse the CEL expression 'status.conditions.filter(e,': "
            ),
            "{message}"
        );

        let err = HealthExprs::new("data.", None, None).expect_err("does not parse");
        assert!(
            err.to_string()
                .starts_with("failed to parse the expression Current"),
            "{err}"
        );
        let err = HealthExprs::new("true", Some("1 +"), None).expect_err("does not parse");
        assert!(
            err.to_string()
                .starts_with("failed to parse the expression InProgress"),
            "{err}"
        );

        assert_eq!(
            HealthExprs::new("", None, None).expect_err("required"),
            Error::CurrentNotSpecified
        );
        // Empty optional expressions count as not set.
        let check = exprs("true", Some(""), Some(""));
        assert_eq!(status_of(&check, &json!({})), Status::Current);
    }

    #[test]
    fn missing_fields_are_evaluation_errors() {
        let check = sealed_secret_check();
        // No `status` at all: the variable does not exist.
        let err = check
            .evaluate(&json!({"kind": "SealedSecret"}))
            .expect_err("missing status");
        let Error::Evaluate { expr, message } = &err else {
            panic!("expected an evaluation error, got {err:?}");
        };
        assert_eq!(
            expr,
            "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')"
        );
        assert!(message.contains("status"), "{message}");
        assert!(
            err.to_string().starts_with(
                "failed to evaluate the CEL expression 'status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')': "
            ),
            "{err}"
        );

        // `status` without `conditions`: no such key.
        let err = check
            .evaluate(&json!({"status": {}}))
            .expect_err("missing conditions");
        assert!(
            matches!(&err, Error::Evaluate { message, .. } if message.contains("conditions")),
            "{err:?}"
        );

        // status() reports errors as Unknown, as kstatus's reader does.
        let result = check.status(&json!({"status": {}}));
        assert_eq!(result.status, Status::Unknown);
        assert_eq!(result.message, err.to_string());

        // has() guards a missing field below an existing one, but not a
        // missing top-level field.
        let guarded = exprs("has(status.conditions)", None, None);
        assert_eq!(
            status_of(&guarded, &json!({"status": {}})),
            Status::InProgress
        );
        assert!(guarded.evaluate(&json!({"spec": {}})).is_err());

        // Optional syntax, which Flux enables.
        let optional = exprs(
            "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')",
            None,
            None,
        );
        assert_eq!(
            status_of(&optional, &json!({"status": {}})),
            Status::InProgress
        );
        assert_eq!(
            status_of(
                &optional,
                &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
            ),
            Status::Current
        );
    }

    #[test]
    fn non_bool_result_is_an_error() {
        let check = exprs("metadata.name", None, None);
        let err = check
            .evaluate(&json!({"metadata": {"name": "web"}}))
            .expect_err("not a bool");
        assert_eq!(
            err,
            Error::NotBool {
                expr: "metadata.name".to_owned(),
                got: "string".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "failed to evaluate CEL expression as boolean: 'metadata.name' (got string)"
        );
        // An error in an earlier expression stops the evaluation.
        let check = exprs("true", Some("spec.replicas"), None);
        assert!(check.evaluate(&json!({"spec": {"replicas": 1}})).is_err());
    }

    #[test]
    fn numbers_strings_and_extensions() {
        let obj = json!({
            "metadata": {"name": "web-tls", "generation": 2, "finalizers": ["a", "b"],
                         "annotations": {"secret": "aGVsbG8="}},
            "spec": {"ratio": 0.5, "big": 18446744073709551615u64},
        });
        for expr in [
            "metadata.generation == 2",
            "type(metadata.generation) == int && metadata.generation - 3 == -1",
            "type(spec.ratio) == double && type(spec.big) == uint",
            "metadata.generation > 1.5",
            "spec.ratio < 1",
            "spec.big > 0u",
            "metadata.name.startsWith('web') && metadata.name.upperAscii() == 'WEB-TLS'",
            "metadata.name.split('-').size() == 2",
            "metadata.name.matches('^web-[a-z]+$')",
            "base64.decode(metadata.annotations.secret) == b'hello'",
            "sets.contains(metadata.finalizers, ['b'])",
            "!sets.contains(metadata.finalizers, ['c'])",
            "sets.equivalent(metadata.finalizers, ['b', 'a'])",
            "sets.intersects(metadata.finalizers, ['c', 'a'])",
            "[1, 2].exists_one(x, x == 2) && [1].map(x, x * 2) == [2]",
        ] {
            assert_eq!(
                status_of(&exprs(expr, None, None), &obj),
                Status::Current,
                "{expr}"
            );
        }
    }

    #[test]
    fn health_checks_match_by_group_and_kind() {
        let specs = [
            CustomHealthCheck {
                api_version: "bitnami.com/v1alpha1",
                kind: Some("SealedSecret"),
                current: "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')",
                in_progress: None,
                failed: Some(
                    "status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'False')",
                ),
            },
            CustomHealthCheck {
                api_version: "v1",
                kind: Some("ConfigMap"),
                current: "data.ready == 'yes'",
                ..Default::default()
            },
        ];
        let checks = HealthChecks::new(specs).expect("compiles");
        assert!(!checks.is_empty());

        let synced = sealed_secret(json!([{"type": "Synced", "status": "True"}]));
        assert!(checks.find(&synced).is_some());
        assert_eq!(checks.compute(&synced).status, Status::Current);
        // The version does not matter.
        let mut other_version = synced.clone();
        other_version["apiVersion"] = json!("bitnami.com/v1");
        assert!(checks.find(&other_version).is_some());
        // Another group, same kind: no match, built-in rules.
        let mut other_group = synced.clone();
        other_group["apiVersion"] = json!("example.com/v1alpha1");
        assert!(checks.find(&other_group).is_none());

        // The core group: a ConfigMap goes by its expression, not by kstatus
        // (which calls every ConfigMap Current).
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                        "data": {"ready": "no"}});
        assert_eq!(crate::compute(&cm).status, Status::Current);
        assert_eq!(checks.compute(&cm).status, Status::InProgress);
        let cm_missing =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(checks.compute(&cm_missing).status, Status::Unknown);
        // A kind without a check goes by kstatus.
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
        assert!(checks.find(&secret).is_none());
        assert_eq!(checks.compute(&secret).status, Status::Current);

        assert!(checks.find_group_kind("", "ConfigMap").is_some());
        assert!(
            checks
                .find_group_kind("bitnami.com", "SealedSecret")
                .is_some()
        );
        assert!(checks.find_group_kind("bitnami.com", "ConfigMap").is_none());
    }

    #[test]
    fn health_checks_reject_duplicates_missing_kinds_and_bad_expressions() {
        let check = |api_version, kind, current| CustomHealthCheck {
            api_version,
            kind,
            current,
            ..Default::default()
        };
        let err = HealthChecks::new([
            check("cert-manager.io/v1", Some("Certificate"), "true"),
            check("cert-manager.io/v1beta1", Some("Certificate"), "false"),
        ])
        .expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "duplicate custom health check for GroupKind Certificate.cert-manager.io at healthchecks[1]"
        );

        let err = HealthChecks::new([check("cert-manager.io/v1", None, "true")])
            .expect_err("kind required");
        assert_eq!(
            err,
            Error::KindNotSpecified {
                index: 0,
                api_version: "cert-manager.io/v1".to_owned()
            }
        );

        let err = HealthChecks::new([
            check("v1", Some("ConfigMap"), "true"),
            check("v1", Some("Secret"), "data.("),
        ])
        .expect_err("bad expression");
        assert!(
            err.to_string().starts_with(
                "failed to create custom status evaluator for healthchecks[1]: failed to parse the expression Current: "
            ),
            "{err}"
        );
    }

    #[test]
    fn find_check_in_a_caller_list() {
        struct Check {
            api_version: String,
            kind: Option<String>,
            name: &'static str,
        }
        let checks = [
            Check {
                api_version: "cert-manager.io/v1".into(),
                kind: None,
                name: "no kind",
            },
            Check {
                api_version: "cert-manager.io/v1".into(),
                kind: Some("Issuer".into()),
                name: "issuer",
            },
            Check {
                api_version: "cert-manager.io/v1".into(),
                kind: Some("Certificate".into()),
                name: "certificate",
            },
        ];
        fn key(c: &Check) -> (&str, Option<&str>) {
            (c.api_version.as_str(), c.kind.as_deref())
        }
        let cert = certificate(1, 1, json!([]));
        assert_eq!(
            find_check(&checks, &cert, key).map(|c| c.name),
            Some("certificate")
        );
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        assert!(find_check(&checks, &deployment, key).is_none());
        assert!(applies_to(
            "cert-manager.io/v1alpha2",
            Some("Certificate"),
            &cert
        ));
        assert!(!applies_to("cert-manager.io/v1", None, &cert));
        assert!(!applies_to("v1", Some(""), &json!({"apiVersion": "v1"})));
    }

    fn kustomization(
        name: &str,
        version: &str,
        ready: &str,
        generation: i64,
        observed: i64,
    ) -> Value {
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "apps", "generation": generation,
                         "labels": {"app/version": version}},
            "spec": {"interval": "5m", "path": "./", "prune": true},
            "status": {"observedGeneration": observed,
                       "conditions": [{"type": "Ready", "status": ready}]},
        })
    }

    /// The lockstep-upgrade example of Flux's Kustomization docs.
    const LOCKSTEP: &str = "dep.metadata.labels['app/version'] == self.metadata.labels['app/version'] &&\n\
        dep.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True') &&\n\
        dep.metadata.generation == dep.status.observedGeneration\n";

    #[test]
    fn ready_expr_true_and_false() {
        let expr = ReadyExpr::new(LOCKSTEP).expect("compiles");
        assert_eq!(expr.source(), LOCKSTEP);
        let frontend = kustomization("app-frontend", "v1.2.3", "True", 1, 1);
        let backend = kustomization("app-backend", "v1.2.3", "True", 5, 5);
        assert_eq!(expr.evaluate(&frontend, &backend), Ok(true));

        let old_backend = kustomization("app-backend", "v1.2.2", "True", 5, 5);
        assert_eq!(expr.evaluate(&frontend, &old_backend), Ok(false));
        let unready = kustomization("app-backend", "v1.2.3", "False", 5, 5);
        assert_eq!(expr.evaluate(&frontend, &unready), Ok(false));
        let stale = kustomization("app-backend", "v1.2.3", "True", 6, 5);
        assert_eq!(expr.evaluate(&frontend, &stale), Ok(false));

        // Only the expression decides: a dependency whose Ready is False
        // still counts as ready when the expression says so.
        let lenient = ReadyExpr::new("dep.metadata.name == 'app-backend'").expect("compiles");
        assert_eq!(lenient.evaluate(&frontend, &unready), Ok(true));

        assert_eq!(
            not_ready_message("apps/app-backend"),
            "dependency 'apps/app-backend' is not ready according to readyExpr eval"
        );
    }

    #[test]
    fn ready_expr_evaluation_errors() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        let me = kustomization("applier", "v1", "True", 1, 1);
        let expr = ReadyExpr::new("dep.status.phase == 'Running'").expect("compiles");
        let err = expr.evaluate(&me, &pod).expect_err("missing status");
        assert!(
            matches!(&err, Error::Evaluate { expr, message } if expr == "dep.status.phase == 'Running'" && message.contains("status")),
            "{err:?}"
        );
        // has() on a present object.
        let has = ReadyExpr::new("has(dep.status)").expect("compiles");
        assert_eq!(has.evaluate(&me, &pod), Ok(false));
        assert_eq!(has.evaluate(&pod, &me), Ok(true));
        // A type not known until evaluation.
        let opaque = ReadyExpr::new("dep.?metadata.orValue(true)").expect("compiles");
        assert_eq!(
            opaque.evaluate(&me, &pod),
            Err(Error::NotBool {
                expr: "dep.?metadata.orValue(true)".to_owned(),
                got: "map".to_owned()
            })
        );
    }

    #[test]
    fn ready_expr_compile_errors() {
        // Syntax.
        let err = ReadyExpr::new("foo.").expect_err("syntax");
        assert!(
            err.to_string()
                .starts_with("failed to parse the CEL expression 'foo.': "),
            "{err}"
        );
        // A variable other than self and dep.
        let err = ReadyExpr::new("deps.metadata.generation == self.metadata.generation")
            .expect_err("undeclared");
        assert_eq!(
            err.to_string(),
            "failed to parse the CEL expression 'deps.metadata.generation == self.metadata.generation': \
             ERROR: <input>:1:1: undeclared reference to 'deps' (in container '')"
        );
        let err = ReadyExpr::new("dep.metadata.name == 'a' &&\n  other").expect_err("undeclared");
        assert!(
            err.to_string()
                .ends_with("<input>:2:3: undeclared reference to 'other' (in container '')"),
            "{err}"
        );
        // Macro variables, namespaces and type names are declared.
        for ok in [
            "dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
            "dep.status.conditions.all(c, dep.status.conditions.exists(d, d.type == c.type))",
            "base64.decode(dep.data.key) == b'x'",
            "type(dep.metadata.name) == string",
            "has(dep.status) ? dep.status.ready == true : false",
        ] {
            assert!(ReadyExpr::new(ok).is_ok(), "{ok}");
        }
        // A comprehension variable is not visible outside its macro.
        assert!(ReadyExpr::new("dep.spec.items.exists(c, c) && c").is_err());

        // Output types that are not bool, as Flux's checker sees them.
        for (expr, got) in [
            ("dep.status.ready", "dyn"),
            ("dep.metadata.labels['app/version']", "dyn"),
            ("dep.metadata.name + '-x'", "string"),
            ("size(dep.status.conditions)", "int"),
            ("'yes'", "string"),
            ("dep.status.conditions.filter(c, c.type == 'Ready')", "list"),
            ("true ? dep.status.ready : false", "dyn"),
            ("self", "map(string, dyn)"),
        ] {
            assert_eq!(
                ReadyExpr::new(expr).map(|_| ()),
                Err(Error::OutputType {
                    expr: expr.to_owned(),
                    got: got.to_owned()
                }),
                "{expr}"
            );
        }
        assert_eq!(
            ReadyExpr::new("dep.status.ready")
                .map(|_| ())
                .expect_err("dyn")
                .to_string(),
            "CEL expression output type mismatch: expected bool, got dyn"
        );
    }

    #[test]
    fn compiled_expressions_are_shareable() {
        fn check<T: Send + Sync>() {}
        check::<HealthExprs>();
        check::<HealthChecks>();
        check::<ReadyExpr>();
    }
}
