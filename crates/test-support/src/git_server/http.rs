//! Git's smart HTTP protocol, served by running the real `git http-backend`
//! as a CGI program for every request, optionally behind TLS and basic or
//! bearer authentication.
//!
//! The server runs on a std thread of its own with a small tokio runtime,
//! so it works the same from synchronous callers (xtask) and from inside
//! tokio tests, and dropping it never blocks a caller's runtime.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};

/// Largest CGI header block accepted from http-backend.
const MAX_CGI_HEADER: usize = 64 * 1024;
/// How long a stopping server waits for its CGI processes to be reaped.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Who may fetch and push.
#[derive(Clone, Debug, Default)]
pub(super) struct Auth {
    pub basic: Option<(String, String)>,
    pub bearer: Option<String>,
}

struct State {
    root: PathBuf,
    backend: PathBuf,
    auth: Auth,
    requests: AtomicU64,
    /// CGI processes not yet reaped; the stopping server waits for zero.
    active: AtomicUsize,
    /// Becomes true when the server stops: every CGI is killed.
    cancel: watch::Receiver<bool>,
}

/// A running HTTP(S) server; dropping it stops it.
pub(super) struct HttpServer {
    port: u16,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub(super) fn start(
        root: PathBuf,
        auth: Auth,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> anyhow::Result<HttpServer> {
        let backend = http_backend()?;
        // Bound here, before the thread starts, so the port is known and
        // connections made right after `start` returns queue up.
        let listener =
            StdTcpListener::bind(("127.0.0.1", 0)).context("binding the git HTTP port")?;
        listener
            .set_nonblocking(true)
            .context("making the git HTTP listener non-blocking")?;
        let port = listener
            .local_addr()
            .context("git HTTP listener address")?
            .port();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weir-git-http")
            .enable_all()
            .build()
            .context("building the git HTTP server runtime")?;
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let state = Arc::new(State {
            root,
            backend,
            auth,
            requests: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            cancel: cancel_rx,
        });
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("weir-git-http".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            accept_loop(listener, tls, thread_state.clone(), shutdown_rx).await
                        }
                        Err(e) => tracing::error!("git HTTP listener: {e}"),
                    }
                    // Kill CGIs still running and wait until their tasks
                    // reaped them, so no process or zombie outlives us.
                    let _ = cancel_tx.send(true);
                    let deadline = Instant::now() + STOP_TIMEOUT;
                    while thread_state.active.load(Ordering::SeqCst) > 0
                        && Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                });
                // Dropping the runtime here, on our own thread, cancels the
                // remaining connection tasks.
                drop(runtime);
            })
            .context("spawning the git HTTP server thread")?;
        Ok(HttpServer {
            port,
            state,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `<git --exec-path>/git-http-backend`.
fn http_backend() -> anyhow::Result<PathBuf> {
    let mut cmd = std::process::Command::new("git");
    super::repo::isolate(&mut cmd);
    let exec_path = super::repo::run(cmd.arg("--exec-path"), None)
        .context("finding git's exec path (is git installed?)")?;
    let backend = PathBuf::from(exec_path.trim()).join("git-http-backend");
    if !backend.is_file() {
        bail!("{} not found", backend.display());
    }
    Ok(backend)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<State>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // E.g. EMFILE under load: back off instead of spinning.
                    tracing::warn!("git HTTP accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        let acceptor = acceptor.clone();
        // The TLS handshake runs in the connection's task so a slow client
        // cannot hold up the accept loop.
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(state.clone(), peer, req));
            let http = hyper::server::conn::http1::Builder::new();
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
                    Err(e) => {
                        tracing::debug!("git HTTPS handshake with {peer}: {e}");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(e) = result {
                tracing::debug!("git HTTP connection from {peer}: {e}");
            }
        });
    }
}

/// The response body: what http-backend wrote after its headers, then the
/// rest of its stdout as the CGI task forwards it.
pub(super) struct CgiBody {
    first: Option<Bytes>,
    rest: Option<mpsc::Receiver<io::Result<Bytes>>>,
}

impl CgiBody {
    fn full(data: impl Into<Bytes>) -> CgiBody {
        CgiBody {
            first: Some(data.into()),
            rest: None,
        }
    }
}

