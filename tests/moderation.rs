//! Rooms a teacher can run (`docs/protocol.md`, "Moderation"): roles,
//! topic, settings, bans, mutes, invitations and server admins, over CHAT/1
//! and IRC, each change seen by every member and each refusal with its code.

mod common;

use common::chat1::{Client, ana_and_bob};
use common::irc::{Irc, is_numeric};
use common::{irc_addr, start, start_default, start_irc};
use std::net::SocketAddr;

/// ana owns `lobby`; bob and carl are members; everyone has read every JOIN.
fn class(addr: SocketAddr) -> (Client, Client, Client) {
    let (mut ana, mut bob) = ana_and_bob(addr);
    let mut carl = Client::login(addr, "carl");
    carl.join("lobby");
    ana.expect("JOIN lobby carl");
    bob.expect("JOIN lobby carl");
    (ana, bob, carl)
}

/// Registers `nick` with `password` and stays logged in.
fn account(addr: SocketAddr, nick: &str, password: &str) -> Client {
    let mut c = Client::login(addr, nick);
    c.send(&format!("REGISTER {password}"));
    c.expect(&format!("OK REGISTER {nick}"));
    c
}

/// Logs in to the registered `nick` with `password`.
fn log_in(addr: SocketAddr, nick: &str, password: &str) -> Client {
    let mut c = Client::connect(addr);
    let guest = c.nick.clone();
    c.send(&format!("NICK {nick} {password}"));
    c.expect(&format!("NICK {guest} {nick}"));
    c.expect("END OFFLINE");
    c.nick = nick.to_string();
    c
}

/// Every member of `clients` reads `line`.
fn all_see(clients: &mut [&mut Client], line: &str) {
    for c in clients.iter_mut() {
        c.expect(line);
    }
}

#[test]
fn the_owner_names_operators_who_share_the_job_but_cannot_depose_the_owner() {
    let server = start_default();
    let (mut ana, mut bob, mut carl) = class(server.local_addr());
    carl.refused("OP lobby carl", "NOT_OPERATOR");
    carl.refused("TOPIC lobby carl rules", "NOT_OPERATOR");
    ana.send("OP lobby bob");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "OPPED lobby bob ana");
    // Giving a role held already changes nothing and says nothing.
    ana.send("OP lobby BOB");
    ana.assert_silent();
    // An operator sets the topic, names more operators, kicks members...
    bob.send("TOPIC lobby Week 3: sockets");
    for c in [&mut ana, &mut bob, &mut carl] {
        let line = c.next();
        assert!(line.starts_with("TOPIC lobby bob "), "{line}");
        assert!(line.ends_with(" Week 3: sockets"), "{line}");
    }
    bob.send("VOICE lobby carl");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "VOICED lobby carl bob",
    );
    // ... but not the owner.
    bob.refused("DEOP lobby ana", "NOT_OWNER");
    bob.refused("DELETE lobby", "NOT_OWNER");
    // The owner can take the role back.
    ana.send("DEOP lobby bob");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "DEOPPED lobby bob ana",
    );
    bob.refused("KICK lobby carl", "NOT_OWNER");
    // Roles of a member not logged in end when they leave.
    ana.send("OP lobby carl");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "OPPED lobby carl ana");
    carl.send("PART lobby");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "PART lobby carl");
    carl.join("lobby");
    assert!(carl.next().starts_with("TOPIC lobby bob "));
    all_see(&mut [&mut ana, &mut bob], "JOIN lobby carl");
    carl.refused("TOPIC lobby mine", "NOT_OPERATOR");
    // SETTINGS shows the topic, the settings on and the roles.
    bob.send("SETTINGS lobby");
    let lines = bob.lines_until("END SETTINGS lobby", |l| l == "END SETTINGS lobby");
    assert!(lines[0].starts_with("TOPIC lobby bob "), "{lines:?}");
    assert_eq!(
        lines[1..],
        [
            "SETTING lobby topic-lock",
            "SETTING lobby no-outside",
            "ROLE lobby ana owner",
            "END SETTINGS lobby",
        ]
        .map(String::from),
        "carl, not logged in, lost op and voice on leaving: {lines:?}"
    );
    server.shutdown();
}

