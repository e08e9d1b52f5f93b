//! The stdio transport: rmcp's own reader, and a writer that writes tool
//! results straight from their held rows.
//!
//! rmcp takes a tool result only as typed values, which would hold a large
//! result as a tree of values, its text and the serialized message at
//! once. Over stdio the handler instead leaves the result in the
//! [`Held`] table and hands rmcp placeholders ([`super::held`]); this
//! transport writes each outgoing message through a [`Frame`], which puts
//! the envelope and the text in their place as it writes, so the response
//! is never in memory beyond the rows it is made of.
//!
//! Messages come already read from the intake ([`super::intake`]), which
//! had to parse each line to judge it; what it passes on as text is read
//! by rmcp's own reader ([`AsyncRwTransport`]). The transport only looks
//! at each message to open a slot for each `tools/call` (the ticket rides
//! in the request's extensions to the handler) and to close the slot of a
//! cancelled request. rmcp's reader also writes, rarely (an `Invalid
//! Request` answer to a message it could not type); those lines reach the
//! same writer through [`Relay`]. Writes are blocking, one message at a
//! time: a small message from the sending task itself, a larger one on
//! tokio's blocking threads.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::future::OptionFuture;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, GetExtensions, ServerJsonRpcMessage,
};
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::Transport;
use rmcp::RoleServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::frame::{answered, Frame};
use super::held::Held;

/// Where every message goes, one whole message at a time.
type Out = Arc<Mutex<Box<dyn Write + Send>>>;

/// Messages up to this many bytes (a point query's answer, a `ping`) are
/// written by the task that sends them. A write this small to a pipe the
/// client reads does not wait, and handing it to a blocking thread and
/// back cost more than the write: about a tenth of a point call over a
/// bare pipe (0.85-0.87 against 0.94-0.95 ms). A client that stops
/// reading stalls the server either way, since rmcp waits for each write
/// to finish before it sends the next message.
const INLINE_BYTES: usize = 16 * 1024;

/// The writer, unless an earlier write panicked holding it.
fn lock(out: &Out) -> io::Result<std::sync::MutexGuard<'_, Box<dyn Write + Send>>> {
    out.lock()
        .map_err(|_| io::Error::other("the stdout writer failed earlier"))
}

/// The stdio transport of [`super::SqlwardenServer::serve_stdio`].
pub(crate) struct StreamedStdio<R: AsyncRead> {
    /// Messages the intake read.
    read: Option<mpsc::Receiver<ClientJsonRpcMessage>>,
    /// rmcp's reader, of the lines the intake passed on as text; `None`
    /// once they ended.
    inner: Option<AsyncRwTransport<RoleServer, R, Relay>>,
    /// Results waiting to be written.
    held: Arc<Held>,
    out: Out,
}

impl<R: AsyncRead + Send + Unpin + 'static> StreamedStdio<R> {
    /// Take messages from `read` and (as text) from `input`, write them
    /// to `output`.
    pub(crate) fn new(
        read: mpsc::Receiver<ClientJsonRpcMessage>,
        input: R,
        output: Box<dyn Write + Send>,
        held: Arc<Held>,
    ) -> Self {
        let out: Out = Arc::new(Mutex::new(output));
        let relay = Relay {
            line: Vec::new(),
            out: out.clone(),
        };
        Self {
            read: Some(read),
            inner: Some(AsyncRwTransport::new_server(input, relay)),
            held,
            out,
        }
    }

    /// Open a slot for a tool call, close the one of a cancelled request.
    fn note(&self, message: &mut ClientJsonRpcMessage) {
        match message {
            ClientJsonRpcMessage::Request(request) if is_tool_call(&request.request) => {
                if let Some(ticket) = self.held.open(&request.id) {
                    request.request.extensions_mut().insert(ticket);
                }
            }
            ClientJsonRpcMessage::Notification(notification) => {
                if let ClientNotification::CancelledNotification(cancelled) =
                    &notification.notification
                {
                    if let Some(id) = &cancelled.params.request_id {
                        // rmcp drops the answer of a cancelled request.
                        self.held.close(id);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `tools/call`, typed or (with arguments that are not an object) not.
fn is_tool_call(request: &ClientRequest) -> bool {
    match request {
        ClientRequest::CallToolRequest(_) => true,
        ClientRequest::CustomRequest(custom) => custom.method == "tools/call",
        _ => false,
    }
}

impl<R: AsyncRead + Send + Unpin + 'static> Transport<RoleServer> for StreamedStdio<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send + 'static {
        // The slot is closed now, as rmcp hands the answer over: a
        // cancellation read after this point finds nothing to drop.
        let taken = answered(&item).and_then(|id| self.held.take(id));
        let held = self.held.clone();
        let out = self.out.clone();
        async move {
            let frame = Frame::new(&item, taken, held.nonce())?;
            drop(item);
            if let Some(bytes) = frame.to_bytes_within(INLINE_BYTES) {
                let mut out = lock(&out)?;
                return out.write_all(&bytes).and_then(|()| out.flush());
            }
            let written = tokio::task::spawn_blocking(move || frame.write_to(&mut *lock(&out)?));
            written.await.map_err(io::Error::other)?
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            // A source that ended is `None`, and its branch is off.
            // rmcp's reader keeps a line it was cut off in the middle of
            // for the next call, so leaving it for the other branch loses
            // nothing.
            let mut message = tokio::select! {
                biased;
                read = OptionFuture::from(self.read.as_mut().map(mpsc::Receiver::recv)),
                    if self.read.is_some() => match read.flatten() {
                    Some(message) => message,
                    None => {
                        self.read = None;
                        continue;
                    }
                },
                read = OptionFuture::from(self.inner.as_mut().map(Transport::receive)),
                    if self.inner.is_some() => match read.flatten() {
                    Some(message) => message,
                    None => {
                        self.inner = None;
                        continue;
                    }
                },
                else => return None,
            };
            self.note(&mut message);
            return Some(message);
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.read = None;
        match &mut self.inner {
            Some(inner) => inner.close().await,
            None => Ok(()),
        }
    }
}

/// Where rmcp's reader writes its own answers: each whole line is handed
/// to the writer as one message.
pub(crate) struct Relay {
    /// Bytes of a line not yet complete.
    line: Vec<u8>,
    out: Out,
}

impl AsyncWrite for Relay {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let relay = self.get_mut();
        relay.line.extend_from_slice(buf);
        while let Some(end) = relay.line.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = relay.line.drain(..=end).collect();
            let out = relay.out.clone();
            tokio::task::spawn_blocking(move || {
                let written = lock(&out).and_then(|mut out| {
                    out.write_all(&line)?;
                    out.flush()
                });
                if let Err(error) = written {
                    tracing::warn!(%error, "an answer of the reader was not written");
                }
            });
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
