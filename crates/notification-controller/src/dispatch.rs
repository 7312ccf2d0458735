//! Delivery of matched events to Providers.
//!
//! The event server hands jobs to a bounded queue and answers at once; a
//! background task drains the queue, sending up to [`CONCURRENCY`] jobs at a
//! time. A send resolves the Provider (address, token, headers, proxy and CA
//! from its Secrets, cached briefly with the HTTP client built from them),
//! formats the requests ([`crate::notifier`]) and posts them with retries on
//! connection errors, 429 and 5xx, all within the Provider's `timeout`.
//! Failures become Warning events on the Alert; secret values never appear
//! in logs or events.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Resource as _, ResourceExt as _};
use tokio::sync::{Semaphore, mpsc};
use weir_api::notification::v1beta3::{Alert, Provider};
use weir_runtime::events::{Event, EventRecorder, FluxEvent};

use crate::event::object_string;
use crate::notifier::{self, HttpRequest, Target};

/// Jobs that may wait for delivery; beyond this the event server answers 503.
pub const QUEUE_CAPACITY: usize = 8192;
/// Sends in flight at once.
pub const CONCURRENCY: usize = 64;
/// Retries after the first attempt (Flux's retrying HTTP client makes four).
const MAX_RETRIES: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// How long a resolved Provider (Secrets read, client built) is reused.
const RESOLVED_TTL: Duration = Duration::from_secs(10);
/// The longest address Flux accepts from a Secret.
const MAX_ADDRESS_LEN: usize = 2048;

/// One event to deliver through one Alert's Provider.
pub struct Job {
    pub alert: Arc<Alert>,
    pub provider: Arc<Provider>,
    /// The event as the Alert forwards it (metadata merged).
    pub event: FluxEvent,
}

/// The queue is full; the sender should retry later.
#[derive(Debug, thiserror::Error)]
#[error("the notification queue is full")]
pub struct QueueFull;

/// The sending side of the delivery queue. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::Sender<Job>,
}

impl Dispatcher {
    /// Starts the delivery task.
    pub fn start(client: kube::Client, recorder: EventRecorder) -> Self {
        Self::start_with(client, recorder, QUEUE_CAPACITY, CONCURRENCY)
    }

    pub fn start_with(
        client: kube::Client,
        recorder: EventRecorder,
        capacity: usize,
        concurrency: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let sender = Arc::new(Sender {
            client,
            recorder,
            resolved: Mutex::new(HashMap::new()),
        });
        tokio::spawn(deliver(rx, sender, concurrency.max(1)));
        Self { tx }
    }

    /// Queues all of `jobs`, or none of them when there is not room for all.
    pub fn try_enqueue(&self, jobs: Vec<Job>) -> Result<(), QueueFull> {
        if jobs.is_empty() {
            return Ok(());
        }
        let permits = self
            .tx
            .try_reserve_many(jobs.len())
            .map_err(|_| QueueFull)?;
        for (permit, job) in permits.zip(jobs) {
            permit.send(job);
        }
        Ok(())
    }
}

async fn deliver(mut rx: mpsc::Receiver<Job>, sender: Arc<Sender>, concurrency: usize) {
    let slots = Arc::new(Semaphore::new(concurrency));
    while let Some(job) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            sender.send(job).await;
            drop(slot);
        });
    }
}

/// A Provider ready to send: its target and the HTTP client for it.
struct Resolved {
    target: Target,
    http: reqwest::Client,
    timeout: Duration,
    /// Secret values to mask in error messages.
    secrets: Vec<String>,
}

struct Sender {
    client: kube::Client,
    recorder: EventRecorder,
    resolved: Mutex<HashMap<String, (Instant, Arc<Resolved>)>>,
}

impl Sender {
    async fn send(&self, job: Job) {
        let provider_type = job.provider.spec.type_;
        let (result, secrets) = match self.resolve(&job.provider).await {
            Err(e) => (Err(format!("{e:#}")), Vec::new()),
            Ok(resolved) => {
                let outcome = async {
                    let requests = notifier::requests(provider_type, &resolved.target, &job.event)
                        .map_err(|e| e.to_string())?;
                    let deadline = tokio::time::Instant::now() + resolved.timeout;
                    for request in requests {
                        post(&resolved.http, request, deadline).await?;
                    }
                    Ok::<(), String>(())
                }
                .await;
                (outcome, resolved.secrets.clone())
            }
        };
        if let Err(error) = result {
            let error = mask(&error, &secrets);
            let object = object_string(&job.event);
            tracing::warn!(
                alert = %format!("{}/{}", job.alert.namespace().unwrap_or_default(), job.alert.name_any()),
                provider = %job.provider.name_any(),
                event_object = %object,
                "failed to send notification: {error}"
            );
            self.recorder.publish(
                job.alert.as_ref(),
                Event::error(
                    weir_api::notification::v1::NOTIFICATION_DISPATCH_FAILED_REASON,
                    format!("failed to send notification for {object}: {error}"),
                ),
            );
        }
    }

