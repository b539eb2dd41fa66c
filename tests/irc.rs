//! The IRC front door, spoken with raw IRC lines over real sockets: the
//! registration (CAP, PASS, NICK, USER), every command the server answers and
//! its error numerics, the server's own PINGs, framing, accounts, and rooms
//! shared with CHAT/1 clients. Nothing sleeps: every step waits for the line
//! that proves it, with a read timeout on every socket.

mod common;

use common::chat1::Client;
use common::irc::{Irc, is_numeric, parse, who};
use common::{irc_addr, start_irc};
use sala::Server;
use std::time::Duration;

/// The capabilities `CAP LS` offers, and with their values (`CAP LS 302`).
const CAPS: &str = "account-notify account-tag away-notify batch cap-notify draft/chathistory \
                    echo-message extended-join invite-notify labeled-response message-tags \
                    multi-prefix sasl server-time setname userhost-in-names";
const CAPS_302: &str = "account-notify account-tag away-notify batch cap-notify \
                        draft/chathistory echo-message extended-join invite-notify \
                        labeled-response message-tags multi-prefix sasl=PLAIN server-time \
                        setname userhost-in-names";

/// Carla, a CHAT/1 client, in `lobby` (`#lobby` on IRC).
fn carla_in_lobby(server: &Server) -> Client {
    let mut carla = Client::login(server.local_addr(), "carla");
    carla.join("lobby");
    carla
}

// ---------------------------------------------------------------- registration

#[test]
fn registration_sends_001_to_005_with_isupport_lusers_and_motd() {
    let server = start_irc(|_| {});
    let mut c = Irc::connect(irc_addr(&server));
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana Tester");
    c.nick = "ana".into();
    let p = c.numeric(1);
    assert_eq!(
        p.params[1],
        "Welcome to Sala, the chat of rooms, ana!ana@sala"
    );
    let p = c.numeric(2);
    assert!(p.params[1].starts_with("Your host is sala"), "{p:?}");
    c.numeric(3);
    let p = c.numeric(4);
    assert_eq!(p.params[1], "sala", "004 names the server: {p:?}");
    let p = c.numeric(5);
    assert_eq!(
        p.params.last().map(String::as_str),
        Some("are supported by this server")
    );
    // More tokens than fit the 13 of one line: a second 005.
    let second = c.numeric(5);
    let tokens: Vec<&String> = p.params.iter().chain(&second.params).collect();
    for token in [
        "CASEMAPPING=ascii",
        "CHANTYPES=#&",
        "CHANMODES=beI,k,lW,imnst",
        "PREFIX=(ov)@+",
        "NICKLEN=24",
        "TOPICLEN=390",
        "NETWORK=Sala",
        "WHOX",
    ] {
        assert!(tokens.iter().any(|t| *t == token), "{token} in {tokens:?}");
    }
    let p = c.numeric(251);
    assert!(p.params[1].contains("There are 1 users"), "{p:?}");
    let p = c.numeric(254);
    assert_eq!(p.params[1], "0");
    c.numeric(255);
    c.numeric(265);
    c.numeric(266);
    c.numeric(375);
    let mut motd = 0;
    loop {
        let line = c.next();
        if is_numeric(&line, 376) {
            break;
        }
        assert!(is_numeric(&line, 372), "MOTD line: {line:?}");
        motd += 1;
    }
    assert!(motd > 0, "the MOTD has text");
    c.assert_silent();
    server.shutdown();
}

#[test]
fn the_server_name_is_in_every_prefix_and_numeric() {
    let server = start_irc(|c| c.server_name = Some("irc.example.org".into()));
    let addr = irc_addr(&server);
    let mut c = Irc::connect(addr);
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana");
    let welcome = c.wait_for("376", |l| l.contains(" 376 "));
    assert!(
        welcome.starts_with(":irc.example.org 376 ana "),
        "{welcome}"
    );
    let mut bob = Irc::connect(addr);
    bob.send("NICK bob");
    bob.send("USER bob 0 * :Bob");
    let burst = bob.lines_until("376", |l| l.contains(" 376 "));
    assert!(
        burst.iter().all(|l| l.starts_with(":irc.example.org ")),
        "{burst:#?}"
    );
    assert!(
        burst[1].contains("Your host is irc.example.org,"),
        "{burst:#?}"
    );
    assert!(burst[3].starts_with(":irc.example.org 004 bob irc.example.org "));
    bob.send("PING :x");
    bob.expect(":irc.example.org PONG irc.example.org :x");
    c.send("JOIN #lobby");
    c.expect(":ana!ana@irc.example.org JOIN #lobby");
    c.wait_for("366", |l| l.contains(" 366 "));
    bob.send("PRIVMSG ana :hi");
    c.expect(":bob!bob@irc.example.org PRIVMSG ana :hi");
    server.shutdown();
}

#[test]
fn user_gives_the_username_and_realname_that_who_whois_and_prefixes_show() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::connect(addr);
    ana.nick = "ana".into();
    ana.user = "anita".into();
    ana.send("NICK ana");
    ana.send("USER anita 0 * :Ana Maria");
    ana.wait_for("376", |l| is_numeric(l, 376));
    let mut bob = Irc::register(addr, "bob");
    ana.join("#lobby");
    bob.join("#lobby");
    ana.expect(":bob!bob@sala JOIN #lobby");
    bob.send("WHO ana");
    bob.expect(":sala 352 bob * anita sala sala ana H :0 Ana Maria");
    bob.expect(":sala 315 bob ana :End of /WHO list.");
    bob.send("WHOIS ana");
    bob.expect(":sala 311 bob ana anita sala * :Ana Maria");
    bob.wait_for("318", |l| is_numeric(l, 318));
    bob.send("USERHOST ana");
    bob.expect(":sala 302 bob :ana=+anita@sala");
    ana.send("PRIVMSG #lobby :hi");
    bob.expect(":ana!anita@sala PRIVMSG #lobby :hi");
    // An empty realname is refused; a username of nothing usable becomes the nick.
    let mut c = Irc::connect(addr);
    c.send("NICK carl");
    c.send("USER carl * * :");
    c.expect(":sala 461 * USER :Not enough parameters");
    c.send("USER 😊😊 * * :Carl");
    c.nick = "carl".into();
    c.wait_for("376", |l| is_numeric(l, 376));
    bob.send("WHOIS carl");
    bob.expect(":sala 311 bob carl carl sala * :Carl");
    bob.wait_for("318", |l| is_numeric(l, 318));
    server.shutdown();
}

