//! The dispatcher: the one thread that applies commands to the chat state,
//! in the order they arrive, and routes the resulting events to the
//! connections' outboxes. It never blocks on a socket: a full outbox means a
//! slow reader, which is cut off.
//!
//! It works in batches: it applies every input that is waiting, commits the
//! store once, and only then hands the batch's events to the outboxes, so an
//! echo never announces a message that a crash could still lose.

use crate::chat::{Chat, ConnId, RoomId};
use crate::dispatch::accounts::Job;
use crate::ids::Protocol;
use crate::net::outbox::Outbox;
use crate::net::shutdown::Stopper;
use crate::proto::chat1::Event;
use crate::proto::command::{Command, Ircv3};
use crate::proto::irc::{self, Query};
use crate::proto::refusal::{ErrCode, Reason, Refusal};
use crate::store::{Store, now_ms};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use log::{error, info, warn};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod accounts;
mod chathistory;
mod delivery;
pub mod files;
mod irc_modes;
mod irc_queries;
mod ircv3;
mod keys;
mod logins;
mod moderation;
mod tokens;
mod verbs;
mod voice;
mod whispers;

use delivery::Staged;
use voice::{Origin, Shared, Tone, Voice};

/// Most inputs applied per batch.
const BATCH: usize = 1024;
/// Staged events that make the dispatcher commit and deliver before the
/// batch ends: the writer starts sending while the rest is applied.
const DELIVER_AT: usize = 4096;
/// Most lines kept from a connection while its password is being checked.
const MAX_WAITING: usize = 4096;
/// How often stale account rooms are looked for (besides at start): an
/// expiry counted in days need not be checked more often.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// What reaches the dispatcher, from the acceptor, the readers and the password worker.
#[derive(Debug)]
pub enum Input {
    /// A connection was accepted; the writer serves `outbox`.
    Connect {
        id: ConnId,
        peer: SocketAddr,
        outbox: Outbox,
        /// For shutting the connection down; `None` in tests without sockets.
        socket: Option<Arc<TcpStream>>,
    },
    /// A line from a connection, parsed, or the refusal the parser gave it.
    Command {
        id: ConnId,
        command: Result<Command, Refusal>,
    },
    /// The connection's reader stopped: the peer closed, reset or timed out.
    Disconnect { id: ConnId, reason: String },
    /// The password worker checked a `NICK nick password`.
    Verified { id: ConnId, nick: String, ok: bool },
    /// The password worker checked a SASL PLAIN password for `account`.
    SaslChecked {
        id: ConnId,
        account: String,
        ok: bool,
    },
    /// The password worker hashed a `REGISTER` password.
    Hashed {
        id: ConnId,
        nick: String,
        hash: crate::Result<String>,
    },
    /// A password worker checked the key of a `JOIN room key` against the
    /// room's `hash`; `rehash` is the key's new hash when `hash` is of an
    /// older kind and matched.
    KeyChecked {
        id: ConnId,
        room: String,
        key: String,
        hash: String,
        ok: bool,
        rehash: Option<String>,
    },
    /// A password worker hashed the key of a `JOIN room key` that creates
    /// the room, or of a `SET room key key` (`set`).
    KeyHashed {
        id: ConnId,
        room: String,
        key: String,
        hash: crate::Result<String>,
        set: bool,
    },
    /// The password worker checked the password of IRC's `OPER account password`.
    OperChecked {
        id: ConnId,
        account: String,
        ok: bool,
    },
    /// The web door finished (or gave up) an upload (`src/dispatch/files.rs`).
    Upload(Box<files::Outcome>),
    /// The server is stopping: say `BYE` to everyone and return.
    Shutdown,
}

/// Where the dispatcher reads the time for the waits between password tries:
/// the real clock, or a test's.
pub type Clock = Box<dyn Fn() -> Instant + Send>;

/// The routing table of the design card: each room's members' outboxes.
///
/// Only the dispatcher writes it; other threads may read it for counts, never
/// holding the lock across I/O.
pub type Routes = Mutex<HashMap<RoomId, Vec<Outbox>>>;

/// Settings the dispatcher needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Text of the `WELCOME` line.
    pub welcome: String,
    /// Most whispers kept for one absent account.
    pub inbox_cap: usize,
    /// An account's room with no member and no message for this long is
    /// removed with its history; zero: never.
    pub room_expiry: Duration,
    /// The server's name on IRC: in every prefix and numeric.
    pub server_name: String,
}

/// A connected client as the dispatcher sees it.
#[derive(Debug)]
struct Client {
    outbox: Outbox,
    socket: Option<Arc<TcpStream>>,
    peer: SocketAddr,
    /// What only IRC connections have; `None` for CHAT/1.
    irc: Option<IrcUser>,
}

/// The state of an IRC connection beyond the chat's own.
#[derive(Debug, Default)]
struct IrcUser {
    /// Registration is over: the welcome burst was sent.
    welcomed: bool,
    /// The `AWAY` message, if set.
    away: Option<String>,
    /// User mode `+i`: hidden from `WHO` masks of users sharing no channel.
    invisible: bool,
    /// The username `USER` gave (empty until then).
    user: String,
    /// The realname `USER` gave.
    real: String,
    /// The IRCv3 capabilities it enabled.
    caps: irc::Caps,
    /// Its `AUTHENTICATE` exchange.
    sasl: irc::sasl::Sasl,
    /// The account SASL logged it in to: registering (or renaming) to that
    /// nick needs no password.
    sasl_account: Option<String>,
}

