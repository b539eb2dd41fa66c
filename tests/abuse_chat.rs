//! Issue 11, findings 2, 3 and 4, on loopback: what a hostile client did to
//! the chat, done again, and what the server does about it now.
//!
//! - Finding 2, room squatting: one account or guest owns at most
//!   `--max-rooms-per-user` rooms, and an account's room with no member and no
//!   message for `--room-expiry` days is gone, history too (at start here; the
//!   hourly sweep is `dispatch`'s unit test, with an injected clock).
//! - Finding 3, forged lines: a CR, NUL, ESC or other control in a text is
//!   refused with `ERR BAD_TEXT` (IRC: 400) on every door, and reaches nobody.
//! - Finding 4, reply amplification: a costly answer is charged to the
//!   asker's flood bucket, so its next lines wait while others are served.

mod common;

use common::chat1::{Client, ana_and_bob};
use common::irc::{Irc, is_numeric, parse, who};
use common::ws::Ws;
use common::{start, start_irc, start_web, web_addr};
use sala::FloodLimit;
use sala::store::sqlite::SqliteStore;
use sala::store::{Entry, Store, StoredRoom};
use std::path::Path;
use std::time::Duration;

// ---------------------------------------------------------------- finding 2

/// Sends `JOIN <room>`: true if the room was created and joined, false if
/// refused with `TOO_MANY_ROOMS` (anything else fails the test).
fn try_create(c: &mut Client, room: &str) -> bool {
    c.send(&format!("JOIN {room}"));
    let line = c.next();
    if line.starts_with("ERR TOO_MANY_ROOMS ") {
        return false;
    }
    assert_eq!(line, format!("JOIN {room} {}", c.nick));
    let end = format!("END HISTORY {room}");
    c.wait_line(&end);
    true
}

#[test]
fn squatters_own_at_most_their_share_of_rooms_and_others_still_create() {
    // Finding 2 in small: each throwaway user tries to create 15 rooms on a
    // server holding at most 25. Before the fix the second one filled it.
    let server = start(|c| {
        c.max_rooms = 25;
        c.max_rooms_per_user = 10;
    });
    let addr = server.local_addr();
    let mut squatters = Vec::new();
    for squatter in ["squat1", "squat2"] {
        let mut c = Client::login(addr, squatter);
        let made = (0..15)
            .filter(|i| try_create(&mut c, &format!("{squatter}-{i}")))
            .count();
        assert_eq!(made, 10, "{squatter} owns at most 10 rooms");
        // With a key too: refused before the key is hashed.
        c.refused(&format!("JOIN {squatter}-keyed k3y"), "TOO_MANY_ROOMS");
        squatters.push(c);
    }
    // A real user can still create one.
    let mut ana = Client::login(addr, "ana");
    assert!(try_create(&mut ana, "classroom"));
    assert_eq!(ana.rooms().len(), 21);
    // A squatter that gives one up may create another, not more.
    let squat1 = &mut squatters[0];
    squat1.send("DELETE squat1-0");
    squat1.expect("CLOSED squat1-0 squat1");
    assert!(try_create(squat1, "squat1-again"));
    assert!(!try_create(squat1, "squat1-more"));
}

#[test]
fn an_accounts_rooms_count_for_the_account_on_every_connection() {
    let server = start(|c| c.max_rooms_per_user = 3);
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.send("REGISTER s3cret");
    ana.expect("OK REGISTER ana");
    for room in ["home", "work", "play"] {
        assert!(try_create(&mut ana, room));
    }
    assert!(!try_create(&mut ana, "more"));
    ana.quit();
    // A new connection, logged in to the same account: the same three rooms.
    let mut back = Client::connect(addr);
    let guest = back.nick.clone();
    back.send("NICK ana s3cret");
    back.expect(&format!("NICK {guest} ana"));
    back.nick = "ana".into();
    back.expect("END OFFLINE");
    assert!(!try_create(&mut back, "more"));
    back.send("DELETE play");
    back.expect("CLOSED play ana");
    assert!(try_create(&mut back, "more"));
}

