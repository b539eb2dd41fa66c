//! Why a command was refused: the contract's error codes and the refusal
//! sent back as `ERR <code> <text>`.

use std::fmt;

/// The error codes of the contract, in the order protocol.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrCode {
    BadName,
    NickTaken,
    NickReserved,
    BadPassword,
    NoSuchRoom,
    NoSuchUser,
    NotMember,
    AlreadyMember,
    NotOwner,
    BadKey,
    EmptyMessage,
    MissingArgument,
    UnknownCommand,
    LineTooLong,
    BadUtf8,
    ServerFull,
    AlreadyRegistered,
    TooManyRooms,
    InboxFull,
    TooManyConnections,
    BadText,
    BadToken,
    NotOperator,
    Banned,
    InviteOnly,
    RoomFull,
    Moderated,
    Muted,
    SlowMode,
    NotAdmin,
    BadSetting,
    FileTooLarge,
    QuotaFull,
    NoFiles,
}

impl ErrCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrCode; 34] = [
        ErrCode::BadName,
        ErrCode::NickTaken,
        ErrCode::NickReserved,
        ErrCode::BadPassword,
        ErrCode::NoSuchRoom,
        ErrCode::NoSuchUser,
        ErrCode::NotMember,
        ErrCode::AlreadyMember,
        ErrCode::NotOwner,
        ErrCode::BadKey,
        ErrCode::EmptyMessage,
        ErrCode::MissingArgument,
        ErrCode::UnknownCommand,
        ErrCode::LineTooLong,
        ErrCode::BadUtf8,
        ErrCode::ServerFull,
        ErrCode::AlreadyRegistered,
        ErrCode::TooManyRooms,
        ErrCode::InboxFull,
        ErrCode::TooManyConnections,
        ErrCode::BadText,
        ErrCode::BadToken,
        ErrCode::NotOperator,
        ErrCode::Banned,
        ErrCode::InviteOnly,
        ErrCode::RoomFull,
        ErrCode::Moderated,
        ErrCode::Muted,
        ErrCode::SlowMode,
        ErrCode::NotAdmin,
        ErrCode::BadSetting,
        ErrCode::FileTooLarge,
        ErrCode::QuotaFull,
        ErrCode::NoFiles,
    ];

    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrCode::BadName => "BAD_NAME",
            ErrCode::NickTaken => "NICK_TAKEN",
            ErrCode::NickReserved => "NICK_RESERVED",
            ErrCode::BadPassword => "BAD_PASSWORD",
            ErrCode::NoSuchRoom => "NO_SUCH_ROOM",
            ErrCode::NoSuchUser => "NO_SUCH_USER",
            ErrCode::NotMember => "NOT_MEMBER",
            ErrCode::AlreadyMember => "ALREADY_MEMBER",
            ErrCode::NotOwner => "NOT_OWNER",
            ErrCode::BadKey => "BAD_KEY",
            ErrCode::EmptyMessage => "EMPTY_MESSAGE",
            ErrCode::MissingArgument => "MISSING_ARGUMENT",
            ErrCode::UnknownCommand => "UNKNOWN_COMMAND",
            ErrCode::LineTooLong => "LINE_TOO_LONG",
            ErrCode::BadUtf8 => "BAD_UTF8",
            ErrCode::ServerFull => "SERVER_FULL",
            ErrCode::AlreadyRegistered => "ALREADY_REGISTERED",
            ErrCode::TooManyRooms => "TOO_MANY_ROOMS",
            ErrCode::InboxFull => "INBOX_FULL",
            ErrCode::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ErrCode::BadText => "BAD_TEXT",
            ErrCode::BadToken => "BAD_TOKEN",
            ErrCode::NotOperator => "NOT_OPERATOR",
            ErrCode::Banned => "BANNED",
            ErrCode::InviteOnly => "INVITE_ONLY",
            ErrCode::RoomFull => "ROOM_FULL",
            ErrCode::Moderated => "MODERATED",
            ErrCode::Muted => "MUTED",
            ErrCode::SlowMode => "SLOW_MODE",
            ErrCode::NotAdmin => "NOT_ADMIN",
            ErrCode::BadSetting => "BAD_SETTING",
            ErrCode::FileTooLarge => "FILE_TOO_LARGE",
            ErrCode::QuotaFull => "QUOTA_FULL",
            ErrCode::NoFiles => "NO_FILES",
        }
    }

    /// Parses a code as written on the wire.
    pub fn from_wire(s: &str) -> Option<ErrCode> {
        ErrCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a refusal is about where the code alone does not say it, so that a
/// door can pick its own reply (IRC's 441 rather than 442) from a value,
/// never from the English text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reason {
    /// Nothing beyond the code.
    #[default]
    Code,
    /// `NOT_MEMBER` about the user acted on (a kick's target), not the asker.
    TargetNotMember,
    /// `NOT_ADMIN` for an `OPER` naming no admin account (IRC's 491).
    NoOper,
    /// `ALREADY_MEMBER` about the user acted on (an invitation's), not the asker.
    TargetMember,
    /// A command before registration ended (IRC clients only).
    NotRegistered,
    /// `MISSING_ARGUMENT` for a kick whose target is the kicker: KICK needs
    /// another member's nick.
    KickSelf,
    /// Found by the IRC reader in this IRC command (`PRIVMSG`, `PART`...),
    /// for the numerics that name the command (400).
    Verb(&'static str),
}

/// A command failed: the code and a human explanation, sent as `ERR <code> <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrCode,
    pub text: String,
    /// What it is about, for protocols that say more than the code.
    pub reason: Reason,
}

impl Refusal {
    /// A refusal with its explanation.
    pub fn new(code: ErrCode, text: impl Into<String>) -> Refusal {
        Refusal {
            code,
            text: text.into(),
            reason: Reason::Code,
        }
    }

    /// The same refusal, about `reason`.
    #[must_use]
    pub fn because(mut self, reason: Reason) -> Refusal {
        self.reason = reason;
        self
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}