impl http_body::Body for CgiBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take().filter(|b| !b.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match &mut this.rest {
            // An error aborts the connection, so a client never takes a
            // truncated pack for a complete response.
            Some(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data))),
            None => Poll::Ready(None),
        }
    }
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<CgiBody>, Infallible> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let user = match authorize(&state.auth, req.headers()) {
        Ok(user) => user,
        Err(()) => return Ok(unauthorized()),
    };
    match run_cgi(state, peer, user, req).await {
        Ok(response) => Ok(response),
        Err(e) => {
            tracing::warn!("git http-backend: {e:#}");
            let mut response = Response::new(CgiBody::full(format!("{e:#}\n")));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(response)
        }
    }
}

/// `Ok(REMOTE_USER)` when the request may proceed: anyone when no
/// credentials are configured, else the basic user or the bearer token.
fn authorize(auth: &Auth, headers: &HeaderMap) -> Result<Option<String>, ()> {
    if auth.basic.is_none() && auth.bearer.is_none() {
        return Ok(None);
    }
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(());
    };
    let (scheme, credentials) = value.split_once(' ').ok_or(())?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic")
        && let Some((user, password)) = &auth.basic
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .map_err(drop)?;
        let decoded = String::from_utf8(decoded).map_err(drop)?;
        if decoded.split_once(':') == Some((user.as_str(), password.as_str())) {
            return Ok(Some(user.clone()));
        }
    }
    if scheme.eq_ignore_ascii_case("bearer") && auth.bearer.as_deref() == Some(credentials) {
        return Ok(Some("bearer".to_owned()));
    }
    Err(())
}

fn unauthorized() -> Response<CgiBody> {
    let mut response = Response::new(CgiBody::full("authentication required\n"));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"git\""),
    );
    response
}