/// A data directory as a server left it 40 days ago: ana's account and two of
/// her rooms, `stale` (last message 35 days ago) and `lively` (a message an
/// hour ago).
fn old_data(dir: &Path) {
    const DAY: u64 = 86_400_000;
    let now = common::now_ms();
    let mut store = SqliteStore::open(dir).expect("a data directory");
    let hash = sala::secret::hash_password("s3cret").expect("a hash");
    store.save_account("ana", &hash).expect("an account");
    for (room, said) in [("stale", now - 35 * DAY), ("lively", now - 3_600_000)] {
        let saved = StoredRoom {
            name: room.into(),
            owner: "ana".into(),
            key: None,
            created: now - 40 * DAY,
            last_stamp: 0,
            settings: String::new(),
        };
        store.save_room(&saved).expect("a room");
        let entry = Entry {
            at: said,
            nick: "ana".into(),
            text: format!("last words in {room}"),
        };
        store
            .append(&sala::chat::RoomId::of(room), &entry)
            .expect("a message");
    }
    store.commit().expect("a commit");
}

#[test]
fn an_account_room_quiet_for_the_expiry_is_gone_at_start_with_its_history() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    old_data(dir.path());
    // Before the fix both rooms came back, forever; `--room-expiry 0` keeps that.
    let kept = start(|c| {
        c.data_dir = Some(dir.path().to_path_buf());
        c.room_expiry = Duration::ZERO;
    });
    let mut bob = Client::login(kept.local_addr(), "bob");
    assert_eq!(bob.rooms(), ["ROOM lively 0 ana", "ROOM stale 0 ana"]);
    bob.quit();
    kept.shutdown();

    let server = start(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let mut bob = Client::login(server.local_addr(), "bob");
    assert_eq!(bob.rooms(), ["ROOM lively 0 ana"]);
    let lively = bob.join("lively");
    assert!(lively.iter().any(|l| l.ends_with(" last words in lively")));
    // stale is gone with its history: joining makes a new, empty room.
    let stale = bob.join("stale");
    assert!(
        !stale.iter().any(|l| l.starts_with("HISTORY ")),
        "{stale:?}"
    );
    bob.quit();
    server.shutdown();

    // And it stays gone after another restart.
    let server = start(|c| c.data_dir = Some(dir.path().to_path_buf()));
    let mut carl = Client::login(server.local_addr(), "carl");
    assert_eq!(carl.rooms(), ["ROOM lively 0 ana"]);
}

// ---------------------------------------------------------------- finding 3

/// Lines whose text a hostile client filled with controls, one per verb that
/// carries a text (with ana in `lobby` and bob in it too).
const FORGED: [&str; 9] = [
    "SAY lobby hi\r:admin!admin@sala PRIVMSG #lobby :forged",
    "SAY lobby \u{1b}[2J\u{1b}]0;pwned\u{7}",
    "SAY lobby nul\u{0}byte",
    "SAY lobby next\u{85}line \u{2028} \u{2029}",
    "WHISPER bob \u{1b}[31mred alert",
    "BROADCAST \u{9b}2J",
    "KICK lobby bob out\u{7f}",
    "PART lobby bye\u{1b}c",
    "QUIT gone\u{0}",
];

#[test]
fn a_chat1_text_with_a_control_character_is_refused_and_reaches_nobody() {
    let server = start(|_| {});
    let (mut ana, mut bob) = ana_and_bob(server.local_addr());
    for line in FORGED {
        ana.refused(line, "BAD_TEXT");
        bob.assert_silent();
    }
    // Formatting codes, tabs and /me pass, as sent.
    for fine in [
        "\u{2}bold\u{2}\t\u{3}4,1red\u{f} \u{1d}italic\u{1d}",
        "\u{1}ACTION waves\u{1}",
    ] {
        ana.send(&format!("SAY lobby {fine}"));
        let msg = format!("MSG lobby ana {fine}");
        ana.expect(&msg);
        bob.expect(&msg);
    }
    // A word echoed in an error text has its controls made visible.
    ana.send("WHO lo\u{1b}[2Jbby");
    ana.expect("ERR NO_SUCH_ROOM there is no room lo\u{fffd}[2Jbby");
    ana.send("FR\u{0}OB");
    ana.expect("ERR UNKNOWN_COMMAND unknown command FR\u{fffd}OB");
    // ana is still in lobby: nothing of the refused lines was applied.
    ana.send("SAY lobby still here");
    bob.expect("MSG lobby ana still here");
}

