//! IRCv3 on the IRC door, with raw IRC lines over real sockets: message
//! tags (client-only tags, `msgid`, `TAGMSG`, their size limit), labeled
//! responses and batches, `SETNAME`, `account-notify`, UTF8ONLY and
//! `CHATHISTORY` over the rooms' stored history. Nothing sleeps: every step
//! waits for the line that proves it.

mod common;

use common::chat1::Client;
use common::irc::{Irc, is_numeric, parse};
use common::{irc_addr, start_irc};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Connects, asks for `caps` and registers as `nick`, up to the end of the MOTD.
fn with_caps(addr: SocketAddr, nick: &str, caps: &str) -> Irc {
    registered(addr, nick, None, caps)
}

/// Connects with `caps`, logs in to account `nick` with `PASS` and registers.
fn logged_in(addr: SocketAddr, nick: &str, password: &str, caps: &str) -> Irc {
    registered(addr, nick, Some(password), caps)
}

/// Connects, asks for `caps`, sends `PASS password` if any and registers
/// as `nick`, up to the end of the MOTD.
fn registered(addr: SocketAddr, nick: &str, password: Option<&str>, caps: &str) -> Irc {
    let mut c = Irc::connect(addr);
    c.send("CAP LS 302");
    c.wait_for("CAP LS", |l| l.starts_with(":sala CAP * LS"));
    c.send(&format!("CAP REQ :{caps}"));
    c.expect(&format!(":sala CAP * ACK :{caps}"));
    if let Some(password) = password {
        c.send(&format!("PASS {password}"));
    }
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} the tester"));
    c.send("CAP END");
    c.nick = nick.to_string();
    c.user = nick.to_string();
    c.wait_for("376 end of MOTD", |l| is_numeric(l, 376));
    c
}

/// A line's tags, unescaped values not needed here: `key` to raw value.
fn tags(line: &str) -> HashMap<String, String> {
    let Some(tagged) = line.strip_prefix('@') else {
        return HashMap::new();
    };
    let section = tagged.split_once(' ').map_or(tagged, |(t, _)| t);
    section
        .split(';')
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The line without its tags.
fn untagged(line: &str) -> &str {
    match line.strip_prefix('@') {
        Some(t) => t.split_once(' ').map_or("", |(_, rest)| rest),
        None => line,
    }
}

/// Joins `chan` and reads up to the end of its NAMES.
fn join(c: &mut Irc, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.wait_for("366", |l| {
        is_numeric(untagged(l), 366) || untagged(l).contains(" 366 ")
    });
}

#[test]
fn client_tags_and_msgid_reach_message_tags_clients_only_and_tagmsg_too() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = with_caps(addr, "ana", "message-tags");
    let mut bob = with_caps(addr, "bob", "message-tags echo-message");
    let mut cy = Irc::register(addr, "cy");
    let mut dee = with_caps(addr, "dee", "server-time");
    let mut carla = Client::login(server.local_addr(), "carla");
    for c in [&mut ana, &mut bob, &mut cy, &mut dee] {
        join(c, "#t");
    }
    carla.join("t");
    for c in [&mut ana, &mut bob, &mut cy] {
        c.wait_for("dee's join", |l| l.contains("dee!dee@sala JOIN #t"));
    }
    ana.send("@+baz=bat;fizz=buzz PRIVMSG #t :hi");
    let got = bob.wait_for("ana's message", |l| l.contains("PRIVMSG #t :hi"));
    let t = tags(&got);
    assert_eq!(t.get("+baz").map(String::as_str), Some("bat"), "{got}");
    assert!(
        !t.contains_key("fizz"),
        "only client-only tags are relayed: {got}"
    );
    let msgid = t.get("msgid").expect("a msgid").clone();
    assert_eq!(
        cy.wait_for("ana's message", |l| l.contains("PRIVMSG")),
        ":ana!ana@sala PRIVMSG #t :hi",
        "no tags without message-tags"
    );
    let timed = dee.wait_for("ana's message", |l| l.contains("PRIVMSG"));
    let t = tags(&timed);
    assert!(t.contains_key("time") && !t.contains_key("+baz") && !t.contains_key("msgid"));
    carla.expect("MSG t ana hi");
    // TAGMSG: to message-tags clients only; bob has echo-message.
    bob.send(r"@+react=\:);cat=dog TAGMSG #t");
    let echo = bob.wait_for("the echo", |l| l.contains("TAGMSG"));
    let relayed = ana.wait_for("the TAGMSG", |l| l.contains("TAGMSG"));
    assert_eq!(untagged(&relayed), ":bob!bob@sala TAGMSG #t");
    assert_eq!(
        tags(&relayed).get("+react").map(String::as_str),
        Some(r"\:)")
    );
    assert!(!tags(&relayed).contains_key("cat"));
    assert_eq!(tags(&echo).get("msgid"), tags(&relayed).get("msgid"));
    assert_ne!(tags(&echo).get("msgid"), Some(&msgid), "ids are unique");
    cy.assert_silent();
    dee.assert_silent();
    // A TAGMSG speaks as a message does: not in a moderated room unvoiced.
    ana.send("MODE #t +m");
    bob.wait_for("the mode change", |l| l.ends_with("MODE #t +m"));
    bob.send("@+react=x TAGMSG #t");
    let refused = bob.wait_for("404", |l| is_numeric(untagged(l), 404));
    assert_eq!(parse(untagged(&refused)).params[1], "#t");
    ana.send("PING y");
    ana.wait_for("the PONG", |l| l.ends_with("PONG sala :y"));
    ana.assert_silent();
    carla.expect("SET t moderated ana");
    carla.send("PING x");
    carla.expect("PONG x");
    server.shutdown();
}

