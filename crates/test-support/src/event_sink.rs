//! A local HTTP endpoint recording every request it receives (path,
//! headers, exact body): it stands in for notification-controller's event
//! server (`--events-addr`) or for a provider's service in tests.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri};
use tokio::sync::mpsc;

/// One request the sink received.
#[derive(Clone, Debug)]
pub struct Captured {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Captured {
    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The requests, in arrival order. Every request is answered 200 "ok".
pub struct EventSink {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub url: String,
    rx: mpsc::UnboundedReceiver<Captured>,
}

impl EventSink {
    /// Listens on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Captured {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                });
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url: format!("http://{addr}"),
            rx,
        })
    }

    /// The next Flux event (JSON) about the object `name`; other requests
    /// are dropped. Panics after 30 s without one.
    pub async fn next_for(&mut self, name: &str) -> serde_json::Value {
        self.next_matching(|c| {
            serde_json::from_slice::<serde_json::Value>(&c.body)
                .is_ok_and(|e| e["involvedObject"]["name"] == name)
        })
        .await
        .json()
    }

    /// The next request `matches` accepts (others are dropped); panics
    /// after 30 s without one.
    pub async fn next_matching(&mut self, matches: impl Fn(&Captured) -> bool) -> Captured {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = tokio::time::timeout(left, self.rx.recv())
                .await
                .expect("no matching request within 30 s")
                .expect("event sink closed");
            if matches(&got) {
                return got;
            }
        }
    }

    /// Every request received within `period`.
    pub async fn drain_for(&mut self, period: Duration) -> Vec<Captured> {
        let deadline = tokio::time::Instant::now() + period;
        let mut out = Vec::new();
        while let Ok(Some(c)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            out.push(c);
        }
        out
    }
}
