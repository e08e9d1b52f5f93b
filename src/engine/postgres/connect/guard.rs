//! The stream guard: a stream wrapper that reads the server's side of the
//! PostgreSQL protocol. During start-up it ends the connection when the
//! server asks for an authentication method the connection does not
//! accept; afterwards it reads message frames and bounds their size
//! (`frames.rs`).
//!
//! tokio-postgres answers whatever the server asks: a server that declines
//! TLS and sends `AuthenticationCleartextPassword` gets the password. The
//! guard sits under tokio-postgres and holds back every server message
//! until it has seen it whole; an authentication request the connection
//! does not accept becomes a read error instead, so tokio-postgres never
//! sees the request and never writes a password. After
//! `AuthenticationOk` the guard passes messages through as they come,
//! cutting or refusing only the oversize ones.
//!
//! Two guards may be stacked: one on the socket, which watches the answer
//! to `SSLRequest` (after `S` the bytes are TLS records and the guard steps
//! aside), and one on the decrypted TLS stream.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsStream};

use super::frames::{Framing, MessageTooLarge, Step, Tripwire};
use crate::config::{AuthMethod, AuthRule, Channel};

/// The largest start-up message the guard holds back; PostgreSQL's own are
/// a few hundred bytes.
const MAX_STARTUP_MESSAGE: usize = 1 << 20;

/// Authentication request codes of the `R` message (protocol 3.0).
const AUTH_OK: i32 = 0;
const AUTH_CLEARTEXT: i32 = 3;
const AUTH_MD5: i32 = 5;
const AUTH_SASL: i32 = 10;

/// The server asked for an authentication method the connection does not
/// accept; nothing was sent in answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the server asked for `{}` authentication over {}, which this connection does not accept", .method.as_str(), .channel.describe())]
pub(crate) struct AuthRefused {
    /// What the server asked for.
    pub(crate) method: AuthMethod,
    /// What protected the connection.
    pub(crate) channel: Channel,
}

/// Where the guard is in the protocol.
#[derive(Debug)]
enum Phase {
    /// Waiting for the one-byte answer to `SSLRequest`.
    SslAnswer,
    /// Reading start-up messages until `AuthenticationOk`.
    Startup {
        /// Whether the server asked for any password exchange yet.
        challenged: bool,
    },
    /// TLS took over: the bytes are TLS records and pass untouched (the
    /// guard on the decrypted stream reads the messages).
    Passthrough,
    /// Authentication is over: messages pass frame by frame.
    Messages(Framing),
    /// A refused request ended the connection.
    Refused,
}

/// A stream that refuses unaccepted authentication requests and oversize
/// messages; see the module documentation.
pub(crate) struct StreamGuard<S> {
    inner: S,
    phase: Phase,
    channel: Channel,
    rule: AuthRule,
    /// Bytes read from `inner` and not yet handed to the reader.
    held: Vec<u8>,
    /// How many bytes at the front of `held` are approved.
    approved: usize,
    refusal: Option<AuthRefused>,
    /// Where an oversize message is reported to the engine.
    tripwire: Tripwire,
}

impl<S> StreamGuard<S> {
    /// A guard on a socket: `ssl_request` says whether tokio-postgres
    /// sends `SSLRequest` first (every `sslmode` but `disable`).
    pub(crate) fn on_socket(
        inner: S,
        ssl_request: bool,
        rule: AuthRule,
        tripwire: Tripwire,
    ) -> Self {
        let phase = if ssl_request {
            Phase::SslAnswer
        } else {
            Phase::Startup { challenged: false }
        };
        Self::new(inner, phase, Channel::Plain, rule, tripwire)
    }

    /// A guard on a TLS stream whose protection is `channel`.
    pub(crate) fn on_tls(inner: S, channel: Channel, rule: AuthRule, tripwire: Tripwire) -> Self {
        let phase = Phase::Startup { challenged: false };
        Self::new(inner, phase, channel, rule, tripwire)
    }

    fn new(inner: S, phase: Phase, channel: Channel, rule: AuthRule, tripwire: Tripwire) -> Self {
        Self {
            inner,
            phase,
            channel,
            rule,
            held: Vec::new(),
            approved: 0,
            refusal: None,
            tripwire,
        }
    }