#[test]
fn tags_over_4096_bytes_get_417_and_the_connection_goes_on() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = with_caps(addr, "ana", "message-tags echo-message");
    let mut bob = with_caps(addr, "bob", "message-tags");
    join(&mut ana, "#t");
    join(&mut bob, "#t");
    ana.wait_for("bob's join", |l| l.contains("JOIN #t"));
    // Right at the limit: the tags and their '@' and space are 4096 bytes.
    let max = format!("@foo=bar;+baz={} TAGMSG #t", "a".repeat(4081));
    assert_eq!(max.find("TAGMSG"), Some(4096));
    ana.send(&max);
    let relayed = bob.wait_for("the TAGMSG", |l| l.contains("TAGMSG"));
    assert_eq!(tags(&relayed)["+baz"].len(), 4081);
    ana.wait_for("the echo", |l| l.contains("TAGMSG"));
    ana.send(&format!("@foo=bar;+baz={} TAGMSG #t", "a".repeat(4082)));
    ana.numeric(417);
    bob.assert_silent();
    ana.send("PRIVMSG #t :still here");
    bob.wait_for("the message", |l| l.ends_with("PRIVMSG #t :still here"));
    server.shutdown();
}

#[test]
fn labeled_commands_get_an_ack_one_labeled_line_or_a_batch() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = with_caps(addr, "ana", "batch labeled-response echo-message");
    ana.send("@label=1 PONG :x");
    ana.expect("@label=1 :sala ACK");
    ana.send("@label=2 PING tok");
    ana.expect("@label=2 :sala PONG sala :tok");
    ana.send("@label=3 FROB");
    assert!(ana.next().starts_with("@label=3 :sala 421 ana FROB"));
    ana.send("@label=4 JOIN #t");
    let open = parse(untagged(&ana.next()));
    assert_eq!(
        (open.command.as_str(), open.params[1].as_str()),
        ("BATCH", "labeled-response")
    );
    let id = open.params[0]
        .strip_prefix('+')
        .expect("a batch start")
        .to_string();
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let inside = ana.lines_until("the batch's end", |l| l == format!(":sala BATCH -{id}"));
    assert!(inside.len() >= 3, "{inside:?}");
    for line in &inside[..inside.len() - 1] {
        assert_eq!(tags(line).get("batch"), Some(&id), "{line}");
    }
    assert!(inside[0].ends_with(":ana!ana@sala JOIN #t"));
    // A message to oneself: the echo carries the label, the delivery does not.
    ana.send("@label=5 PRIVMSG ana :me");
    assert_eq!(ana.next(), "@label=5 :ana!ana@sala PRIVMSG ana :me");
    assert_eq!(ana.next(), ":ana!ana@sala PRIVMSG ana :me");
    // A JOIN with a key waits for the password workers: its answer is
    // still one labeled batch, and the next line's answer comes after it.
    ana.send("@label=6 JOIN #vault,#open k1");
    ana.send("PING after");
    let open = parse(untagged(&ana.next()));
    assert_eq!(open.command, "BATCH", "{open:?}");
    let id = open.params[0][1..].to_string();
    let inside = ana.lines_until("the batch's end", |l| l == format!(":sala BATCH -{id}"));
    assert!(
        inside[0].ends_with(":ana!ana@sala JOIN #vault"),
        "{inside:?}"
    );
    assert!(
        inside
            .iter()
            .any(|l| l.ends_with(":ana!ana@sala JOIN #open")),
        "the line's second join is in its answer: {inside:?}"
    );
    ana.expect(":sala PONG sala :after");
    // Without the capability, a label is ignored.
    let mut bob = Irc::register(addr, "bob");
    bob.send("@label=7 PING tok");
    bob.expect(":sala PONG sala :tok");
    server.shutdown();
}