#[test]
fn an_irc_text_with_a_control_character_is_refused_and_a_notice_dropped() {
    let server = start_irc(|_| {});
    let irc_addr = common::irc_addr(&server);
    let mut ana = Irc::register(irc_addr, "ana");
    let mut carla = Irc::register(irc_addr, "carla");
    let mut bob = Client::login(server.local_addr(), "bob");
    ana.join("#lobby");
    carla.join("#lobby");
    ana.wait_line(&format!("{} JOIN #lobby", who("carla")));
    bob.join("lobby");
    ana.wait_line(&format!("{} JOIN #lobby", who("bob")));
    carla.wait_line(&format!("{} JOIN #lobby", who("bob")));
    // The very line of the finding: before the fix, carla got a second line
    // that looked like the server's own, from `admin`.
    for (line, verb) in [
        (
            "PRIVMSG #lobby :hi\r:admin!admin@sala PRIVMSG #lobby :forged",
            "PRIVMSG",
        ),
        ("PRIVMSG carla :\u{1b}[2J", "PRIVMSG"),
        ("PART #lobby :bye\u{85}", "PART"),
        ("AWAY :\u{1b}]0;title\u{7}", "AWAY"),
        ("QUIT :gone\u{2028}", "QUIT"),
    ] {
        let p = ana.refused(line, 400);
        assert_eq!(p.params[1], verb, "{line:?}");
        assert!(p.params[2].contains("control character"), "{p:?}");
        carla.assert_silent();
        bob.assert_silent();
    }
    // RFC 2812: a NOTICE is never answered with an error; it is dropped.
    ana.send("NOTICE #lobby :\u{1b}[2J");
    ana.assert_silent();
    carla.assert_silent();
    bob.assert_silent();
    // IRC's own formatting reaches both doors unchanged.
    ana.send("PRIVMSG #lobby :\u{2}bold\u{2} \u{1d}it\u{1d}");
    carla.expect(&format!(
        "{} PRIVMSG #lobby :\u{2}bold\u{2} \u{1d}it\u{1d}",
        who("ana")
    ));
    bob.expect("MSG lobby ana \u{2}bold\u{2} \u{1d}it\u{1d}");
    // A CHAT/1 user's forged text does not reach IRC either.
    bob.refused("SAY lobby a\rb", "BAD_TEXT");
    carla.assert_silent();
    // A word with a control, echoed in a numeric, cannot break the line.
    ana.send("PRIVMSG #no\u{0}such :hi");
    let line = ana.next();
    assert!(is_numeric(&line, 401), "{line:?}");
    assert_eq!(parse(&line).params[1], "#no\u{fffd}such");
}

#[test]
fn a_web_text_with_a_control_character_is_refused() {
    let server = start_web(|_| {});
    let mut web = Ws::login(web_addr(&server), "wanda");
    let mut bob = Client::login(server.local_addr(), "bob");
    web.join("lobby");
    bob.join("lobby");
    web.expect("JOIN lobby bob");
    for line in [
        "SAY lobby \u{1b}[2J",
        "SAY lobby a\rb",
        "BROADCAST x\u{2029}",
    ] {
        web.refused(line, "BAD_TEXT");
        bob.assert_silent();
    }
}

// ---------------------------------------------------------------- finding 4

#[test]
fn a_costly_answer_makes_the_askers_next_lines_wait_not_everyones() {
    // A low flood rate makes the charge plain: a line a second, 3 at once.
    // The crowd all comes from 127.0.0.1: no limit per address.
    let server = start(|c| {
        c.flood = FloodLimit {
            rate: 1.0,
            burst: 3,
        };
        c.max_per_ip = 0;
    });
    let addr = server.local_addr();
    let crowd: Vec<Client> = (0..400)
        .map(|i| Client::login(addr, &format!("user{i:03}-with-a-long-nick")))
        .collect();
    let mut spammer = Client::login(addr, "spammer");
    let mut bystander = Client::login(addr, "bystander");
    // The first USERS is answered at once; it leaves its asker in debt: 400
    // users with long nicks make it 10 KB, 4 tokens (one per 2 KiB), and after
    // NICK and USERS 1 token was left, so its next line waits 4 s.
    spammer.send("USERS");
    let users = spammer.lines_until("END USERS", |l| l == "END USERS");
    let bytes: usize = users.iter().map(|l| l.len() + 1).sum();
    assert!(bytes > 8 * 1024, "USERS is {bytes} bytes");
    // Its next line waits until the debt is paid...
    spammer.send("PING after-users");
    // ...while another connection's PING, sent after it, is answered at once.
    bystander.expect_answer("PING meanwhile", "PONG meanwhile");
    let stream = spammer.stream();
    stream.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    let waiting = stream.peek(&mut byte);
    stream.set_nonblocking(false).expect("blocking again");
    assert!(
        matches!(&waiting, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the spammer's PING was answered before the bystander's: {waiting:?}"
    );
    // It is answered once paid for (within the read timeout).
    spammer.expect("PONG after-users");
    drop(crowd);
}