#[test]
fn a_realname_that_is_not_utf8_still_registers_and_later_bad_lines_are_refused() {
    let server = start_irc(|_| {});
    let mut c = Irc::connect(irc_addr(&server));
    c.send("NICK foo");
    c.send_bytes(b"USER username * * :i\xe8rc\xe9\r\n");
    c.nick = "foo".into();
    c.wait_for("001", |l| is_numeric(l, 1));
    c.wait_for("376", |l| is_numeric(l, 376));
    c.send("WHOIS foo");
    c.expect(":sala 311 foo foo username sala * :i\u{fffd}rc\u{fffd}");
    c.wait_for("318", |l| is_numeric(l, 318));
    c.send_bytes(b"PRIVMSG foo :\xff\r\n");
    let p = parse(&c.next());
    assert_eq!(p.command, "FAIL", "{p:?}");
    assert_eq!(p.params[..2], ["*", "INVALID_UTF8"], "{p:?}");
    c.assert_silent();
    server.shutdown();
}

#[test]
fn ping_without_a_token_nick_to_oneself_oper_and_bare_cap() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut c = Irc::connect(addr);
    c.send("PING");
    c.expect(":sala 409 * :No origin specified");
    c.send("CAP");
    c.expect(":sala 461 * CAP :Not enough parameters");
    let mut alice = Irc::register(addr, "alice");
    let mut bob = Irc::register(addr, "bob");
    alice.join("#lobby");
    bob.join("#lobby");
    alice.expect(":bob!bob@sala JOIN #lobby");
    alice.refused("PING", 409);
    // The same nick, exactly: nothing at all; another case: a rename everyone sees.
    alice.send("NICK alice");
    alice.assert_silent();
    bob.assert_silent();
    alice.send("NICK Alice");
    alice.expect(":alice!alice@sala NICK :Alice");
    bob.expect(":alice!alice@sala NICK :Alice");
    alice.nick = "Alice".into();
    bob.refused("NICK ALICE", 433);
    // No operators: OPER is refused as by a server without operator blocks.
    alice.refused("OPER admin secret", 491);
    alice.refused("OPER admin", 461);
    server.shutdown();
}

#[test]
fn join_of_more_than_four_channels_gets_407_for_the_rest() {
    let server = start_irc(|_| {});
    let mut c = Irc::register(irc_addr(&server), "ana");
    c.send("JOIN #a,#b,#c,#d,#e,#f");
    for chan in ["#a", "#b", "#c", "#d"] {
        c.joined(chan);
    }
    c.expect(":sala 407 ana #e :Too many targets: 4 at most in one command");
    c.expect(":sala 407 ana #f :Too many targets: 4 at most in one command");
    c.send("PRIVMSG #a,#b,#c,#d,#e :hi");
    c.expect(":sala 407 ana #e :Too many targets: 4 at most in one command");
    c.send("NOTICE #a,#b,#c,#d,#e :hi");
    c.assert_silent();
    server.shutdown();
}

#[test]
fn names_of_several_channels_kick_of_several_nicks_list_filters_and_whox() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    let mut carl = Irc::register(addr, "carl");
    ana.join("#chan1");
    ana.join("#chan2");
    bob.join("#chan2");
    ana.expect(":bob!bob@sala JOIN #chan2");
    carl.join("#chan2");
    ana.expect(":carl!carl@sala JOIN #chan2");
    bob.expect(":carl!carl@sala JOIN #chan2");
    ana.send("NAMES #chan1,#chan2,#none");
    ana.expect(":sala 353 ana = #chan1 :@ana");
    ana.expect(":sala 353 ana = #chan2 :@ana bob carl");
    ana.expect(":sala 366 ana #chan1,#chan2,#none :End of /NAMES list.");
    let list = |c: &mut Irc, filter: &str| -> Vec<String> {
        c.send(&format!("LIST {filter}"));
        let lines = c.lines_until("323", |l| is_numeric(l, 323));
        lines
            .iter()
            .filter(|l| is_numeric(l, 322))
            .map(|l| parse(l).params[1].clone())
            .collect()
    };
    assert_eq!(list(&mut bob, "*an1"), ["#chan1"]);
    assert_eq!(list(&mut bob, "!*an1"), ["#chan2"]);
    assert_eq!(list(&mut bob, ">1"), ["#chan2"]);
    assert_eq!(list(&mut bob, "<2"), ["#chan1"]);
    assert_eq!(list(&mut bob, "#CHAN2"), ["#chan2"]);
    assert!(list(&mut bob, "#nowhere").is_empty());
    bob.send("WHO ana %tnuar,7");
    bob.expect(":sala 354 bob 7 ana ana 0 :ana the tester");
    bob.expect(":sala 315 bob ana :End of /WHO list.");
    ana.send("KICK #chan2 bob,carl :bye");
    for c in [&mut ana, &mut bob, &mut carl] {
        c.expect(":ana!ana@sala KICK #chan2 bob :bye");
    }
    ana.expect(":ana!ana@sala KICK #chan2 carl :bye");
    carl.expect(":ana!ana@sala KICK #chan2 carl :bye");
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn who_takes_masks_and_lusers_counts_registering_connections_and_the_most_users() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let _carla = Client::login(server.local_addr(), "carla");
    let mut ana = Irc::register(addr, "ana");
    let _coolnick = Irc::register(addr, "coolNick");
    let mut pending = Irc::connect(addr);
    pending.send("NICK later");
    pending.send("PING :sync");
    pending.expect(":sala PONG sala :sync");
    ana.send("WHO *");
    let lines = ana.lines_until("315", |l| is_numeric(l, 315));
    let nicks: Vec<String> = lines
        .iter()
        .filter(|l| is_numeric(l, 352))
        .map(|l| parse(l).params[5].clone())
        .collect();
    // The registering connection is not listed.
    assert_eq!(nicks, ["ana", "carla", "coolNick"], "{lines:#?}");
    ana.send("WHO COOLNI*");
    ana.expect(":sala 352 ana * coolNick sala sala coolNick H :0 coolNick the tester");
    ana.expect(":sala 315 ana COOLNI* :End of /WHO list.");
    ana.send("WHO #nowhere");
    ana.expect(":sala 315 ana #nowhere :End of /WHO list.");
    ana.send("LUSERS");
    let p = ana.numeric(251);
    assert_eq!(
        p.params[1],
        "There are 3 users and 0 invisible on 1 servers"
    );
    let p = ana.numeric(253);
    assert_eq!(p.params[1], "1", "one connection still registering");
    ana.numeric(254);
    ana.numeric(255);
    let p = ana.numeric(265);
    assert_eq!(p.params[1..3], ["3", "3"]);
    ana.numeric(266);
    pending.send("QUIT");
    pending.expect_prefix("ERROR ");
    let mut coolnick = _coolnick;
    coolnick.send("QUIT");
    coolnick.expect_prefix("ERROR ");
    ana.send("LUSERS");
    let p = ana.numeric(251);
    assert_eq!(
        p.params[1],
        "There are 2 users and 0 invisible on 1 servers"
    );
    ana.numeric(254);
    ana.numeric(255);
    let p = ana.numeric(265);
    assert_eq!(p.params[1..3], ["2", "3"], "2 now, 3 at most");
    server.shutdown();
}

