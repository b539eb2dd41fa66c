//! Arbitrary bytes after a WebSocket handshake, on a real server: the
//! WebSocket reader (tungstenite behind `src/doors/web/socket.rs`) never takes
//! the server down, never disturbs another user, and every such connection
//! ends; what the server sends back is whole frames only.

mod common;

use common::chat1::Client;
use common::ws::Ws;
use common::{connect, start_web, web_addr};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};

/// Sends a valid upgrade, then `junk`, then closes its sending side; returns
/// what the server sent after the 101 once it closed (the read timeout bounds it).
fn junk_after_upgrade(web: SocketAddr, junk: &[u8]) -> Vec<u8> {
    let mut socket = connect(web);
    let head = format!(
        "GET /ws HTTP/1.1\r\nHost: {web}\r\nOrigin: http://{web}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).expect("send the head");
    // A refusal mid-way (the server closed on bad frames) is what this tests for.
    let _ = socket.write_all(junk);
    let _ = socket.shutdown(Shutdown::Write);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server neither answered nor closed: {e}"),
        }
    }
    let end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the 101 head");
    assert!(got.starts_with(b"HTTP/1.1 101"), "{got:?}");
    got.split_off(end + 4)
}

/// The frames a server sent: each unmasked and whole (a cut frame panics).
fn whole_frames(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "a cut frame header: {bytes:?}");
        assert_eq!(bytes[1] & 0x80, 0, "a server frame is never masked");
        let (len, at) = match bytes[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&bytes[2..10]);
                (usize::try_from(u64::from_be_bytes(n)).expect("fits"), 10)
            }
            n => (usize::from(n), 2),
        };
        assert!(bytes.len() >= at + len, "a cut frame: {bytes:?}");
        bytes = &bytes[at + len..];
        count += 1;
    }
    count
}

fn any_junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        // Frame-shaped junk: a header byte, a length byte, a mask and a payload.
        proptest::collection::vec(
            (
                any::<u8>(),
                any::<u8>(),
                proptest::collection::vec(any::<u8>(), 0..200)
            ),
            1..6
        )
        .prop_map(|frames| {
            let mut out = Vec::new();
            for (first, second, payload) in frames {
                out.push(first);
                out.push(second | 0x80);
                out.extend_from_slice(&[1, 2, 3, 4]);
                out.extend_from_slice(&payload);
            }
            out
        }),
    ]
}

#[test]
fn junk_after_a_handshake_ends_that_connection_only() {
    let server = start_web(|c| c.max_per_ip = 0);
    let (chat, web) = (server.local_addr(), web_addr(&server));
    let mut ana = Client::login(chat, "ana");
    ana.send("JOIN lobby");
    ana.wait_line("END HISTORY lobby");
    // Arbitrary bytes, then a few known-bad frames: each connection ends,
    // and whatever the server sent back is whole frames.
    let mut runner = TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&any_junk(), |junk| {
            whole_frames(&junk_after_upgrade(web, &junk));
            Ok(())
        })
        .expect("every case passes");
    for junk in [
        &b"\x81\xfe\xff\xff"[..],
        b"\x88\x80\x00\x00\x00\x00",
        b"\x01\x85abcd\xff\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        whole_frames(&junk_after_upgrade(web, junk));
    }
    // Everyone else is served as before.
    let mut bob = Ws::login(web, "bob");
    bob.send("JOIN lobby");
    bob.wait_line("END HISTORY lobby");
    ana.wait_line("JOIN lobby bob");
    bob.send("SAY lobby still here");
    ana.wait_line("MSG lobby bob still here");
    drop(bob);
    ana.wait_prefix("QUIT bob");
    common::eventually("every junk connection to end", || server.clients() == 1);
    drop(ana);
    server.shutdown();
}