#[test]
fn moderated_rooms_and_mutes_silence_members_but_never_operators() {
    let server = start_default();
    let (mut ana, mut bob, mut carl) = class(server.local_addr());
    ana.send("SET lobby moderated");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "SET lobby moderated ana",
    );
    bob.refused("SAY lobby may I?", "MODERATED");
    ana.send("VOICE lobby bob");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "VOICED lobby bob ana");
    bob.send("SAY lobby thanks");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "MSG lobby bob thanks");
    ana.send("UNSET lobby moderated");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "UNSET lobby moderated ana",
    );
    // A mute silences one user, by nick (kept as a mask).
    ana.send("MUTE lobby carl");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "MUTED lobby carl!*@* ana",
    );
    carl.refused("SAY lobby noise", "MUTED");
    bob.send("SAY lobby fine");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "MSG lobby bob fine");
    // ... or by address: everyone on 127.0.0.1 but the operators (and the
    // voiced: voice passes a mute, as on IRC).
    ana.send("DEVOICE lobby bob");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "DEVOICED lobby bob ana",
    );
    ana.send("MUTE lobby *!*@127.0.0.1");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "MUTED lobby *!*@127.0.0.1 ana",
    );
    bob.refused("SAY lobby hm", "MUTED");
    ana.send("SAY lobby only me");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "MSG lobby ana only me",
    );
    ana.send("UNMUTE lobby *!*@127.0.0.1");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "UNMUTED lobby *!*@127.0.0.1 ana",
    );
    ana.send("UNMUTE lobby carl");
    all_see(
        &mut [&mut ana, &mut bob, &mut carl],
        "UNMUTED lobby carl!*@* ana",
    );
    carl.send("SAY lobby back");
    all_see(&mut [&mut ana, &mut bob, &mut carl], "MSG lobby carl back");
    ana.refused("MUTE lobby a!b", "BAD_SETTING");
    ana.refused("MUTE lobby a@b!c", "BAD_SETTING");
    ana.refused("MUTE lobby caf\u{e9}", "BAD_SETTING");
    bob.refused("MUTE lobby carl", "NOT_OPERATOR");
    server.shutdown();
}

#[test]
fn bans_keep_users_out_and_silence_those_inside() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    ana.send("BAN lobby dan");
    all_see(&mut [&mut ana, &mut bob], "BANNED lobby dan!*@* ana");
    let mut dan = Client::login(addr, "dan");
    dan.refused("JOIN lobby", "BANNED");
    // A banned member still inside cannot speak until kicked.
    ana.send("BAN lobby BOB");
    all_see(&mut [&mut ana, &mut bob], "BANNED lobby BOB!*@* ana");
    bob.refused("SAY lobby hello?", "BANNED");
    ana.send("SETTINGS lobby");
    let lines = ana.lines_until("END SETTINGS lobby", |l| l == "END SETTINGS lobby");
    let bans: Vec<&String> = lines.iter().filter(|l| l.starts_with("BAN ")).collect();
    assert_eq!(bans.len(), 2, "{lines:?}");
    assert!(bans[0].starts_with("BAN lobby dan!*@* ana "), "{lines:?}");
    ana.send("UNBAN lobby dan!*@*");
    all_see(&mut [&mut ana, &mut bob], "UNBANNED lobby dan!*@* ana");
    dan.join("lobby");
    all_see(&mut [&mut ana, &mut bob], "JOIN lobby dan");
    // The owner (here of an account's room, which stays its owner when it
    // leaves) is never banned, even by a mask that fits everyone...
    let mut teach = account(addr, "teach", "pw");
    teach.join("class");
    teach.send("BAN class *!*@*");
    teach.expect("BANNED class *!*@* teach");
    teach.send("PART class");
    teach.expect("PART class teach");
    teach.join("class");
    // ... but everyone else is.
    dan.refused("JOIN class", "BANNED");
    server.shutdown();
}

