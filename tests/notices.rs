//! Notices reach exactly the right people: the members of the room (or
//! everyone sharing a room), never a client elsewhere. Room ownership passes
//! to the longest-present member, and an empty room disappears.

mod common;

use common::chat1::Client;
use common::start_default;
use std::net::SocketAddr;

/// Ana and bob in `lobby`, carl in `side`, dave in no room.
fn cast(addr: SocketAddr) -> (Client, Client, Client, Client) {
    let mut ana = Client::login(addr, "ana");
    let mut bob = Client::login(addr, "bob");
    let mut carl = Client::login(addr, "carl");
    let dave = Client::login(addr, "dave");
    ana.join("lobby");
    carl.join("side");
    bob.join("lobby");
    ana.expect("JOIN lobby bob");
    (ana, bob, carl, dave)
}

#[test]
fn join_and_say_stay_in_the_room() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    // The JOIN of bob reached ana only (checked in `cast`); nobody else.
    carl.assert_silent();
    dave.assert_silent();
    bob.send("SAY lobby hi");
    ana.expect("MSG lobby bob hi");
    bob.expect("MSG lobby bob hi");
    carl.send("SAY side over here");
    carl.expect("MSG side carl over here");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    server.shutdown();
}

#[test]
fn nick_goes_to_room_mates_once_and_not_beyond() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    // Bob shares two rooms with ana: she is told once.
    bob.join("games");
    ana.join("games");
    bob.expect("JOIN games ana");
    bob.send("NICK bobby");
    bob.expect("NICK bob bobby");
    ana.expect("NICK bob bobby");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    server.shutdown();
}

#[test]
fn part_goes_to_the_room_only() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    bob.send("PART lobby");
    bob.expect("PART lobby bob");
    ana.expect("PART lobby bob");
    // After leaving, bob hears nothing more of the room.
    ana.send("SAY lobby alone now");
    ana.expect("MSG lobby ana alone now");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    server.shutdown();
}

#[test]
fn quit_goes_to_room_mates_once_and_not_beyond() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    bob.join("games");
    ana.join("games");
    bob.expect("JOIN games ana");
    bob.send("QUIT bye all");
    assert_eq!(bob.expect_bye(), "goodbye");
    ana.expect("QUIT bob bye all");
    for c in [&mut ana, &mut carl, &mut dave] {
        c.assert_silent();
    }
    // Bob left both rooms.
    assert_eq!(
        ana.rooms(),
        ["ROOM games 1 ana", "ROOM lobby 1 ana", "ROOM side 1 carl"]
    );
    server.shutdown();
}

#[test]
fn kick_goes_to_the_room_only() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    ana.send("KICK lobby bob out");
    ana.expect("KICKED lobby bob ana out");
    bob.expect("KICKED lobby bob ana out");
    ana.send("SAY lobby he is gone");
    ana.expect("MSG lobby ana he is gone");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    server.shutdown();
}

#[test]
fn closed_goes_to_the_room_only() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    ana.send("DELETE lobby");
    ana.expect("CLOSED lobby ana");
    bob.expect("CLOSED lobby ana");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    assert_eq!(dave.rooms(), ["ROOM side 1 carl"]);
    assert_eq!(server.room_sizes(), [("side".to_string(), 1)]);
    server.shutdown();
}

#[test]
fn whisper_goes_to_the_two_ends_only() {
    let server = start_default();
    let (mut ana, mut bob, mut carl, mut dave) = cast(server.local_addr());
    carl.send("WHISPER dave psst");
    carl.expect("WHISPER carl dave psst");
    dave.expect("WHISPER carl dave psst");
    for c in [&mut ana, &mut bob, &mut carl, &mut dave] {
        c.assert_silent();
    }
    server.shutdown();
}

#[test]
fn ownership_passes_to_the_longest_present_member() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    let mut bob = Client::login(addr, "bob");
    let mut carl = Client::login(addr, "carl");
    let mut dave = Client::login(addr, "dave");
    // In no room: sees ROOMS answers and nothing else.
    let mut obs = Client::login(addr, "obs");
    ana.join("lobby");
    bob.join("lobby");
    carl.join("lobby");
    dave.join("lobby");
    assert_eq!(obs.rooms(), ["ROOM lobby 4 ana"]);
    // The owner parts: bob, there longest, owns the room.
    ana.send("PART lobby");
    ana.wait_line("PART lobby ana");
    assert_eq!(obs.rooms(), ["ROOM lobby 3 bob"]);
    bob.wait_line("PART lobby ana");
    carl.wait_line("PART lobby ana");
    dave.wait_line("PART lobby ana");
    carl.refused("KICK lobby dave", "NOT_OWNER");
    // Rejoining puts ana last in line.
    ana.join("lobby");
    bob.send("QUIT");
    bob.wait_line("BYE goodbye");
    bob.expect_eof();
    carl.wait_line("QUIT bob quit");
    assert_eq!(obs.rooms(), ["ROOM lobby 3 carl"]);
    // The new owner may kick; the others may not.
    ana.wait_line("QUIT bob quit");
    ana.refused("KICK lobby carl", "NOT_OWNER");
    carl.send("KICK lobby dave");
    carl.wait_line("KICKED lobby dave carl");
    dave.wait_line("KICKED lobby dave carl");
    ana.wait_line("KICKED lobby dave carl");
    assert_eq!(obs.rooms(), ["ROOM lobby 2 carl"]);
    // The owner's connection dropping passes ownership on like a PART.
    drop(carl);
    ana.wait_for("carl's QUIT", |l| l.starts_with("QUIT carl "));
    assert_eq!(obs.rooms(), ["ROOM lobby 1 ana"]);
    // The last member leaves: the room disappears.
    ana.send("PART lobby");
    ana.expect("PART lobby ana");
    assert!(obs.rooms().is_empty());
    assert!(server.room_sizes().is_empty());
    dave.assert_silent();
    obs.assert_silent();
    server.shutdown();
}
