//! Clients that misbehave at the TCP level: resets, half-sent lines, bytes
//! dribbled one at a time, and a reader too slow to keep up. Each must cost
//! nobody else anything.

mod common;

use common::chat1::{Client, ana_and_bob, stuck_in_lobby};
use common::{eventually, start, start_default};
use socket2::SockRef;
use std::net::Shutdown;
use std::time::Duration;

#[test]
fn reset_connection_is_reported_to_room_mates() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, bob) = ana_and_bob(addr);
    let mut obs = Client::connect(addr);
    let stream = bob.into_stream();
    // SO_LINGER 0: close(2) sends RST instead of FIN.
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER");
    drop(stream);
    let line = ana.next();
    let reason = line
        .strip_prefix("QUIT bob ")
        .unwrap_or_else(|| panic!("expected QUIT bob <reason>, got {line:?}"));
    assert!(reason.starts_with("connection "), "{line}");
    ana.assert_silent();
    assert_eq!(obs.rooms(), ["ROOM lobby 1 ana"]);
    eventually("the reset connection to be counted out", || {
        server.clients() == 2
    });
    // The nick is free again.
    Client::login(addr, "bob");
    server.shutdown();
}

#[test]
fn closed_connection_is_reported_to_room_mates() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, bob) = ana_and_bob(addr);
    drop(bob);
    ana.expect("QUIT bob connection closed");
    ana.assert_silent();
    assert_eq!(ana.rooms(), ["ROOM lobby 1 ana"]);
    server.shutdown();
}

#[test]
fn half_sent_line_is_not_said_when_the_peer_closes() {
    let server = start_default();
    let (mut ana, mut bob) = ana_and_bob(server.local_addr());
    bob.send_bytes(b"SAY lobby never finished");
    // shutdown(2) of the write side only: the server reads EOF, bob can still read.
    bob.stream()
        .shutdown(Shutdown::Write)
        .expect("shutdown write");
    ana.expect("QUIT bob connection closed");
    assert_eq!(bob.expect_bye(), "connection closed");
    ana.send("HISTORY lobby");
    ana.expect("END HISTORY lobby");
    server.shutdown();
}

#[test]
fn lines_split_into_single_bytes_are_reassembled() {
    let server = start_default();
    let (mut ana, mut bob) = ana_and_bob(server.local_addr());
    bob.stream().set_nodelay(true).expect("TCP_NODELAY");
    for b in b"SAY lobby one byte at a time\r\n" {
        bob.send_bytes(&[*b]);
    }
    ana.expect("MSG lobby bob one byte at a time");
    bob.expect("MSG lobby bob one byte at a time");
    server.shutdown();
}

#[test]
fn crlf_and_blank_lines_are_accepted_and_pipelined_commands_run_in_order() {
    let server = start_default();
    let mut a = Client::connect(server.local_addr());
    let guest = a.nick.clone();
    a.send_bytes(b"\r\n\n   \nPING x\r\nNICK ana\r\nJOIN lobby\nSAY lobby hi\r\nFROB\nPING done\n");
    a.expect_all(&[
        "PONG x",
        &format!("NICK {guest} ana"),
        "JOIN lobby ana",
        "MEMBERS lobby ana",
        "END MEMBERS lobby",
        "END HISTORY lobby",
        "MSG lobby ana hi",
    ]);
    a.expect_prefix("ERR UNKNOWN_COMMAND ");
    a.expect("PONG done");
    server.shutdown();
}

/// Parses `MSG lobby <nick> <n> <text>` into `n`, checking the text.
fn numbered(line: &str, nick: &str, text: &str) -> Option<usize> {
    let rest = line.strip_prefix(&format!("MSG lobby {nick} "))?;
    let (n, t) = rest.split_once(' ')?;
    assert_eq!(t, text, "message text garbled");
    n.parse().ok()
}

