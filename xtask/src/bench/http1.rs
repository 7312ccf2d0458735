//! A minimal blocking HTTP/1.1 client for the benchmarks' own requests to
//! the controllers' servers: one keep-alive connection per [`Connection`],
//! requests prepared once as bytes ([`request`]), responses framed by
//! `Content-Length` (what the controllers' servers send; chunked responses
//! are refused as malformed).
//!
//! xtask is built unoptimised (`cargo xtask` is `cargo run`). With std's
//! sockets, which are always optimised, a request costs two system calls
//! and a short scan of the response head, so a load generator made of
//! these stays far cheaper than the server it loads; an async HTTP stack
//! compiled without optimisation would not.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long one read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// A request ready to write: the request line for `method` and `path`,
/// `Host` (`host`), `Content-Length`, `headers`, and `body`.
pub fn request(
    method: &str,
    host: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A response: its status code and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One connection to `addr`, opened on first use and again after an error
/// or a `Connection: close`.
pub struct Connection {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Connection {
        Connection {
            addr,
            stream: None,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Writes `request` (from [`request`]) and reads its response. After an
    /// error the connection is dropped; the next call opens a new one.
    pub fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        let result = self.exchange(request);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(&mut self, request: &[u8]) -> io::Result<Response> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => self.stream.insert(connect(self.addr)?),
        };
        stream.write_all(request)?;
        let buf = &mut self.buf;
        buf.clear();
        let head_end = loop {
            let searched = buf.len().saturating_sub(3);
            read_more(stream, buf)?;
            if let Some(at) = buf[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
                break searched + at + 4;
            }
            if buf.len() > MAX_HEAD {
                return Err(malformed("a response head over 16 KiB"));
            }
        };
        let head = parse_head(&buf[..head_end])?;
        let end = head_end + head.content_length;
        while buf.len() < end {
            read_more(stream, buf)?;
        }
        if buf.len() > end {
            return Err(malformed("more bytes than the response's Content-Length"));
        }
        let body = buf[head_end..].to_vec();
        if head.close {
            self.stream = None;
        }
        Ok(Response {
            status: head.status,
            body,
        })
    }
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Appends what one read returns; the end of the stream is an error (a
/// response was still due).
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection before its response",
        ));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed response: {what}"),
    )
}

struct Head {
    status: u16,
    content_length: usize,
    /// The server closes the connection after this response.
    close: bool,
}

/// The status line and the framing headers of a response head (which ends
/// with the blank line).
fn parse_head(head: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(head).map_err(|_| malformed("a head not in UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed("no status code"))?;
    if !version.starts_with("HTTP/1.") {
        return Err(malformed("not HTTP/1"));
    }
    let mut content_length = None;
    let mut close = version == "HTTP/1.0";
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("a header line without a colon"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse()
                    .map_err(|_| malformed("an unreadable Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(malformed("Transfer-Encoding (only Content-Length is read)"));
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let content_length = match (content_length, status) {
        (Some(n), _) => n,
        (None, 100..=199 | 204 | 304) => 0,
        (None, _) => return Err(malformed("no Content-Length")),
    };
    Ok(Head {
        status,
        content_length,
        close,
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A server answering each connection's requests with `responses`, in
    /// turn, one per request head it reads.
    fn serve(responses: Vec<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut responses = responses.into_iter();
            while let Ok((mut stream, _)) = listener.accept() {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 1024];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&chunk[..n]);
                    // Requests here have a body of "{}" after their head.
                    while let Some(at) = seen.windows(6).position(|w| w == b"\r\n\r\n{}") {
                        seen.drain(..at + 6);
                        let Some(response) = responses.next() else {
                            return;
                        };
                        let _ = stream.write_all(response.as_bytes());
                    }
                }
            }
        });
        addr
    }

    #[test]
    fn keep_alive_exchanges_and_reconnection_after_close() {
        let addr = serve(vec![
            "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nduplicate",
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ]);
        let post = request(
            "POST",
            addr,
            "/",
            &[("Content-Type", "application/json")],
            b"{}",
        );
        let head = String::from_utf8(post.clone()).expect("text");
        assert!(
            head.starts_with(&format!(
                "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{{}}"
            )),
            "{head}"
        );
        let mut connection = Connection::new(addr);
        let statuses: Vec<(u16, Vec<u8>)> = (0..4)
            .map(|_| {
                let r = connection.send(&post).expect("a response");
                (r.status, r.body)
            })
            .collect();
        assert_eq!(
            statuses,
            [
                (202, vec![]),
                (429, b"duplicate".to_vec()),
                (200, b"ok".to_vec()),
                (204, vec![]),
            ]
        );
    }

    #[test]
    fn malformed_and_cut_responses_are_errors() {
        let addr = serve(vec![
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ]);
        let post = request("POST", addr, "/", &[], b"{}");
        let mut connection = Connection::new(addr);
        let err = connection.send(&post).expect_err("chunked");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        // The server has no more responses and closes: cut short.
        let err = connection.send(&post).expect_err("closed");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"SPDY 200\r\ncontent-length: 0\r\n\r\n").is_err());
    }
}
