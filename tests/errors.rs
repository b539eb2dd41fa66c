//! One test per error code of CHAT/1 (`ErrCode` in `src/proto/refusal.rs`,
//! "Error codes" in `docs/protocol.md`), but for the three that need
//! accounts: `ALREADY_REGISTERED` is checked with REGISTER in `verbs.rs` and
//! `persistence.rs`, `BAD_PASSWORD` (login) and `INBOX_FULL` (offline
//! whispers) in `persistence.rs`. After every refusal but `SERVER_FULL`
//! (which ends with `BYE`) the same connection must still work (`expect_err`
//! ends with a PING/PONG) and nothing must have changed.

mod common;

use common::chat1::Client;
use common::{eventually, start, start_default};

#[test]
fn bad_name() {
    let server = start_default();
    let mut a = Client::connect(server.local_addr());
    let guest = a.nick.clone();
    for line in [
        "NICK 9lives",
        "NICK a.b",
        "NICK _under",
        "NICK abcdefghijklmnopqrstuvwxy", // 25 characters
        "NICK ação",
        "JOIN #lobby",
        "JOIN -dash",
        "JOIN abcdefghijklmnopqrstuvwxyz0123456", // 33 characters
    ] {
        a.refused(line, "BAD_NAME");
    }
    // The longest legal names pass.
    a.send("NICK abcdefghijklmnopqrstuvwx");
    a.expect(&format!("NICK {guest} abcdefghijklmnopqrstuvwx"));
    a.send("JOIN 1abcdefghijklmnopqrstuvwxyz01234");
    a.expect("JOIN 1abcdefghijklmnopqrstuvwxyz01234 abcdefghijklmnopqrstuvwx");
    server.shutdown();
}

#[test]
fn nick_taken_case_insensitively() {
    let server = start_default();
    let addr = server.local_addr();
    let _a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    b.refused("NICK ana", "NICK_TAKEN");
    b.refused("NICK ANA", "NICK_TAKEN");
    // Nothing changed: bob is still bob.
    b.send("USERS");
    b.expect_all(&["USERS ana bob", "END USERS"]);
    server.shutdown();
}

#[test]
fn nick_reserved_for_guests() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::connect(addr);
    a.refused("NICK guest99", "NICK_RESERVED");
    a.refused("NICK GUEST1", "NICK_RESERVED");
    a.refused("REGISTER secret", "NICK_RESERVED");
    // A name that only looks a bit like a guest's is fine.
    a.rename("guestx1");
    server.shutdown();
}

#[test]
fn no_such_room() {
    let server = start_default();
    let mut a = Client::login(server.local_addr(), "ana");
    for line in [
        "SAY nowhere hi",
        "WHO nowhere",
        "PART nowhere",
        "DELETE nowhere",
        "KICK nowhere bob",
        "HISTORY nowhere",
    ] {
        a.refused(line, "NO_SUCH_ROOM");
    }
    assert!(a.rooms().is_empty());
    server.shutdown();
}

#[test]
fn no_such_user() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    a.refused("WHISPER nobody hi", "NO_SUCH_USER");
    a.join("lobby");
    a.refused("KICK lobby nobody", "NO_SUCH_USER");
    // A user who quit is gone.
    let mut b = Client::login(addr, "bob");
    b.quit();
    a.refused("WHISPER bob are you there", "NO_SUCH_USER");
    server.shutdown();
}

#[test]
fn not_member() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let _c = Client::login(addr, "carl");
    a.join("lobby");
    b.refused("SAY lobby hi", "NOT_MEMBER");
    b.refused("PART lobby", "NOT_MEMBER");
    b.refused("HISTORY lobby", "NOT_MEMBER");
    b.refused("KICK lobby ana", "NOT_MEMBER");
    // The owner kicking someone who is not in the room.
    a.refused("KICK lobby carl", "NOT_MEMBER");
    a.assert_silent();
    assert_eq!(a.rooms(), ["ROOM lobby 1 ana"]);
    server.shutdown();
}

#[test]
fn missing_argument_for_an_owner_kicking_themselves() {
    // KICK names the member to remove, someone else: an owner naming
    // themselves (in any case) is refused, and stays in the room they own.
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    a.join("lobby");
    b.join("lobby");
    a.expect("JOIN lobby bob");
    a.refused("KICK lobby ana", "MISSING_ARGUMENT");
    a.refused("KICK lobby ANA bye then", "MISSING_ARGUMENT");
    // A member who does not own the room hears NOT_OWNER, as before.
    b.refused("KICK lobby bob", "NOT_OWNER");
    b.assert_silent();
    assert_eq!(a.rooms(), ["ROOM lobby 2 ana"]);
    a.send("SAY lobby still here");
    b.expect("MSG lobby ana still here");
    server.shutdown();
}

#[test]
fn already_member() {
    let server = start_default();
    let mut a = Client::login(server.local_addr(), "ana");
    a.join("lobby");
    a.refused("JOIN lobby", "ALREADY_MEMBER");
    a.refused("JOIN LOBBY", "ALREADY_MEMBER");
    assert_eq!(a.rooms(), ["ROOM lobby 1 ana"]);
    server.shutdown();
}