#[test]
fn invite_only_limit_and_key_keep_the_door_and_an_invitation_opens_it() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    let mut eve = Client::login(addr, "eve");
    ana.send("SET lobby invite-only");
    all_see(&mut [&mut ana, &mut bob], "SET lobby invite-only ana");
    eve.refused("JOIN lobby", "INVITE_ONLY");
    bob.refused("INVITE lobby eve", "NOT_OPERATOR");
    ana.refused("INVITE lobby bob", "ALREADY_MEMBER");
    ana.refused("INVITE lobby nobody", "NO_SUCH_USER");
    ana.send("INVITE lobby eve");
    all_see(&mut [&mut ana, &mut bob, &mut eve], "INVITED lobby eve ana");
    ana.send("SET lobby limit 2");
    all_see(&mut [&mut ana, &mut bob], "SET lobby limit ana 2");
    ana.send("SET lobby key sesame");
    all_see(&mut [&mut ana, &mut bob], "SET lobby key ana");
    // The invitation passes invite-only, the limit and the key, once.
    eve.join("lobby");
    ana.expect("JOIN lobby eve");
    bob.expect("JOIN lobby eve");
    eve.send("PART lobby");
    for c in [&mut ana, &mut bob, &mut eve] {
        c.expect("PART lobby eve");
    }
    eve.refused("JOIN lobby", "INVITE_ONLY");
    ana.send("UNSET lobby invite-only");
    all_see(&mut [&mut ana, &mut bob], "UNSET lobby invite-only ana");
    let mut fay = Client::login(addr, "fay");
    fay.refused("JOIN lobby sesame", "ROOM_FULL");
    ana.send("UNSET lobby limit");
    all_see(&mut [&mut ana, &mut bob], "UNSET lobby limit ana");
    fay.refused("JOIN lobby wrong", "BAD_KEY");
    fay.send("JOIN lobby sesame");
    fay.wait_line("END HISTORY lobby");
    all_see(&mut [&mut ana, &mut bob], "JOIN lobby fay");
    ana.send("UNSET lobby key");
    for c in [&mut ana, &mut bob, &mut fay] {
        c.expect("UNSET lobby key ana");
    }
    eve.join("lobby");
    all_see(&mut [&mut ana, &mut bob, &mut fay], "JOIN lobby eve");
    // Values out of range, unknown settings, missing values.
    ana.refused("SET lobby limit many", "BAD_SETTING");
    ana.refused("SET lobby limit 0", "BAD_SETTING");
    ana.refused("SET lobby limit", "MISSING_ARGUMENT");
    ana.refused("SET lobby colour blue", "BAD_SETTING");
    ana.refused("SET lobby key", "MISSING_ARGUMENT");
    ana.refused("SET nowhere moderated", "NO_SUCH_ROOM");
    // Unsetting what is off says nothing.
    ana.send("UNSET lobby secret");
    ana.assert_silent();
    server.shutdown();
}

#[test]
fn slow_mode_makes_members_wait_and_says_how_long() {
    let server = start_default();
    let (mut ana, mut bob) = ana_and_bob(server.local_addr());
    ana.send("SET lobby slow 600");
    all_see(&mut [&mut ana, &mut bob], "SET lobby slow ana 600");
    bob.send("SAY lobby first");
    all_see(&mut [&mut ana, &mut bob], "MSG lobby bob first");
    bob.send("SAY lobby second");
    let refused = bob.next();
    let rest = refused
        .strip_prefix("ERR SLOW_MODE ")
        .unwrap_or_else(|| panic!("{refused}"));
    let seconds: u64 = rest.split(' ').next().unwrap().parse().unwrap();
    assert!((599..=600).contains(&seconds), "{refused}");
    // Operators are exempt.
    ana.send("SAY lobby one");
    ana.send("SAY lobby two");
    all_see(&mut [&mut ana, &mut bob], "MSG lobby ana one");
    all_see(&mut [&mut ana, &mut bob], "MSG lobby ana two");
    ana.send("UNSET lobby slow");
    all_see(&mut [&mut ana, &mut bob], "UNSET lobby slow ana");
    bob.send("SAY lobby free again");
    all_see(&mut [&mut ana, &mut bob], "MSG lobby bob free again");
    server.shutdown();
}

