//! IRCv3 capabilities, pure: which ones Sala offers (`CAP LS`), and a
//! client's set of enabled ones, changed by `CAP REQ` as a whole or not at all.

/// One capability Sala offers. Each is advertised only because it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// `CAP NEW`/`DEL` may come unasked (there are none yet: the list never changes).
    CapNotify,
    /// Every prefix of a member in `NAMES` and `WHO` (Sala members have one at most).
    MultiPrefix,
    /// `NAMES` shows `nick!user@host`.
    UserhostInNames,
    /// Lines relayed from users carry `@time=` (when the server relayed them).
    ServerTime,
    /// A client's own `PRIVMSG`/`NOTICE` come back to it.
    EchoMessage,
    /// Lines relayed from a logged-in user carry `@account=`.
    AccountTag,
    /// `AWAY` of channel peers is told as it happens.
    AwayNotify,
    /// `JOIN` lines carry the joiner's account and realname.
    ExtendedJoin,
    /// `AUTHENTICATE PLAIN` against Sala's accounts, before registration.
    Sasl,
    /// Tags on messages: client-only `+tags` relayed, `msgid`, `TAGMSG`.
    MessageTags,
    /// `BATCH` around answers of several lines (labeled responses, history).
    Batch,
    /// `@label=` on a command comes back on its answer (or an `ACK`).
    LabeledResponse,
    /// `ACCOUNT name` of channel peers as they log in.
    AccountNotify,
    /// `SETNAME :realname`, told to channel peers that have it.
    Setname,
    /// `CHATHISTORY` over the rooms' stored history.
    ChatHistory,
    /// `INVITE` lines of a channel's invitations, to its members.
    InviteNotify,
}

impl Cap {
    /// Every capability offered, in the order `CAP LS` lists them.
    pub const ALL: [Cap; 16] = [
        Cap::AccountNotify,
        Cap::AccountTag,
        Cap::AwayNotify,
        Cap::Batch,
        Cap::CapNotify,
        Cap::ChatHistory,
        Cap::EchoMessage,
        Cap::ExtendedJoin,
        Cap::InviteNotify,
        Cap::LabeledResponse,
        Cap::MessageTags,
        Cap::MultiPrefix,
        Cap::Sasl,
        Cap::ServerTime,
        Cap::Setname,
        Cap::UserhostInNames,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Cap::CapNotify => "cap-notify",
            Cap::MultiPrefix => "multi-prefix",
            Cap::UserhostInNames => "userhost-in-names",
            Cap::ServerTime => "server-time",
            Cap::EchoMessage => "echo-message",
            Cap::AccountTag => "account-tag",
            Cap::AwayNotify => "away-notify",
            Cap::ExtendedJoin => "extended-join",
            Cap::Sasl => "sasl",
            Cap::MessageTags => "message-tags",
            Cap::Batch => "batch",
            Cap::LabeledResponse => "labeled-response",
            Cap::AccountNotify => "account-notify",
            Cap::Setname => "setname",
            Cap::ChatHistory => "draft/chathistory",
            Cap::InviteNotify => "invite-notify",
        }
    }

    /// The capability called `name` (exactly, as the names are lower case).
    pub fn of(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The name, with its value for a `CAP LS 302` client.
    pub fn advertised(self, v302: bool) -> &'static str {
        match self {
            Cap::Sasl if v302 => "sasl=PLAIN",
            _ => self.name(),
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The capabilities one client has enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps(u32);

impl Caps {
    /// True if `cap` is enabled.
    pub fn has(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }

    /// Enables `cap`.
    pub fn add(&mut self, cap: Cap) {
        self.0 |= cap.bit();
    }

    /// `CAP REQ :a -b ...`: the set after the request, or `None` if any
    /// name is unknown (the request is then refused whole, `NAK`).
    pub fn request(self, list: &str) -> Option<Caps> {
        let mut caps = self;
        let mut any = false;
        for word in list.split(' ').filter(|w| !w.is_empty()) {
            any = true;
            let (off, name) = match word.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, word),
            };
            let cap = Cap::of(name)?;
            // cap-notify cannot be turned off by a 302 client; Sala allows it.
            if off {
                caps.0 &= !cap.bit();
            } else {
                caps.0 |= cap.bit();
            }
        }
        any.then_some(caps)
    }

    /// The form of shared events a client with these capabilities gets
    /// ([`crate::net::outbox::Outbox::flavor`]): the `FLAVOR_` bits.
    pub fn flavor(self) -> u32 {
        let mut flavor = 0;
        for (cap, bit) in [
            (Cap::ServerTime, FLAVOR_TIME),
            (Cap::AccountTag, FLAVOR_ACCOUNT),
            (Cap::EchoMessage, FLAVOR_ECHO),
            (Cap::ExtendedJoin, FLAVOR_EXTENDED_JOIN),
            (Cap::MessageTags, FLAVOR_TAGS),
            (Cap::Setname, FLAVOR_SETNAME),
            (Cap::AccountNotify, FLAVOR_ACCOUNT_NOTIFY),
        ] {
            if self.has(cap) {
                flavor |= bit;
            }
        }
        flavor
    }

    /// The names of the enabled capabilities, separated by spaces (`CAP LIST`).
    pub fn names(self) -> String {
        let on: Vec<&str> = Cap::ALL
            .into_iter()
            .filter(|c| self.has(*c))
            .map(Cap::name)
            .collect();
        on.join(" ")
    }
}