#[test]
fn slow_reader_is_cut_off_and_nobody_else_waits() {
    // A generous send timeout: the slow client reads its BYE at the end, and
    // its writer must still be waiting in send(2) then.
    let server = start(|c| {
        c.send_queue = 64;
        c.send_timeout = Duration::from_secs(60);
    });
    let addr = server.local_addr();
    let (mut flood, mut watch) = ana_and_bob(addr);
    let mut slow = Client::connect_small_buffer(addr, 4096);
    let slow_guest = slow.nick.clone();
    slow.send("NICK slow\nJOIN lobby");
    flood.expect("JOIN lobby slow");
    watch.expect("JOIN lobby slow");
    // Flood the room with 2 KB messages. The flooder and the watcher read in
    // lock step (never more than WINDOW behind), so only the slow client's
    // queue can fill.
    const WINDOW: usize = 16;
    const LIMIT: usize = 20_000;
    let text = "x".repeat(2000);
    let (mut sent, mut flood_seen, mut watch_seen) = (0, 0, 0);
    let (mut flood_quit, mut watch_quit) = (false, false);
    let quit = "QUIT slow send queue full";
    let read = |c: &mut Client, seen: &mut usize, quit_seen: &mut bool| {
        let line = c.next();
        if line == quit {
            assert!(!*quit_seen, "{}: QUIT twice", c.nick);
            *quit_seen = true;
        } else {
            let n = numbered(&line, "ana", &text)
                .unwrap_or_else(|| panic!("{}: unexpected line {line:?}", c.nick));
            assert_eq!(n, *seen, "{}: messages out of order", c.nick);
            *seen += 1;
        }
    };
    while !flood_quit {
        assert!(sent < LIMIT, "the slow reader was never cut off");
        flood.send(&format!("SAY lobby {sent} {text}"));
        sent += 1;
        while sent - flood_seen > WINDOW && !flood_quit {
            read(&mut flood, &mut flood_seen, &mut flood_quit);
        }
        while sent - watch_seen > WINDOW {
            read(&mut watch, &mut watch_seen, &mut watch_quit);
        }
    }
    while flood_seen < sent {
        read(&mut flood, &mut flood_seen, &mut flood_quit);
    }
    while watch_seen < sent || !watch_quit {
        read(&mut watch, &mut watch_seen, &mut watch_quit);
    }
    flood.assert_silent();
    watch.assert_silent();
    assert_eq!(server.room_sizes(), [("lobby".to_string(), 2)]);
    // The slow client, reading at last, finds a prefix of the messages in
    // order, then its BYE, then EOF.
    slow.expect_all(&[
        &format!("NICK {slow_guest} slow"),
        "JOIN lobby slow",
        "MEMBERS lobby ana bob slow",
        "END MEMBERS lobby",
        "END HISTORY lobby",
    ]);
    let mut got = 0;
    loop {
        let line = slow.next();
        if let Some(text) = line.strip_prefix("BYE ") {
            assert_eq!(text, "send queue full: you read too slowly");
            break;
        }
        let n = numbered(&line, "ana", &"x".repeat(2000))
            .unwrap_or_else(|| panic!("slow: unexpected line {line:?}"));
        assert_eq!(n, got, "slow: messages out of order");
        got += 1;
    }
    slow.expect_eof();
    assert!(got < sent, "slow got {got} of {sent}");
    eprintln!("slow reader cut off after {sent} messages sent, {got} delivered to it");
    eventually("the slow client to be counted out", || {
        server.clients() == 2
    });
    server.shutdown();
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    // A queue too big to fill: only the send timeout can end this client.
    let server = start(|c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_millis(300);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let stuck = stuck_in_lobby(addr, &mut ana);
    let text = "z".repeat(1000);
    let quit = format!("QUIT {} ", stuck.nick);
    let mut quit_seen = false;
    let mut sent = 0;
    while !quit_seen {
        assert!(sent < 20_000, "the stuck client was never dropped");
        ana.send(&format!("SAY lobby {sent} {text}"));
        let echo = format!("MSG lobby ana {sent} {text}");
        loop {
            let line = ana.next();
            if line == echo {
                break;
            }
            assert!(line.starts_with(&quit), "unexpected line {line:?}");
            quit_seen = true;
        }
        sent += 1;
    }
    ana.assert_silent();
    assert_eq!(server.room_sizes(), [("lobby".to_string(), 1)]);
    // One thread (at least) per connection was joined.
    let joined = server.shutdown();
    assert!(joined >= 2, "joined {joined}");
    drop(stuck);
}
