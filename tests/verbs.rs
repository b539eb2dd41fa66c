//! One test per client verb of CHAT/1 (`docs/protocol.md`, "Client
//! commands"), checking the exact lines each one produces.

mod common;

use common::chat1::{Client, ana_and_bob};
use common::{now_ms, start, start_default};

#[test]
fn nick_renames_and_tells_the_user_and_room_mates() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    let guest = a.nick.clone();
    a.send("NICK ana");
    a.expect(&format!("NICK {guest} ana"));
    // A user may change the case of their own name.
    a.send("nick ANA");
    a.expect("NICK ana ANA");
    let mut b = Client::login(addr, "bob");
    a.join("lobby");
    b.join("lobby");
    a.expect("JOIN lobby bob");
    a.send("NICK anna");
    a.expect("NICK ANA anna");
    b.expect("NICK ANA anna");
    // The old name is free again; the new one is not.
    b.send("WHISPER ANA hi");
    b.expect_err("NO_SUCH_USER");
    b.send("WHISPER anna hi");
    b.expect("WHISPER bob anna hi");
    a.expect("WHISPER bob anna hi");
    a.assert_silent();
    server.shutdown();
}

#[test]
fn register_binds_the_nick_and_is_refused_to_guests_and_twice() {
    // Passwords at login (BAD_PASSWORD), OFFLINE whispers and INBOX_FULL are
    // checked in persistence.rs.
    let server = start_default();
    let mut a = Client::connect(server.local_addr());
    a.send("REGISTER secret");
    a.expect_err("NICK_RESERVED");
    a.rename("ana");
    a.send("register secret");
    a.expect("OK REGISTER ana");
    a.send("REGISTER again");
    a.expect_err("ALREADY_REGISTERED");
    server.shutdown();
}

#[test]
fn join_creates_a_room_then_shows_members_and_history() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let lines = a.join("lobby");
    assert_eq!(
        lines,
        [
            "JOIN lobby ana",
            "MEMBERS lobby ana",
            "END MEMBERS lobby",
            "END HISTORY lobby"
        ]
    );
    a.send("SAY lobby first");
    a.expect("MSG lobby ana first");
    let mut b = Client::login(addr, "bob");
    // Room names are case-insensitive and shown as first written.
    let lines = b.join("LOBBY");
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], "JOIN lobby bob");
    assert_eq!(lines[1], "MEMBERS lobby ana bob");
    assert_eq!(lines[2], "END MEMBERS lobby");
    let history: Vec<&str> = lines[3].splitn(5, ' ').collect();
    assert_eq!(history[0], "HISTORY");
    assert_eq!(history[1], "lobby");
    assert!(history[2].parse::<u64>().is_ok(), "{}", lines[3]);
    assert_eq!(&history[3..], ["ana", "first"]);
    assert_eq!(lines[4], "END HISTORY lobby");
    a.expect("JOIN lobby bob");
    a.assert_silent();
    assert_eq!(server.room_sizes(), [("lobby".to_string(), 2)]);
    server.shutdown();
}

#[test]
fn join_with_a_key_locks_the_room() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    a.send("JOIN vault k1");
    a.wait_line("END HISTORY vault");
    let mut b = Client::login(addr, "bob");
    b.refused("JOIN vault", "BAD_KEY");
    b.send("JOIN vault k1");
    b.expect_all(&[
        "JOIN vault bob",
        "MEMBERS vault ana bob",
        "END MEMBERS vault",
        "END HISTORY vault",
    ]);
    a.expect("JOIN vault bob");
    server.shutdown();
}

#[test]
fn part_tells_every_member_including_the_leaver() {
    let server = start_default();
    let (mut a, mut b) = ana_and_bob(server.local_addr());
    b.send("PART lobby see you  later");
    b.expect("PART lobby bob see you  later");
    a.expect("PART lobby bob see you  later");
    // The leaver no longer hears the room.
    a.send("SAY lobby still here");
    a.expect("MSG lobby ana still here");
    b.assert_silent();
    b.refused("SAY lobby back?", "NOT_MEMBER");
    b.join("lobby");
    a.expect("JOIN lobby bob");
    b.send("part LOBBY");
    b.expect("PART lobby bob");
    a.expect("PART lobby bob");
    server.shutdown();
}