/// Decodes `%XX` escapes, as CGI's PATH_INFO is decoded.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Starts http-backend for `req` and returns once it has written its CGI
/// headers; a task of its own feeds the request body in, streams stdout
/// out and always reaps the process, even when the client goes away.
async fn run_cgi(
    state: Arc<State>,
    peer: SocketAddr,
    user: Option<String>,
    req: Request<Incoming>,
) -> anyhow::Result<Response<CgiBody>> {
    if *state.cancel.borrow() {
        bail!("server is stopping");
    }
    let (parts, body) = req.into_parts();
    let mut cmd = Command::new(&state.backend);
    cmd.env_clear();
    for var in ["PATH", "HOME", "LANG", "TMPDIR"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", percent_decode(parts.uri.path()))
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REMOTE_ADDR", peer.ip().to_string());
    if let Some(user) = &user {
        cmd.env("REMOTE_USER", user).env("AUTH_TYPE", "Basic");
    }
    let header_env: [(HeaderName, &str); 4] = [
        (header::CONTENT_TYPE, "CONTENT_TYPE"),
        (header::CONTENT_LENGTH, "CONTENT_LENGTH"),
        // http-backend inflates gzip request bodies itself.
        (header::CONTENT_ENCODING, "HTTP_CONTENT_ENCODING"),
        // Protocol v2 is negotiated through this header.
        (HeaderName::from_static("git-protocol"), "GIT_PROTOCOL"),
    ];
    for (name, var) in header_env {
        if let Some(value) = parts.headers.get(&name).and_then(|v| v.to_str().ok()) {
            cmd.env(var, value);
        }
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Its own process group, so killing it also kills the upload-pack
        // and pack-objects it starts.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", state.backend.display()))?;
    state.active.fetch_add(1, Ordering::SeqCst);

    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    tokio::spawn(async move {
        let Some(mut stdin) = stdin else { return };
        let mut body = body;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data()
                && stdin.write_all(&data).await.is_err()
            {
                break;
            }
        }
        // Dropping stdin gives http-backend its end of input.
    });
    if let Some(stderr) = stderr {
        tokio::spawn(log_stderr(stderr));
    }

    let (head_tx, head_rx) = oneshot::channel();
    let (body_tx, body_rx) = mpsc::channel(16);
    let task_state = state.clone();
    tokio::spawn(async move {
        let mut cancel = task_state.cancel.clone();
        let complete = tokio::select! {
            complete = pump(stdout, head_tx, body_tx) => complete,
            _ = cancel.wait_for(|stop| *stop) => false,
        };
        if complete {
            // All output delivered: let it exit on its own, unless stopping.
            tokio::select! {
                _ = child.wait() => {}
                _ = cancel.wait_for(|stop| *stop) => {}
            }
        }
        // Abandoned by the client, failed or cancelled: make sure the whole
        // process group is gone (a no-op once reaped), then reap.
        kill_group(&child);
        let _ = child.wait().await;
        task_state.active.fetch_sub(1, Ordering::SeqCst);
    });

    let (status, headers, first) = head_rx
        .await
        .context("http-backend exited before its headers")??;
    let mut response = Response::new(CgiBody {
        first: Some(first),
        rest: Some(body_rx),
    });
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// SIGKILLs the child's process group unless the child already exited.
/// The child is not reaped yet, so its pid (the group id) cannot have been
/// reused.
fn kill_group(child: &Child) {
    if let Some(pid) = child.id()
        && let Ok(pid) = libc::pid_t::try_from(pid)
    {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

type Head = (StatusCode, HeaderMap, Bytes);

/// Reads the CGI headers, hands them over, then forwards stdout; true when
/// all of it reached the client.
async fn pump(
    stdout: Option<tokio::process::ChildStdout>,
    head_tx: oneshot::Sender<anyhow::Result<Head>>,
    body_tx: mpsc::Sender<io::Result<Bytes>>,
) -> bool {
    let Some(mut stdout) = stdout else {
        let _ = head_tx.send(Err(anyhow::anyhow!("no stdout pipe")));
        return false;
    };
    let head = read_cgi_head(&mut stdout).await;
    let ok = head.is_ok();
    if head_tx.send(head).is_err() || !ok {
        return false;
    }
    loop {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        match stdout.read_buf(&mut buf).await {
            Ok(0) => return true,
            Ok(_) => {
                if body_tx.send(Ok(buf.freeze())).await.is_err() {
                    return false; // the client went away
                }
            }
            Err(e) => {
                let _ = body_tx.send(Err(e)).await;
                return false;
            }
        }
    }
}

/// Parses the CGI header block (`Status:` defaults to 200) and returns the
/// body bytes read past it.
async fn read_cgi_head(stdout: &mut (impl AsyncRead + Unpin)) -> anyhow::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let (head_len, body_start) = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break (pos, pos + 4);
        }
        if let Some(pos) = find(&buf, b"\n\n") {
            break (pos, pos + 2);
        }
        if buf.len() > MAX_CGI_HEADER {
            bail!("CGI header block larger than {MAX_CGI_HEADER} bytes");
        }
        let mut chunk = [0u8; 8192];
        let n = stdout
            .read(&mut chunk)
            .await
            .context("reading http-backend output")?;
        if n == 0 {
            bail!("http-backend exited before finishing its headers");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = std::str::from_utf8(&buf[..head_len]).context("non-UTF-8 CGI headers")?;
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("malformed CGI header {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or_default();
            status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .with_context(|| format!("bad CGI status {value:?}"))?;
        } else {
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes())
                    .with_context(|| format!("bad CGI header name {name:?}"))?,
                HeaderValue::from_str(value)
                    .with_context(|| format!("bad CGI header value {value:?}"))?,
            );
        }
    }
    Ok((status, headers, Bytes::copy_from_slice(&buf[body_start..])))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Forwards http-backend's error messages (unknown repository...) to
/// tracing, where a failing test's log shows them.
async fn log_stderr(stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt as _;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!("git http-backend: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_cgi_headers() {
        let mut input: &[u8] = b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope";
        let (status, headers, first) = read_cgi_head(&mut input).await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
        assert_eq!(&first[..], b"nope");

        let mut input: &[u8] = b"Content-Type: x\n\nbody";
        let (status, _, first) = read_cgi_head(&mut input).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&first[..], b"body");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(
            percent_decode("/a%20b.git/info%2Frefs"),
            "/a b.git/info/refs"
        );
        assert_eq!(percent_decode("/bad%zz"), "/bad%zz");
    }

    #[test]
    fn authorizes() {
        let auth = Auth {
            basic: Some(("u".into(), "p".into())),
            bearer: Some("t".into()),
        };
        let mut headers = HeaderMap::new();
        assert!(authorize(&auth, &headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        assert_eq!(authorize(&auth, &headers), Ok(Some("u".to_owned())));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTp4"),
        );
        assert!(authorize(&auth, &headers).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert!(authorize(&auth, &headers).is_ok());
        assert_eq!(authorize(&Auth::default(), &HeaderMap::new()), Ok(None));
    }
}
