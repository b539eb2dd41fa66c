//! The server stops: every client reads `BYE` then EOF, every connection
//! thread is joined, and the port no longer accepts.

mod common;

use common::chat1::{Client, ana_and_bob, stuck_in_lobby};
use common::{start, start_default, with_timeouts};
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// Nothing listens on `addr` any more: connecting fails, or (should another
/// socket be mid-close) the connection ends without a byte.
fn assert_not_listening(addr: SocketAddr) {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return;
    };
    let mut stream = with_timeouts(stream);
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) => panic!(
            "{addr} still answers after shutdown: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("{addr} still accepts after shutdown: {e}"),
    }
}

/// Runs `stop` on another thread and waits for it: a hang fails the test
/// after a generous limit instead of hanging the run.
fn bounded<T: Send + 'static>(what: &str, stop: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(stop());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

#[test]
fn shutdown_says_bye_to_everyone_joins_every_thread_and_closes_the_port() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    let mut bob = Client::login(addr, "bob");
    let mut carl = Client::login(addr, "carl");
    let guest = Client::connect(addr);
    ana.join("lobby");
    bob.join("lobby");
    carl.join("side");
    ana.expect("JOIN lobby bob");
    let mut clients = vec![ana, bob, carl, guest];
    for c in &mut clients {
        c.assert_silent();
    }
    assert_eq!(server.clients(), 4);
    let joined = bounded("shutdown", move || server.shutdown());
    // One reader thread per connection at least (the writing is shared).
    assert!(joined >= clients.len(), "joined {joined}");
    for c in &mut clients {
        assert_eq!(c.expect_bye(), "server shutting down");
    }
    assert_not_listening(addr);
}

#[test]
fn shutdown_of_an_idle_server_returns() {
    let server = start_default();
    let addr = server.local_addr();
    // A client that came and went leaves nothing running.
    Client::login(addr, "ana").quit();
    let joined = bounded("shutdown", move || server.shutdown());
    assert!(joined <= 1, "joined {joined}");
    assert_not_listening(addr);
}

#[test]
fn stopper_stops_the_server_from_another_thread() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    let stopper = server.stopper();
    std::thread::spawn(move || stopper.stop())
        .join()
        .expect("stop does not panic");
    // Stopping twice is harmless.
    server.stopper().stop();
    let stopped = bounded("wait", move || server.wait());
    assert!(stopped.failure.is_none(), "{:?}", stopped.failure);
    let joined = stopped.joined;
    assert!(joined >= 1, "joined {joined}");
    assert_eq!(ana.expect_bye(), "server shutting down");
    assert_not_listening(addr);
}

#[test]
fn dropping_the_server_stops_it() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    bounded("drop", move || drop(server));
    assert_eq!(ana.expect_bye(), "server shutting down");
    assert_not_listening(addr);
}

#[test]
fn shutdown_in_the_middle_of_a_burst_ends_every_stream() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    let mut burst = String::new();
    for i in 0..5000 {
        burst.push_str(&format!("SAY lobby {i}\n"));
    }
    ana.send_bytes(burst.as_bytes());
    bob.expect("MSG lobby ana 0");
    // Both keep reading while the server stops, so that no socket stalls.
    let ana = std::thread::spawn(move || ana.read_to_end());
    let bob = std::thread::spawn(move || bob.read_to_end());
    bounded("shutdown", move || server.shutdown());
    // Bob's stream ends with BYE, after the messages in order (a prefix of
    // them: the rest were never applied).
    let lines = bob.join().expect("bob's reader");
    let (bye, msgs) = lines.split_last().expect("at least the BYE");
    assert_eq!(bye, "BYE server shutting down");
    for (i, line) in msgs.iter().enumerate() {
        assert_eq!(*line, format!("MSG lobby ana {}", i + 1));
    }
    // Ana's stream ends too (by a reset if the server did not read all she sent).
    ana.join().expect("ana's reader");
    assert_not_listening(addr);
}

#[test]
fn shutdown_does_not_wait_on_a_client_that_never_reads() {
    let server = start(|c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_secs(600);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let mut stuck = stuck_in_lobby(addr, &mut ana);
    // 8 MB: more than the kernel buffers between the server and the stuck client.
    let text = "s".repeat(1000);
    for round in 0..8 {
        let mut burst = String::new();
        for i in 0..1000 {
            burst.push_str(&format!("SAY lobby {round}-{i} {text}\n"));
        }
        ana.send_bytes(burst.as_bytes());
        for i in 0..1000 {
            ana.expect(&format!("MSG lobby ana {round}-{i} {text}"));
        }
    }
    let joined = bounded("shutdown", move || server.shutdown());
    assert!(joined >= 2, "joined {joined}");
    assert_eq!(ana.expect_bye(), "server shutting down");
    // The stuck client's stream ends too, whatever it holds.
    stuck.read_to_end();
    assert_not_listening(addr);
}