#[test]
fn secret_rooms_hide_from_outsiders_and_no_outside_off_lets_them_speak() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    let mut eve = Client::login(addr, "eve");
    eve.refused("SAY lobby knock knock", "NOT_MEMBER");
    ana.send("UNSET lobby no-outside");
    all_see(&mut [&mut ana, &mut bob], "UNSET lobby no-outside ana");
    eve.send("SAY lobby knock knock");
    for c in [&mut ana, &mut bob, &mut eve] {
        c.expect("MSG lobby eve knock knock");
    }
    ana.send("SET lobby secret");
    all_see(&mut [&mut ana, &mut bob], "SET lobby secret ana");
    assert!(eve.rooms().is_empty());
    assert_eq!(bob.rooms().len(), 1);
    eve.refused("WHO lobby", "NO_SUCH_ROOM");
    eve.refused("SETTINGS lobby", "NO_SUCH_ROOM");
    server.shutdown();
}

#[test]
fn a_joiner_is_told_the_topic_after_the_lines_older_clients_wait_for() {
    let server = start_default();
    let addr = server.local_addr();
    let mut ana = Client::login(addr, "ana");
    ana.join("lobby");
    ana.send("TOPIC lobby Be kind");
    let topic = ana.next();
    let mut bob = Client::login(addr, "bob");
    let lines = bob.join("lobby");
    assert_eq!(lines.last().map(String::as_str), Some("END HISTORY lobby"));
    assert_eq!(bob.next(), topic);
    ana.expect("JOIN lobby bob");
    // TOPIC without a text clears it.
    ana.send("TOPIC lobby");
    let cleared = ana.next();
    assert!(cleared.starts_with("TOPIC lobby ana "), "{cleared}");
    assert_eq!(cleared.split(' ').count(), 4, "no text: {cleared}");
    assert_eq!(bob.next(), cleared);
    ana.refused(&format!("TOPIC lobby {}", "x".repeat(391)), "BAD_SETTING");
    ana.refused("TOPIC lobby bell\u{7}", "BAD_TEXT");
    server.shutdown();
}

#[test]
fn server_admins_act_in_every_room_and_disconnect_users() {
    let server = start(|c| {
        c.admins = vec!["root".into(), "boss".into()];
        c.admin_password = Some("pw".into());
    });
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    let mut root = log_in(addr, "root", "pw");
    // From outside the room: settings, roles, kicks and the delete.
    root.send("SET lobby moderated");
    all_see(
        &mut [&mut ana, &mut bob, &mut root],
        "SET lobby moderated root",
    );
    root.send("KICK lobby ana");
    all_see(
        &mut [&mut ana, &mut bob, &mut root],
        "KICKED lobby ana root",
    );
    // ana's room passed to bob, who locks it; an admin joins past every lock.
    bob.send("SET lobby invite-only");
    bob.expect("SET lobby invite-only bob");
    root.join("lobby");
    bob.expect("JOIN lobby root");
    root.send("KILL bob talking too much");
    let bye = bob.next();
    assert_eq!(bye, "BYE killed by root: talking too much");
    root.expect("QUIT bob killed by root: talking too much");
    root.expect("OK KILL bob");
    ana.refused("KILL root", "NOT_ADMIN");
    ana.refused("KILL nobody", "NOT_ADMIN");
    root.refused("KILL nobody", "NO_SUCH_USER");
    let mut eve = Client::login(addr, "eve");
    eve.join("elsewhere");
    root.send("DELETE elsewhere");
    eve.expect("CLOSED elsewhere root");
    root.expect("CLOSED elsewhere root");
    // An admin account's name alone is nothing: it takes the login.
    let mut fake = Client::login(addr, "rooty");
    fake.refused("KILL ana", "NOT_ADMIN");
    fake.refused("NICK boss", "BAD_PASSWORD");
    server.shutdown();
}

#[test]
fn nobody_but_the_servers_operator_makes_an_admins_account() {
    let server = start(|c| c.admins = vec!["boss".into()]);
    let addr = server.local_addr();
    let mut sly = Client::login(addr, "boss");
    sly.refused("REGISTER mine", "NICK_RESERVED");
    sly.refused("KILL boss", "NOT_ADMIN");
    // Other nicks register as ever.
    let _ana = account(addr, "ana", "pw");
    server.shutdown();
}