#[test]
fn setname_is_kept_and_told_to_peers_with_the_capability() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut ana = with_caps(addr, "ana", "setname");
    let mut bob = with_caps(addr, "bob", "setname");
    let mut cy = Irc::register(addr, "cy");
    for c in [&mut ana, &mut bob, &mut cy] {
        join(c, "#t");
    }
    ana.wait_for("cy's join", |l| l.contains("cy!cy@sala JOIN"));
    bob.wait_for("cy's join", |l| l.contains("cy!cy@sala JOIN"));
    ana.send("SETNAME :Ana Lovelace");
    ana.expect(":ana!ana@sala SETNAME :Ana Lovelace");
    bob.expect(":ana!ana@sala SETNAME :Ana Lovelace");
    cy.assert_silent();
    cy.send("WHOIS ana");
    let whois = cy.wait_for("311", |l| is_numeric(l, 311));
    assert_eq!(
        parse(&whois).params.last().map(String::as_str),
        Some("Ana Lovelace")
    );
    ana.send(&format!("SETNAME :{}", "x".repeat(101)));
    let fail = parse(&ana.next());
    assert_eq!(fail.command, "FAIL");
    assert_eq!(fail.params[..2], ["SETNAME", "INVALID_REALNAME"]);
    server.shutdown();
}

#[test]
fn account_notify_tells_channel_peers_of_a_login() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut carl = with_caps(addr, "carl", "account-notify");
    join(&mut carl, "#t");
    let mut bob = Irc::register(addr, "bob");
    join(&mut bob, "#t");
    carl.wait_for("bob's join", |l| l.contains("bob!bob@sala JOIN"));
    bob.send("REGISTER sesame2");
    bob.wait_for("REGISTER done", |l| l.contains("REGISTER done"));
    carl.expect(":bob!bob@sala ACCOUNT bob");
    // bob has no account-notify: nothing of its own login.
    bob.assert_silent();
    // A new nick is not the account's: logged out.
    bob.send("NICK robert");
    carl.expect(":bob!bob@sala NICK :robert");
    carl.expect(":robert!bob@sala ACCOUNT *");
    let mut dee = Irc::register(addr, "dee");
    join(&mut dee, "#t");
    carl.wait_for("dee's join", |l| l.contains("dee!dee@sala JOIN"));
    dee.send("REGISTER sesame3");
    dee.wait_for("REGISTER done", |l| l.contains("REGISTER done"));
    carl.expect(":dee!dee@sala ACCOUNT dee");
    bob.wait_for("dee's join", |l| l.contains("dee!dee@sala JOIN"));
    bob.assert_silent();
    server.shutdown();
}