/// [`Caps::flavor`]: `@time=` on relayed lines.
pub const FLAVOR_TIME: u32 = 1;
/// [`Caps::flavor`]: `@account=` on lines from logged-in users.
pub const FLAVOR_ACCOUNT: u32 = 2;
/// [`Caps::flavor`]: one's own messages come back.
pub const FLAVOR_ECHO: u32 = 4;
/// [`Caps::flavor`]: `JOIN #chan account :realname`.
pub const FLAVOR_EXTENDED_JOIN: u32 = 8;

/// [`Caps::flavor`]: `msgid` and client-only tags; `TAGMSG` at all.
pub const FLAVOR_TAGS: u32 = 16;
/// [`Caps::flavor`]: `SETNAME` of channel peers.
pub const FLAVOR_SETNAME: u32 = 32;
/// [`Caps::flavor`]: `ACCOUNT` of channel peers.
pub const FLAVOR_ACCOUNT_NOTIFY: u32 = 64;
/// The flavor bits that change how a line looks (the others say whether it is sent).
pub const FLAVOR_FORM: u32 = FLAVOR_TIME | FLAVOR_ACCOUNT | FLAVOR_EXTENDED_JOIN | FLAVOR_TAGS;

/// The `CAP LS` list: every capability offered, separated by spaces.
pub fn offered(v302: bool) -> String {
    let all: Vec<&str> = Cap::ALL.into_iter().map(|c| c.advertised(v302)).collect();
    all.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_taken_whole_or_refused_whole() {
        let caps = Caps::default();
        let both = caps
            .request("multi-prefix userhost-in-names")
            .expect("known caps");
        assert!(both.has(Cap::MultiPrefix) && both.has(Cap::UserhostInNames));
        assert_eq!(both.names(), "multi-prefix userhost-in-names");
        assert_eq!(both.flavor(), 0);
        let timed = both.request("server-time echo-message").expect("known");
        assert_eq!(timed.flavor(), FLAVOR_TIME | FLAVOR_ECHO);
        assert_eq!(caps.request("foo multi-prefix"), None);
        assert_eq!(caps.request(""), None);
        let one = both.request("-userhost-in-names").expect("a removal");
        assert_eq!(one.names(), "multi-prefix");
        assert_eq!(
            offered(true),
            "account-notify account-tag away-notify batch cap-notify draft/chathistory \
             echo-message extended-join invite-notify labeled-response message-tags \
             multi-prefix sasl=PLAIN server-time setname userhost-in-names"
        );
    }
}