#[test]
fn cap_negotiation_holds_registration_until_cap_end() {
    let server = start_irc(|_| {});
    let mut c = Irc::connect(irc_addr(&server));
    c.send("CAP LS 302");
    c.send("PASS ignored");
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana");
    c.expect(&format!(":sala CAP * LS :{CAPS_302}"));
    // No welcome while CAP is open: a PING is answered first.
    c.send("PING early");
    c.expect(":sala PONG sala :early");
    c.send("CAP REQ :multi-prefix foo");
    c.expect(":sala CAP * NAK :multi-prefix foo");
    c.send("CAP REQ :multi-prefix");
    c.expect(":sala CAP * ACK :multi-prefix");
    c.send("CAP LIST");
    c.expect(":sala CAP * LIST :cap-notify multi-prefix");
    c.send("CAP END");
    c.nick = "ana".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));
    c.assert_silent();
    // CAP after registration is answered with the nick, and changes nothing.
    c.send("CAP LS");
    c.expect(&format!(":sala CAP ana LS :{CAPS}"));
    c.refused("CAP FROB", 410);
    // userhost-in-names: NAMES lists nick!user@host.
    c.send("CAP REQ :userhost-in-names");
    c.expect(":sala CAP ana ACK :userhost-in-names");
    c.send("JOIN #lobby");
    c.expect(":ana!ana@sala JOIN #lobby");
    c.expect(":sala 353 ana = #lobby :@ana!ana@sala");
    c.numeric(366);
    c.send("CAP REQ :-userhost-in-names");
    c.expect(":sala CAP ana ACK :-userhost-in-names");
    c.send("NAMES #lobby");
    c.expect(":sala 353 ana = #lobby :@ana");
    server.shutdown();
}

#[test]
fn server_time_echo_message_account_tag_extended_join_and_away_notify() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    ana.send("CAP REQ :server-time echo-message account-tag extended-join away-notify");
    ana.expect(":sala CAP ana ACK :server-time echo-message account-tag extended-join away-notify");
    let mut bob = Irc::register(addr, "bob");
    bob.send("REGISTER sesame");
    bob.expect(":sala NOTICE bob :REGISTER done: bob");
    let mut carla = carla_in_lobby(&server);
    ana.send("JOIN #lobby");
    let own = ana.next();
    assert!(own.starts_with("@time="), "{own}");
    assert!(
        own.ends_with(" :ana!ana@sala JOIN #lobby * :ana the tester"),
        "{own}"
    );
    ana.wait_for("366", |l| is_numeric(l, 366));
    carla.expect("JOIN lobby ana");
    // Her own message comes back, stamped.
    ana.send("PRIVMSG #lobby :hello");
    let echo = ana.next();
    let (tags, line) = echo.split_once(' ').expect("tags, then the line");
    assert_eq!(line, ":ana!ana@sala PRIVMSG #lobby :hello");
    let time = tags.strip_prefix("@time=").expect("a time tag");
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    carla.expect("MSG lobby ana hello");
    // A logged-in user's lines carry its account; its JOIN says it.
    bob.join("#lobby");
    bob.history("#lobby");
    let join = ana.next();
    assert!(
        join.contains(";account=bob :bob!bob@sala JOIN #lobby bob :bob the tester"),
        "{join}"
    );
    bob.send("PRIVMSG #lobby :hi");
    let said = ana.next();
    assert!(
        said.contains(";account=bob :bob!bob@sala PRIVMSG #lobby :hi"),
        "{said}"
    );
    bob.send("AWAY :lunch");
    bob.numeric(306);
    let away = ana.next();
    assert_eq!(away, ":bob!bob@sala AWAY :lunch");
    bob.send("AWAY");
    bob.numeric(305);
    ana.expect(":bob!bob@sala AWAY");
    // Without the capabilities, nothing of it.
    carla.send("SAY lobby plain");
    bob.expect(":carla!carla@sala PRIVMSG #lobby :plain");
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn sasl_plain_logs_in_to_an_account_and_registering_as_it_needs_no_password() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut jilles = Client::login(server.local_addr(), "jilles");
    jilles.send("REGISTER sesame");
    jilles.expect("OK REGISTER jilles");
    jilles.quit();
    let mut c = Irc::connect(addr);
    c.send("CAP LS 302");
    c.expect(&format!(":sala CAP * LS :{CAPS_302}"));
    c.send("CAP REQ :sasl");
    c.expect(":sala CAP * ACK :sasl");
    c.send("AUTHENTICATE SCRAM-SHA-256");
    c.expect(":sala 908 * PLAIN :are available SASL mechanisms");
    c.expect(":sala 904 * :SASL authentication failed");
    // jilles\0jilles\0millet: the wrong password.
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    c.send("AUTHENTICATE amlsbGVzAGppbGxlcwBtaWxsZXQ=");
    c.expect(":sala 904 * :SASL authentication failed");
    c.send("AUTHENTICATE PLAIN");
    c.expect("AUTHENTICATE +");
    c.send("AUTHENTICATE amlsbGVzAGppbGxlcwBzZXNhbWU=");
    c.expect(":sala 900 * *!*@sala jilles :You are now logged in as jilles");
    c.expect(":sala 903 * :SASL authentication successful");
    c.send("NICK jilles");
    c.send("USER j 0 * :Jilles");
    c.send("CAP END");
    c.nick = "jilles".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));
    c.send("WHOIS jilles");
    let lines = c.lines_until("318", |l| is_numeric(l, 318));
    assert!(
        lines
            .iter()
            .any(|l| l == ":sala 330 jilles jilles jilles :is logged in as"),
        "{lines:#?}"
    );
    // Logged in to jilles under another nick: the account shows, the nick is not its.
    let mut bar = Irc::connect(addr);
    bar.send("CAP REQ :sasl");
    bar.expect(":sala CAP * ACK :sasl");
    bar.send("AUTHENTICATE PLAIN");
    bar.expect("AUTHENTICATE +");
    bar.send("AUTHENTICATE AGppbGxlcwBzZXNhbWU=");
    bar.expect(":sala 900 * *!*@sala jilles :You are now logged in as jilles");
    bar.expect(":sala 903 * :SASL authentication successful");
    bar.send("NICK bar");
    bar.send("USER bar 0 * :Bar");
    bar.send("CAP END");
    bar.nick = "bar".into();
    bar.wait_for("376", |l| is_numeric(l, 376));
    c.send("WHOIS bar");
    let lines = c.lines_until("318", |l| is_numeric(l, 318));
    assert!(
        lines
            .iter()
            .any(|l| l == ":sala 330 jilles bar jilles :is logged in as"),
        "{lines:#?}"
    );
    server.shutdown();
}

