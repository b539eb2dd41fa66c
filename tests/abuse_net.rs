//! Issue 11, the network findings, each reproduced on loopback and shown
//! fixed: a steady reader is never dropped by the send timeout and a reader
//! that is cut off gets its goodbye (finding 9).

mod common;

use common::chat1::Client;
use common::start;
use std::io::{BufRead, BufReader, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

// ------------------------------------------------------------ finding 9

/// A reader that takes at most `rate` bytes a second, as a client on a slow
/// link does.
struct Throttled<R> {
    inner: R,
    rate: f64,
    started: Instant,
    taken: usize,
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Being slow is the point of this reader: it waits until its rate
        // allows the next read (it does not wait for any state).
        let due = Duration::from_secs_f64(self.taken as f64 / self.rate);
        if let Some(early) = due.checked_sub(self.started.elapsed()) {
            thread::sleep(early);
        }
        let want = buf.len().min(16 * 1024);
        let n = self.inner.read(&mut buf[..want])?;
        self.taken += n;
        Ok(n)
    }
}

/// `count` lines of `SAY lobby <n> <text>`, as one write.
fn burst(count: usize, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for n in 0..count {
        out.extend_from_slice(format!("SAY lobby {n} {text}\n").as_bytes());
    }
    out
}

/// Sends `bytes` from `client`'s socket in another thread while the same
/// thread reads its lines up to `last`; returns the client when both are done.
fn send_reading_echoes(client: Client, bytes: Vec<u8>, last: String) -> thread::JoinHandle<Client> {
    let mut client = client;
    let out = client.stream().try_clone().expect("clone the socket");
    thread::spawn(move || {
        let sender = thread::spawn(move || (&out).write_all(&bytes).expect("send the burst"));
        client.wait_line(&last);
        sender.join().expect("the sender");
        client
    })
}

/// Finding 9: a client reading steadily (here 2 MB/s, with a send timeout
/// of 300 ms) through a burst larger than the kernel's buffers was dropped,
/// because the writer measured the time since it last handed bytes to the
/// kernel, and `poll(2)` calls a full socket writable only once a third of
/// its buffer (megabytes on loopback) is free. It now gets every line.
#[test]
fn a_steady_reader_is_not_dropped_by_the_send_timeout() {
    const LINES: usize = 7000;
    let server = start(|c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_millis(300);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let mut steady = Client::login(addr, "steady");
    steady.join("lobby");
    ana.expect("JOIN lobby steady");
    let text = "y".repeat(1000);
    let last = format!("MSG lobby ana {} {text}", LINES - 1);
    let ana = send_reading_echoes(ana, burst(LINES, &text), last);
    let stream = steady.into_stream();
    let control = stream.try_clone().expect("clone the socket");
    let mut slow = BufReader::new(Throttled {
        inner: stream,
        rate: 2_000_000.0,
        started: Instant::now(),
        taken: 0,
    });
    for n in 0..LINES {
        let mut line = String::new();
        slow.read_line(&mut line).expect("a line, not a timeout");
        assert!(
            line == format!("MSG lobby ana {n} {text}\n"),
            "line {n} of {LINES} is {} bytes, {:?}...: dropped by the send timeout?",
            line.len(),
            &line[..line.len().min(24)]
        );
    }
    // Still connected: a PING is answered.
    (&control).write_all(b"PING still-here\n").expect("send");
    let mut line = String::new();
    slow.read_line(&mut line).expect("the PONG");
    assert_eq!(line, "PONG still-here\n");
    let mut ana = ana.join().expect("ana's thread");
    ana.assert_silent();
    server.shutdown();
}

/// Finding 9, second half: a client that stops reading altogether is cut
/// off after the send timeout, and if it reads within 2 s of that it finds
/// whole lines, then `BYE`, then the end of the stream (it used to find
/// only the end).
#[test]
fn a_reader_cut_off_by_the_send_timeout_gets_its_bye() {
    const LINES: usize = 6000;
    let server = start(|c| {
        c.send_queue = 1_000_000;
        c.send_timeout = Duration::from_millis(300);
    });
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    let stuck = common::chat1::stuck_in_lobby(addr, &mut ana);
    let stuck_nick = stuck.nick.clone();
    let text = "z".repeat(1000);
    let last = format!("MSG lobby ana {} {text}", LINES - 1);
    let mut ana = send_reading_echoes(ana, burst(LINES, &text), last)
        .join()
        .expect("ana's thread");
    // The cut-off stops the reader at once, so room-mates hear of it at once.
    ana.wait_line(&format!("QUIT {stuck_nick} connection closed"));
    let mut stuck = stuck;
    let mut n = 0;
    loop {
        let line = stuck.next();
        if let Some(bye) = line.strip_prefix("BYE ") {
            assert_eq!(bye, "send timeout: you took nothing for 300ms");
            break;
        }
        if n == 0 && !line.starts_with("MSG ") {
            continue; // JOIN, MEMBERS, END MEMBERS, END HISTORY
        }
        assert_eq!(
            line,
            format!("MSG lobby ana {n} {text}"),
            "whole lines, in order"
        );
        n += 1;
    }
    stuck.expect_eof();
    assert!(n < LINES, "got all {n} lines: it was never cut off");
    ana.assert_silent();
    server.shutdown();
}
