//! A room's moderation as plain data: its topic, its settings, the roles
//! given in it (operators and voiced members), its bans and mutes (masks),
//! the invitations waiting and the slow-mode clock. No sockets here; the
//! chat state ([`super::Chat`]) decides who may change what, this module
//! only keeps it, and says what a change changed.

use crate::ids::ConnId;
use crate::proto::irc::glob;
use crate::proto::refusal::{ErrCode, Refusal};
use std::collections::HashMap;

pub use crate::proto::command::TOPIC_LEN;
/// Most bytes of a ban or mute mask.
pub const MASK_LEN: usize = 100;
/// Most bans, and most mutes, one room holds.
pub const MAX_LIST: usize = 100;
/// The largest `limit` a room takes.
pub const MAX_LIMIT: u32 = 100_000;
/// The longest slow-mode wait, in seconds (a day).
pub const MAX_SLOW: u32 = 86_400;

/// A room's topic: its text, who set it and when (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub text: String,
    pub by: String,
    pub at: u64,
}

/// The settings that are on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Only operators change the topic (IRC `+t`; on by default).
    TopicLock,
    /// Only members speak in the room (IRC `+n`; on by default).
    NoOutside,
    /// Only operators and voiced members speak (IRC `+m`).
    Moderated,
    /// Only invited users join (IRC `+i`).
    InviteOnly,
    /// Hidden from non-members (IRC `+s`).
    Secret,
}

impl Flag {
    /// Every flag, in the order listings show them.
    pub const ALL: [Flag; 5] = [
        Flag::TopicLock,
        Flag::NoOutside,
        Flag::Moderated,
        Flag::InviteOnly,
        Flag::Secret,
    ];

    /// The setting's name in CHAT/1 (`SET lobby moderated`).
    pub fn name(self) -> &'static str {
        match self {
            Flag::TopicLock => "topic-lock",
            Flag::NoOutside => "no-outside",
            Flag::Moderated => "moderated",
            Flag::InviteOnly => "invite-only",
            Flag::Secret => "secret",
        }
    }

    /// The flag called `name` in CHAT/1.
    pub fn named(name: &str) -> Option<Flag> {
        Flag::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// A role given in a room, beside ownership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Op,
    Voice,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Op => "op",
            Role::Voice => "voice",
        }
    }
}

/// The mask lists of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Kept out, and silent if inside (IRC `+b`).
    Ban,
    /// Silent (IRC `+b m:`).
    Mute,
    /// Never banned (IRC `+e`, ban exceptions).
    Except,
    /// Let into an invite-only room without an invitation (IRC `+I`).
    Allow,
}

impl List {
    /// Every list, in the order listings show them.
    pub const ALL: [List; 4] = [List::Ban, List::Mute, List::Except, List::Allow];

    /// Its name in events and records (`ban`, `mute`, `except`, `allow`).
    pub fn name(self) -> &'static str {
        match self {
            List::Ban => "ban",
            List::Mute => "mute",
            List::Except => "except",
            List::Allow => "allow",
        }
    }
}

/// A role held by a nick. One given to a user logged in to an account is
/// the account's and stays when they leave; another lasts while its user is
/// in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub nick: String,
    pub role: Role,
    pub account: bool,
}

/// A ban or a mute: the mask, who set it, when (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub mask: String,
    pub by: String,
    pub at: u64,
}

/// One change an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Flag(Flag, bool),
    /// The member limit; `None` removes it.
    Limit(Option<u32>),
    /// Slow mode's seconds; `None` turns it off.
    Slow(Option<u32>),
    /// The key's hash; `None` removes the key.
    Key(Option<String>),
    /// A role given (`true`) or taken to the nick of a member.
    Role(Role, String, bool),
    /// A mask (already [`normalize`]d) added (`true`) or removed.
    List(List, String, bool),
}

/// A room's moderation state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    pub topic: Option<Topic>,
    flags: [bool; 5],
    pub limit: Option<u32>,
    pub slow: Option<u32>,
    pub grants: Vec<Grant>,
    pub bans: Vec<Listed>,
    pub mutes: Vec<Listed>,
    pub excepts: Vec<Listed>,
    pub allows: Vec<Listed>,
    /// Connections invited in, until they join or leave the server.
    pub invited: Vec<ConnId>,
    /// When each member last spoke (unix ms), for slow mode.
    pub last_said: HashMap<ConnId, u64>,
}