#[test]
fn user_before_nick_registers_too() {
    let server = start_irc(|_| {});
    let mut c = Irc::connect(irc_addr(&server));
    c.send("USER ana 0 * :Ana");
    c.send("PING :before nick");
    c.expect(":sala PONG sala :before nick");
    c.send("nick ana");
    c.nick = "ana".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));
    c.assert_silent();
    server.shutdown();
}

#[test]
fn registration_errors_431_432_433_451_461_462() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let _bob = Irc::register(addr, "bob");
    let mut c = Irc::connect(addr);
    // Before registration the recipient is `*`.
    c.send("JOIN #lobby");
    c.expect(":sala 451 * :You have not registered");
    c.send("PRIVMSG bob :hi");
    c.expect(":sala 451 * :You have not registered");
    c.send("NICK");
    c.expect(":sala 431 * :No nickname given");
    c.send("NICK 9lives");
    let p = parse(&c.next());
    assert_eq!(
        (p.command.as_str(), p.params[1].as_str()),
        ("432", "9lives")
    );
    c.send("NICK guest7");
    let p = parse(&c.next());
    assert_eq!(
        (p.command.as_str(), p.params[1].as_str()),
        ("432", "guest7")
    );
    c.send("USER ana 0 *");
    c.expect(":sala 461 * USER :Not enough parameters");
    // A taken nick: 433, and registration waits for another NICK.
    c.send("NICK BOB");
    c.send("USER ana 0 * :Ana");
    let p = parse(&c.next());
    assert_eq!(p.command, "433", "{p:?}");
    assert_eq!(p.params[..2], ["*".to_string(), "BOB".to_string()]);
    c.send("JOIN #lobby");
    c.expect(":sala 451 * :You have not registered");
    c.send("NICK ana");
    c.nick = "ana".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));
    c.refused("USER ana 0 * :again", 462);
    c.refused("PASS again", 462);
    // After registration: 431, 432, 433 for a nick change.
    c.refused("NICK", 431);
    c.refused("NICK bad!nick", 432);
    let p = c.refused("NICK Bob", 433);
    assert_eq!(p.params[1], "Bob");
    c.refused("NICK guest1", 432);
    server.shutdown();
}

#[test]
fn unknown_commands_get_421_and_blank_lines_nothing() {
    let server = start_irc(|_| {});
    let mut c = Irc::register(irc_addr(&server), "ana");
    let p = c.refused("FROBNICATE a b", 421);
    assert_eq!(p.params[1], "FROBNICATE");
    let p = c.refused("rooms", 421);
    assert_eq!(p.params[1], "ROOMS", "CHAT/1 verbs are not IRC commands");
    c.send("");
    c.send("   ");
    c.assert_silent();
    server.shutdown();
}

#[test]
fn motd_lusers_and_ping_pong() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut c = Irc::register(addr, "ana");
    let _bob = Client::login(server.local_addr(), "bob");
    c.join("#lobby");
    c.send("MOTD");
    c.numeric(375);
    c.numeric(372);
    c.wait_for("376", |l| is_numeric(l, 376));
    c.send("LUSERS");
    let p = c.numeric(251);
    assert_eq!(
        p.params[1],
        "There are 2 users and 0 invisible on 1 servers"
    );
    let p = c.numeric(254);
    assert_eq!(p.params[1], "1", "one channel formed");
    c.numeric(255);
    let p = c.numeric(265);
    assert_eq!(p.params[1..3], ["2", "2"], "local users now and at most");
    let p = c.numeric(266);
    assert_eq!(p.params[1..3], ["2", "2"], "global users now and at most");
    c.send("PING :some token");
    c.expect(":sala PONG sala :some token");
    // PONG from the client is taken silently.
    c.send("PONG :sala");
    c.assert_silent();
    server.shutdown();
}

#[test]
fn server_pings_quiet_clients_and_drops_those_that_never_answer() {
    let server = start_irc(|c| c.irc_ping = Duration::from_secs(1));
    let addr = irc_addr(&server);
    let mut chat = Client::login(server.local_addr(), "carla");
    chat.join("lobby");
    let mut alive = Irc::register(addr, "alive");
    alive.join("#lobby");
    let mut mute = Irc::register(addr, "mute");
    mute.join("#lobby");
    chat.wait_line("JOIN lobby mute");
    // The answering client is pinged, answers, and is pinged again later.
    let quit = format!("{} QUIT :ping timeout", who("mute"));
    let (mut pings, mut quit_seen) = (0, false);
    alive.wait_answering("a second PING", |l| {
        pings += usize::from(l == "PING :sala");
        quit_seen |= l == quit;
        pings == 2
    });
    // The mute one is pinged, then dropped after as long again.
    mute.wait_for("the server's PING", |l| l == "PING :sala");
    mute.expect("ERROR :Closing link: ping timeout");
    mute.expect_closed();
    chat.wait_line("QUIT mute ping timeout");
    if !quit_seen {
        alive.wait_answering("QUIT of mute", |l| l == quit);
    }
    alive.assert_silent();
    server.shutdown();
}

// ---------------------------------------------------------------- channels

#[test]
fn join_lists_keys_and_their_errors() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    // A list of channels, one with a key that locks it at creation.
    ana.send("JOIN #open,#vault ,k3y");
    assert_eq!(ana.joined("#open"), ["@ana"]);
    assert_eq!(ana.joined("#vault"), ["@ana"]);
    ana.assert_silent();
    ana.send("MODE #vault");
    ana.expect(":sala 324 ana #vault +tnk *");
    ana.wait_prefix(":sala 329 ana #vault ");
    ana.send("MODE #open");
    ana.expect(":sala 324 ana #open +tn");
    ana.wait_prefix(":sala 329 ana #open ");
    // Wrong and missing keys: 475.
    let p = bob.refused("JOIN #vault", 475);
    assert_eq!(p.params[1], "#vault");
    bob.refused("JOIN #vault K3Y", 475);
    // Keys in a list go with the channels in order.
    bob.send("JOIN #open,#vault x,k3y");
    assert_eq!(bob.joined("#open"), ["@ana", "bob"]);
    assert_eq!(bob.joined("#vault"), ["@ana", "bob"]);
    ana.expect(&format!("{} JOIN #open", who("bob")));
    ana.expect(&format!("{} JOIN #vault", who("bob")));
    // Errors: 443 already on it, 403 bad name, 461 no channel.
    let p = bob.refused("JOIN #open", 443);
    assert_eq!(p.params[1], "#open");
    let p = bob.refused("JOIN lobby", 403);
    assert_eq!(p.params[1], "lobby");
    bob.refused("JOIN #bad!name", 403);
    bob.refused("JOIN", 461);
    // Channel names are case-insensitive and keep their first spelling.
    let mut cy = Irc::register(addr, "cy");
    cy.send("JOIN #OPEN");
    cy.expect(&format!("{} JOIN #open", who("cy")));
    cy.wait_for("366", |l| is_numeric(l, 366));
    server.shutdown();
}