impl Client {
    /// shutdown(2) of the read side: the reader's blocked recv returns 0 bytes.
    fn stop_reading(&self) {
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

/// The single writer of chat state.
pub struct Dispatcher {
    chat: Chat,
    store: Box<dyn Store>,
    /// Registered nicks (lower case) to (nick as written, password hash).
    accounts: HashMap<String, (String, String)>,
    clients: HashMap<ConnId, Client>,
    routes: Arc<Routes>,
    settings: Settings,
    /// Events of the current batch, in order, waiting for the commit.
    staged: Vec<Staged>,
    /// Connections whose outbox was full when the batch was handed over.
    slow: Vec<ConnId>,
    /// Where password work goes (a bounded queue to the password workers);
    /// `None` in tests without workers.
    jobs: Option<Sender<Job>>,
    /// Wrong passwords in a row, per account and per address.
    tries: logins::Tries,
    /// The time, for the waits between password tries.
    clock: Clock,
    /// Commands refused because the password queue was full.
    busy_refusals: u64,
    /// Nicks with a registration under way.
    registering: Vec<String>,
    /// Login tokens of accounts (`TOKEN`, `RESUME`, `REVOKE`), kept hashed.
    tokens: tokens::Tokens,
    /// Lines of connections waiting for a password check, applied after it.
    waiting: HashMap<ConnId, VecDeque<Result<Command, Refusal>>>,
    /// The store failed to commit (the first error): stop.
    broken: Option<crate::Error>,
    /// IRC connections open: while 0, no event is rendered for IRC.
    irc_clients: usize,
    /// The server's name on IRC ([`Settings::server_name`]), shared by every [`Voice`].
    server: Arc<str>,
    /// IRC connections still registering (not counted as users by `LUSERS`).
    irc_pending: usize,
    /// The most users registered at once (`LUSERS`).
    peak_users: usize,
    /// When the dispatcher started, for the IRC welcome.
    started: String,
    /// Stops the whole server when the store fails; `None` in tests.
    stopper: Option<Stopper>,
    /// Shared files, when the web door takes them ([`Dispatcher::with_files`]).
    files: Option<files::Files>,
    /// IRCv3: the tags of the line being applied, labels, message ids.
    v3: ircv3::State,
}

impl Dispatcher {
    /// A dispatcher over `chat` and `store`, publishing membership in `routes`.
    /// Accounts and account rooms are loaded from the store; the rooms that
    /// expired while the server was down are removed at once.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn new(
        mut chat: Chat,
        mut store: Box<dyn Store>,
        routes: Arc<Routes>,
        settings: Settings,
        jobs: Option<Sender<Job>>,
    ) -> crate::Result<Dispatcher> {
        for room in store.rooms()? {
            chat.restore(&room);
        }
        let now = now_ms();
        let (kept, expired): (Vec<_>, Vec<_>) =
            store.tokens()?.into_iter().partition(|t| t.expires > now);
        for token in &expired {
            store.forget_token(&token.digest)?;
        }
        let tokens = tokens::Tokens::from_stored(kept);
        let accounts = store
            .accounts()?
            .into_iter()
            .map(|(nick, hash)| (nick.to_ascii_lowercase(), (nick, hash)))
            .collect();
        let mut dispatcher = Dispatcher {
            server: Arc::from(settings.server_name.as_str()),
            chat,
            store,
            accounts,
            clients: HashMap::new(),
            routes,
            settings,
            staged: Vec::new(),
            slow: Vec::new(),
            jobs,
            tries: logins::Tries::default(),
            clock: Box::new(Instant::now),
            busy_refusals: 0,
            registering: Vec::new(),
            tokens,
            waiting: HashMap::new(),
            broken: None,
            irc_clients: 0,
            irc_pending: 0,
            peak_users: 0,
            started: irc::clock(now_ms()),
            stopper: None,
            files: None,
            v3: ircv3::State::default(),
        };
        let expired_rooms = dispatcher.expire_rooms(now_ms());
        if (expired_rooms > 0 || !expired.is_empty()) && !dispatcher.commit() {
            return Err(crate::Error::store(
                "cannot remove expired rooms and tokens",
            ));
        }
        Ok(dispatcher)
    }

    /// Asks `stopper` to stop the server if the store fails.
    pub fn stop_on_failure(&mut self, stopper: Stopper) {
        self.stopper = Some(stopper);
    }

    /// Applies inputs until [`Input::Shutdown`] or until every sender is gone.
    ///
    /// Inputs are taken in batches: whatever queued up while the last batch was
    /// applied is applied next, with one store commit for all of it. Between
    /// batches, once every [`SWEEP_EVERY`], stale account rooms are removed.
    ///
    /// # Errors
    /// The store could not commit: everyone was told `BYE` and the server
    /// asked to stop; the error says why, for the exit status.
    pub fn run(mut self, inputs: &Receiver<Input>) -> crate::Result<()> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut running = true;
        let mut next_sweep = Instant::now() + SWEEP_EVERY;
        while running {
            if Instant::now() >= next_sweep {
                self.expire_rooms(now_ms());
                self.expire_files(now_ms());
                self.deliver();
                next_sweep = Instant::now() + SWEEP_EVERY;
            }
            let wait = next_sweep.saturating_duration_since(Instant::now());
            let first = match inputs.recv_timeout(wait) {
                Ok(first) => first,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            batch.push(first);
            batch.extend(inputs.try_iter().take(BATCH - 1));
            for input in batch.drain(..) {
                // A bug in one command must not take every user down with it.
                match std::panic::catch_unwind(AssertUnwindSafe(|| self.apply(input))) {
                    Ok(true) => {}
                    Ok(false) => {
                        running = false;
                        break;
                    }
                    Err(_) => error!("dispatcher: a command panicked and was skipped"),
                }
                // Hand big batches over in parts, so the writer works meanwhile.
                if self.staged.len() >= DELIVER_AT {
                    self.deliver();
                }
            }
            self.deliver();
            if self.broken.is_some() {
                break;
            }
        }
        match self.broken.take() {
            Some(e) => {
                self.goodbye("server stopping: it cannot write its database");
                if let Some(stopper) = &self.stopper {
                    stopper.stop();
                }
                Err(crate::Error::store(format!(
                    "cannot write the database: {e}"
                )))
            }
            None => {
                self.goodbye("server shutting down");
                Ok(())
            }
        }
    }

    /// Applies one input and delivers its events at once (tests, one at a time).
    pub fn handle(&mut self, input: Input) -> bool {
        let go_on = self.apply(input);
        self.deliver();
        go_on
    }

    /// Applies one input; false when it was [`Input::Shutdown`].
    fn apply(&mut self, input: Input) -> bool {
        // Where this input's events start: a labeled line that waited for
        // the password workers gathers its answer from here (ircv3.rs).
        self.v3.input_mark = self.staged.len();
        match input {
            Input::Connect {
                id,
                peer,
                outbox,
                socket,
            } => self.connect(id, peer, outbox, socket),
            Input::Command { id, command } => self.line(id, command),
            Input::Disconnect { id, reason } => self.drop_client(id, &reason),
            Input::Verified { id, nick, ok } => self.verified(id, &nick, ok),
            Input::Hashed { id, nick, hash } => self.hashed(id, &nick, hash),
            Input::KeyChecked {
                id,
                room,
                key,
                hash,
                ok,
                rehash,
            } => {
                let found = keys::Found {
                    checked: Some((hash, ok)),
                    hashed: rehash,
                };
                self.key_checked(id, &room, &key, found);
            }
            Input::KeyHashed {
                id,
                room,
                key,
                hash,
                set: false,
            } => self.key_hashed(id, &room, &key, hash),
            Input::KeyHashed {
                id,
                room,
                key,
                hash,
                set: true,
            } => self.key_set(id, &room, &key, hash),
            Input::OperChecked { id, account, ok } => self.oper_checked(id, &account, ok),
            Input::SaslChecked { id, account, ok } => {
                self.sasl_checked(id, account, ok);
                self.resume(id);
            }
            Input::Upload(outcome) => self.upload_ended(*outcome),
            Input::Shutdown => return false,
        }
        true
    }

    /// A line from `id`: applied now, or after the password check it waits for.
    fn line(&mut self, id: ConnId, command: Result<Command, Refusal>) {
        if let Some(waiting) = self.waiting.get_mut(&id) {
            if waiting.len() < MAX_WAITING {
                waiting.push_back(command);
            } else {
                warn!("conn {id}: too many lines while its password is checked");
                self.remove(
                    id,
                    "flooded while logging in",
                    "too many lines while logging in",
                );
            }
            return;
        }
        match command {
            Ok(command) => self.command(id, command),
            Err(refusal) => self.refuse(id, &refusal),
        }
    }

    /// Applies the lines that waited for a password check, until one starts another.
    fn resume(&mut self, id: ConnId) {
        let Some(mut queue) = self.waiting.remove(&id) else {
            return;
        };
        while let Some(command) = queue.pop_front() {
            self.line(id, command);
            if let Some(waiting) = self.waiting.get_mut(&id) {
                waiting.extend(queue);
                return;
            }
        }
    }

    /// One arm per verb of the contract.
    fn command(&mut self, id: ConnId, command: Command) {
        let Some(client) = self.clients.get(&id) else {
            return; // Already dropped: a line that was in flight.
        };
        // A tagged line is checked command by command, as it is applied.
        let command = match command {
            Command::Irc(Query::Ircv3(v3 @ (Ircv3::Tagged(_) | Ircv3::LabelEnd { .. }))) => {
                return self.ircv3(id, v3);
            }
            command => command,
        };
        let subject = match &client.irc {
            None => irc::Subject::Nothing,
            Some(user) => {
                if !user.welcomed && !registering(&command) {
                    let refusal = Refusal::new(ErrCode::UnknownCommand, "You have not registered")
                        .because(Reason::NotRegistered);
                    return self.refuse(id, &refusal);
                }
                irc::subject(&command)
            }
        };
        let done = match command {
            // IRC: a NICK to one's own nick, exactly, changes nothing and says nothing.
            Command::Nick { nick, .. } if self.is_irc_nick(id, &nick) => Ok(()),
            // IRC: the account SASL logged in to, taken as its nick.
            Command::Nick { nick, .. } if self.is_sasl_account(id, &nick) => {
                self.log_in(id, &nick);
                Ok(())
            }
            Command::Nick { nick, password } => self.nick(id, &nick, password),
            Command::Register { password } => self.register(id, password),
            Command::Token => self.issue_token(id),
            Command::Resume { token } => self.resume_login(id, &token),
            Command::Revoke { token } => self.revoke_token(id, &token),
            Command::Join { room, key } => self.join(id, &room, key.as_deref()),
            Command::Part { room, text } => self.part(id, &room, text.as_deref()),
            Command::Say { room, text } => self.say(id, &room, &text, Tone::Said),
            Command::Whisper { nick, text } => self.whisper(id, &nick, &text, Tone::Said),
            Command::Broadcast { text } => self.broadcast(id, &text, Tone::Said),
            Command::Rooms => self.rooms(id),
            Command::Who { room } => self.who(id, &room),
            Command::Users => self.users(id),
            Command::Kick { room, nick, text } => self.kick(id, &room, &nick, text.as_deref()),
            Command::Delete { room } => self.delete(id, &room),
            Command::History { room, before } => self.page(id, &room, before),
            Command::Topic { room, text } => self.topic(id, &room, text.as_deref()),
            Command::Set {
                room,
                setting,
                value,
            } => self.set(id, &room, &setting, value.as_deref(), true),
            Command::Unset { room, setting } => self.set(id, &room, &setting, None, false),
            Command::Settings { room } => self.settings(id, &room),
            Command::Moderate { room, act, who } => self.moderate(id, &room, act, &who),
            Command::Invite { room, nick } => self.invite(id, &room, &nick),
            Command::Kill { nick, text } => self.kill(id, &nick, text.as_deref()),
            Command::Irc(Query::Oper { name, password }) => self.oper(id, &name, password),
            Command::Ping { token } => self.pong(id, token.as_deref()),
            Command::Quit { text } => self.quit(id, text.as_deref()),
            Command::Upload { target, size, name } => self.upload(id, target, size, &name),
            Command::Irc(Query::Notice { message }) => {
                // RFC 2812: a NOTICE is never answered with an error.
                let _ = match *message {
                    Command::Say { room, text } => self.say(id, &room, &text, Tone::Noticed),
                    Command::Whisper { nick, text } => {
                        self.whisper(id, &nick, &text, Tone::Noticed)
                    }
                    Command::Broadcast { text } => self.broadcast(id, &text, Tone::Noticed),
                    _ => Ok(()),
                };
                Ok(())
            }
            Command::Irc(Query::Ircv3(request)) => {
                self.ircv3(id, request);
                Ok(())
            }
            Command::Irc(query) => self.irc(id, query),
        };
        if let Err(refusal) = done {
            self.refuse_about(id, &refusal, &subject);
        }
    }

    fn connect(
        &mut self,
        id: ConnId,
        peer: SocketAddr,
        outbox: Outbox,
        socket: Option<Arc<TcpStream>>,
    ) {
        let nick = self.chat.connect(id).to_string();
        // Ban and mute masks match the address as the server sees it.
        self.chat.set_ident(id, None, &peer.ip().to_string());
        info!("conn {id} from {peer} is {nick}");
        let door = outbox.protocol();
        self.clients.insert(
            id,
            Client {
                outbox,
                socket,
                peer,
                irc: (door == Protocol::Irc).then(IrcUser::default),
            },
        );
        if door == Protocol::Irc {
            // IRC clients speak first (NICK, USER); they are greeted after.
            self.irc_clients += 1;
            self.irc_pending += 1;
            return;
        }
        self.count_peak();
        let mut welcome = Vec::new();
        let event = Event::Welcome {
            nick: &nick,
            text: &self.settings.welcome,
        };
        self.voice(id).event(&event, &mut welcome);
        self.reply(id, welcome);
    }

    fn refuse(&mut self, id: ConnId, refusal: &Refusal) {
        self.refuse_about(id, refusal, &irc::Subject::Nothing);
    }

    /// Refuses a command about `subject` (its room's channel or nick, for IRC numerics).
    fn refuse_about(&mut self, id: ConnId, refusal: &Refusal, subject: &irc::Subject) {
        let mut out = Vec::new();
        self.voice(id).refusal(refusal, subject, &mut out);
        self.reply(id, out);
    }

    /// How client `id` is spoken to: IRC clients by their nick in numerics
    /// (`*` before their registration ends).
    fn voice(&self, id: ConnId) -> Voice {
        match self.clients.get(&id).and_then(|c| c.irc.as_ref()) {
            None => Voice::Chat1,
            Some(user) if user.welcomed => Voice::Irc {
                me: self.chat.nick(id).to_string(),
                server: Arc::clone(&self.server),
                caps: user.caps,
            },
            Some(user) => Voice::Irc {
                me: "*".into(),
                server: Arc::clone(&self.server),
                caps: user.caps,
            },
        }
    }

    /// Renders `event` once for every protocol in use.
    fn render_said(&self, event: &Event<'_>) -> Shared {
        self.render(event, Tone::Said)
    }

    /// Renders `event`, said in `tone`, once for every protocol in use.
    fn render(&self, event: &Event<'_>, tone: Tone) -> Shared {
        if self.irc_clients == 0 {
            return Shared::new(event, tone, None);
        }
        let nick = irc::source_nick(event).unwrap_or_default();
        // A rename is rendered once done: its user goes by the new nick.
        let now = match *event {
            Event::Nick { new, .. } => new,
            _ => nick,
        };
        let Some(id) = self.chat.find(now) else {
            return self.render_as(event, tone, (None, None));
        };
        let ident = self.ident(id);
        let from = Origin {
            source: irc::Source {
                user: ident.map_or(nick, |(user, _)| user),
                host: &self.server,
            },
            account: self.account_of(id),
            real: ident.map_or(nick, |(_, real)| real),
        };
        Shared::new(event, tone, Some(&from))
    }

    /// Renders `event` once for every protocol in use, from a user who is
    /// gone already, whose username was `user` (`None`: its nick) and
    /// account `account`.
    fn render_as(
        &self,
        event: &Event<'_>,
        tone: Tone,
        (user, account): (Option<&str>, Option<&str>),
    ) -> Shared {
        if self.irc_clients == 0 {
            return Shared::new(event, tone, None);
        }
        let nick = irc::source_nick(event).unwrap_or_default();
        let from = Origin {
            source: irc::Source {
                user: user.unwrap_or(nick),
                host: &self.server,
            },
            account,
            real: nick,
        };
        Shared::new(event, tone, Some(&from))
    }
}

fn no_room(name: &str) -> Refusal {
    Refusal::new(ErrCode::NoSuchRoom, format!("there is no room {name}"))
}

/// True for what an IRC client may send before its registration is over.
fn registering(command: &Command) -> bool {
    matches!(
        command,
        Command::Nick { .. }
            | Command::Quit { .. }
            | Command::Irc(
                Query::Cap { .. }
                    | Query::User { .. }
                    | Query::Authenticate { .. }
                    | Query::Ping { .. }
                    | Query::PingPeer
                    | Query::LoginTimeout { .. }
                    | Query::Numeric { .. }
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::outbox::Post;
    use crate::net::outbox::{Inbox, queue};
    use crate::store::{Entry, MemoryStore, Offline};
    use crossbeam_channel::Receiver as Rx;
    use std::time::Duration;

    struct Rig {
        dispatcher: Dispatcher,
        inboxes: HashMap<ConnId, Inbox>,
        _mail: Rx<Post>,
        limit: usize,
        mail_tx: crossbeam_channel::Sender<Post>,
        /// Password work, done by the test itself (no Argon2, no thread).
        jobs: Rx<Job>,
        /// How far the dispatcher's clock has been moved on.
        elapsed: Arc<Mutex<Duration>>,
    }

    impl Rig {
        fn new(limit: usize) -> Rig {
            Rig::build(limit, 16, MemoryStore::new(100), Duration::ZERO)
        }

        /// A rig whose password queue holds `queue` jobs.
        fn with_queue(limit: usize, queue: usize) -> Rig {
            Rig::build(limit, queue, MemoryStore::new(100), Duration::ZERO)
        }

        /// A rig over `store`, whose account rooms expire after `room_expiry`.
        fn with(limit: usize, store: MemoryStore, room_expiry: Duration) -> Rig {
            Rig::build(limit, 16, store, room_expiry)
        }

        fn build(limit: usize, queue: usize, store: MemoryStore, room_expiry: Duration) -> Rig {
            let (mail_tx, mail) = crossbeam_channel::unbounded();
            let (jobs_tx, jobs) = crossbeam_channel::bounded(queue);
            let mut dispatcher = Dispatcher::new(
                Chat::new(10, 0),
                Box::new(store),
                Arc::new(Routes::default()),
                Settings {
                    welcome: "hi".into(),
                    inbox_cap: 2,
                    room_expiry,
                    server_name: "sala".into(),
                },
                Some(jobs_tx),
            )
            .unwrap();
            let elapsed = Arc::new(Mutex::new(Duration::ZERO));
            let start = Instant::now();
            let clock = Arc::clone(&elapsed);
            dispatcher.clock = Box::new(move || start + *clock.lock());
            Rig {
                dispatcher,
                inboxes: HashMap::new(),
                _mail: mail,
                limit,
                mail_tx,
                jobs,
                elapsed,
            }
        }

        fn connect(&mut self, id: ConnId) {
            self.connect_from(id, [127, 0, 0, 1]);
        }

        /// Connects `id` from address `ip`.
        fn connect_from(&mut self, id: ConnId, ip: [u8; 4]) {
            let (outbox, inbox) = queue(id, self.limit, self.mail_tx.clone());
            self.inboxes.insert(id, inbox);
            self.dispatcher.handle(Input::Connect {
                id,
                peer: SocketAddr::from((ip, 1000 + u16::try_from(id).unwrap())),
                outbox,
                socket: None,
            });
        }

        /// Moves the dispatcher's clock on.
        fn advance(&mut self, by: Duration) {
            *self.elapsed.lock() += by;
        }

        /// A registered account, as loaded from the store.
        fn account(&mut self, nick: &str) {
            let entry = (nick.to_string(), "hash".to_string());
            self.dispatcher
                .accounts
                .insert(nick.to_ascii_lowercase(), entry);
        }

        /// Plays the password worker: answers the next job, which must be a
        /// check of a password, with `ok`; returns whose it was.
        fn check(&mut self, ok: bool) -> ConnId {
            match self.jobs.try_recv() {
                Ok(Job::Verify { id, nick, .. }) => {
                    self.dispatcher.handle(Input::Verified { id, nick, ok });
                    id
                }
                other => panic!("expected a password check, got {other:?}"),
            }
        }

        /// Plays a real password worker for the next job (Argon2 and all);
        /// returns whose it was.
        fn work(&mut self) -> ConnId {
            let job = self.jobs.try_recv().expect("password work waiting");
            let (one, work) = crossbeam_channel::bounded(1);
            let (answers, answer) = crossbeam_channel::unbounded();
            one.send(job).unwrap();
            drop(one);
            accounts::work(&work, &answers);
            let input = answer.try_recv().expect("an answer");
            let id = match &input {
                Input::Verified { id, .. }
                | Input::Hashed { id, .. }
                | Input::KeyChecked { id, .. }
                | Input::KeyHashed { id, .. } => *id,
                other => panic!("not an answer: {other:?}"),
            };
            self.dispatcher.handle(input);
            id
        }

        /// True if no password work is waiting.
        fn no_jobs(&self) -> bool {
            self.jobs.is_empty()
        }

        fn line(&mut self, id: ConnId, line: &str) {
            let command = crate::proto::command::parse_command(line);
            self.dispatcher.handle(Input::Command { id, command });
        }

        /// Every line queued for `id` since the last call.
        fn lines(&mut self, id: ConnId) -> Vec<String> {
            let inbox = &self.inboxes[&id];
            let mut out = String::new();
            let mut n = 0;
            while let Some(b) = inbox.try_recv() {
                out.push_str(std::str::from_utf8(&b).unwrap());
                n += 1;
            }
            inbox.done(n);
            out.lines().map(str::to_string).collect()
        }
    }

    #[test]
    fn a_room_message_reaches_members_only_in_order() {
        let mut rig = Rig::new(100);
        for id in 1..=3 {
            rig.connect(id);
        }
        rig.line(1, "NICK ana");
        rig.line(2, "NICK bob");
        rig.line(1, "JOIN lobby");
        rig.line(2, "JOIN lobby");
        rig.line(1, "SAY lobby one");
        rig.line(2, "SAY lobby two");
        assert_eq!(
            rig.lines(1),
            [
                "WELCOME guest1 hi",
                "NICK guest1 ana",
                "JOIN lobby ana",
                "MEMBERS lobby ana",
                "END MEMBERS lobby",
                "END HISTORY lobby",
                "JOIN lobby bob",
                "MSG lobby ana one",
                "MSG lobby bob two",
            ]
        );
        let bob = rig.lines(2);
        assert!(bob[2..].starts_with(&[
            "JOIN lobby bob".to_string(),
            "MEMBERS lobby ana bob".to_string(),
            "END MEMBERS lobby".to_string(),
        ]));
        assert_eq!(
            bob[5..],
            [
                "END HISTORY lobby",
                "MSG lobby ana one",
                "MSG lobby bob two"
            ]
        );
        // A later joiner gets the history.
        rig.line(3, "JOIN lobby");
        let carl = rig.lines(3);
        assert!(carl[4].starts_with("HISTORY lobby ") && carl[4].ends_with(" ana one"));
        // Before joining, the outsider saw nothing of the room.
        assert_eq!(carl[..2], ["WELCOME guest3 hi", "JOIN lobby guest3"]);
    }

    #[test]
    fn a_full_outbox_cuts_off_that_reader_only() {
        let mut rig = Rig::new(8);
        for id in 1..=3 {
            rig.connect(id);
            rig.line(id, "JOIN lobby");
        }
        for id in [1, 2] {
            rig.lines(id);
        }
        // guest3 never reads: its outbox fills and it is cut off with BYE.
        let mut ana = Vec::new();
        for i in 0..20 {
            rig.line(1, &format!("SAY lobby m{i}"));
            ana.extend(rig.lines(1));
            let got = rig.lines(2);
            assert!(
                got.iter().any(|l| l.ends_with(&format!(" m{i}"))),
                "{got:?}"
            );
        }
        assert!(!rig.dispatcher.clients.contains_key(&3));
        let cut = rig.lines(3);
        assert_eq!(
            cut.last().unwrap(),
            "BYE send queue full: you read too slowly"
        );
        assert!(rig.inboxes[&3].is_closed());
        assert!(
            ana.contains(&"QUIT guest3 send queue full".to_string()),
            "{ana:?}"
        );
    }

    #[test]
    fn quit_tells_room_mates_and_closes_the_outbox() {
        let mut rig = Rig::new(100);
        for id in 1..=3 {
            rig.connect(id);
        }
        rig.line(1, "JOIN a");
        rig.line(2, "JOIN a");
        rig.line(3, "JOIN b");
        for id in 1..=3 {
            rig.lines(id);
        }
        rig.line(1, "QUIT off to lunch");
        assert_eq!(rig.lines(1), ["BYE goodbye"]);
        assert!(rig.inboxes[&1].is_closed());
        assert_eq!(rig.lines(2), ["QUIT guest1 off to lunch"]);
        assert!(rig.lines(3).is_empty());
        rig.line(2, "ROOMS");
        assert_eq!(
            rig.lines(2),
            ["ROOM a 1 guest2", "ROOM b 1 guest3", "END ROOMS"]
        );
        // A line that was in flight from a dropped connection is ignored.
        rig.line(1, "SAY a late");
        assert!(rig.lines(2).is_empty());
    }

    #[test]
    fn refusals_change_nothing() {
        let mut rig = Rig::new(100);
        rig.connect(1);
        rig.lines(1);
        rig.line(1, "SAY nowhere hi");
        rig.line(1, "REGISTER pw");
        rig.dispatcher.handle(Input::Command {
            id: 1,
            command: crate::proto::lines::Frame::BadUtf8.command(),
        });
        let got = rig.lines(1);
        assert!(got[0].starts_with("ERR NO_SUCH_ROOM "));
        assert!(got[1].starts_with("ERR NICK_RESERVED "));
        assert!(got[2].starts_with("ERR BAD_UTF8 "));
        assert_eq!(rig.dispatcher.chat.rooms().count(), 0);
    }

    #[test]
    fn stale_account_rooms_go_at_start_and_at_a_later_sweep() {
        const DAY: u64 = 86_400_000;
        let now = now_ms();
        let mut store = MemoryStore::new(100);
        for (name, said) in [("old", now - 35 * DAY), ("recent", now - DAY)] {
            let room = crate::store::StoredRoom {
                name: name.into(),
                owner: "ana".into(),
                key: None,
                created: now - 40 * DAY,
                last_stamp: 0,
                settings: String::new(),
            };
            store.save_room(&room).unwrap();
            let entry = Entry {
                at: said,
                nick: "ana".into(),
                text: format!("said in {name}"),
            };
            store.append(&RoomId::of(name), &entry).unwrap();
        }
        let mut rig = Rig::with(100, store, Duration::from_secs(30 * 86_400));
        rig.connect(1);
        rig.connect(2);
        rig.lines(1);
        rig.lines(2);
        // At start: old, quiet for 35 days, is gone; recent stays.
        rig.line(1, "ROOMS");
        assert_eq!(rig.lines(1), ["ROOM recent 0 ana", "END ROOMS"]);
        // A room with a member never expires.
        rig.line(2, "JOIN recent");
        assert!(rig.lines(2).iter().any(|l| l.ends_with(" said in recent")));
        assert_eq!(rig.dispatcher.expire_rooms(now + 40 * DAY), 0);
        rig.line(2, "PART recent");
        rig.lines(2);
        // Not yet 30 days after its last message; then it goes, history too.
        assert_eq!(rig.dispatcher.expire_rooms(now + 28 * DAY), 0);
        assert_eq!(rig.dispatcher.expire_rooms(now + 29 * DAY), 1);
        rig.dispatcher.deliver();
        rig.line(1, "ROOMS");
        assert_eq!(rig.lines(1), ["END ROOMS"]);
        rig.line(1, "JOIN recent");
        assert_eq!(
            rig.lines(1),
            [
                "JOIN recent guest1",
                "MEMBERS recent guest1",
                "END MEMBERS recent",
                "END HISTORY recent"
            ]
        );
    }

    /// A store whose commits fail, as on a full or broken disk.
    struct BrokenDisk(MemoryStore);

    impl Store for BrokenDisk {
        fn rooms(&mut self) -> crate::store::StoreResult<Vec<crate::store::StoredRoom>> {
            self.0.rooms()
        }
        fn accounts(&mut self) -> crate::store::StoreResult<Vec<(String, String)>> {
            self.0.accounts()
        }
        fn append(&mut self, room: &RoomId, entry: &Entry) -> crate::store::StoreResult<()> {
            self.0.append(room, entry)
        }
        fn page(
            &mut self,
            room: &RoomId,
            before: Option<u64>,
            limit: usize,
        ) -> crate::store::StoreResult<Vec<Entry>> {
            self.0.page(room, before, limit)
        }
        fn page_after(
            &mut self,
            room: &RoomId,
            after: u64,
            limit: usize,
        ) -> crate::store::StoreResult<Vec<Entry>> {
            self.0.page_after(room, after, limit)
        }
        fn save_room(&mut self, room: &crate::store::StoredRoom) -> crate::store::StoreResult<()> {
            self.0.save_room(room)
        }
        fn forget_room(&mut self, room: &RoomId) -> crate::store::StoreResult<()> {
            self.0.forget_room(room)
        }
        fn save_account(&mut self, nick: &str, hash: &str) -> crate::store::StoreResult<()> {
            self.0.save_account(nick, hash)
        }
        fn put_offline(&mut self, to: &str, w: &Offline) -> crate::store::StoreResult<()> {
            self.0.put_offline(to, w)
        }
        fn offline_count(&mut self, to: &str) -> crate::store::StoreResult<usize> {
            self.0.offline_count(to)
        }
        fn take_offline(&mut self, to: &str) -> crate::store::StoreResult<Vec<Offline>> {
            self.0.take_offline(to)
        }
        fn tokens(&mut self) -> crate::store::StoreResult<Vec<crate::store::StoredToken>> {
            self.0.tokens()
        }
        fn save_token(&mut self, t: &crate::store::StoredToken) -> crate::store::StoreResult<()> {
            self.0.save_token(t)
        }
        fn forget_token(&mut self, digest: &str) -> crate::store::StoreResult<()> {
            self.0.forget_token(digest)
        }
        fn commit(&mut self) -> crate::store::StoreResult<()> {
            Err(crate::Error::store("disk full"))
        }
    }

    #[test]
    fn nothing_is_acknowledged_when_the_store_cannot_commit() {
        let (mail_tx, _mail) = crossbeam_channel::unbounded();
        let dispatcher = Dispatcher::new(
            Chat::new(10, 0),
            Box::new(BrokenDisk(MemoryStore::new(10))),
            Arc::new(Routes::default()),
            Settings {
                welcome: "hi".into(),
                inbox_cap: 2,
                room_expiry: Duration::ZERO,
                server_name: "sala".into(),
            },
            None,
        )
        .unwrap();
        let (outbox, inbox) = queue(1, 100, mail_tx);
        let (inputs, queue_rx) = crossbeam_channel::unbounded();
        inputs
            .send(Input::Connect {
                id: 1,
                peer: SocketAddr::from(([127, 0, 0, 1], 1)),
                outbox,
                socket: None,
            })
            .unwrap();
        for line in ["JOIN r", "SAY r never acknowledged"] {
            inputs
                .send(Input::Command {
                    id: 1,
                    command: crate::proto::command::parse_command(line),
                })
                .unwrap();
        }
        drop(inputs);
        let failure = dispatcher.run(&queue_rx).err().map(|e| e.to_string());
        assert_eq!(
            failure.as_deref(),
            Some("cannot write the database: disk full")
        );
        let mut got = Vec::new();
        while let Some(b) = inbox.try_recv() {
            got.push(String::from_utf8(b.to_vec()).unwrap());
        }
        assert_eq!(got, ["BYE server stopping: it cannot write its database\n"]);
    }

    #[test]
    fn shutdown_says_bye_to_everyone() {
        let mut rig = Rig::new(100);
        rig.connect(1);
        rig.connect(2);
        assert!(!rig.dispatcher.handle(Input::Shutdown));
        rig.dispatcher.goodbye("server shutting down");
        for id in [1, 2] {
            assert_eq!(rig.lines(id).last().unwrap(), "BYE server shutting down");
            assert!(rig.inboxes[&id].is_closed());
        }
    }

    #[test]
    fn past_five_wrong_passwords_each_try_waits_and_is_refused_meanwhile() {
        let mut rig = Rig::new(100);
        rig.account("ana");
        rig.connect_from(1, [10, 0, 0, 1]);
        rig.lines(1);
        for i in 1..=4 {
            rig.line(1, &format!("NICK ana guess{i}"));
            assert_eq!(rig.check(false), 1);
            assert_eq!(rig.lines(1), ["ERR BAD_PASSWORD wrong password for ana"]);
        }
        rig.line(1, "NICK ana guess5");
        rig.check(false);
        assert_eq!(
            rig.lines(1),
            ["ERR BAD_PASSWORD wrong password for ana; 5 wrong in a row: try again in 1 s"]
        );
        // During the wait: refused at once, unchecked, and the next line is not held.
        rig.advance(Duration::from_millis(999));
        rig.line(1, "NICK ana guess6");
        rig.line(1, "PING still here");
        assert!(rig.no_jobs());
        assert_eq!(
            rig.lines(1),
            [
                "ERR BAD_PASSWORD too many wrong passwords for ana: try again in 1 s",
                "PONG still here",
            ]
        );
        // Each wrong try past the fifth doubles the wait, up to a minute.
        let mut waits = Vec::new();
        for _ in 0..8 {
            rig.advance(Duration::from_secs(60));
            rig.line(1, "NICK ana again");
            rig.check(false);
            let line = rig.lines(1).pop().unwrap();
            waits.push(line.rsplit(" in ").next().unwrap().to_string());
        }
        assert_eq!(
            waits,
            ["2 s", "4 s", "8 s", "16 s", "32 s", "60 s", "60 s", "60 s"]
        );
        // Another address waits too: the account is what is guessed.
        rig.connect_from(2, [10, 0, 0, 2]);
        rig.lines(2);
        rig.advance(Duration::from_secs(30));
        rig.line(2, "NICK ana right");
        assert!(rig.no_jobs());
        assert_eq!(
            rig.lines(2),
            ["ERR BAD_PASSWORD too many wrong passwords for ana: try again in 30 s"]
        );
        // Once the wait is over the right password is taken, and clears the count.
        rig.advance(Duration::from_secs(30));
        rig.line(2, "NICK ana right");
        rig.check(true);
        assert_eq!(rig.lines(2), ["NICK guest2 ana", "END OFFLINE"]);
        rig.line(2, "QUIT");
        rig.connect_from(3, [10, 0, 0, 3]);
        rig.lines(3);
        rig.line(3, "NICK ana nope");
        rig.check(false);
        assert_eq!(rig.lines(3), ["ERR BAD_PASSWORD wrong password for ana"]);
    }

    #[test]
    fn one_address_guessing_many_accounts_waits_and_others_do_not() {
        let mut rig = Rig::new(100);
        for nick in ["ana", "bob", "cy"] {
            rig.account(nick);
        }
        rig.connect_from(1, [10, 0, 0, 9]);
        rig.lines(1);
        for nick in ["ana", "bob", "cy", "ana"] {
            rig.line(1, &format!("NICK {nick} x"));
            rig.check(false);
        }
        rig.line(1, "NICK bob x");
        rig.check(false);
        assert_eq!(
            rig.lines(1).pop().unwrap(),
            "ERR BAD_PASSWORD wrong password for bob; 5 wrong in a row from your address: try again in 1 s"
        );
        rig.line(1, "NICK cy x");
        assert_eq!(
            rig.lines(1),
            ["ERR BAD_PASSWORD too many wrong passwords from your address: try again in 1 s"]
        );
        // From elsewhere the same accounts are tried at once (none has five).
        rig.connect_from(2, [10, 0, 0, 8]);
        rig.lines(2);
        rig.line(2, "NICK cy right");
        rig.check(true);
        assert_eq!(rig.lines(2), ["NICK guest2 cy", "END OFFLINE"]);
    }

    #[test]
    fn a_crowd_guessing_one_account_gets_five_checks_then_waits() {
        let mut rig = Rig::new(100);
        rig.account("ana");
        rig.account("bob");
        for id in 1..=30 {
            rig.connect_from(id, [10, 0, 1, u8::try_from(id).unwrap()]);
            rig.lines(id);
            rig.line(id, "NICK ana guess");
        }
        assert_eq!(rig.jobs.len(), 5, "five checks handed to the workers");
        for id in 6..=30 {
            assert_eq!(
                rig.lines(id),
                ["ERR BAD_PASSWORD too many wrong passwords for ana: try again in 1 s"]
            );
        }
        // Someone else's login goes straight to the workers meanwhile.
        rig.connect_from(31, [10, 0, 2, 1]);
        rig.lines(31);
        rig.line(31, "NICK bob right");
        assert_eq!(rig.jobs.len(), 6);
        for _ in 0..5 {
            rig.check(false);
        }
        assert_eq!(rig.check(true), 31);
        assert_eq!(rig.lines(31), ["NICK guest31 bob", "END OFFLINE"]);
    }

    #[test]
    fn a_full_password_queue_refuses_at_once_and_counts_nothing() {
        let mut rig = Rig::with_queue(100, 1);
        rig.account("ana");
        rig.connect_from(1, [10, 0, 0, 1]);
        rig.connect_from(2, [10, 0, 0, 2]);
        rig.lines(1);
        rig.lines(2);
        rig.line(1, "NICK ana one");
        rig.line(2, "NICK ana two");
        rig.line(2, "PING next");
        assert_eq!(
            rig.lines(2),
            [
                "ERR BAD_PASSWORD the server is busy checking passwords: try again shortly",
                "PONG next",
            ]
        );
        rig.line(2, "NICK bob");
        rig.line(2, "REGISTER pw");
        assert_eq!(
            rig.lines(2),
            [
                "NICK guest2 bob",
                "ERR BAD_PASSWORD the server is busy hashing passwords: try again shortly",
            ]
        );
        rig.check(false);
        // The refused tries were not counted: four more wrong ones cost no wait.
        for _ in 0..3 {
            rig.line(1, "NICK ana again");
            rig.check(false);
        }
        assert!(
            rig.lines(1)
                .iter()
                .all(|l| l == "ERR BAD_PASSWORD wrong password for ana")
        );
    }

    #[test]
    fn a_check_answered_after_its_connection_left_still_counts() {
        let mut rig = Rig::new(100);
        rig.account("ana");
        for id in 1..=5 {
            rig.connect_from(id, [10, 0, 0, 1]);
            rig.line(id, "NICK ana guess");
            // The guesser hangs up before the answer.
            rig.dispatcher.handle(Input::Disconnect {
                id,
                reason: "connection closed".into(),
            });
            assert!(!rig.dispatcher.clients.contains_key(&id));
        }
        for _ in 1..=5 {
            rig.check(false);
        }
        rig.connect_from(6, [10, 0, 0, 6]);
        rig.lines(6);
        rig.line(6, "NICK ana guess");
        assert_eq!(
            rig.lines(6),
            ["ERR BAD_PASSWORD too many wrong passwords for ana: try again in 1 s"]
        );
    }

    #[test]
    fn a_keyed_join_waits_for_the_workers_and_the_lines_after_it_too() {
        let mut rig = Rig::new(100);
        rig.connect(1);
        rig.connect(2);
        rig.lines(1);
        rig.lines(2);
        rig.line(1, "JOIN vault k1");
        rig.line(1, "SAY vault first");
        assert!(rig.lines(1).is_empty(), "nothing before the key is hashed");
        assert!(rig.dispatcher.chat.room("vault").is_none());
        assert_eq!(rig.work(), 1);
        assert_eq!(
            rig.lines(1),
            [
                "JOIN vault guest1",
                "MEMBERS vault guest1",
                "END MEMBERS vault",
                "END HISTORY vault",
                "MSG vault guest1 first",
            ]
        );
        let hash = rig
            .dispatcher
            .chat
            .room("vault")
            .unwrap()
            .key
            .clone()
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        // A wrong key is refused after its check; no key at all, at once.
        rig.line(2, "JOIN vault nope");
        rig.work();
        rig.line(2, "JOIN vault");
        let refused = rig.lines(2);
        assert_eq!(refused.len(), 2);
        assert!(
            refused.iter().all(|l| l.starts_with("ERR BAD_KEY ")),
            "{refused:?}"
        );
        assert!(rig.no_jobs());
        rig.line(2, "JOIN vault k1");
        rig.work();
        assert_eq!(rig.lines(2)[0], "JOIN vault guest2");
        assert_eq!(rig.lines(1), ["JOIN vault guest2"]);
    }

    #[test]
    fn a_room_that_changed_while_its_key_was_hashed_is_joined_as_it_is_now() {
        let mut rig = Rig::new(100);
        for id in 1..=3 {
            rig.connect(id);
            rig.lines(id);
        }
        // Two create the same locked room at once: the first answer creates
        // it, the second key is then checked against it.
        rig.line(1, "JOIN den k1");
        rig.line(2, "JOIN den k1");
        rig.line(2, "PING after");
        rig.work();
        assert_eq!(rig.lines(1)[0], "JOIN den guest1");
        rig.work();
        assert!(
            rig.lines(2).is_empty(),
            "checked against the room made meanwhile"
        );
        rig.work();
        let got = rig.lines(2);
        assert_eq!(got.first().map(String::as_str), Some("JOIN den guest2"));
        assert_eq!(got.last().map(String::as_str), Some("PONG after"));
        // A room created open meanwhile ignores the key, as any JOIN would.
        rig.line(3, "JOIN porch k3");
        rig.line(1, "JOIN porch");
        rig.work();
        assert_eq!(rig.lines(3)[0], "JOIN porch guest3");
        assert!(rig.dispatcher.chat.room("porch").unwrap().key.is_none());
    }

    #[test]
    fn a_key_hash_of_an_older_server_is_replaced_when_its_key_opens_the_room() {
        let mut rig = Rig::new(100);
        let old = crate::secret::old_hash_key("k3y");
        let saved = crate::store::StoredRoom {
            name: "attic".into(),
            owner: "ana".into(),
            key: Some(old.clone()),
            created: 1,
            last_stamp: 0,
            settings: String::new(),
        };
        rig.dispatcher.store.save_room(&saved).unwrap();
        rig.dispatcher.chat.restore(&saved);
        rig.connect(1);
        rig.lines(1);
        rig.line(1, "JOIN attic wrong");
        rig.work();
        assert!(rig.lines(1)[0].starts_with("ERR BAD_KEY "));
        assert_eq!(rig.dispatcher.chat.room("attic").unwrap().key, Some(old));
        rig.line(1, "JOIN attic k3y");
        rig.work();
        assert_eq!(rig.lines(1)[0], "JOIN attic guest1");
        let new = rig
            .dispatcher
            .chat
            .room("attic")
            .unwrap()
            .key
            .clone()
            .unwrap();
        assert!(new.starts_with("$argon2id$"), "{new}");
        let stored = rig.dispatcher.store.rooms().unwrap();
        assert_eq!(stored[0].key.as_deref(), Some(new.as_str()));
        assert!(crate::secret::key_matches("k3y", &new));
    }

    #[test]
    fn a_keyed_join_finding_the_queue_full_is_refused_at_once() {
        let mut rig = Rig::with_queue(100, 1);
        rig.connect(1);
        rig.connect(2);
        rig.lines(1);
        rig.lines(2);
        rig.line(1, "JOIN a k");
        rig.line(2, "JOIN b k");
        rig.line(2, "PING on");
        assert_eq!(
            rig.lines(2),
            [
                "ERR BAD_KEY the server is busy checking keys: try again shortly",
                "PONG on",
            ]
        );
        assert!(rig.dispatcher.chat.room("b").is_none());
    }
}
