//! stdin as the intake reads it.
//!
//! tokio's `stdin()` reads on a blocking thread: every request line wakes
//! that thread, which then wakes the runtime's worker, a thread hand-off
//! per call. MCP clients connect stdin to a pipe (the Python SDK) or a
//! socket (Node's child processes), both of which the runtime's reactor
//! can wait on directly, so those are read without a thread of their own.
//! Anything else (a terminal, a file, `/dev/null`) keeps tokio's blocking
//! reader: a terminal must not be switched to non-blocking mode, which
//! would outlive the server in the shell that started it. So does a pipe
//! or socket that is also stdout or stderr, whose writes would stop
//! blocking with it.

use tokio::io::AsyncRead;

/// How stdin is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A pipe, read through the reactor.
    Pipe,
    /// A stream socket, read through the reactor.
    Socket,
    /// Anything else, read on a blocking thread.
    Blocking,
}

/// A reader of the process's stdin, and how it reads.
pub(crate) fn reader() -> (Box<dyn AsyncRead + Send + Unpin>, Kind) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() {
            let file = std::fs::File::from(fd);
            // One socket for stdin and stdout (`socat … EXEC:`, inetd) is
            // one open file: switching it to non-blocking for reading
            // would make the blocking writes to stdout (and stderr) fail
            // whenever the client is slow to read.
            let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
            if !unix::shares_a_file(&file, [stdout.as_fd(), stderr.as_fd()]) {
                if let Some(found) = unix::reader(file) {
                    return found;
                }
            }
        }
    }
    (Box::new(tokio::io::stdin()), Kind::Blocking)
}

#[cfg(unix)]
pub(crate) mod unix {
    //! Pipes and sockets through the reactor.

    use std::fs::File;
    use std::os::fd::{BorrowedFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    use tokio::io::AsyncRead;

    use super::Kind;

    /// Whether `file` is the same file as any of `others` (same device and
    /// inode); an error reading either counts as the same, to be safe.
    pub(crate) fn shares_a_file<'a>(
        file: &File,
        others: impl IntoIterator<Item = BorrowedFd<'a>>,
    ) -> bool {
        let Ok(ours) = file.metadata() else {
            return true;
        };
        others.into_iter().any(|other| {
            let theirs = other
                .try_clone_to_owned()
                .and_then(|fd| File::from(fd).metadata());
            theirs.map_or(true, |theirs| {
                theirs.dev() == ours.dev() && theirs.ino() == ours.ino()
            })
        })
    }

    /// `file` read through the reactor when it is a pipe or a socket;
    /// `None` (and `file` dropped) otherwise or when the runtime does not
    /// take it. Must run inside the runtime.
    pub(crate) fn reader(file: File) -> Option<(Box<dyn AsyncRead + Send + Unpin>, Kind)> {
        let kind = file.metadata().ok()?.file_type();
        if kind.is_fifo() {
            // Checks the file is a readable pipe and sets it non-blocking.
            let pipe = tokio::net::unix::pipe::Receiver::from_file(file).ok()?;
            return Some((Box::new(pipe), Kind::Pipe));
        }
        if kind.is_socket() {
            let socket = std::os::unix::net::UnixStream::from(OwnedFd::from(file));
            socket.set_nonblocking(true).ok()?;
            let socket = tokio::net::UnixStream::from_std(socket).ok()?;
            return Some((Box::new(socket), Kind::Socket));
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