#[test]
fn part_and_its_errors() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    ana.join("#a");
    ana.join("#b");
    bob.join("#a");
    ana.expect(&format!("{} JOIN #a", who("bob")));
    bob.send("PART #a :see you");
    bob.expect(&format!("{} PART #a :see you", who("bob")));
    ana.expect(&format!("{} PART #a :see you", who("bob")));
    let p = bob.refused("PART #a", 442);
    assert_eq!(p.params[1], "#a");
    let p = bob.refused("PART #nowhere", 403);
    assert_eq!(p.params[1], "#nowhere");
    bob.refused("PART", 461);
    bob.refused("PART nohash", 403);
    // A list of channels, no text.
    ana.send("PART #a,#b");
    ana.expect(&format!("{} PART #a", who("ana")));
    ana.expect(&format!("{} PART #b", who("ana")));
    ana.assert_silent();
    server.shutdown();
}

#[test]
fn privmsg_and_notice_to_channels_and_nicks_without_echo() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    let mut carla = Client::login(server.local_addr(), "carla");
    ana.join("#lobby");
    bob.join("#lobby");
    carla.join("lobby");
    ana.wait_for("carla's join", |l| {
        l == format!("{} JOIN #lobby", who("carla"))
    });
    bob.wait_for("carla's join", |l| {
        l == format!("{} JOIN #lobby", who("carla"))
    });
    ana.send("PRIVMSG #lobby :hello  there :)");
    bob.expect(&format!("{} PRIVMSG #lobby :hello  there :)", who("ana")));
    carla.expect("MSG lobby ana hello  there :)");
    ana.assert_silent(); // no echo of one's own message
    // A NOTICE stays a NOTICE on IRC (CHAT/1 has no notice kind: MSG there).
    ana.send("NOTICE #lobby :a notice");
    bob.expect(&format!("{} NOTICE #lobby :a notice", who("ana")));
    carla.expect("MSG lobby ana a notice");
    ana.assert_silent();
    // To nicks: IRC and CHAT/1 users alike; a target list.
    ana.send("PRIVMSG bob,carla :psst");
    bob.expect(&format!("{} PRIVMSG bob :psst", who("ana")));
    carla.expect("WHISPER ana carla psst");
    ana.assert_silent();
    ana.send("NOTICE bob :quiet word");
    bob.expect(&format!("{} NOTICE bob :quiet word", who("ana")));
    ana.assert_silent();
    // A NOTICE is never answered with an error (RFC 2812, 3.3.2).
    ana.send("NOTICE nobody :hello?");
    ana.send("NOTICE #nowhere :hello?");
    ana.send("NOTICE");
    ana.assert_silent();
    // A message to oneself arrives.
    ana.send("PRIVMSG ana :note to self");
    ana.expect(&format!("{} PRIVMSG ana :note to self", who("ana")));
    carla.send("WHISPER bob from chat");
    carla.expect("WHISPER carla bob from chat");
    bob.expect(&format!("{} PRIVMSG bob :from chat", who("carla")));
    carla.send("SAY lobby from chat too");
    carla.expect("MSG lobby carla from chat too");
    ana.expect(&format!("{} PRIVMSG #lobby :from chat too", who("carla")));
    bob.expect(&format!("{} PRIVMSG #lobby :from chat too", who("carla")));
    // Errors: 401 no such nick, 403 no such channel, 404 not on it, 411, 412.
    let p = ana.refused("PRIVMSG nobody :hi", 401);
    assert_eq!(p.params[1], "nobody");
    let p = ana.refused("PRIVMSG #nowhere :hi", 403);
    assert_eq!(p.params[1], "#nowhere");
    let mut dan = Irc::register(addr, "dan");
    let p = dan.refused("PRIVMSG #lobby :let me in", 404);
    assert_eq!(p.params[1], "#lobby");
    dan.refused("PRIVMSG", 411);
    dan.refused("PRIVMSG bob", 412);
    dan.refused("PRIVMSG bob :", 412);
    bob.assert_silent();
    carla.assert_silent();
    server.shutdown();
}

#[test]
fn names_marks_the_owner_and_list_topic_answer() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let _carla = carla_in_lobby(&server);
    let mut ana = Irc::register(addr, "ana");
    assert_eq!(ana.join("#lobby"), ["@carla", "ana"]);
    ana.join("#zoo");
    ana.send("NAMES #lobby");
    ana.expect(":sala 353 ana = #lobby :@carla ana");
    ana.expect(":sala 366 ana #lobby :End of /NAMES list.");
    ana.send("NAMES #nowhere");
    ana.expect(":sala 366 ana #nowhere :End of /NAMES list.");
    ana.send("LIST");
    ana.expect(":sala 321 ana Channel :Users  Name");
    ana.expect(":sala 322 ana #lobby 2 :owner carla");
    ana.expect(":sala 322 ana #zoo 1 :owner ana");
    ana.expect(":sala 323 ana :End of /LIST");
    ana.send("TOPIC #lobby");
    ana.expect(":sala 331 ana #lobby :No topic is set");
    // Topic-locked (the default): only carla, the owner, sets it.
    let p = ana.refused("TOPIC #lobby :new topic", 482);
    assert_eq!(p.params[1], "#lobby");
    let p = ana.refused("TOPIC #nowhere", 403);
    assert_eq!(p.params[1], "#nowhere");
    ana.refused("TOPIC", 461);
    server.shutdown();
}