    fn refused(&self) -> io::Error {
        let refusal = self.refusal.clone().unwrap_or(AuthRefused {
            method: AuthMethod::Password,
            channel: self.channel,
        });
        io::Error::new(io::ErrorKind::PermissionDenied, refusal)
    }

    /// Approve as many held bytes as can be judged. `Ok(true)` when
    /// something was approved or the phase moved on.
    fn judge(&mut self) -> io::Result<bool> {
        let pending = &self.held[self.approved..];
        match &mut self.phase {
            Phase::Refused => Err(self.refused()),
            Phase::Messages(framing) => {
                let at = self.approved;
                let step = framing.advance(pending).inspect_err(|e| {
                    let too_large = e
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<MessageTooLarge>());
                    if let Some(too_large) = too_large {
                        self.tripwire.trip(too_large.clone());
                    }
                })?;
                match step {
                    Step::Pass(n) => self.approved += n,
                    Step::Drop(n) => {
                        self.held.drain(at..at + n);
                    }
                    Step::Replace { consumed, message } => {
                        self.approved += message.len();
                        self.held.splice(at..at + consumed, message);
                    }
                    Step::NeedMore => return Ok(false),
                }
                Ok(true)
            }
            Phase::Passthrough => {
                let progressed = !pending.is_empty();
                self.approved = self.held.len();
                Ok(progressed)
            }
            Phase::SslAnswer => {
                let Some(&answer) = pending.first() else {
                    return Ok(false);
                };
                self.approved += 1;
                // After `S` the rest is TLS: the guard on the TLS stream
                // takes over. Anything else leaves the connection plain.
                self.phase = if answer == b'S' {
                    Phase::Passthrough
                } else {
                    Phase::Startup { challenged: false }
                };
                Ok(true)
            }
            &mut Phase::Startup { challenged } => {
                let Some(header) = pending.get(..5) else {
                    return Ok(false);
                };
                let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if !(4..=MAX_STARTUP_MESSAGE).contains(&length) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "malformed start-up message from the server",
                    ));
                }
                let Some(message) = pending.get(..=length) else {
                    return Ok(false);
                };
                if message[0] == b'R' {
                    let Some(code) = message.get(5..9) else {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "malformed authentication request from the server",
                        ));
                    };
                    let code = i32::from_be_bytes([code[0], code[1], code[2], code[3]]);
                    let method = match code {
                        AUTH_OK if !challenged => Some(AuthMethod::None),
                        AUTH_CLEARTEXT => Some(AuthMethod::Password),
                        AUTH_MD5 => Some(AuthMethod::Md5),
                        AUTH_SASL => Some(AuthMethod::ScramSha256),
                        // SASL continuations, `AuthenticationOk` after a
                        // challenge, and methods tokio-postgres refuses
                        // itself (Kerberos, GSS, SSPI).
                        _ => None,
                    };
                    if let Some(method) = method {
                        if !self.rule.permits(method, self.channel) {
                            self.phase = Phase::Refused;
                            self.refusal = Some(AuthRefused {
                                method,
                                channel: self.channel,
                            });
                            return Err(self.refused());
                        }
                    }
                    self.phase = if code == AUTH_OK {
                        Phase::Messages(Framing::default())
                    } else {
                        Phase::Startup { challenged: true }
                    };
                }
                self.approved += length + 1;
                Ok(true)
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StreamGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.approved > 0 {
                let n = this.approved.min(buf.remaining());
                buf.put_slice(&this.held[..n]);
                this.held.drain(..n);
                this.approved -= n;
                return Poll::Ready(Ok(()));
            }
            if matches!(this.phase, Phase::Passthrough) && this.held.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.judge()? {
                continue;
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // End of stream: an unjudged partial message is dropped,
                // tokio-postgres sees the connection close.
                return Poll::Ready(Ok(()));
            }
            this.held.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StreamGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if matches!(self.phase, Phase::Refused) {
            return Poll::Ready(Err(self.refused()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for StreamGuard<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// The refusal inside a tokio-postgres error, if the guard caused it.
pub(crate) fn refusal(error: &tokio_postgres::Error) -> Option<AuthRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if let Some(refused) = io.get_ref().and_then(|r| r.downcast_ref::<AuthRefused>()) {
                return Some(refused.clone());
            }
        }
        source = e.source();
    }
    None
}