    /// The Provider with its Secrets read and its HTTP client built, reused
    /// for [`RESOLVED_TTL`] while the Provider is unchanged.
    async fn resolve(&self, provider: &Provider) -> anyhow::Result<Arc<Resolved>> {
        let key = format!(
            "{}/{}@{}",
            provider.namespace().unwrap_or_default(),
            provider.name_any(),
            provider.resource_version().unwrap_or_default()
        );
        if let Ok(cache) = self.resolved.lock()
            && let Some((at, r)) = cache.get(&key)
            && at.elapsed() < RESOLVED_TTL
        {
            return Ok(r.clone());
        }
        let resolved = Arc::new(resolve(&self.client, provider).await?);
        if let Ok(mut cache) = self.resolved.lock() {
            cache.retain(|_, (at, _)| at.elapsed() < RESOLVED_TTL);
            cache.insert(key, (Instant::now(), resolved.clone()));
        }
        Ok(resolved)
    }
}

async fn secret(client: &kube::Client, namespace: &str, name: &str) -> anyhow::Result<Secret> {
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .with_context(|| format!("failed to get secret '{namespace}/{name}'"))
}

fn secret_text(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_owned())
}

fn secret_bytes<'a>(secret: &'a Secret, keys: &[&str]) -> Option<&'a [u8]> {
    let data = secret.data.as_ref()?;
    keys.iter()
        .find_map(|k| data.get(*k))
        .map(|b| b.0.as_slice())
}

