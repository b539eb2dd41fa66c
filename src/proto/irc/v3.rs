//! IRCv3 commands and lines, pure: `TAGMSG`, `SETNAME` and `CHATHISTORY`
//! as the reader hands them on, and the lines only IRCv3 clients get:
//! standard replies (`FAIL`), `SETNAME`, `ACCOUNT`, `TAGMSG` and history.

use super::render::{Out, put, put_text};
use crate::proto::command::{Command, Ircv3, Query};
use crate::proto::text;

/// The command of IRCv3 verb `cmd` with parameters `p` (after
/// registration); `None` if `cmd` is not one.
pub fn command(cmd: &str, p: &[&str]) -> Option<Command> {
    let v3 = |q: Ircv3| Some(Command::Irc(Query::Ircv3(q)));
    match cmd {
        "TAGMSG" => match p.first().filter(|t| !t.is_empty()) {
            Some(target) => v3(Ircv3::TagMsg {
                target: (*target).to_string(),
            }),
            None => Some(need_more(cmd)),
        },
        "SETNAME" => match p.first().filter(|t| !t.is_empty()) {
            Some(real) => v3(Ircv3::SetName {
                real: (*real).to_string(),
            }),
            None => Some(need_more(cmd)),
        },
        "CHATHISTORY" => v3(Ircv3::ChatHistory {
            params: p.iter().map(|s| (*s).to_string()).collect(),
        }),
        _ => None,
    }
}

fn need_more(cmd: &str) -> Command {
    Command::Irc(Query::Numeric {
        code: 461,
        params: vec![cmd.to_string()],
        text: "Not enough parameters".to_string(),
    })
}

/// Checks a realname `SETNAME` would set, of at most `max` bytes
/// (`session::REALLEN`, as `USER` keeps).
///
/// # Errors
/// What `FAIL SETNAME INVALID_REALNAME` says: too long, or a character the
/// one text rule forbids.
pub fn realname(real: &str, max: usize) -> Result<(), &'static str> {
    if real.len() > max {
        return Err("Realname is too long");
    }
    if text::check(real).is_err() {
        return Err("Realname holds a control character");
    }
    Ok(())
}

/// Appends a standard reply: `:server FAIL|WARN|NOTE COMMAND CODE [context...] :text`.
pub fn standard(
    out: &mut Out<'_>,
    kind: &str,
    command: &str,
    code: &str,
    context: &[&str],
    text: &str,
) {
    let mut params = vec![command, code];
    params.extend_from_slice(context);
    out.put(kind, &params, Some(text));
}

/// `:nick!user@host SETNAME :realname`.
pub fn setname_line(mask: &str, real: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put(&mut out, mask, "SETNAME", &[], Some(real));
    out
}

/// `:nick!user@host ACCOUNT name` (`*`: logged out).
pub fn account_line(mask: &str, account: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put(&mut out, mask, "ACCOUNT", &[account.unwrap_or("*")], None);
    out
}

/// `:nick!user@host TAGMSG target` (the tags are the recipients' own).
pub fn tagmsg_line(mask: &str, target: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put(&mut out, mask, "TAGMSG", &[target], None);
    out
}

/// A stored message replayed: `@tags :mask PRIVMSG target :text`, with the
/// tags a client has asked for (`time=`, `msgid=`, `batch=`).
pub fn history_line(out: &mut Vec<u8>, mask: &str, tags: &str, target: &str, text: &str) {
    let mut lines = Vec::with_capacity(text.len() + 64);
    put_text(&mut lines, mask, "PRIVMSG", &[target], text);
    if tags.is_empty() {
        out.extend_from_slice(&lines);
    } else {
        out.extend_from_slice(&super::render::tag_lines(&lines, tags));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ircv3_verbs_become_requests_and_lines_read_as_the_specs_say() {
        let v3 = |q| Some(Command::Irc(Query::Ircv3(q)));
        assert_eq!(
            command("TAGMSG", &["#a"]),
            v3(Ircv3::TagMsg {
                target: "#a".into()
            })
        );
        assert_eq!(
            command("SETNAME", &["Ana B"]),
            v3(Ircv3::SetName {
                real: "Ana B".into()
            })
        );
        assert_eq!(
            command("CHATHISTORY", &["LATEST", "#a", "*", "5"]),
            v3(Ircv3::ChatHistory {
                params: vec!["LATEST".into(), "#a".into(), "*".into(), "5".into()]
            })
        );
        assert_eq!(command("TAGMSG", &[]), Some(need_more("TAGMSG")));
        assert_eq!(command("FROB", &[]), None);
        assert!(realname("Ana", 100).is_ok());
        assert!(realname("Ana\u{1b}", 100).is_err() && realname("Ana", 2).is_err());
        let mut out = Vec::new();
        standard(
            &mut Out::new("sala", &mut out),
            "FAIL",
            "CHATHISTORY",
            "INVALID_TARGET",
            &["LATEST", "#x"],
            "no",
        );
        assert_eq!(
            out,
            b":sala FAIL CHATHISTORY INVALID_TARGET LATEST #x :no\r\n"
        );
        assert_eq!(
            account_line("a!a@s", None),
            b":a!a@s ACCOUNT *\r\n".to_vec()
        );
        let mut h = Vec::new();
        history_line(&mut h, "bob!bob@sala", "time=t", "#lobby", "hi");
        assert_eq!(h, b"@time=t :bob!bob@sala PRIVMSG #lobby :hi\r\n");
    }
}