#[test]
fn chathistory_pages_the_stored_history_with_the_live_ids_and_times() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let caps = "batch message-tags server-time echo-message draft/chathistory";
    let mut ana = with_caps(addr, "ana", caps);
    join(&mut ana, "#h");
    // A room lasts while it has a member (or an owning account): carla stays.
    let mut carla = Client::login(server.local_addr(), "carla");
    carla.join("h");
    ana.wait_for("carla's join", |l| l.contains("carla!carla@sala JOIN"));
    let mut sent = Vec::new();
    for i in 0..10 {
        ana.send(&format!("PRIVMSG #h :message {i}"));
        let echo = ana.wait_for("the echo", |l| l.contains("PRIVMSG #h"));
        let t = tags(&echo);
        sent.push((
            t["time"].clone(),
            t["msgid"].clone(),
            format!("message {i}"),
        ));
    }
    // What a page holds: (time, msgid, text) of each line in the batch.
    let page = |c: &mut Irc, request: &str| -> Vec<(String, String, String)> {
        c.send(&format!("CHATHISTORY {request}"));
        let open = parse(untagged(&c.next()));
        assert_eq!(open.command, "BATCH", "{open:?}");
        assert_eq!(open.params[1..], ["chathistory", "#h"]);
        let id = open.params[0][1..].to_string();
        let lines = c.lines_until("the batch's end", |l| l == format!(":sala BATCH -{id}"));
        lines[..lines.len() - 1]
            .iter()
            .map(|l| {
                let t = tags(l);
                assert_eq!(t["batch"], id);
                let p = parse(untagged(l));
                assert_eq!(
                    (p.command.as_str(), p.params[0].as_str()),
                    ("PRIVMSG", "#h")
                );
                (t["time"].clone(), t["msgid"].clone(), p.params[1].clone())
            })
            .collect()
    };
    assert_eq!(page(&mut ana, "LATEST #h * 20"), sent);
    assert_eq!(page(&mut ana, "LATEST #h * 3"), sent[7..]);
    let id = |i: usize| format!("msgid={}", sent[i].1);
    let ts = |i: usize| format!("timestamp={}", sent[i].0);
    assert_eq!(
        page(&mut ana, &format!("LATEST #h {} 20", id(4))),
        sent[5..]
    );
    assert_eq!(
        page(&mut ana, &format!("BEFORE #h {} 20", id(6))),
        sent[..6]
    );
    assert_eq!(
        page(&mut ana, &format!("BEFORE #h {} 2", ts(6))),
        sent[4..6]
    );
    assert_eq!(page(&mut ana, &format!("AFTER #h {} 3", id(3))), sent[4..7]);
    assert_eq!(
        page(&mut ana, &format!("AROUND #h {} 3", id(7))),
        sent[6..9]
    );
    assert_eq!(
        page(&mut ana, &format!("BETWEEN #h {} {} 3", id(9), id(0))),
        sent[6..9]
    );
    assert_eq!(
        page(&mut ana, &format!("BETWEEN #h {} {} 20", ts(0), ts(9))),
        sent[1..9]
    );
    // The scrollback outlives the connection.
    ana.send("QUIT");
    let mut again = with_caps(addr, "ana", caps);
    join(&mut again, "#h");
    assert_eq!(page(&mut again, "LATEST #h * 20"), sent);
    // Refusals are standard replies.
    again.send("CHATHISTORY LATEST #elsewhere * 10");
    let fail = parse(&again.next());
    assert_eq!(fail.command, "FAIL");
    assert_eq!(
        fail.params[..4],
        ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#elsewhere"]
    );
    again.send("CHATHISTORY BEFORE #h * 10");
    assert_eq!(
        parse(&again.next()).params[..3],
        ["CHATHISTORY", "INVALID_PARAMS", "BEFORE"]
    );
    server.shutdown();
}

#[test]
fn isupport_says_utf8only_and_the_chathistory_limits() {
    let server = start_irc(|_| {});
    let mut c = Irc::connect(irc_addr(&server));
    c.send("NICK ana");
    c.send("USER ana 0 * :Ana");
    c.nick = "ana".into();
    let mut tokens = Vec::new();
    loop {
        let line = c.next();
        if is_numeric(&line, 5) {
            tokens.extend(parse(&line).params[1..].to_vec());
        }
        if is_numeric(&line, 376) {
            break;
        }
    }
    for want in ["UTF8ONLY", "CHATHISTORY=100", "MSGREFTYPES=msgid,timestamp"] {
        assert!(tokens.iter().any(|t| t == want), "{want} in {tokens:?}");
    }
    server.shutdown();
}

/// Sends `CHATHISTORY request`; the (time, msgid, target, text) of each
/// line of the `chathistory` batch that answers, which names `target`.
fn history(c: &mut Irc, request: &str, target: &str) -> Vec<(String, String, String, String)> {
    c.send(&format!("CHATHISTORY {request}"));
    let open = parse(untagged(&c.next()));
    assert_eq!(open.command, "BATCH", "{open:?}");
    assert_eq!(open.params[1..], ["chathistory", target]);
    let id = open.params[0][1..].to_string();
    let lines = c.lines_until("the batch's end", |l| l == format!(":sala BATCH -{id}"));
    lines[..lines.len() - 1]
        .iter()
        .map(|l| {
            let t = tags(l);
            let p = parse(untagged(l));
            assert_eq!(p.command, "PRIVMSG");
            (
                t["time"].clone(),
                t["msgid"].clone(),
                p.params[0].clone(),
                p.params[1].clone(),
            )
        })
        .collect()
}