#[test]
fn say_reaches_every_member_sender_included_text_verbatim() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    for x in [&mut a, &mut b, &mut c] {
        x.join("lobby");
    }
    a.send("SAY lobby hello  world, café ☕ ");
    for x in [&mut a, &mut b, &mut c] {
        x.wait_line("MSG lobby ana hello  world, café ☕ ");
    }
    // Verbs are case-insensitive; the room is shown as first written.
    c.send("say LOBBY hi");
    for x in [&mut a, &mut b, &mut c] {
        x.expect("MSG lobby carl hi");
        x.assert_silent();
    }
    server.shutdown();
}

#[test]
fn whisper_reaches_the_recipient_and_echoes_to_the_sender_only() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    a.send("WHISPER BOB psst, over  here");
    b.expect("WHISPER ana bob psst, over  here");
    a.expect("WHISPER ana bob psst, over  here");
    // A whisper to oneself arrives once.
    a.send("WHISPER ana note to self");
    a.expect("WHISPER ana ana note to self");
    a.assert_silent();
    b.assert_silent();
    c.assert_silent();
    server.shutdown();
}

#[test]
fn broadcast_reaches_everyone_connected_in_a_room_or_not() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut g = Client::connect(addr);
    b.join("lobby");
    a.send("BROADCAST hi all");
    for x in [&mut a, &mut b, &mut g] {
        x.expect("BROADCAST ana hi all");
        x.assert_silent();
    }
    server.shutdown();
}

#[test]
fn rooms_lists_each_room_with_count_and_owner_sorted() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    assert!(a.rooms().is_empty());
    let mut b = Client::login(addr, "bob");
    b.join("beta");
    a.join("alpha");
    b.join("alpha");
    a.expect("JOIN alpha bob");
    a.send("rooms");
    a.expect_all(&["ROOM alpha 2 ana", "ROOM beta 1 bob", "END ROOMS"]);
    server.shutdown();
}

#[test]
fn who_lists_members_for_anyone() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    a.join("lobby");
    b.join("lobby");
    c.send("WHO LOBBY");
    c.expect_all(&["MEMBERS lobby ana bob", "END MEMBERS lobby"]);
    c.assert_silent();
    server.shutdown();
}

#[test]
fn who_of_a_big_room_splits_members_over_lines() {
    let server = start_default();
    let addr = server.local_addr();
    let nicks: Vec<String> = (0..60)
        .map(|i| format!("member{i:02}_abcdefghij"))
        .collect();
    let mut clients: Vec<Client> = nicks.iter().map(|n| Client::login(addr, n)).collect();
    for c in &mut clients {
        c.join("big");
    }
    let mut w = Client::connect(addr);
    w.send("WHO big");
    let lines = w.lines_until("END MEMBERS big", |l| l == "END MEMBERS big");
    assert!(lines.len() > 2, "one line would be too long: {lines:?}");
    let mut listed = Vec::new();
    for line in &lines[..lines.len() - 1] {
        assert!(line.len() < 2048, "{line}");
        let rest = line.strip_prefix("MEMBERS big ").expect("a MEMBERS line");
        listed.extend(rest.split(' ').map(str::to_string));
    }
    assert_eq!(listed, nicks);
    server.shutdown();
}

#[test]
fn users_lists_everyone_sorted_case_insensitively() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "carl");
    let _b = Client::login(addr, "Bob");
    let g = Client::connect(addr);
    let _d = Client::login(addr, "ana");
    a.send("USERS");
    let want = format!("USERS ana Bob carl {}", g.nick);
    a.expect_all(&[&want, "END USERS"]);
    server.shutdown();
}

#[test]
fn kick_removes_a_member_and_tells_every_member_including_the_kicked() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    a.join("lobby");
    b.join("lobby");
    c.join("lobby");
    a.wait_line("JOIN lobby carl");
    b.wait_line("JOIN lobby carl");
    a.send("KICK lobby BOB stop  spamming");
    for x in [&mut a, &mut b, &mut c] {
        x.expect("KICKED lobby bob ana stop  spamming");
    }
    b.refused("SAY lobby let me in", "NOT_MEMBER");
    a.send("SAY lobby bye bob");
    a.expect("MSG lobby ana bye bob");
    c.expect("MSG lobby ana bye bob");
    b.assert_silent();
    a.send("kick lobby carl");
    a.expect("KICKED lobby carl ana");
    c.expect("KICKED lobby carl ana");
    assert_eq!(a.rooms(), ["ROOM lobby 1 ana"]);
    server.shutdown();
}