#[test]
fn who_and_whois() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let _carla = carla_in_lobby(&server);
    let mut ana = Irc::register(addr, "ana");
    ana.join("#lobby");
    ana.send("WHO #lobby");
    ana.expect(":sala 352 ana #lobby carla sala sala carla H@ :0 carla");
    ana.expect(":sala 352 ana #lobby ana sala sala ana H :0 ana the tester");
    ana.expect(":sala 315 ana #lobby :End of /WHO list.");
    ana.send("WHO carla");
    ana.expect(":sala 352 ana * carla sala sala carla H :0 carla");
    ana.expect(":sala 315 ana carla :End of /WHO list.");
    ana.send("WHO nobody");
    ana.expect(":sala 315 ana nobody :End of /WHO list.");
    ana.send("WHOIS carla");
    ana.expect(":sala 311 ana carla carla sala * :carla");
    ana.expect(":sala 319 ana carla :@#lobby");
    ana.expect(":sala 312 ana carla sala :Sala, over CHAT/1");
    ana.expect(":sala 318 ana carla :End of /WHOIS list.");
    ana.send("WHOIS ana");
    ana.expect(":sala 311 ana ana ana sala * :ana the tester");
    ana.expect(":sala 319 ana ana :#lobby");
    ana.expect(":sala 312 ana ana sala :Sala, over IRC");
    ana.expect(":sala 318 ana ana :End of /WHOIS list.");
    ana.send("WHOIS nobody");
    ana.expect(":sala 401 ana nobody :No such nick/channel");
    ana.expect(":sala 318 ana nobody :End of /WHOIS list.");
    ana.refused("WHOIS", 431);
    server.shutdown();
}

#[test]
fn kick_by_the_owner_and_482_for_others() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    let mut carla = Client::login(server.local_addr(), "carla");
    ana.join("#lobby");
    bob.join("#lobby");
    carla.join("lobby");
    ana.wait_for("carla", |l| {
        l.ends_with("JOIN #lobby") && l.contains("carla")
    });
    bob.wait_for("carla", |l| {
        l.ends_with("JOIN #lobby") && l.contains("carla")
    });
    let p = bob.refused("KICK #lobby carla :go", 482);
    assert_eq!(p.params[1], "#lobby");
    bob.refused("KICK #lobby", 461);
    bob.refused("KICK lobby carla", 403);
    let mut dan = Irc::register(addr, "dan");
    let p = dan.refused("KICK #lobby bob", 442);
    assert_eq!(p.params[1], "#lobby", "dan is not on #lobby");
    ana.refused("KICK #nowhere bob", 403);
    let p = ana.refused("KICK #lobby dan", 441);
    assert_eq!(p.params[1..3], ["dan".to_string(), "#lobby".to_string()]);
    let p = ana.refused("KICK #lobby nobody", 401);
    assert_eq!(p.params[1], "nobody");
    ana.send("KICK #lobby carla :enough");
    ana.expect(&format!("{} KICK #lobby carla :enough", who("ana")));
    bob.expect(&format!("{} KICK #lobby carla :enough", who("ana")));
    carla.expect("KICKED lobby carla ana enough");
    // Without a reason the kicker's nick is the comment.
    ana.send("KICK #lobby bob");
    ana.expect(&format!("{} KICK #lobby bob :ana", who("ana")));
    bob.expect(&format!("{} KICK #lobby bob :ana", who("ana")));
    bob.refused("PRIVMSG #lobby :still here?", 404);
    carla.assert_silent();
    server.shutdown();
}

#[test]
fn an_owner_kicking_themselves_gets_400_and_stays() {
    let server = start_irc(|_| {});
    let mut ana = Irc::register(irc_addr(&server), "ana");
    let mut carla = Client::login(server.local_addr(), "carla");
    ana.join("#lobby");
    carla.join("lobby");
    ana.wait_for("carla", |l| {
        l.ends_with("JOIN #lobby") && l.contains("carla")
    });
    // ERR_UNKNOWNERROR names the command; not 482 (ana is the operator).
    let p = ana.refused("KICK #lobby ana :bye", 400);
    assert_eq!(p.params[1], "KICK");
    ana.refused("KICK #lobby ANA", 400);
    carla.send("WHO lobby");
    carla.expect("MEMBERS lobby ana carla");
    carla.expect("END MEMBERS lobby");
    carla.assert_silent();
    server.shutdown();
}

#[test]
fn mode_replies_for_channels_and_users() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let _bob = Irc::register(addr, "bob");
    ana.join("#lobby");
    ana.send("MODE #lobby");
    ana.expect(":sala 324 ana #lobby +tn");
    ana.wait_prefix(":sala 329 ana #lobby ");
    ana.send("MODE #lobby b");
    ana.expect(":sala 368 ana #lobby :End of channel ban list");
    ana.send("MODE #lobby +b");
    ana.expect(":sala 368 ana #lobby :End of channel ban list");
    ana.send("MODE #lobby e");
    ana.expect(":sala 349 ana #lobby :End of channel exception list");
    ana.send("MODE #lobby I");
    ana.expect(":sala 347 ana #lobby :End of channel invite list");
    let p = ana.refused("MODE #lobby +X", 472);
    assert_eq!(p.params[1], "X");
    let p = ana.refused("MODE #lobby +o bob", 441);
    assert_eq!(p.params[1..3], ["bob", "#lobby"].map(String::from));
    ana.refused("MODE #nowhere", 403);
    ana.refused("MODE", 461);
    ana.send("MODE ana");
    ana.expect(":sala 221 ana +");
    ana.send("MODE ana +i");
    ana.expect(":sala 221 ana +");
    ana.refused("MODE ana +x", 501);
    ana.refused("MODE bob", 502);
    server.shutdown();
}

#[test]
fn away_ison_and_userhost() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    let _carla = Client::login(server.local_addr(), "carla");
    bob.send("ISON ana carla nobody BOB");
    bob.expect(":sala 303 bob :ana carla bob");
    bob.refused("ISON", 461);
    bob.send("USERHOST ana carla nobody");
    bob.expect(":sala 302 bob :ana=+ana@sala carla=+carla@sala");
    ana.send("AWAY :at lunch");
    ana.expect(":sala 306 ana :You have been marked as being away");
    bob.send("USERHOST ana");
    bob.expect(":sala 302 bob :ana=-ana@sala");
    // A message to an away user still arrives; the sender learns 301.
    bob.send("PRIVMSG ana :you there?");
    ana.expect(&format!("{} PRIVMSG ana :you there?", who("bob")));
    bob.expect(":sala 301 bob ana :at lunch");
    bob.send("WHOIS ana");
    bob.wait_for("301 in WHOIS", |l| l == ":sala 301 bob ana :at lunch");
    bob.wait_for("318", |l| is_numeric(l, 318));
    ana.join("#lobby");
    bob.send("WHO #lobby");
    bob.expect(":sala 352 bob #lobby ana sala sala ana G@ :0 ana the tester");
    bob.numeric(315);
    ana.send("AWAY");
    ana.expect(":sala 305 ana :You are no longer marked as being away");
    bob.send("PRIVMSG ana :back?");
    ana.expect(&format!("{} PRIVMSG ana :back?", who("bob")));
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn quit_sends_error_then_closes_and_room_mates_see_quit() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut carla = carla_in_lobby(&server);
    let mut bob = Irc::register(addr, "bob");
    bob.join("#lobby");
    let mut ana = Irc::register(addr, "ana");
    ana.join("#lobby");
    carla.wait_line("JOIN lobby ana");
    bob.expect(&format!("{} JOIN #lobby", who("ana")));
    ana.send("QUIT :gone fishing");
    ana.expect("ERROR :Closing link: goodbye");
    ana.expect_closed();
    carla.expect("QUIT ana gone fishing");
    bob.expect(&format!("{} QUIT :gone fishing", who("ana")));
    // QUIT without a text, and a client that just closes its socket.
    bob.send("QUIT");
    bob.expect("ERROR :Closing link: goodbye");
    bob.expect_closed();
    carla.expect("QUIT bob quit");
    let mut dan = Irc::register(addr, "dan");
    dan.join("#lobby");
    carla.expect("JOIN lobby dan");
    drop(dan);
    carla.expect("QUIT dan connection closed");
    // A QUIT before registration closes too.
    let mut early = Irc::connect(addr);
    early.send("QUIT");
    early.expect("ERROR :Closing link: goodbye");
    early.expect_closed();
    server.shutdown();
}