/// The (time, msgid, target, text) of an echoed or delivered message.
fn seen(line: &str) -> (String, String, String, String) {
    let t = tags(line);
    let p = parse(untagged(line));
    (
        t["time"].clone(),
        t["msgid"].clone(),
        p.params[0].clone(),
        p.params[1].clone(),
    )
}

#[test]
fn chathistory_of_a_conversation_is_kept_for_accounts_only_in_memory() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    for (nick, pw) in [("ana", "pw1"), ("bob", "pw2")] {
        let mut c = Client::login(server.local_addr(), nick);
        c.send(&format!("REGISTER {pw}"));
        c.expect(&format!("OK REGISTER {nick}"));
        c.quit();
    }
    let caps = "batch message-tags server-time echo-message draft/chathistory";
    let mut ana = logged_in(addr, "ana", "pw1", caps);
    let mut bob = logged_in(addr, "bob", "pw2", caps);
    let mut cy = with_caps(addr, "cy", caps);
    ana.send("PRIVMSG bob :one");
    let one = seen(&ana.wait_for("the echo", |l| l.contains("PRIVMSG bob :one")));
    assert_eq!(seen(&bob.wait_for("one", |l| l.contains(":one"))), one);
    bob.send("PRIVMSG ana :two");
    let two = seen(&bob.wait_for("the echo", |l| l.contains("PRIVMSG ana :two")));
    ana.wait_for("two", |l| l.contains(":two"));
    ana.send("PRIVMSG cy :three");
    let three = seen(&ana.wait_for("the echo", |l| l.contains("PRIVMSG cy :three")));
    cy.wait_for("three", |l| l.contains(":three"));
    let both = vec![one.clone(), two.clone()];
    assert_eq!(history(&mut ana, "LATEST bob * 10", "bob"), both);
    assert_eq!(history(&mut bob, "LATEST ANA * 10", "ANA"), both);
    let after_one = format!("AFTER bob msgid={} 10", one.1);
    assert_eq!(history(&mut ana, &after_one, "bob"), vec![two.clone()]);
    assert_eq!(history(&mut ana, "LATEST cy * 10", "cy"), vec![three]);
    // A guest keeps nothing; a conversation is its own.
    assert!(history(&mut cy, "LATEST ana * 10", "ana").is_empty());
    assert!(history(&mut bob, "LATEST cy * 10", "cy").is_empty());
    // TARGETS names the nicks too.
    ana.send(
        "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00Z timestamp=2200-01-01T00:00:00Z 10",
    );
    let targets = ana.lines_until("the batch's end", |l| l.starts_with(":sala BATCH -"));
    // (Sorted by time: within one millisecond, two conversations may tie.)
    let mut named: Vec<String> = targets
        .iter()
        .map(|l| parse(untagged(l)))
        .filter(|p| p.command == "CHATHISTORY")
        .map(|p| p.params[1].clone())
        .collect();
    named.sort();
    assert_eq!(named, ["bob", "cy"]);
    // The scrollback outlives the connection.
    ana.send("QUIT");
    let mut again = logged_in(addr, "ana", "pw1", caps);
    assert_eq!(history(&mut again, "LATEST bob * 10", "bob"), both);
    server.shutdown();
}

#[test]
fn invite_notify_tells_the_members_who_asked_for_it() {
    let server = start_irc(|_| {});
    let addr = irc_addr(&server);
    let mut op = with_caps(addr, "op", "invite-notify");
    op.join("#class");
    let mut watcher = with_caps(addr, "watcher", "invite-notify");
    watcher.join("#class");
    let mut plain = Irc::register(addr, "plain");
    plain.join("#class");
    let mut guest = Client::login(server.local_addr(), "guest");
    op.send("INVITE guest #class");
    guest.expect("INVITED class guest op");
    // The inviter has the capability too: it sees the INVITE, and its 341.
    op.wait_for("INVITE", |l| l.ends_with("INVITE guest #class"));
    op.wait_for("341", |l| is_numeric(l, 341));
    let seen = watcher.wait_for("INVITE", |l| l.contains(" INVITE "));
    assert!(
        seen.starts_with(":op!") && seen.ends_with("INVITE guest #class"),
        "{seen}"
    );
    // A member without it is told nothing.
    plain.assert_silent();
    server.shutdown();
}
