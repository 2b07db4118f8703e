//! A minimal blocking HTTP/1.1 client for health checks and admin calls. The
//! lifecycle commands stay synchronous and dependency-free this way.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Status code and body of one request with an empty body.
pub fn request(addr: SocketAddr, method: &str, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    request_with_body(addr, method, path, "", timeout)
}

/// Status code and body of one request with a text body.
pub fn request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line in reply"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// True when `GET path` answers 200.
pub fn healthy(addr: SocketAddr, path: &str) -> bool {
    matches!(request(addr, "GET", path, Duration::from_secs(2)), Ok((200, _)))
}
