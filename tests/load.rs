//! Load: bursts arrive complete and in order, with flood control off and on;
//! 300 clients chatting in 10 rooms each receive every message of their room
//! exactly once, in each sender's order. Time is only ever bounded from below.

mod common;

use common::chat1::{Client, ana_and_bob};
use common::{start, start_default};
use sala::FloodLimit;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `count` numbered `SAY` lines for `room`, in one buffer.
fn burst(room: &str, count: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..count {
        out.push_str(&format!("SAY {room} {i} the quick brown fox\n"));
    }
    out.into_bytes()
}

/// Reads `count` numbered `MSG` lines from `nick` in order.
fn expect_numbered(c: &mut Client, room: &str, nick: &str, count: usize) {
    for i in 0..count {
        c.expect(&format!("MSG {room} {nick} {i} the quick brown fox"));
    }
}

#[test]
fn burst_of_5000_lines_arrives_complete_and_in_order() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    ana.send_bytes(&burst("lobby", 5000));
    expect_numbered(&mut bob, "lobby", "ana", 5000);
    expect_numbered(&mut ana, "lobby", "ana", 5000);
    bob.assert_silent();
    ana.assert_silent();
    // All of it is history too: the last page ends with the last message.
    bob.send("HISTORY lobby");
    let page = bob.lines_until("END HISTORY lobby", |l| l == "END HISTORY lobby");
    assert_eq!(page.len(), 51);
    assert!(
        page[49].ends_with(" ana 4999 the quick brown fox"),
        "{}",
        page[49]
    );
    server.shutdown();
}

#[test]
fn flood_control_slows_a_burst_down_without_losing_a_line() {
    const LINES: usize = 1000;
    const RATE: f64 = 2000.0;
    const BURST: u32 = 50;
    let server = start(|c| {
        c.flood = FloodLimit {
            rate: RATE,
            burst: BURST,
        };
    });
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    let t0 = Instant::now();
    ana.send_bytes(&burst("lobby", LINES));
    expect_numbered(&mut bob, "lobby", "ana", LINES);
    let took = t0.elapsed();
    expect_numbered(&mut ana, "lobby", "ana", LINES);
    ana.assert_silent();
    bob.assert_silent();
    // A lower bound only: at most BURST lines at once, then RATE per second.
    let least = Duration::from_secs_f64((LINES - BURST as usize) as f64 / RATE * 0.9);
    assert!(
        took >= least,
        "{LINES} lines took {took:?}, less than {least:?}"
    );
    server.shutdown();
}

#[test]
fn three_hundred_clients_in_ten_rooms_each_get_their_room_exactly_once_in_order() {
    const CLIENTS: usize = 300;
    const ROOMS: usize = 10;
    const EACH: usize = 3;
    const THREADS: usize = 4;
    // Every client comes from 127.0.0.1: no per-address limit.
    let server = start(|c| c.max_per_ip = 0);
    let addr = server.local_addr();
    let nick = |i: usize| format!("u{i:03}");
    let room = |i: usize| format!("room{}", i % ROOMS);
    let mut clients: Vec<(usize, Client)> = (0..CLIENTS)
        .map(|i| {
            let mut c = Client::login(addr, &nick(i));
            c.join(&room(i));
            (i, c)
        })
        .collect();
    assert_eq!(server.clients(), CLIENTS);
    let sizes = server.room_sizes();
    assert_eq!(sizes.len(), ROOMS);
    assert!(
        sizes.iter().all(|(_, n)| *n == CLIENTS / ROOMS),
        "{sizes:?}"
    );
    let per_room = CLIENTS / ROOMS;
    std::thread::scope(|s| {
        for chunk in clients.chunks_mut(CLIENTS.div_ceil(THREADS)) {
            s.spawn(move || {
                // Everyone is in their room: each client says its lines at once.
                for (i, c) in chunk.iter_mut() {
                    let mut lines = String::new();
                    for k in 0..EACH {
                        lines.push_str(&format!("SAY {} {k}\n", room(*i)));
                    }
                    c.send_bytes(lines.as_bytes());
                }
                for (i, c) in chunk.iter_mut() {
                    let prefix = format!("MSG {} ", room(*i));
                    let mut next: HashMap<String, usize> = HashMap::new();
                    let mut got = 0;
                    while got < per_room * EACH {
                        let line = c.next();
                        if line.starts_with("JOIN ") {
                            continue; // a later joiner of the room, before the chat began
                        }
                        let rest = line
                            .strip_prefix(&prefix)
                            .unwrap_or_else(|| panic!("{}: unexpected line {line:?}", c.nick));
                        let (from, k) = rest.split_once(' ').expect("MSG room nick text");
                        let want = next.entry(from.to_string()).or_default();
                        assert_eq!(
                            k.parse::<usize>().ok(),
                            Some(*want),
                            "{}: {from}'s messages out of order or repeated",
                            c.nick
                        );
                        *want += 1;
                        got += 1;
                    }
                    assert_eq!(next.len(), per_room, "{}: senders {next:?}", c.nick);
                    assert!(next.values().all(|&n| n == EACH), "{}: {next:?}", c.nick);
                    assert!(
                        next.keys().all(|from| {
                            let j: usize = from[1..].parse().expect("uNNN");
                            j % ROOMS == *i % ROOMS
                        }),
                        "{}: a message from another room: {next:?}",
                        c.nick
                    );
                }
                for (_, c) in chunk.iter_mut() {
                    c.assert_silent();
                }
            });
        }
    });
    let joined = server.shutdown();
    assert!(
        joined >= CLIENTS,
        "joined {joined} threads for {CLIENTS} clients"
    );
}
