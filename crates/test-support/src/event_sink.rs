//! A local HTTP endpoint receiving Flux-format events, standing in for
//! notification-controller's event server (`--events-addr`) or a webhook
//! provider's service in tests.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// The JSON bodies POSTed to it, in arrival order.
pub struct EventSink {
    pub url: String,
    rx: mpsc::UnboundedReceiver<serde_json::Value>,
}

impl EventSink {
    /// Listens on a free loopback port; every POST body is queued.
    pub async fn start() -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(axum::routing::post(
            move |axum::Json(v): axum::Json<serde_json::Value>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(v);
                    "ok"
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url: format!("http://{addr}/"),
            rx,
        })
    }

    /// The next event about the object `name` (others are skipped);
    /// panics after 30 s without one.
    pub async fn next_for(&mut self, name: &str) -> serde_json::Value {
        self.next_matching(|e| e["involvedObject"]["name"] == name)
            .await
    }

    /// The next event `matches` accepts (others are skipped); panics after
    /// 30 s without one.
    pub async fn next_matching(
        &mut self,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = tokio::time::timeout(left, self.rx.recv())
                .await
                .expect("no matching event within 30 s")
                .expect("event sink closed");
            if matches(&event) {
                return event;
            }
        }
    }
}
