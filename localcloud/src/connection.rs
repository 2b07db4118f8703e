//! A client connection to the public endpoint that can be reset on purpose: when an
//! injected fault asks for it, the socket is closed with SO_LINGER 0, so the client
//! sees a TCP reset ("connection reset by peer") rather than an orderly close.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Shared with the request handler: setting it makes the close a reset.
#[derive(Debug, Clone, Default)]
pub struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    pub fn reset_on_close(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Connection {
    stream: TcpStream,
    switch: ResetSwitch,
}

impl Connection {
    pub fn new(stream: TcpStream, switch: ResetSwitch) -> Self {
        Self { stream, switch }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.switch.is_set() {
            // Linger 0: close() discards unsent data and sends RST.
            let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test]
    async fn a_switched_connection_closes_with_a_reset() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n");
            let mut buf = [0u8; 16];
            stream.read(&mut buf).map_err(|e| e.kind())
        });
        let (stream, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        let switch = ResetSwitch::default();
        let connection = Connection::new(stream, switch.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        switch.reset_on_close();
        drop(connection);
        let read = client.join().unwrap_or_else(|_| panic!("client thread"));
        assert_eq!(read, Err(io::ErrorKind::ConnectionReset));
    }
}