async fn resolve(client: &kube::Client, provider: &Provider) -> anyhow::Result<Resolved> {
    let namespace = provider.namespace().unwrap_or_default();
    let spec = &provider.spec;
    let timeout = weir_api::duration::parse(provider.timeout())
        .map_err(|e| anyhow::anyhow!("invalid spec.timeout: {e}"))?;
    let mut target = Target {
        address: spec.address.clone().unwrap_or_default().trim().to_owned(),
        channel: spec.channel.clone().unwrap_or_default(),
        username: spec.username.clone().unwrap_or_default(),
        provider_uid: provider.meta().uid.clone().unwrap_or_default(),
        provider_name: provider.name_any(),
        provider_namespace: namespace.clone(),
        ..Target::default()
    };
    let mut proxy: Option<reqwest::Proxy> = None;
    let mut secrets = Vec::new();
    let mut provider_secret = None;

    if let Some(r) = &spec.proxy
        && !r.is_empty()
    {
        proxy = Some(reqwest::Proxy::all(r).context("invalid spec.proxy")?);
    }
    if let Some(r) = &spec.secret_ref {
        let s = secret(client, &namespace, &r.name).await?;
        if let Some(address) = secret_text(&s, "address") {
            if address.len() > MAX_ADDRESS_LEN {
                anyhow::bail!(
                    "invalid address in secret: address exceeds maximum length of {MAX_ADDRESS_LEN} bytes"
                );
            }
            target.address = address;
        }
        if let Some(p) = secret_text(&s, "proxy").filter(|p| !p.is_empty()) {
            proxy = Some(reqwest::Proxy::all(&p).map_err(|_| {
                anyhow::anyhow!("invalid 'proxy' in secret '{namespace}/{}'", r.name)
            })?);
        }
        if let Some(h) = secret_bytes(&s, &["headers"]) {
            let text = String::from_utf8_lossy(h);
            let headers: BTreeMap<String, String> = serde_saphyr::from_str(&text)
                .map_err(|e| anyhow::anyhow!("failed to read headers from secret: {e}"))?;
            target.headers = headers;
        }
        if let Some(t) = secret_text(&s, "token") {
            target.token = t;
        }
        let user = secret_text(&s, "username");
        let pass = secret_text(&s, "password");
        if let (Some(u), Some(p)) = (user, pass) {
            target.username = u;
            target.password = p;
        }
        secrets.extend(
            [target.token.clone(), target.password.clone()]
                .into_iter()
                .filter(|v| !v.is_empty()),
        );
        provider_secret = Some(s);
    }
    if let Some(r) = &spec.proxy_secret_ref {
        let s = secret(client, &namespace, &r.name).await?;
        let address = secret_text(&s, "address").ok_or_else(|| {
            anyhow::anyhow!(
                "secret '{namespace}/{}' has no 'address' for the proxy",
                r.name
            )
        })?;
        let mut p = reqwest::Proxy::all(&address).map_err(|_| {
            anyhow::anyhow!("invalid proxy 'address' in secret '{namespace}/{}'", r.name)
        })?;
        if let (Some(u), Some(pw)) = (secret_text(&s, "username"), secret_text(&s, "password")) {
            p = p.basic_auth(&u, &pw);
            secrets.push(pw);
        }
        proxy = Some(p);
    }

    let mut builder = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4);
    if let Some(p) = proxy {
        builder = builder.proxy(p);
    }
    // TLS from certSecretRef; commit-status providers may also keep a CA in
    // their secretRef, as in Flux.
    let tls_secret = match &spec.cert_secret_ref {
        Some(r) => Some(secret(client, &namespace, &r.name).await?),
        None if spec.type_.is_commit_status() => {
            provider_secret.filter(|s| secret_bytes(s, &["ca.crt", "caFile"]).is_some())
        }
        None => None,
    };
    if let Some(s) = &tls_secret {
        let name = s.name_any();
        if let Some(ca) = secret_bytes(s, &["ca.crt", "caFile"]) {
            let certs = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| anyhow::anyhow!("invalid CA certificate in secret '{name}': {e}"))?;
            if certs.is_empty() {
                anyhow::bail!("no CA certificate in 'ca.crt' of secret '{name}'");
            }
            builder = builder.tls_certs_merge(certs);
        }
        let cert = secret_bytes(s, &["tls.crt", "certFile"]);
        let key = secret_bytes(s, &["tls.key", "keyFile"]);
        match (cert, key) {
            (Some(cert), Some(key)) => {
                let mut pem = cert.to_vec();
                pem.push(b'\n');
                pem.extend_from_slice(key);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    anyhow::anyhow!("invalid client certificate in secret '{name}': {e}")
                })?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => anyhow::bail!("secret '{name}' must hold both 'tls.crt' and 'tls.key'"),
        }
    }
    let http = builder.build().context("building the HTTP client")?;
    Ok(Resolved {
        target,
        http,
        timeout,
        secrets,
    })
}

/// Sends one request, retrying on connection errors, 429 and 5xx (except
/// 501) with doubling waits, until `deadline`.
async fn post(
    http: &reqwest::Client,
    request: HttpRequest,
    deadline: tokio::time::Instant,
) -> Result<(), String> {
    let mut wait = FIRST_RETRY;
    let mut attempt = 0;
    loop {
        let mut builder = http
            .request(request.method.clone(), &request.url)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outcome = match tokio::time::timeout_at(deadline, builder.send()).await {
            Err(_) => return Err(timeout_error(&request.url)),
            Ok(r) => r,
        };
        let retry = match outcome {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let status = resp.status();
                let body = tokio::time::timeout_at(deadline, resp.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                let error = format!(
                    "request to {} failed with status {status}: {}",
                    strip_query(&request.url),
                    truncate(body.trim(), 512)
                );
                let retryable = status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || (status.is_server_error() && status != reqwest::StatusCode::NOT_IMPLEMENTED);
                if !retryable {
                    return Err(error);
                }
                error
            }
            Err(e) => format!(
                "request to {} failed: {}",
                strip_query(&request.url),
                error_chain(&e)
            ),
        };
        attempt += 1;
        let now = tokio::time::Instant::now();
        if attempt > MAX_RETRIES || now + wait >= deadline {
            return Err(format!("giving up after {attempt} attempt(s): {retry}"));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY_WAIT);
    }
}

fn timeout_error(url: &str) -> String {
    format!("request to {} timed out", strip_query(url))
}

/// The URL without its query (tokens are sometimes passed there).
fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Replaces every secret value in `text` with `*****`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "*****");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_and_truncation() {
        assert_eq!(
            mask("token abc in https://x/abc", &["abc".into(), String::new()]),
            "token ***** in https://x/*****"
        );
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(strip_query("https://h/p?token=1"), "https://h/p");
    }
}
