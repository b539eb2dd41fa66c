//! IRC's `MODE #chan`: the room's modes (324, 329), its ban list (367,
//! 368), or changes, each applied as the CHAT/1 verb it stands for would be
//! (`SET`, `OP`, `BAN`...) and told to the channel in one `MODE` line.

use super::{Dispatcher, no_room};
use crate::chat::moderation::{Change, Flag, List, Role};
use crate::chat::{ConnId, Room};
use crate::proto::irc::modes::{self, FLAGS, MUTE_PREFIX, Mode};
use crate::proto::irc::{self, Out, Subject, put_numeric, replies};
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::now_ms;

impl Dispatcher {
    /// `MODE #chan [modes [params...]]` from IRC client `id` (`me`).
    pub(super) fn channel_mode(
        &mut self,
        id: ConnId,
        me: &str,
        name: &str,
        words: &[String],
    ) -> Result<(), Refusal> {
        let room = self.chat.room(name).ok_or_else(|| no_room(name))?;
        let server = std::sync::Arc::clone(&self.server);
        let mut out = Vec::new();
        if words.is_empty() {
            let o = &mut Out::new(&server, &mut out);
            replies::channel_modes(o, me, &room.name, &mode_string(room), room.created);
            self.reply(id, out);
            return Ok(());
        }
        let room_name = room.name.clone();
        let items = modes::parse(words);
        // Whoever may not change modes is told once, whatever the letters.
        let changes = items.iter().any(|m| matches!(m, Mode::Change { .. }));
        let allowed = if changes {
            self.chat.check_operator(id, name).err()
        } else {
            None
        };
        let voice = self.voice(id);
        let channel = Subject::Channel(irc::channel(&room_name));
        if let Some(refusal) = &allowed {
            voice.refusal(refusal, &channel, &mut out);
        }
        let mut made = Vec::new();
        let mut key = None;
        for item in items {
            let o = &mut Out::new(&server, &mut out);
            let (on, letter, arg) = match item {
                Mode::List(letter) => {
                    self.mode_list(id, o, me, name, letter);
                    continue;
                }
                Mode::Unknown(letter) => {
                    replies::unknown_mode(o, me, letter);
                    continue;
                }
                Mode::Missing(letter) => {
                    let what = format!("MODE {letter} needs a parameter");
                    put_numeric(o, 461, me, &["MODE"], &what);
                    continue;
                }
                Mode::Change { .. } if allowed.is_some() => continue,
                Mode::Change { on, letter, arg } => (on, letter, arg),
            };
            let arg = arg.unwrap_or_default();
            let invalid = |o: &mut Out<'_>, why: &str| {
                // A refused key is never echoed (it may be a secret with a typo).
                let shown = if arg.is_empty() || letter == 'k' {
                    "*"
                } else {
                    arg.as_str()
                };
                replies::invalid_mode_param(o, me, &room_name, letter, shown, why);
            };
            let number = |max: u32| arg.parse::<u32>().ok().filter(|n| (1..=max).contains(n));
            let change = match letter {
                'l' if !on => Change::Limit(None),
                'l' => match number(crate::chat::moderation::MAX_LIMIT) {
                    Some(n) => Change::Limit(Some(n)),
                    None => {
                        invalid(o, "the limit is a whole number of members, 1 to 100000");
                        continue;
                    }
                },
                'W' if !on => Change::Slow(None),
                'W' => match number(crate::chat::moderation::MAX_SLOW) {
                    Some(n) => Change::Slow(Some(n)),
                    None => {
                        invalid(o, "slow mode is a whole number of seconds, 1 to 86400");
                        continue;
                    }
                },
                'k' if !on => Change::Key(None),
                'k' => {
                    let fine = !arg.is_empty()
                        && arg.len() <= super::moderation::KEY_LEN
                        && arg.bytes().all(|b| b.is_ascii_graphic() && b != b',');
                    if fine {
                        key = Some(arg.clone());
                    } else {
                        invalid(
                            o,
                            "a key is 1 to 64 printable characters, without spaces or commas",
                        );
                    }
                    continue;
                }
                'o' => Change::Role(Role::Op, arg.clone(), on),
                'v' => Change::Role(Role::Voice, arg.clone(), on),
                'b' => match arg.strip_prefix(MUTE_PREFIX) {
                    Some(mask) => Change::List(List::Mute, mask.to_string(), on),
                    None => Change::List(List::Ban, arg.clone(), on),
                },
                'e' => Change::List(List::Except, arg.clone(), on),
                'I' => Change::List(List::Allow, arg.clone(), on),
                flag => match FLAGS
                    .iter()
                    .find(|(l, _)| *l == flag)
                    .and_then(|(_, n)| Flag::named(n))
                {
                    Some(flag) => Change::Flag(flag, on),
                    None => {
                        replies::unknown_mode(o, me, letter);
                        continue;
                    }
                },
            };
            match self.chat.change(id, name, change, now_ms()) {
                Ok(Some(change)) => made.push(change),
                Ok(None) => {}
                Err(refusal) if refusal.code == ErrCode::BadSetting => invalid(o, &refusal.text),
                Err(refusal) => {
                    let subject = Subject::Member {
                        channel: irc::channel(&room_name),
                        nick: arg.clone(),
                    };
                    voice.refusal(&refusal, &subject, &mut out);
                }
            }
        }
        self.reply(id, out);
        self.announce(id, name, &made, None);
        if let Some(key) = key {
            // Hashed by the password workers, then told as `MODE +k key`.
            self.set_key(id, name, &key)?;
        }
        Ok(())
    }

    /// `MODE #chan b` (`e`, `I`): the bans and mutes, to whoever may see the room.
    fn mode_list(&self, id: ConnId, o: &mut Out<'_>, me: &str, name: &str, letter: char) {
        let Some(room) = self.chat.room(name).filter(|r| self.chat.visible(id, r)) else {
            return;
        };
        let mods = &room.mods;
        let entry = |prefix: &str, l: &'_ crate::chat::moderation::Listed| {
            (format!("{prefix}{}", l.mask), l.by.clone(), l.at)
        };
        let entries: Vec<(String, String, u64)> = match letter {
            'e' => mods.excepts.iter().map(|l| entry("", l)).collect(),
            'I' => mods.allows.iter().map(|l| entry("", l)).collect(),
            _ => mods
                .bans
                .iter()
                .map(|l| entry("", l))
                .chain(mods.mutes.iter().map(|l| entry(MUTE_PREFIX, l)))
                .collect(),
        };
        replies::mode_list(o, me, &room.name, letter, &entries);
    }
}

/// What 324 says of `room`: `+` and its letters, then their parameters
/// (the key as `*`: Sala keeps only its hash).
fn mode_string(room: &Room) -> String {
    let mods = &room.mods;
    let mut letters = String::from("+");
    let mut params = Vec::new();
    for (letter, name) in FLAGS {
        if Flag::named(name).is_some_and(|f| mods.is(f)) {
            letters.push(letter);
        }
    }
    if room.key.is_some() {
        letters.push('k');
        params.push("*".to_string());
    }
    if let Some(limit) = mods.limit {
        letters.push('l');
        params.push(limit.to_string());
    }
    if let Some(slow) = mods.slow {
        letters.push('W');
        params.push(slow.to_string());
    }
    std::iter::once(letters)
        .chain(params)
        .collect::<Vec<_>>()
        .join(" ")
}