#[test]
fn delete_closes_the_room_for_every_member_and_forgets_it() {
    let server = start_default();
    let (mut a, mut b) = ana_and_bob(server.local_addr());
    a.send("SAY lobby soon gone");
    a.expect("MSG lobby ana soon gone");
    b.expect("MSG lobby ana soon gone");
    a.send("DELETE lobby");
    a.expect("CLOSED lobby ana");
    b.expect("CLOSED lobby ana");
    assert!(a.rooms().is_empty());
    assert!(server.room_sizes().is_empty());
    b.refused("SAY lobby hello?", "NO_SUCH_ROOM");
    // A new room of that name starts empty: no history, a new owner.
    assert_eq!(
        b.join("lobby"),
        [
            "JOIN lobby bob",
            "MEMBERS lobby bob",
            "END MEMBERS lobby",
            "END HISTORY lobby"
        ]
    );
    assert_eq!(b.rooms(), ["ROOM lobby 1 bob"]);
    a.assert_silent();
    server.shutdown();
}

/// Parses `HISTORY <room> <ms> <nick> <text>` into (ms, text).
fn history_entry(line: &str, room: &str, nick: &str) -> (u64, String) {
    let rest = line
        .strip_prefix(&format!("HISTORY {room} "))
        .unwrap_or_else(|| panic!("not a HISTORY line: {line:?}"));
    let (ms, rest) = rest.split_once(' ').expect("a stamp");
    let text = rest
        .strip_prefix(&format!("{nick} "))
        .unwrap_or_else(|| panic!("not by {nick}: {line:?}"));
    (ms.parse().expect("a unix-ms stamp"), text.to_string())
}

/// Reads one HISTORY page up to `END HISTORY <room>`.
fn page(c: &mut Client, room: &str) -> Vec<(u64, String)> {
    let end = format!("END HISTORY {room}");
    let mut entries = Vec::new();
    loop {
        let line = c.next();
        if line == end {
            return entries;
        }
        entries.push(history_entry(&line, room, "ana"));
    }
}

#[test]
fn history_pages_back_with_strictly_increasing_stamps() {
    let server = start(|c| c.history = 200);
    let addr = server.local_addr();
    let t0 = now_ms();
    let mut a = Client::login(addr, "ana");
    a.join("lobby");
    // All at once, so that many messages fall in the same millisecond.
    let mut burst = String::new();
    for i in 0..120 {
        burst.push_str(&format!("SAY lobby m{i}\n"));
    }
    a.send_bytes(burst.as_bytes());
    for i in 0..120 {
        a.expect(&format!("MSG lobby ana m{i}"));
    }
    let mut b = Client::login(addr, "bob");
    b.send("JOIN lobby");
    b.expect_all(&[
        "JOIN lobby bob",
        "MEMBERS lobby ana bob",
        "END MEMBERS lobby",
    ]);
    let recent = page(&mut b, "lobby");
    // The recent page again, on request.
    b.send("HISTORY lobby");
    assert_eq!(page(&mut b, "lobby"), recent);
    let mut all = recent.clone();
    let mut sizes = vec![recent.len()];
    let mut oldest = recent.first().expect("a non-empty page").0;
    loop {
        b.send(&format!("history lobby {oldest}"));
        let older = page(&mut b, "lobby");
        sizes.push(older.len());
        let Some(first) = older.first() else { break };
        assert!(older.last().expect("non-empty").0 < oldest);
        oldest = first.0;
        all = [older, all].concat();
        assert!(sizes.len() < 10, "paging never ends: {sizes:?}");
    }
    assert_eq!(sizes, [50, 50, 20, 0]);
    let texts: Vec<String> = all.iter().map(|(_, t)| t.clone()).collect();
    let want: Vec<String> = (0..120).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, want);
    for pair in all.windows(2) {
        assert!(pair[0].0 < pair[1].0, "stamps not increasing: {pair:?}");
    }
    // Unix milliseconds: from a second before the test's start to a day after
    // it (a sanity check of the unit).
    assert!(all[0].0 + 1000 >= t0, "{} vs {t0}", all[0].0);
    assert!(all[119].0 < t0 + 86_400_000, "{} vs {t0}", all[119].0);
    // A message's stamp cuts exactly there: the page is the 50 messages before it.
    b.send(&format!("HISTORY lobby {}", all[60].0));
    let cut = page(&mut b, "lobby");
    assert_eq!(cut, all[10..60]);
    a.expect("JOIN lobby bob");
    a.assert_silent();
    server.shutdown();
}