// ---------------------------------------------------------------- framing

#[test]
fn odd_spacing_bare_lf_and_ctcp_action() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut carla = carla_in_lobby(&server);
    ana.send_bytes(b"   join    #lobby   \n");
    ana.joined("#lobby");
    carla.expect("JOIN lobby ana");
    ana.send_bytes(b"PRIVMSG    #lobby    :two  spaces  kept \n");
    carla.expect("MSG lobby ana two  spaces  kept ");
    ana.send_bytes(b"privmsg #lobby last-word-no-colon\r\n");
    carla.expect("MSG lobby ana last-word-no-colon");
    ana.send_bytes(
        b"@time=2024-01-01T00:00:00Z :ana!x@y PRIVMSG #lobby :tags and prefix skipped\r\n",
    );
    carla.expect("MSG lobby ana tags and prefix skipped");
    // Two lines in one write, one CRLF and one LF.
    ana.send_bytes(b"PRIVMSG #lobby :one\r\nPRIVMSG #lobby :two\n");
    carla.expect("MSG lobby ana one");
    carla.expect("MSG lobby ana two");
    // A line split across two writes.
    ana.send_bytes(b"PRIVMSG #lob");
    ana.send_bytes(b"by :joined up\r\n");
    carla.expect("MSG lobby ana joined up");
    ana.send("PRIVMSG #lobby :\u{1}ACTION waves\u{1}");
    carla.expect("MSG lobby ana \u{1}ACTION waves\u{1}");
    carla.send("SAY lobby \u{1}ACTION waves back\u{1}");
    ana.expect(&format!(
        "{} PRIVMSG #lobby :\u{1}ACTION waves back\u{1}",
        who("carla")
    ));
    ana.assert_silent();
    server.shutdown();
}

#[test]
fn long_lines_up_to_2048_pass_and_longer_get_417() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    let mut carla = carla_in_lobby(&server);
    ana.join("#lobby");
    carla.expect("JOIN lobby ana");
    // 2048 bytes with the CRLF: accepted whole.
    let head = "PRIVMSG #lobby :";
    let text = "x".repeat(2048 - 2 - head.len());
    ana.send(&format!("{head}{text}"));
    carla.expect(&format!("MSG lobby ana {text}"));
    // 700 bytes: over IRC's 512, accepted.
    let text = "y".repeat(700);
    ana.send(&format!("{head}{text}"));
    carla.expect(&format!("MSG lobby ana {text}"));
    // One byte more than 2048: 417, and the connection goes on.
    let text = "z".repeat(2048 - 1 - head.len());
    ana.send(&format!("{head}{text}"));
    ana.numeric(417);
    ana.assert_silent();
    let text = "w".repeat(10_000);
    ana.send(&format!("{head}{text}"));
    ana.numeric(417);
    ana.send("PRIVMSG #lobby :after the long ones");
    carla.expect("MSG lobby ana after the long ones");
    carla.assert_silent();
    ana.assert_silent();
    server.shutdown();
}

#[test]
fn bad_utf8_gets_fail_invalid_utf8_and_the_connection_goes_on() {
    let server = start_irc(|_| {});
    let mut ana = Irc::register(irc_addr(&server), "ana");
    ana.send_bytes(b"PRIVMSG ana :\xff\xfe\r\n");
    let line = ana.next();
    let p = parse(&line);
    assert_eq!(p.prefix, "sala", "{line:?}");
    // UTF8ONLY (ISUPPORT): the standard reply the spec names.
    assert_eq!(
        (p.command.as_str(), &p.params[..2]),
        ("FAIL", &["*".to_string(), "INVALID_UTF8".to_string()][..]),
        "{line:?}"
    );
    ana.send("PING after");
    ana.expect(":sala PONG sala :after");
    ana.assert_silent();
    server.shutdown();
}

// ---------------------------------------------------------------- mixed rooms