impl Default for Moderation {
    fn default() -> Moderation {
        Moderation {
            topic: None,
            // topic-lock and no-outside are on, the others off.
            flags: [true, true, false, false, false],
            limit: None,
            slow: None,
            grants: Vec::new(),
            bans: Vec::new(),
            mutes: Vec::new(),
            excepts: Vec::new(),
            allows: Vec::new(),
            invited: Vec::new(),
            last_said: HashMap::new(),
        }
    }
}

impl Moderation {
    /// Whether `flag` is on.
    pub fn is(&self, flag: Flag) -> bool {
        self.flags[flag as usize]
    }

    /// Turns `flag` on or off; true if that changed it.
    pub fn set(&mut self, flag: Flag, on: bool) -> bool {
        let was = std::mem::replace(&mut self.flags[flag as usize], on);
        was != on
    }

    /// True if `nick` (logged in to its account or not) holds `role`.
    pub fn has(&self, nick: &str, account: bool, role: Role) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.nick.eq_ignore_ascii_case(nick) && (account || !g.account))
    }

    /// Gives or takes `role`; true if that changed something.
    pub fn grant(&mut self, nick: &str, account: bool, role: Role, on: bool) -> bool {
        let held = self.has(nick, account, role);
        if on == held {
            return false;
        }
        if on {
            self.grants.push(Grant {
                nick: nick.to_string(),
                role,
                account,
            });
        } else {
            self.grants
                .retain(|g| !(g.role == role && g.nick.eq_ignore_ascii_case(nick)));
        }
        true
    }

    /// A user not logged in left (or was renamed away from `nick`): the
    /// roles that were theirs only while present go.
    pub fn forget_guest(&mut self, nick: &str) {
        self.grants
            .retain(|g| g.account || !g.nick.eq_ignore_ascii_case(nick));
    }

    /// A member renamed from `old` to `new`: what they held goes with them
    /// (an account's grant stays the account's, and the connection keeps the role).
    pub fn renamed(&mut self, old: &str, new: &str, had_account: bool) {
        let held: Vec<Role> = [Role::Op, Role::Voice]
            .into_iter()
            .filter(|&r| self.has(old, had_account, r))
            .collect();
        self.forget_guest(old);
        for role in held {
            self.grant(new, false, role, true);
        }
    }

    /// The list `list`.
    pub fn list(&self, list: List) -> &Vec<Listed> {
        match list {
            List::Ban => &self.bans,
            List::Mute => &self.mutes,
            List::Except => &self.excepts,
            List::Allow => &self.allows,
        }
    }

    fn list_mut(&mut self, list: List) -> &mut Vec<Listed> {
        match list {
            List::Ban => &mut self.bans,
            List::Mute => &mut self.mutes,
            List::Except => &mut self.excepts,
            List::Allow => &mut self.allows,
        }
    }

    /// Adds or removes `mask` (normalized) on `list`; true if that changed it.
    ///
    /// # Errors
    /// `BAD_SETTING` when the list holds [`MAX_LIST`] masks already.
    pub fn mark(
        &mut self,
        list: List,
        mask: &str,
        on: bool,
        by: &str,
        at: u64,
    ) -> Result<bool, Refusal> {
        let entries = self.list_mut(list);
        let found = entries
            .iter()
            .position(|l| l.mask.eq_ignore_ascii_case(mask));
        match (found, on) {
            (Some(_), true) | (None, false) => Ok(false),
            (Some(i), false) => {
                entries.remove(i);
                Ok(true)
            }
            (None, true) if entries.len() >= MAX_LIST => Err(Refusal::new(
                ErrCode::BadSetting,
                format!("a room holds at most {MAX_LIST} masks in a list; remove one first"),
            )),
            (None, true) => {
                entries.push(Listed {
                    mask: mask.to_string(),
                    by: by.to_string(),
                    at,
                });
                Ok(true)
            }
        }
    }

    /// True if a mask of `list` matches `who` (`nick!user@host`).
    pub fn listed(&self, list: List, who: &str) -> bool {
        self.list(list).iter().any(|l| glob(&l.mask, who))
    }

    /// True if `who` is banned: a ban matches it and no exception does.
    pub fn banned(&self, who: &str) -> bool {
        self.listed(List::Ban, who) && !self.listed(List::Except, who)
    }

    /// True if `who` is muted: a mute matches it and no exception written
    /// `m:mask` (IRC's mute extban in `+e`) does.
    pub fn muted(&self, who: &str) -> bool {
        self.listed(List::Mute, who)
            && !self
                .excepts
                .iter()
                .any(|l| l.mask.strip_prefix("m:").is_some_and(|m| glob(m, who)))
    }

    /// Seconds `id` must still wait before speaking at `now_ms` (0: none).
    pub fn wait_left(&self, id: ConnId, now_ms: u64) -> u64 {
        let (Some(slow), Some(&last)) = (self.slow, self.last_said.get(&id)) else {
            return 0;
        };
        let until = last.saturating_add(u64::from(slow) * 1000);
        until.saturating_sub(now_ms).div_ceil(1000)
    }

    /// `id` left the room: its slow-mode clock and invitation go.
    pub fn left(&mut self, id: ConnId) {
        self.last_said.remove(&id);
    }

    /// The record of what an account room keeps (see [`Moderation::restore`]):
    /// one line per item, never the invitations, the roles of users not
    /// logged in, nor the slow-mode clocks.
    pub fn saved(&self) -> String {
        let mut out = String::new();
        let flags: Vec<&str> = Flag::ALL
            .into_iter()
            .filter(|&f| self.is(f))
            .map(Flag::name)
            .collect();
        out.push_str(&format!("flags {}\n", flags.join(",")));
        if let Some(limit) = self.limit {
            out.push_str(&format!("limit {limit}\n"));
        }
        if let Some(slow) = self.slow {
            out.push_str(&format!("slow {slow}\n"));
        }
        for g in self.grants.iter().filter(|g| g.account) {
            out.push_str(&format!("{} {}\n", g.role.name(), g.nick));
        }
        for list in List::ALL {
            for l in self.list(list) {
                out.push_str(&format!("{} {} {} {}\n", list.name(), l.at, l.by, l.mask));
            }
        }
        // Last: its text runs to the end of the line.
        if let Some(t) = &self.topic {
            out.push_str(&format!("topic {} {} {}\n", t.at, t.by, t.text));
        }
        out
    }

    /// The state [`Moderation::saved`] wrote; a line it does not know is skipped.
    pub fn restore(saved: &str) -> Moderation {
        let mut m = Moderation::default();
        for line in saved.lines() {
            let mut words = line.splitn(4, ' ');
            let (Some(kind), rest) = (words.next(), words) else {
                continue;
            };
            let parts: Vec<&str> = rest.collect();
            match (kind, parts.as_slice()) {
                ("flags", [list, ..]) => {
                    m.flags = [false; 5];
                    for name in list.split(',') {
                        if let Some(f) = Flag::named(name) {
                            m.set(f, true);
                        }
                    }
                }
                ("flags", []) => m.flags = [false; 5],
                ("limit", [n, ..]) => m.limit = n.parse().ok(),
                ("slow", [n, ..]) => m.slow = n.parse().ok(),
                ("op" | "voice", [nick, ..]) => {
                    let role = if kind == "op" { Role::Op } else { Role::Voice };
                    m.grant(nick, true, role, true);
                }
                (kind, [at, by, mask]) if List::ALL.iter().any(|l| l.name() == kind) => {
                    let list = List::ALL
                        .into_iter()
                        .find(|l| l.name() == kind)
                        .unwrap_or(List::Ban);
                    let _ = m.mark(list, mask, true, by, at.parse().unwrap_or(0));
                }
                ("topic", [at, by, text]) => {
                    m.topic = Some(Topic {
                        text: (*text).to_string(),
                        by: (*by).to_string(),
                        at: at.parse().unwrap_or(0),
                    });
                }
                _ => {}
            }
        }
        m
    }
}

