//! One client connection's bounds: hyper's HTTP/1 settings with the header-read timeout in
//! effect ([`http1_builder`]), the cap on connections open at once ([`ConnectionLimit`]), the
//! send deadline for a client that stops reading ([`SendDeadline`]), and the lingering close
//! ([`Lingering`]) that lets a client still sending a refused body read its answer.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use shared::config::ServerLimits;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// hyper's HTTP/1 connection settings for `limits`. The header-read timeout needs a timer to be
/// in effect (without one hyper ignores it). hyper 1.12 starts it when it begins to read a
/// request's head: at the connection's start and again whenever the connection goes idle after
/// an answer, so it is the idle keep-alive limit too: a kept-alive connection that sends nothing
/// for `header_timeout` is closed.
pub fn http1_builder(limits: &ServerLimits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
}

/// At most `max_connections` connections at once. The accept loop takes a permit before it
/// accepts, so at the cap it stops accepting: a new client's connection waits, complete, in the
/// kernel's listen backlog (its request unread) until a connection closes, and is then accepted
/// in arrival order. Every connection closes in bounded time (the header, body and request
/// deadlines, the lingering close), so nobody waits for ever.
#[derive(Clone)]
pub struct ConnectionLimit(Arc<Semaphore>);

impl ConnectionLimit {
    pub fn new(max_connections: usize) -> Self {
        Self(Arc::new(Semaphore::new(max_connections)))
    }

    /// A permit for one more connection, waiting while all are taken; the connection keeps it
    /// until it is closed. `None` only if the limit was closed, which nothing does.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.0.clone().try_acquire_owned() {
            return Some(permit);
        }
        tracing::warn!(
            "connection limit reached (MAX_CONNECTIONS): new clients wait until one closes"
        );
        self.0.clone().acquire_owned().await.ok()
    }
}

/// After a 413 or a 408 the rest of the body is unread: the answer says `Connection: close`, so
/// the client expects the close and hyper closes (lingering, see [`Lingering`]) instead of trying
/// to read the next request from the middle of a body.
pub fn close_after_refused_body(parts: &mut hyper::http::response::Parts) {
    if matches!(
        parts.status,
        hyper::StatusCode::PAYLOAD_TOO_LARGE | hyper::StatusCode::REQUEST_TIMEOUT
    ) {
        parts.headers.insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
}

/// A connection's socket that closes lingering: when hyper shuts the connection down (after the
/// last answer is flushed), it sends FIN, then reads and discards whatever the client still
/// sends, until the client closes, an error, or `linger` passes. Closing at once with unread
/// bytes in the socket makes the kernel send a reset, which can destroy the answer before the
/// client reads it: a client still sending a body over the limit would see a reset instead of
/// its 413. nginx does the same (`lingering_close`).
pub struct Lingering<S> {
    inner: S,
    linger: Duration,
    /// Set once the shutdown has begun: the FIN is sent, and when the lingering ends.
    closing: Option<Closing>,
}

struct Closing {
    fin_sent: bool,
    deadline: Pin<Box<Sleep>>,
}

/// Bytes read and thrown away per read while lingering.
const DISCARD_CHUNK: usize = 16 * 1024;

impl<S> Lingering<S> {
    pub fn new(inner: S, linger: Duration) -> Self {
        Self {
            inner,
            linger,
            closing: None,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.linger.is_zero() {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        let linger = this.linger;
        let closing = this.closing.get_or_insert_with(|| Closing {
            fin_sent: false,
            deadline: Box::pin(tokio::time::sleep(linger)),
        });
        if !closing.fin_sent {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            closing.fin_sent = true;
        }
        let mut chunk = [0u8; DISCARD_CHUNK];
        loop {
            if closing.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                // Read and dropped; more may follow (tokio's budget ends a long run).
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {}
                // The client closed (or reset): nothing more will come.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A socket whose writes may wait at most `timeout` for the client to make room: a client that
/// stops reading an answer (so that the kernel's buffers fill) has its connection closed then,
/// instead of holding it, and its slot under `MAX_CONNECTIONS`, for ever. hyper has no write
/// timeout of its own.
pub struct SendDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Set while a write waits: when the wait ends the connection.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> SendDeadline<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// `polled`, the outcome of a write or flush: progress ends a wait; a wait past the timeout
    /// is an error, which makes hyper drop the connection.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stalled.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing within SEND_TIMEOUT_SECONDS",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SendDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SendDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_lingering_close_reads_what_the_peer_still_sends_then_sees_its_close() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut server = Lingering::new(server, Duration::from_secs(5));
        server.write_all(b"answer").await.unwrap();
        let sender = tokio::spawn(async move {
            // 1 MB through a 1 KiB pipe: it only gets through if the closing side reads it.
            client.write_all(&vec![b'x'; 1 << 20]).await.unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).await.unwrap();
            answer
        });
        server.shutdown().await.unwrap();
        drop(server);
        assert_eq!(sender.await.unwrap(), b"answer");
    }

    #[tokio::test]
    async fn a_write_that_the_peer_makes_no_room_for_fails_at_the_send_deadline() {
        let (server, _client) = tokio::io::duplex(1024);
        let mut server = SendDeadline::new(server, Duration::from_millis(100));
        let started = std::time::Instant::now();
        let stalled = server.write_all(&[b'x'; 4096]).await.unwrap_err();
        assert_eq!(stalled.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_lingering_close_ends_at_its_deadline_when_the_peer_keeps_the_connection_open() {
        let (server, _client) = tokio::io::duplex(1024);
        let mut server = Lingering::new(server, Duration::from_millis(100));
        let started = std::time::Instant::now();
        server.shutdown().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
