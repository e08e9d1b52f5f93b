// Pipes and sockets are read through the reactor on Unix only.
#![cfg(unix)]

use std::io::Write;
use std::os::fd::OwnedFd;

use tokio::io::AsyncReadExt;

use std::fs::File;

use std::os::fd::AsFd;

use super::unix::{reader, shares_a_file};
use super::*;

/// What `reader` makes of `file`, and what it then reads from it once
/// `write` has written and closed the other end.
async fn read_through(file: File, write: impl FnOnce() + Send + 'static) -> (Option<Kind>, String) {
    let Some((mut input, kind)) = reader(file) else {
        return (None, String::new());
    };
    let writer = std::thread::spawn(write);
    let mut text = String::new();
    input.read_to_string(&mut text).await.unwrap();
    writer.join().unwrap();
    (Some(kind), text)
}

#[tokio::test]
async fn a_pipe_is_read_through_the_reactor_to_its_end() {
    let (read, mut write) = std::io::pipe().unwrap();
    let file = File::from(OwnedFd::from(read));
    let (kind, text) = read_through(file, move || {
        for i in 0..3 {
            writeln!(write, "line {i}").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    })
    .await;
    assert_eq!(kind, Some(Kind::Pipe));
    assert_eq!(text, "line 0\nline 1\nline 2\n");
}

#[tokio::test]
async fn a_socket_is_read_through_the_reactor_to_its_end() {
    let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let file = File::from(OwnedFd::from(ours));
    let (kind, text) = read_through(file, move || {
        theirs.write_all(b"{\"jsonrpc\":\"2.0\"}\n").unwrap();
        theirs.shutdown(std::net::Shutdown::Write).unwrap();
    })
    .await;
    assert_eq!(kind, Some(Kind::Socket));
    assert_eq!(text, "{\"jsonrpc\":\"2.0\"}\n");
}

#[tokio::test]
async fn a_file_or_a_device_is_left_to_the_blocking_reader() {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"line\n").unwrap();
    assert!(reader(file).is_none());
    assert!(reader(File::open("/dev/null").unwrap()).is_none());
}

#[test]
fn stdin_that_is_also_an_output_is_seen_as_shared() {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let (read, write) = std::io::pipe().unwrap();
    let socket = File::from(OwnedFd::from(ours.try_clone().unwrap()));
    assert!(shares_a_file(&socket, [ours.as_fd()]));
    assert!(!shares_a_file(&socket, [theirs.as_fd(), read.as_fd()]));
    // The two ends of one pipe are one file.
    let pipe = File::from(OwnedFd::from(read));
    assert!(shares_a_file(&pipe, [write.as_fd()]));
    assert!(!shares_a_file(&pipe, [theirs.as_fd()]));
}