#[test]
fn mixed_room_sees_joins_messages_nicks_kicks_parts_and_quits_in_order() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut carla = carla_in_lobby(&server);
    let mut ana = Irc::register(addr, "ana");
    assert_eq!(ana.join("#lobby"), ["@carla", "ana"]);
    let joined = carla.lines_until("ana's join", |l| l == "JOIN lobby ana");
    assert_eq!(joined, ["JOIN lobby ana"]);
    ana.send("PRIVMSG #lobby :one");
    ana.send("PRIVMSG #lobby :two");
    carla.expect_all(&["MSG lobby ana one", "MSG lobby ana two"]);
    carla.send("SAY lobby three");
    carla.expect("MSG lobby carla three");
    ana.expect(&format!("{} PRIVMSG #lobby :three", who("carla")));
    // Nick changes, both ways.
    ana.send("NICK anna");
    ana.expect(&format!("{} NICK :anna", who("ana")));
    ana.nick = "anna".into();
    carla.expect("NICK ana anna");
    carla.send("NICK carlota");
    carla.expect("NICK carla carlota");
    ana.expect(&format!("{} NICK :carlota", who("carla")));
    ana.send("NAMES #lobby");
    ana.expect(":sala 353 anna = #lobby :@carlota anna");
    ana.numeric(366);
    // A second IRC user joins, the CHAT/1 owner kicks it.
    let mut bob = Irc::register(addr, "bob");
    bob.join("#lobby");
    let history = bob.history("#lobby");
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(history[0].ends_with(" <ana> one"), "{history:?}");
    assert!(history[2].ends_with(" <carla> three"), "{history:?}");
    ana.expect(&format!("{} JOIN #lobby", who("bob")));
    carla.expect("JOIN lobby bob");
    carla.send("KICK lobby bob behave");
    carla.expect("KICKED lobby bob carlota behave");
    ana.expect(&format!("{} KICK #lobby bob :behave", who("carlota")));
    bob.expect(&format!("{} KICK #lobby bob :behave", who("carlota")));
    // Part, rejoin, and quit of the IRC user.
    ana.send("PART #lobby :brb");
    // A new nick keeps the username given at registration.
    ana.expect(":anna!ana@sala PART #lobby :brb");
    carla.expect("PART lobby anna brb");
    assert_eq!(ana.join("#lobby"), ["@carlota", "anna"]);
    assert_eq!(ana.history("#lobby").len(), 3);
    carla.expect("JOIN lobby anna");
    ana.send("QUIT :bye all");
    ana.expect("ERROR :Closing link: goodbye");
    ana.expect_closed();
    carla.expect("QUIT anna bye all");
    // The CHAT/1 user's quit, seen from IRC.
    bob.join("#lobby");
    bob.history("#lobby");
    carla.expect("JOIN lobby bob");
    carla.quit();
    bob.expect(&format!("{} QUIT :quit", who("carlota")));
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn broadcasts_cross_the_doors() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut carla = Client::login(server.local_addr(), "carla");
    let mut ana = Irc::register(addr, "ana");
    let mut bob = Irc::register(addr, "bob");
    carla.send("BROADCAST hello everyone");
    carla.expect("BROADCAST carla hello everyone");
    ana.expect(&format!("{} NOTICE $* :hello everyone", who("carla")));
    bob.expect(&format!("{} NOTICE $* :hello everyone", who("carla")));
    ana.send("PRIVMSG $* :from irc");
    carla.expect("BROADCAST ana from irc");
    bob.expect(&format!("{} NOTICE $* :from irc", who("ana")));
    ana.assert_silent(); // no echo to the IRC sender
    ana.send("NOTICE $* :a notice to all");
    carla.expect("BROADCAST ana a notice to all");
    bob.expect(&format!("{} NOTICE $* :a notice to all", who("ana")));
    ana.assert_silent();
    server.shutdown();
}

#[test]
fn room_deletion_by_a_chat_owner_is_a_kick_on_irc() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut carla = carla_in_lobby(&server);
    let mut ana = Irc::register(addr, "ana");
    ana.join("#lobby");
    carla.expect("JOIN lobby ana");
    let mut bob = Irc::register(addr, "bob");
    let p = bob.refused("DELETE #lobby", 482);
    assert_eq!(p.params[1], "#lobby");
    carla.send("DELETE lobby");
    carla.expect("CLOSED lobby carla");
    ana.expect(&format!(
        "{} KICK #lobby ana :carla deleted the room",
        who("carla")
    ));
    ana.refused("PRIVMSG #lobby :anyone?", 403);
    bob.assert_silent();
    // An IRC owner deletes its own room: its CHAT/1 members see CLOSED.
    ana.join("#den");
    carla.join("den");
    ana.expect(&format!("{} JOIN #den", who("carla")));
    ana.send("DELETE #den");
    ana.expect(&format!(
        "{} KICK #den ana :ana deleted the room",
        who("ana")
    ));
    carla.expect("CLOSED den ana");
    server.shutdown();
}

// ---------------------------------------------------------------- accounts

#[test]
fn register_from_irc_then_log_in_with_pass() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Irc::register(addr, "ana");
    ana.send("REGISTER s3cret");
    // Hashing runs on a worker thread: wait for its answer.
    ana.expect(":sala NOTICE ana :REGISTER done: ana");
    ana.refused("REGISTER again", 462);
    ana.refused("REGISTER", 461);
    ana.send("WHOIS ana");
    ana.wait_for("330", |l| l == ":sala 330 ana ana ana :is logged in as");
    ana.numeric(318);
    ana.send("QUIT");
    ana.expect("ERROR :Closing link: goodbye");
    ana.expect_closed();

    // A wrong password: 464, and the connection may pick another nick.
    let mut c = Irc::connect(addr);
    c.send("PASS wrong");
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana");
    let line = c.next();
    let p = parse(&line);
    assert_eq!(
        (p.prefix.as_str(), p.command.as_str()),
        ("sala", "464"),
        "{line:?}"
    );
    c.send("NICK notana");
    c.nick = "notana".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));

    // No password for a registered nick: 464 too.
    let mut d = Irc::connect(addr);
    d.send("NICK ana");
    d.send("USER ana 0 * :Ana");
    let p = parse(&d.next());
    assert_eq!(p.command, "464", "{p:?}");
    assert!(
        p.params.last().is_some_and(|t| t.contains("(PASS)")),
        "says how an IRC client logs in: {p:?}"
    );

    // The right password: welcomed as ana, logged in.
    let mut e = Irc::connect(addr);
    e.send("CAP LS 302");
    e.send("PASS s3cret");
    e.send("NICK ana");
    e.send("USER ana 0 * :Ana");
    e.expect(&format!(":sala CAP * LS :{CAPS_302}"));
    e.send("CAP END");
    e.nick = "ana".into();
    e.numeric(1);
    e.wait_for("376", |l| is_numeric(l, 376));
    // Now that ana is here, the holder of the nick keeps it.
    d.send("NICK ana");
    let p = parse(&d.next());
    assert_eq!(p.command, "433", "{p:?}");
    c.send("WHOIS ana");
    c.wait_for("330", |l| l == ":sala 330 notana ana ana :is logged in as");
    c.numeric(318);
    server.shutdown();
}

#[test]
fn account_registered_over_chat_logs_in_over_irc_and_gets_waiting_whispers() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = Client::login(server.local_addr(), "ana");
    ana.send("REGISTER pw1");
    ana.expect("OK REGISTER ana");
    ana.quit();
    let mut bob = Irc::register(addr, "bob");
    bob.send("PRIVMSG ana :while you were out");
    bob.expect(":sala NOTICE bob :ana is offline: your message waits for their next login");
    let mut c = Irc::connect(addr);
    c.send("PASS pw1");
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana");
    c.nick = "ana".into();
    c.numeric(1);
    c.wait_for("376", |l| is_numeric(l, 376));
    let line = c.next();
    let p = parse(&line);
    assert_eq!(p.prefix, "bob!bob@sala", "{line:?}");
    assert_eq!(p.command, "PRIVMSG");
    assert_eq!(p.params[0], "ana");
    assert!(p.params[1].ends_with("] while you were out"), "{line:?}");
    c.assert_silent();
    // The CHAT/1 door refuses the wrong password as before.
    let mut other = Client::connect(server.local_addr());
    other.send("NICK ana nope");
    other.expect_err("NICK_TAKEN");
    server.shutdown();
}
