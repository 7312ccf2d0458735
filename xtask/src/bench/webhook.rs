//! A GitHub `Receiver` served by the release notification-controller, and
//! push webhooks to it as GitHub sends them (`X-GitHub-Event: push`, the
//! body signed with the Receiver's token in `X-Hub-Signature-256`), for
//! `cargo xtask bench push-latency --webhook`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hmac::{Hmac, Mac as _};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use sha2::Sha256;
use weir_api::notification::v1::Receiver;

use super::http1;
use crate::controllers::{Binaries, Env, NotificationController};

/// The Receiver, and the Secret holding its token.
const RECEIVER: &str = "github";
const TOKEN_SECRET: &str = "github-webhook-token";
/// How long the Receiver may take to be Ready and served.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// notification-controller serving a github Receiver whose `resources` is
/// one GitRepository.
pub struct GitHubWebhook {
    pub notification: NotificationController,
    /// `status.webhookPath`.
    path: String,
    token: String,
    /// Sent so far (numbers the `X-GitHub-Delivery`s).
    deliveries: u64,
}

impl GitHubWebhook {
    /// Creates the token's Secret and a github Receiver (`events: [push]`)
    /// for GitRepository `repository` in `env.namespace`, starts
    /// notification-controller, and waits until it serves the Receiver's
    /// `status.webhookPath` (an unsigned call is refused with 401 rather
    /// than 404 or 503).
    pub async fn start(
        binaries: &Binaries,
        env: &Env<'_>,
        client: &kube::Client,
        repository: &str,
    ) -> anyhow::Result<GitHubWebhook> {
        let namespace = env.namespace;
        let token = format!("weir-bench-{}", std::process::id());
        super::create_in::<Secret>(
            client,
            namespace,
            serde_json::json!({
                "metadata": { "name": TOKEN_SECRET },
                "stringData": { "token": token },
            }),
        )
        .await?;
        super::create_in::<Receiver>(
            client,
            namespace,
            serde_json::json!({
                "apiVersion": "notification.toolkit.fluxcd.io/v1",
                "kind": "Receiver",
                "metadata": { "name": RECEIVER },
                "spec": {
                    "type": "github",
                    "events": ["push"],
                    "secretRef": { "name": TOKEN_SECRET },
                    "resources": [{ "kind": "GitRepository", "name": repository }],
                },
            }),
        )
        .await?;
        let receivers = Api::<Receiver>::namespaced(client.clone(), namespace);
        let mut notification = NotificationController::start(binaries, env, &[])?;

        let started = Instant::now();
        let path = loop {
            notification.process.check()?;
            let receiver = receivers.get(RECEIVER).await?;
            if let Some(path) = receiver.status.and_then(|s| {
                let ready = s
                    .conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                s.webhook_path.filter(|_| ready)
            }) {
                break path;
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!("the Receiver has no webhook path after {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let mut webhook = GitHubWebhook {
            notification,
            path,
            token,
            deliveries: 0,
        };
        loop {
            webhook.notification.process.check()?;
            // 0: not listening yet (it lists the Receivers first).
            let status = webhook
                .post(b"{}", None)
                .await
                .map_or(0, |response| response.status);
            if status == 401 {
                break;
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "the webhook path is not served after {READY_TIMEOUT:?} (an unsigned call got {status})"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "  github Receiver served at http://{}{} after {:.2}s",
            webhook.notification.receiver_addr,
            webhook.path,
            started.elapsed().as_secs_f64()
        );
        Ok(webhook)
    }

    /// Sends GitHub's push event for `before..after` on `main` of the
    /// repository at `url`; fails unless it is answered 200.
    pub async fn push(&mut self, url: &str, before: &str, after: &str) -> anyhow::Result<()> {
        let body = serde_json::to_vec(&serde_json::json!({
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "created": false,
            "deleted": false,
            "forced": false,
            "repository": { "name": "app", "full_name": "weir/app", "clone_url": url, "default_branch": "main" },
            "pusher": { "name": "weir-bench" },
            "head_commit": { "id": after, "message": "bench push" },
        }))?;
        let signature = sign(self.token.as_bytes(), &body)?;
        let response = self.post(&body, Some(&signature)).await?;
        if response.status != 200 {
            bail!(
                "the push webhook was answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body).trim()
            );
        }
        Ok(())
    }

    /// POSTs `body` to the webhook path as a GitHub push event, signed
    /// when `signature` is given.
    async fn post(
        &mut self,
        body: &[u8],
        signature: Option<&str>,
    ) -> anyhow::Result<http1::Response> {
        self.deliveries += 1;
        let delivery = format!("00000000-0000-4000-8000-{:012}", self.deliveries);
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("User-Agent", "GitHub-Hookshot/weir-bench"),
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", delivery.as_str()),
        ];
        if let Some(signature) = signature {
            headers.push(("X-Hub-Signature-256", signature));
        }
        let addr: SocketAddr = self.notification.receiver_addr;
        let request = http1::request("POST", addr, &self.path, &headers, body);
        // As a Git host does: a connection of its own for each delivery.
        tokio::task::spawn_blocking(move || http1::Connection::new(addr).send(&request))
            .await?
            .context("POSTing to the webhook receiver")
    }
}

/// GitHub's `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of
/// the body under the webhook secret.
fn sign(key: &[u8], body: &[u8]) -> anyhow::Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| anyhow::anyhow!("HMAC refused the webhook secret as a key"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_githubs() {
        // The example in GitHub's "Validating webhook deliveries".
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!").expect("signed"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
