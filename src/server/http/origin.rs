//! `Origin` checks against DNS rebinding: a web page the user opens must
//! not reach the server through the user's browser.
//!
//! A request without `Origin` comes from a non-browser client and passes
//! (browsers always send it on the cross-origin POSTs MCP uses). One with
//! `Origin` passes only when that origin is in `allowed_origins`, or when
//! both it and the server are on loopback (a local tool's own page). The
//! check runs before authentication, so a refused page learns nothing.

/// A parsed origin: scheme, host (lower case, IPv6 in brackets) and port
/// (the scheme's default when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parse `scheme://host[:port]` (no path); `None` for anything else,
    /// including `null`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return None;
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (inside, after) = v6.split_once(']')?;
            let port = match after {
                "" => default_port,
                p => p.strip_prefix(':')?.parse().ok()?,
            };
            (format!("[{}]", inside.to_ascii_lowercase()), port)
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host.to_ascii_lowercase(), port.parse().ok()?),
                None => (rest.to_ascii_lowercase(), default_port),
            }
        };
        if host.is_empty() || host.contains(':') && !host.starts_with('[') {
            return None;
        }
        Some(Self { scheme, host, port })
    }

    fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "[::1]")
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// The allowed origins and whether the server listens on loopback.
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    allowed: Vec<Origin>,
    loopback_server: bool,
}

impl OriginPolicy {
    /// The policy for `allowed` (entries that do not parse were refused by
    /// `server.yaml`'s check) on a server listening on loopback or not.
    pub(crate) fn new(allowed: &[String], loopback_server: bool) -> Self {
        Self {
            allowed: allowed.iter().filter_map(|o| Origin::parse(o)).collect(),
            loopback_server,
        }
    }

    /// Whether a request with this `Origin` header value (or none) may go
    /// on.
    pub(crate) fn allows(&self, header: Option<&[u8]>) -> bool {
        let Some(raw) = header else {
            return true;
        };
        let Some(origin) = std::str::from_utf8(raw).ok().and_then(Origin::parse) else {
            return false;
        };
        self.allowed.contains(&origin) || (self.loopback_server && origin.is_loopback())
    }
}

#[cfg(test)]
mod tests;