#[test]
fn history_keeps_only_the_configured_number_of_messages() {
    let server = start(|c| c.history = 5);
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    a.join("lobby");
    for i in 0..8 {
        a.send(&format!("SAY lobby m{i}"));
        a.expect(&format!("MSG lobby ana m{i}"));
    }
    a.send("HISTORY lobby");
    let texts: Vec<String> = page(&mut a, "lobby").into_iter().map(|e| e.1).collect();
    assert_eq!(texts, ["m3", "m4", "m5", "m6", "m7"]);
    server.shutdown();
}

#[test]
fn ping_is_answered_with_pong_and_its_token() {
    let server = start_default();
    let mut a = Client::connect(server.local_addr());
    a.send("PING");
    a.expect("PONG");
    a.send("PING abc");
    a.expect("PONG abc");
    a.send("ping two  words");
    a.expect("PONG two  words");
    server.shutdown();
}

#[test]
fn quit_says_bye_closes_and_tells_room_mates() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    a.join("lobby");
    b.join("lobby");
    b.send("QUIT gotta  go");
    assert_eq!(b.expect_bye(), "goodbye");
    a.wait_line("QUIT bob gotta  go");
    a.assert_silent();
    c.assert_silent();
    // The nick is free once BYE was read.
    let mut b2 = Client::login(addr, "bob");
    b2.join("lobby");
    a.expect("JOIN lobby bob");
    b2.send("quit");
    assert_eq!(b2.expect_bye(), "goodbye");
    a.expect("QUIT bob quit");
    assert_eq!(a.rooms(), ["ROOM lobby 1 ana"]);
    server.shutdown();
}

#[test]
fn token_resume_and_revoke_log_an_account_in_without_its_password() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    // Guests and unregistered nicks get no token.
    a.send("TOKEN");
    a.expect_err("BAD_TOKEN");
    a.rename("ana");
    a.send("TOKEN");
    a.expect_err("BAD_TOKEN");
    a.send("REGISTER s3cret");
    a.expect("OK REGISTER ana");
    a.send("TOKEN");
    let line = a.expect_prefix("OK TOKEN ");
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.len(), 4, "{line}");
    let token = words[2].to_string();
    assert_eq!(token.len(), 64, "{line}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    let expires: u64 = words[3].parse().expect("a unix-ms time");
    let week = 7 * 24 * 60 * 60 * 1000;
    assert!(
        expires > now_ms() + week - 60_000 && expires <= now_ms() + week,
        "{line}"
    );

    // While ana is connected, her nick is taken.
    let mut b = Client::connect(addr);
    let guest = b.nick.clone();
    b.send(&format!("RESUME {token}"));
    b.expect_err("NICK_TAKEN");
    a.quit();

    // A whisper kept while she is away comes with the login, as with a password.
    let mut carl = Client::login(addr, "carl");
    carl.send("WHISPER ana still there?");
    carl.expect("WHISPER carl ana still there?");
    b.send(&format!("resume {token}"));
    b.expect(&format!("NICK {guest} ana"));
    let offline = b.expect_prefix("OFFLINE ");
    assert!(offline.ends_with(" carl still there?"), "{offline}");
    b.expect("END OFFLINE");
    // Logged in: a token again, and the account's rooms are its own.
    b.send("TOKEN");
    let second = b.expect_prefix("OK TOKEN ");
    assert!(!second.contains(&token), "a new token each time");

    // Unknown tokens and missing words.
    b.send("RESUME 00ff");
    b.expect_err("BAD_TOKEN");
    b.send("RESUME");
    b.expect_err("MISSING_ARGUMENT");
    b.send("REVOKE");
    b.expect_err("MISSING_ARGUMENT");

    // Revoked, the token logs nobody in; revoking it again is refused.
    b.send(&format!("REVOKE {token}"));
    b.expect("OK REVOKE");
    b.send(&format!("REVOKE {token}"));
    b.expect_err("BAD_TOKEN");
    b.quit();
    let mut c = Client::connect(addr);
    c.send(&format!("RESUME {token}"));
    c.expect_err("BAD_TOKEN");
    c.send("NICK ana");
    c.expect_err("BAD_PASSWORD");
    c.assert_silent();
    carl.assert_silent();
    server.shutdown();
}