#[test]
fn irc_users_see_modes_topics_invitations_and_get_the_numerics() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut op = Irc::register(addr, "op");
    op.join("#class");
    let mut stu = Irc::register(addr, "stu");
    stu.join("#class");
    op.wait_for("stu's JOIN", |l| l.contains(" JOIN "));
    op.send("MODE #class +mv-t stu");
    for c in [&mut op, &mut stu] {
        let line = c.wait_for("MODE", |l| l.contains(" MODE "));
        assert!(line.ends_with("MODE #class +mv-t stu"), "{line}");
    }
    op.send("MODE #class");
    let modes = op.numeric(324);
    assert_eq!(modes.params[1..], ["#class", "+nm"].map(String::from));
    op.numeric(329);
    op.send("NAMES #class");
    let names = op.numeric(353);
    assert_eq!(names.params.last().unwrap(), "@op +stu");
    // Topic: anyone with -t; 332 and 333 for joiners.
    stu.send("TOPIC #class :Week 3");
    for c in [&mut op, &mut stu] {
        let line = c.wait_for("TOPIC", |l| l.contains(" TOPIC "));
        assert!(
            line.starts_with(":stu!") && line.ends_with("TOPIC #class :Week 3"),
            "{line}"
        );
    }
    // Mutes are `+b m:mask`; the ban list shows both lists.
    op.send("MODE #class +b m:stu!*@*");
    op.wait_for("MODE +b", |l| l.ends_with("MODE #class +b m:stu!*@*"));
    stu.wait_for("MODE +b", |l| l.ends_with("MODE #class +b m:stu!*@*"));
    // Voice passes a mute: stu speaks until devoiced.
    stu.send("PRIVMSG #class :still voiced");
    op.wait_for("stu's message", |l| {
        l.ends_with("PRIVMSG #class :still voiced")
    });
    op.send("MODE #class -v stu");
    op.wait_for("MODE -v", |l| l.ends_with("MODE #class -v stu"));
    stu.wait_for("MODE -v", |l| l.ends_with("MODE #class -v stu"));
    stu.refused("PRIVMSG #class :hi", 404);
    op.send("MODE #class b");
    let listed = op.numeric(367);
    assert_eq!(listed.params[2], "m:stu!*@*");
    op.numeric(368);
    // Refusals: 482 not an operator, 441 not in the channel, 401 nobody,
    // 472 unknown letter, 696 bad parameter.
    stu.refused("MODE #class +o stu", 482);
    let mut new = Irc::register(addr, "new");
    op.refused("MODE #class +o new", 441);
    op.refused("MODE #class +o nobody", 401);
    op.refused("MODE #class +X", 472);
    op.refused("MODE #class +l many", 696);
    // Invitations: 341 to the inviter, INVITE to the invited; +i is 473 without one.
    op.send("MODE #class +i");
    op.wait_for("MODE +i", |l| l.ends_with("MODE #class +i"));
    new.refused("JOIN #class", 473);
    op.send("INVITE new #class");
    op.numeric(341);
    let invite = new.wait_for("INVITE", |l| l.contains(" INVITE "));
    assert!(
        invite.starts_with(":op!") && invite.ends_with("INVITE new #class"),
        "{invite}"
    );
    new.send("JOIN #class");
    new.next();
    let topic = new.numeric(332);
    assert_eq!(topic.params.last().unwrap(), "Week 3");
    new.numeric(333);
    new.send("TOPIC #class");
    new.wait_for("332", |l| is_numeric(l, 332));
    op.wait_for("new's JOIN", |l| {
        l.starts_with(":new!") && l.contains(" JOIN ")
    });
    op.refused("INVITE new #class", 443);
    // Keys over MODE +k are hashed like JOIN's, then shown to the channel.
    op.send("MODE #class -i+k sesame");
    op.wait_for("MODE -i", |l| l.ends_with("MODE #class -i"));
    op.wait_for("MODE +k", |l| l.ends_with("MODE #class +k sesame"));
    let mut late = Irc::register(addr, "late");
    late.refused("JOIN #class", 475);
    late.send("JOIN #class sesame");
    late.joined("#class");
    // +l: 471 when full.
    op.send("MODE #class +l 1");
    op.wait_for("MODE +l", |l| l.ends_with("MODE #class +l 1"));
    let mut full = Irc::register(addr, "full");
    full.refused("JOIN #class", 471);
    // +b: 474.
    op.send("MODE #class +b full");
    op.wait_for("MODE +b", |l| l.ends_with("MODE #class +b full!*@*"));
    op.send("MODE #class -l");
    op.wait_for("MODE -l", |l| l.ends_with("MODE #class -l"));
    full.refused("JOIN #class", 474);
    server.shutdown();
}