#[test]
fn not_owner() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::login(addr, "carl");
    a.join("lobby");
    b.join("lobby");
    b.refused("KICK lobby ana", "NOT_OWNER");
    b.refused("DELETE lobby", "NOT_OWNER");
    c.refused("DELETE lobby", "NOT_OWNER");
    a.expect("JOIN lobby bob");
    a.assert_silent();
    assert_eq!(c.rooms(), ["ROOM lobby 2 ana"]);
    server.shutdown();
}

#[test]
fn bad_key() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    a.send("JOIN vault sesame");
    a.wait_line("END HISTORY vault");
    b.refused("JOIN vault", "BAD_KEY");
    b.refused("JOIN vault Sesame", "BAD_KEY");
    a.assert_silent();
    assert_eq!(b.rooms(), ["ROOM vault 1 ana"]);
    server.shutdown();
}

#[test]
fn empty_message() {
    let server = start_default();
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let _b = Client::login(addr, "bob");
    a.join("lobby");
    a.refused("SAY lobby", "EMPTY_MESSAGE");
    a.refused("SAY lobby    ", "EMPTY_MESSAGE");
    a.refused("WHISPER bob", "EMPTY_MESSAGE");
    a.refused("BROADCAST", "EMPTY_MESSAGE");
    a.send("HISTORY lobby");
    a.expect("END HISTORY lobby");
    server.shutdown();
}

#[test]
fn missing_argument() {
    let server = start_default();
    let mut a = Client::login(server.local_addr(), "ana");
    for line in [
        "NICK",
        "JOIN",
        "PART",
        "SAY",
        "WHISPER",
        "WHO",
        "KICK lobby",
        "DELETE",
        "HISTORY",
        "HISTORY lobby yesterday",
        "REGISTER",
    ] {
        a.refused(line, "MISSING_ARGUMENT");
    }
    server.shutdown();
}

#[test]
fn unknown_command() {
    let server = start_default();
    let mut a = Client::connect(server.local_addr());
    a.refused("FROB x", "UNKNOWN_COMMAND");
    a.refused("MSG lobby hi", "UNKNOWN_COMMAND");
    a.refused(&"X".repeat(1500), "UNKNOWN_COMMAND");
    server.shutdown();
}

#[test]
fn line_too_long_is_discarded_and_the_connection_goes_on() {
    let server = start_default();
    let mut a = Client::login(server.local_addr(), "ana");
    a.join("lobby");
    let mut bytes = format!("SAY lobby {}\n", "x".repeat(3000)).into_bytes();
    bytes.extend_from_slice(b"PING after\n");
    a.send_bytes(&bytes);
    a.expect_prefix("ERR LINE_TOO_LONG ");
    a.expect("PONG after");
    // 2048 bytes with the terminator is the longest line accepted.
    let text = "y".repeat(2048 - "SAY lobby \n".len());
    a.send(&format!("SAY lobby {text}"));
    a.expect(&format!("MSG lobby ana {text}"));
    // One byte more is too long, and nothing of it is said.
    a.send(&format!("SAY lobby {text}z"));
    a.expect_err("LINE_TOO_LONG");
    a.send("HISTORY lobby");
    a.expect_prefix("HISTORY lobby ");
    a.expect("END HISTORY lobby");
    server.shutdown();
}

#[test]
fn bad_utf8_is_discarded_and_the_connection_goes_on() {
    let server = start_default();
    let mut a = Client::login(server.local_addr(), "ana");
    a.join("lobby");
    a.send_bytes(b"SAY lobby caf\xc3\nPING after\n");
    a.expect_prefix("ERR BAD_UTF8 ");
    a.expect("PONG after");
    a.send_bytes(b"\xff\xfe\n");
    a.expect_err("BAD_UTF8");
    a.send("HISTORY lobby");
    a.expect("END HISTORY lobby");
    server.shutdown();
}

#[test]
fn server_full_refuses_the_next_connection_with_err_and_bye() {
    let server = start(|c| c.max_clients = 2);
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    let mut c = Client::raw(addr);
    c.expect_prefix("ERR SERVER_FULL ");
    assert_eq!(c.expect_bye(), "server full");
    a.assert_silent();
    b.assert_silent();
    assert_eq!(server.clients(), 2);
    // A slot frees when a client leaves: the count drops once its reader ends.
    b.quit();
    eventually("the quitting client's slot to free", || {
        server.clients() < 2
    });
    let mut d = Client::connect(addr);
    d.assert_silent();
    server.shutdown();
}

#[test]
fn too_many_rooms() {
    let server = start(|c| c.max_rooms = 1);
    let addr = server.local_addr();
    let mut a = Client::login(addr, "ana");
    let mut b = Client::login(addr, "bob");
    a.join("one");
    a.refused("JOIN two", "TOO_MANY_ROOMS");
    b.refused("JOIN two", "TOO_MANY_ROOMS");
    // Joining a room that exists is not creating one.
    b.join("one");
    a.expect("JOIN one bob");
    assert_eq!(a.rooms(), ["ROOM one 2 ana"]);
    a.send("DELETE one");
    a.expect("CLOSED one ana");
    b.expect("CLOSED one ana");
    b.join("two");
    server.shutdown();
}