/// The mask a `BAN`/`MUTE` argument stands for: a nick `bob` is
/// `bob!*@*`, a mask `nick!user@host` is kept as written.
///
/// # Errors
/// `BAD_SETTING` for anything else: spaces, controls, non-ASCII, more than
/// [`MASK_LEN`] bytes, or not of the shape `a!b@c`.
pub fn normalize(who: &str) -> Result<String, Refusal> {
    let bad = || {
        Refusal::new(
            ErrCode::BadSetting,
            format!(
                "{} is not a nick or a mask nick!user@host (printable ASCII, at most {MASK_LEN} bytes)",
                crate::proto::lines::clip(who, 40)
            ),
        )
    };
    if who.is_empty() || who.len() > MASK_LEN || !who.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    if !who.contains(['!', '@']) {
        return Ok(format!("{who}!*@*"));
    }
    let (nick, rest) = who.split_once('!').ok_or_else(bad)?;
    let (user, host) = rest.split_once('@').ok_or_else(bad)?;
    if nick.is_empty() || user.is_empty() || host.is_empty() || host.contains(['!', '@']) {
        return Err(bad());
    }
    Ok(who.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_whole_idents_in_any_case() {
        let mut m = Moderation::default();
        for mask in ["bar!*@*", "*!*@10.0.0.?"] {
            m.mark(List::Ban, mask, true, "ana", 0).unwrap();
        }
        assert!(m.listed(List::Ban, "Bar!bar@127.0.0.1"));
        assert!(m.listed(List::Ban, "x!y@10.0.0.7"));
        assert!(!m.listed(List::Ban, "x!y@10.0.0.77"));
        assert!(!m.listed(List::Ban, "barn!u@h"));
    }

    #[test]
    fn a_nick_is_a_mask_and_junk_is_refused() {
        assert_eq!(normalize("bob").unwrap(), "bob!*@*");
        assert_eq!(normalize("*!*@10.0.0.7").unwrap(), "*!*@10.0.0.7");
        for bad in [
            "",
            "a b",
            "a!b",
            "a@b!c",
            "!u@h",
            "n!@h",
            "é",
            &"x".repeat(101),
        ] {
            assert_eq!(
                normalize(bad).unwrap_err().code,
                ErrCode::BadSetting,
                "{bad}"
            );
        }
    }

    #[test]
    fn changes_say_whether_they_changed_anything() {
        let mut m = Moderation::default();
        assert!(m.is(Flag::TopicLock) && m.is(Flag::NoOutside) && !m.is(Flag::Moderated));
        assert!(!m.set(Flag::TopicLock, true));
        assert!(m.set(Flag::Moderated, true));
        assert!(m.grant("Bob", false, Role::Voice, true));
        assert!(!m.grant("bob", false, Role::Voice, true));
        assert!(m.has("BOB", false, Role::Voice));
        assert!(m.mark(List::Ban, "x!*@*", true, "ana", 1).unwrap());
        assert!(!m.mark(List::Ban, "X!*@*", true, "ana", 2).unwrap());
        assert!(m.listed(List::Ban, "x!x@h"));
        assert!(!m.listed(List::Mute, "x!x@h"));
        for i in 1..MAX_LIST {
            m.mark(List::Ban, &format!("n{i}!*@*"), true, "ana", 0)
                .unwrap();
        }
        assert_eq!(
            m.mark(List::Ban, "full!*@*", true, "ana", 0)
                .unwrap_err()
                .code,
            ErrCode::BadSetting
        );
    }

    #[test]
    fn an_accounts_role_is_only_its_logged_in_users() {
        let mut m = Moderation::default();
        m.grant("ana", true, Role::Op, true);
        assert!(m.has("ana", true, Role::Op));
        assert!(!m.has("ana", false, Role::Op));
        m.forget_guest("ana");
        assert!(m.has("ana", true, Role::Op));
        m.grant("bob", false, Role::Op, true);
        m.renamed("bob", "rob", false);
        assert!(!m.has("bob", false, Role::Op) && m.has("rob", false, Role::Op));
        m.forget_guest("rob");
        assert!(!m.has("rob", false, Role::Op));
    }

    #[test]
    fn slow_mode_counts_whole_seconds_up() {
        let mut m = Moderation {
            slow: Some(10),
            ..Moderation::default()
        };
        assert_eq!(m.wait_left(1, 5_000), 0);
        m.last_said.insert(1, 5_000);
        assert_eq!(m.wait_left(1, 5_001), 10);
        assert_eq!(m.wait_left(1, 14_000), 1);
        assert_eq!(m.wait_left(1, 15_000), 0);
        m.left(1);
        assert_eq!(m.wait_left(1, 5_001), 0);
    }

    #[test]
    fn what_an_account_room_keeps_comes_back() {
        let mut m = Moderation {
            topic: Some(Topic {
                text: "Week 3: sockets  (two spaces)".into(),
                by: "ana".into(),
                at: 42,
            }),
            ..Moderation::default()
        };
        m.set(Flag::TopicLock, false);
        m.set(Flag::Secret, true);
        m.limit = Some(30);
        m.slow = Some(15);
        m.grant("bob", true, Role::Op, true);
        m.grant("guest7", false, Role::Voice, true);
        m.mark(List::Ban, "*!*@10.0.0.7", true, "ana", 5).unwrap();
        m.mark(List::Mute, "carl!*@*", true, "bob", 6).unwrap();
        m.mark(List::Except, "ana!*@*", true, "bob", 7).unwrap();
        m.mark(List::Allow, "*!*@10.0.0.*", true, "bob", 8).unwrap();
        m.invited.push(9);
        let back = Moderation::restore(&m.saved());
        let mut expected = m.clone();
        expected.grants.retain(|g| g.account);
        expected.invited.clear();
        assert_eq!(back, expected);
        assert_eq!(Moderation::restore(""), Moderation::default());
        let all_off = Moderation::restore("flags \nnonsense line\n");
        assert!(Flag::ALL.iter().all(|&f| !all_off.is(f)));
    }
}