#[test]
fn oper_and_kill_over_irc() {
    let server = start_irc(|c| {
        c.admins = vec!["root".into()];
        c.admin_password = Some("rootpw".into());
    });
    let mut any = Irc::register(irc_addr(&server), "any");
    let mut victim = Irc::register(irc_addr(&server), "victim");
    any.refused("KILL victim :bye", 481);
    any.refused("OPER nobody pw", 491);
    any.refused("OPER root wrong", 464);
    any.send("OPER root rootpw");
    any.numeric(381);
    victim.send("WHOIS any");
    victim.wait_for("313", |l| is_numeric(l, 313));
    victim.wait_for("318", |l| is_numeric(l, 318));
    any.send("KILL victim :bye now");
    let error = victim.wait_for("ERROR", |l| l.starts_with("ERROR "));
    assert!(error.contains("killed by any: bye now"), "{error}");
    any.wait_for("the KILL done", |l| l.contains("KILL done: victim"));
    any.refused("KILL victim", 401);
    server.shutdown();
}

#[test]
fn exceptions_let_a_mask_past_bans_and_into_invite_only_rooms() {
    let server = start_default();
    let addr = server.local_addr();
    let (mut ana, mut bob) = ana_and_bob(addr);
    ana.send("BAN lobby *!*@127.0.0.1");
    all_see(&mut [&mut ana, &mut bob], "BANNED lobby *!*@127.0.0.1 ana");
    let mut dan = Client::login(addr, "dan");
    dan.refused("JOIN lobby", "BANNED");
    ana.send("EXCEPT lobby dan");
    all_see(&mut [&mut ana, &mut bob], "EXCEPTED lobby dan!*@* ana");
    dan.join("lobby");
    all_see(&mut [&mut ana, &mut bob], "JOIN lobby dan");
    dan.send("SAY lobby thanks");
    for c in [&mut ana, &mut bob, &mut dan] {
        c.expect("MSG lobby dan thanks");
    }
    ana.send("UNBAN lobby *!*@127.0.0.1");
    for c in [&mut ana, &mut bob, &mut dan] {
        c.expect("UNBANNED lobby *!*@127.0.0.1 ana");
    }
    ana.send("SET lobby invite-only");
    for c in [&mut ana, &mut bob, &mut dan] {
        c.expect("SET lobby invite-only ana");
    }
    let mut eve = Client::login(addr, "eve");
    eve.refused("JOIN lobby", "INVITE_ONLY");
    ana.send("ALLOW lobby e*");
    for c in [&mut ana, &mut bob, &mut dan] {
        c.expect("ALLOWED lobby e*!*@* ana");
    }
    eve.join("lobby");
    ana.send("SETTINGS lobby");
    let lines = ana.lines_until("END SETTINGS lobby", |l| l == "END SETTINGS lobby");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("EXCEPT lobby dan!*@* ana ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ALLOW lobby e*!*@* ana ")),
        "{lines:?}"
    );
    server.shutdown();
}

#[test]
fn an_m_exception_lets_one_muted_mask_speak() {
    let server = start_default();
    let (mut ana, mut bob) = ana_and_bob(server.local_addr());
    ana.send("MUTE lobby *!*@*");
    all_see(&mut [&mut ana, &mut bob], "MUTED lobby *!*@* ana");
    bob.refused("SAY lobby hm", "MUTED");
    ana.send("EXCEPT lobby m:bob!*@*");
    all_see(&mut [&mut ana, &mut bob], "EXCEPTED lobby m:bob!*@* ana");
    bob.send("SAY lobby thanks");
    all_see(&mut [&mut ana, &mut bob], "MSG lobby bob thanks");
    server.shutdown();
}
