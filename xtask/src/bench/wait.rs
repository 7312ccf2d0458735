//! What the controller benchmarks wait for: many objects created, all
//! Ready, all gone.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::Resource;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use weir_api::kustomize::v1::Kustomization;
use weir_api::source::v1::GitRepository;

use crate::controllers::Controllers;

/// How long any one phase may take.
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs `make(i)` for `0..count`, 32 at a time.
pub async fn create_all<F, Fut>(count: usize, make: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    futures::stream::iter(0..count)
        .map(make)
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .map(drop)
}

/// What [`wait_all`] waits for.
pub trait Readiness {
    /// The kind, in the plural.
    const WHAT: &'static str;
    fn is_ready(&self) -> bool;
    /// Why it is not Ready (the Ready condition's reason), if known.
    fn not_ready_reason(&self) -> Option<String>;
}

impl Readiness for GitRepository {
    const WHAT: &'static str = "GitRepositories";

    /// Ready, with an artifact.
    fn is_ready(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.artifact.is_some() && ready_condition(s.conditions.as_ref()).is_some_and(|(r, _)| r)
        })
    }

    fn not_ready_reason(&self) -> Option<String> {
        None
    }
}

impl Readiness for Kustomization {
    const WHAT: &'static str = "Kustomizations";

    /// Ready, having applied a revision.
    fn is_ready(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.last_applied_revision.is_some()
                && ready_condition(s.conditions.as_ref()).is_some_and(|(r, _)| r)
        })
    }

    fn not_ready_reason(&self) -> Option<String> {
        let status = self.status.as_ref()?;
        ready_condition(status.conditions.as_ref()).map(|(_, reason)| reason.to_owned())
    }
}

/// Watches `api` until `count` objects are Ready, printing progress (with
/// the reasons of those not Ready) every five seconds.
pub async fn wait_all<K>(
    api: &Api<K>,
    count: usize,
    started: Instant,
    controllers: &mut Controllers,
) -> anyhow::Result<()>
where
    K: Readiness + Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let what = K::WHAT;
    let mut stream = std::pin::pin!(watcher(api.clone(), watcher::Config::default()));
    // name → not-Ready reason (None when Ready).
    let mut state: HashMap<String, Option<String>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    let note = |state: &mut HashMap<String, Option<String>>, obj: &K| {
        let name = obj.meta().name.clone().unwrap_or_default();
        let r = if obj.is_ready() {
            None
        } else {
            Some(obj.not_ready_reason().unwrap_or_else(|| "pending".into()))
        };
        state.insert(name, r);
    };
    loop {
        let ready_now = state.values().filter(|r| r.is_none()).count();
        if ready_now == count {
            return Ok(());
        }
        tokio::select! {
            event = stream.next() => match event {
                Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => note(&mut state, &o),
                Some(Ok(watcher::Event::Delete(o))) => {
                    state.remove(&o.meta().name.clone().unwrap_or_default());
                }
                Some(Ok(watcher::Event::Init | watcher::Event::InitDone)) => {}
                Some(Err(e)) => {
                    println!("  (watch error: {e}; retrying)");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => bail!("the {what} watch ended"),
            },
            _ = tick.tick() => {
                controllers.check()?;
                let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
                for r in state.values().flatten() {
                    *reasons.entry(r.as_str()).or_default() += 1;
                }
                let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
                println!(
                    "  {ready_now}/{count} {what} Ready after {:.1}s{}",
                    started.elapsed().as_secs_f64(),
                    if reasons.is_empty() { String::new() } else { format!(" (not yet: {})", reasons.join(", ")) }
                );
                if started.elapsed() > PHASE_TIMEOUT {
                    bail!("only {ready_now}/{count} {what} Ready after {PHASE_TIMEOUT:?}");
                }
            }
        }
    }
}

/// Polls until `api` lists nothing (the finalizers have run).
pub async fn wait_gone<K>(api: &Api<K>, controllers: &mut Controllers) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let started = Instant::now();
    while !api
        .list_metadata(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        controllers.check()?;
        if started.elapsed() > PHASE_TIMEOUT {
            bail!("objects still there {PHASE_TIMEOUT:?} after deletion");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

fn ready_condition(conditions: Option<&Vec<Condition>>) -> Option<(bool, &str)> {
    conditions?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status == "True", c.reason.as_str()))
}
