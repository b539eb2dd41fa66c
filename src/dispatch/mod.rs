//! The dispatcher: the one thread that applies commands to the chat state,
//! in the order they arrive, and routes the resulting events to the
//! connections' outboxes. It never blocks on a socket: a full outbox means a
//! slow reader, which is cut off.
//!
//! It works in batches: it applies every input that is waiting, commits the
//! store once, and only then hands the batch's events to the outboxes, so an
//! echo never announces a message that a crash could still lose.

use crate::chat::{Chat, ConnId, Left, RoomId};
use crate::dispatch::accounts::Job;
use crate::ids::Protocol;
use crate::net::outbox::{Bytes, Outbox};
use crate::net::shutdown::Stopper;
use crate::proto::chat1::{self as codec, Event, HISTORY_PAGE};
use crate::proto::command::{Command, is_guest_nick};
use crate::proto::irc::{self, Query};
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::{Entry, Offline, Store};
use crossbeam_channel::{Receiver, Sender};
use log::{error, info, warn};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub mod accounts;
mod irc_queries;

/// Most inputs applied per batch.
const BATCH: usize = 1024;
/// Staged events that make the dispatcher commit and deliver before the
/// batch ends: the writer starts sending while the rest is applied.
const DELIVER_AT: usize = 4096;
/// Most lines kept from a connection while its password is being checked.
const MAX_WAITING: usize = 4096;

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
    Line {
        id: ConnId,
        command: Result<Command, Refusal>,
    },
    /// The connection's reader stopped: the peer closed, reset or timed out.
    Disconnect { id: ConnId, reason: String },
    /// The password worker checked a `NICK nick password`.
    Verified { id: ConnId, nick: String, ok: bool },
    /// The password worker hashed a `REGISTER` password.
    Hashed {
        id: ConnId,
        nick: String,
        hash: Result<String, String>,
    },
    /// The server is stopping: say `BYE` to everyone and return.
    Shutdown,
}

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
}

/// An event rendered once per protocol, shared by all its recipients.
#[derive(Debug)]
struct Line {
    chat: Bytes,
    /// The IRC form: `None` when no IRC client is connected, or IRC does not show it.
    irc: Option<Bytes>,
    /// The client whose message this is: IRC sends no echo of one's own messages.
    author: Option<ConnId>,
}

impl Line {
    /// The same line, not echoed to IRC client `id`.
    fn by(mut self, id: ConnId) -> Line {
        self.author = Some(id);
        self
    }

    /// The bytes for outbox `to`, if it gets this line.
    fn pick(&self, to: &Outbox) -> Option<Bytes> {
        match to.protocol() {
            Protocol::Chat => Some(Arc::clone(&self.chat)),
            Protocol::Irc if self.author == Some(to.id()) => None,
            Protocol::Irc => self.irc.clone(),
        }
    }
}

impl Client {
    /// shutdown(2) of the read side: the reader's blocked recv returns 0 bytes.
    fn stop_reading(&self) {
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

/// An event waiting for the batch's commit, with the outbox it goes to.
#[derive(Debug)]
struct Staged {
    to: Outbox,
    line: Bytes,
    /// The `BYE`: queued past the outbox's bound, and the connection closes after it.
    last: bool,
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
    /// Where password work goes; `None` in tests without a worker.
    jobs: Option<Sender<Job>>,
    /// Nicks with a registration under way.
    registering: Vec<String>,
    /// Lines of connections waiting for a password check, applied after it.
    waiting: HashMap<ConnId, VecDeque<Result<Command, Refusal>>>,
    /// The store failed to commit: stop.
    broken: bool,
    /// IRC connections open: while 0, no event is rendered for IRC.
    irc_clients: usize,
    /// The command being applied came as an IRC `NOTICE`: IRC users see it
    /// as one, and no error answers it.
    notice: bool,
    /// When the dispatcher started, for the IRC welcome.
    started: String,
    /// Stops the whole server when the store fails; `None` in tests.
    stopper: Option<Stopper>,
}

/// Now, in unix milliseconds.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn bytes(event: &Event<'_>) -> Bytes {
    Bytes::from(codec::encode(event))
}

/// Appends `event` for one recipient: in IRC for `Some(me)`, else in CHAT/1.
fn put_event(me: Option<&str>, event: &Event<'_>, out: &mut Vec<u8>) {
    match me {
        Some(me) => irc::render_for(event, me, out),
        None => codec::encode_into(event, out),
    }
}

impl Dispatcher {
    /// A dispatcher over `chat` and `store`, publishing membership in `routes`.
    /// Accounts and account rooms are loaded from the store.
    ///
    /// # Errors
    /// The store cannot be read.
    pub fn new(
        mut chat: Chat,
        mut store: Box<dyn Store>,
        routes: Arc<Routes>,
        settings: Settings,
        jobs: Option<Sender<Job>>,
    ) -> Result<Dispatcher, crate::store::StoreError> {
        for room in store.rooms()? {
            chat.restore(&room);
        }
        let accounts = store
            .accounts()?
            .into_iter()
            .map(|(nick, hash)| (nick.to_ascii_lowercase(), (nick, hash)))
            .collect();
        Ok(Dispatcher {
            chat,
            store,
            accounts,
            clients: HashMap::new(),
            routes,
            settings,
            staged: Vec::new(),
            slow: Vec::new(),
            jobs,
            registering: Vec::new(),
            waiting: HashMap::new(),
            broken: false,
            irc_clients: 0,
            notice: false,
            started: irc::clock(now_ms()),
            stopper: None,
        })
    }

    /// Asks `stopper` to stop the server if the store fails.
    pub fn stop_on_failure(&mut self, stopper: Stopper) {
        self.stopper = Some(stopper);
    }

    /// Applies inputs until [`Input::Shutdown`] or until every sender is gone.
    ///
    /// Inputs are taken in batches: whatever queued up while the last batch was
    /// applied is applied next, with one store commit for all of it.
    pub fn run(mut self, inputs: &Receiver<Input>) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut running = true;
        while running {
            let Ok(first) = inputs.recv() else { break };
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
            if self.broken {
                break;
            }
        }
        if self.broken {
            self.goodbye("server stopping: it cannot write its database");
            if let Some(stopper) = &self.stopper {
                stopper.stop();
            }
        } else {
            self.goodbye("server shutting down");
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
        match input {
            Input::Connect {
                id,
                peer,
                outbox,
                socket,
            } => self.connect(id, peer, outbox, socket),
            Input::Line { id, command } => self.line(id, command),
            Input::Disconnect { id, reason } => self.drop_client(id, &reason),
            Input::Verified { id, nick, ok } => self.verified(id, &nick, ok),
            Input::Hashed { id, nick, hash } => self.hashed(id, &nick, hash),
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
        let subject = match &client.irc {
            None => irc::Subject::Nothing,
            Some(user) => {
                if !user.welcomed && !registering(&command) {
                    let refusal = Refusal::new(ErrCode::UnknownCommand, "You have not registered");
                    let mut out = Vec::new();
                    irc::put_numeric(&mut out, 451, "*", &[], &refusal.text);
                    return self.reply(id, out);
                }
                irc::subject(&command)
            }
        };
        let done = match command {
            Command::Nick { nick, password } => self.nick(id, &nick, password),
            Command::Register { password } => self.register(id, password),
            Command::Join { room, key } => self.join(id, &room, key.as_deref()),
            Command::Part { room, text } => self.part(id, &room, text.as_deref()),
            Command::Say { room, text } => self.say(id, &room, &text),
            Command::Whisper { nick, text } => self.whisper(id, &nick, &text),
            Command::Broadcast { text } => self.broadcast(id, &text),
            Command::Rooms => self.rooms(id),
            Command::Who { room } => self.who(id, &room),
            Command::Users => self.users(id),
            Command::Kick { room, nick, text } => self.kick(id, &room, &nick, text.as_deref()),
            Command::Delete { room } => self.delete(id, &room),
            Command::History { room, before } => self.page(id, &room, before),
            Command::Ping { token } => self.pong(id, token.as_deref()),
            Command::Quit { text } => self.quit(id, text.as_deref()),
            Command::Irc(Query::Notice { message }) => {
                self.notice = true;
                // RFC 2812: a NOTICE is never answered with an error.
                let _ = match *message {
                    Command::Say { room, text } => self.say(id, &room, &text),
                    Command::Whisper { nick, text } => self.whisper(id, &nick, &text),
                    Command::Broadcast { text } => self.broadcast(id, &text),
                    _ => Ok(()),
                };
                self.notice = false;
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
            return;
        }
        let welcome = codec::encode(&Event::Welcome {
            nick: &nick,
            text: &self.settings.welcome,
        });
        self.reply(id, welcome);
    }

    fn refuse(&mut self, id: ConnId, refusal: &Refusal) {
        self.refuse_about(id, refusal, &irc::Subject::Nothing);
    }

    /// Refuses a command about `subject` (its room's channel or nick, for IRC numerics).
    fn refuse_about(&mut self, id: ConnId, refusal: &Refusal, subject: &irc::Subject) {
        let out = match self.irc_me(id) {
            Some(me) => {
                let mut out = Vec::new();
                irc::refusal(&mut out, &me, refusal.code, subject, &refusal.text);
                out
            }
            None => codec::encode(&Event::Err {
                code: refusal.code,
                text: &refusal.text,
            }),
        };
        self.reply(id, out);
    }

    /// The nick an IRC client is addressed by in numerics (`*` before its
    /// registration); `None` for a CHAT/1 client.
    fn irc_me(&self, id: ConnId) -> Option<String> {
        let user = self.clients.get(&id)?.irc.as_ref()?;
        Some(if user.welcomed {
            self.chat.nick(id).to_string()
        } else {
            "*".to_string()
        })
    }

    /// Renders `event` for every protocol in use.
    fn render(&self, event: &Event<'_>) -> Line {
        Line {
            chat: bytes(event),
            irc: if self.irc_clients == 0 {
                None
            } else if self.notice {
                irc::render_notice(event).map(Bytes::from)
            } else {
                irc::render_shared(event).map(Bytes::from)
            },
            author: None,
        }
    }

    fn nick(&mut self, id: ConnId, nick: &str, password: Option<String>) -> Result<(), Refusal> {
        let Some((_, hash)) = self.accounts.get(&nick.to_ascii_lowercase()) else {
            return self.rename(id, nick);
        };
        if self.chat.find(nick).is_some_and(|holder| holder != id) {
            return Err(Refusal::new(
                ErrCode::NickTaken,
                format!("{nick} is already in use"),
            ));
        }
        let Some(password) = password else {
            let how = if self.irc_me(id).is_some() {
                "connect with its password as the server password (PASS)".to_string()
            } else {
                format!("NICK {nick} <password>")
            };
            return Err(Refusal::new(
                ErrCode::BadPassword,
                format!("{nick} is registered: {how}"),
            ));
        };
        self.ask(
            id,
            Job::Verify {
                id,
                nick: nick.to_string(),
                password,
                hash: hash.clone(),
            },
        )
    }

    /// Hands password work to the worker; its answer comes back as an input.
    /// The connection's next lines wait for it, so they apply in order.
    fn ask(&mut self, id: ConnId, job: Job) -> Result<(), Refusal> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if sent {
            self.waiting.insert(id, VecDeque::new());
            Ok(())
        } else {
            Err(Refusal::new(
                ErrCode::BadPassword,
                "passwords cannot be checked right now",
            ))
        }
    }

    fn rename(&mut self, id: ConnId, nick: &str) -> Result<(), Refusal> {
        let old = self.chat.rename(id, nick)?;
        let line = self.render(&Event::Nick {
            old: &old,
            new: nick,
        });
        let mut audience = self.chat.audience(id);
        let greet = self
            .clients
            .get_mut(&id)
            .and_then(|c| c.irc.as_mut())
            .is_some_and(|user| !std::mem::replace(&mut user.welcomed, true));
        if greet {
            // An IRC client's first nick ends its registration: the welcome burst.
            audience.retain(|&a| a != id);
            self.welcome_irc(id);
        }
        self.send_many(&audience, &line);
        Ok(())
    }

    /// The answer to a `NICK nick password`, then the lines that waited for it.
    fn verified(&mut self, id: ConnId, nick: &str, ok: bool) {
        self.log_in(id, nick, ok);
        self.resume(id);
    }

    /// Renames and logs in `id` if `ok`, and hands over its waiting whispers.
    fn log_in(&mut self, id: ConnId, nick: &str, ok: bool) {
        if !self.clients.contains_key(&id) {
            return;
        }
        if !ok {
            let refusal = Refusal::new(ErrCode::BadPassword, format!("wrong password for {nick}"));
            return self.refuse(id, &refusal);
        }
        if let Err(refusal) = self.rename(id, nick) {
            return self.refuse(id, &refusal);
        }
        self.chat.log_in(id);
        info!("conn {id} logged in as {nick}");
        let waiting = self.store.take_offline(nick).unwrap_or_else(|e| {
            error!("cannot read whispers for {nick}: {e}");
            Vec::new()
        });
        let me = self.irc_me(id);
        let mut out = Vec::new();
        for w in &waiting {
            put_event(
                me.as_deref(),
                &Event::Offline {
                    at: w.at,
                    from: &w.from,
                    text: &w.text,
                },
                &mut out,
            );
        }
        put_event(me.as_deref(), &Event::EndOffline, &mut out);
        self.reply(id, out);
    }

    fn register(&mut self, id: ConnId, password: String) -> Result<(), Refusal> {
        let nick = self.chat.nick(id).to_string();
        if is_guest_nick(&nick) {
            return Err(Refusal::new(
                ErrCode::NickReserved,
                "guests cannot register: pick a nickname with NICK first",
            ));
        }
        let key = nick.to_ascii_lowercase();
        if self.accounts.contains_key(&key) || self.registering.contains(&key) {
            return Err(Refusal::new(
                ErrCode::AlreadyRegistered,
                format!("{nick} is already registered"),
            ));
        }
        self.ask(
            id,
            Job::Hash {
                id,
                nick: nick.clone(),
                password,
            },
        )?;
        self.registering.push(key);
        Ok(())
    }

    /// The answer to a `REGISTER`, then the lines that waited for it.
    fn hashed(&mut self, id: ConnId, nick: &str, hash: Result<String, String>) {
        self.save_account(id, nick, hash);
        self.resume(id);
    }

    /// Saves the account and logs the user in.
    fn save_account(&mut self, id: ConnId, nick: &str, hash: Result<String, String>) {
        let key = nick.to_ascii_lowercase();
        self.registering.retain(|k| *k != key);
        let hash = match hash {
            Ok(hash) => hash,
            Err(e) => {
                error!("REGISTER {nick}: {e}");
                let refusal =
                    Refusal::new(ErrCode::BadPassword, "the password could not be hashed");
                return self.refuse(id, &refusal);
            }
        };
        if !self.chat.nick(id).eq_ignore_ascii_case(nick) {
            let refusal = Refusal::new(
                ErrCode::NickTaken,
                format!("you are no longer {nick}: register again"),
            );
            return self.refuse(id, &refusal);
        }
        if let Err(e) = self.store.save_account(nick, &hash) {
            error!("cannot save account {nick}: {e}");
            return self.refuse(
                id,
                &Refusal::new(ErrCode::BadPassword, "the account could not be saved"),
            );
        }
        self.accounts.insert(key, (nick.to_string(), hash));
        self.chat.log_in(id);
        info!("conn {id} registered {nick}");
        let mut out = Vec::new();
        put_event(
            self.irc_me(id).as_deref(),
            &Event::Ok {
                verb: "REGISTER",
                detail: Some(nick),
            },
            &mut out,
        );
        self.reply(id, out);
    }

    fn join(&mut self, id: ConnId, name: &str, key: Option<&str>) -> Result<(), Refusal> {
        let (room_id, created) = self.chat.join(id, name, key)?;
        if let Some(client) = self.clients.get(&id) {
            let outbox = client.outbox.clone();
            self.routes
                .lock()
                .entry(room_id.clone())
                .or_default()
                .push(outbox);
        }
        let Some(room) = self.chat.room(name) else {
            return Ok(());
        };
        if created
            && let Some(saved) = room.stored(now_ms())
            && let Err(e) = self.store.save_room(&saved)
        {
            error!("cannot save room {name}: {e}");
        }
        let nick = self.chat.nick(id);
        let line = self.render(&Event::Join {
            room: &room.name,
            nick,
        });
        // The joiner also gets the member list and the recent history.
        let mut intro = Vec::new();
        let nicks: Vec<&str> = room.members.iter().map(|&m| self.chat.nick(m)).collect();
        let me = self.irc_me(id);
        match &me {
            Some(me) => irc::names(
                &mut intro,
                me,
                &room.name,
                self.chat.owner_nick(room),
                &nicks,
            ),
            None => codec::encode_members(&room.name, &nicks, &mut intro),
        }
        let recent = self
            .store
            .page(&room_id, None, HISTORY_PAGE)
            .unwrap_or_else(|e| {
                error!("cannot read history of {name}: {e}");
                Vec::new()
            });
        if me.is_none() || !recent.is_empty() {
            encode_history(me.as_deref(), &room.name, &recent, &mut intro);
        }
        if let Some(client) = self.clients.get(&id)
            && let Some(bytes) = line.pick(&client.outbox)
        {
            // The joiner's own JOIN comes first, then what it sees inside.
            let mut first = bytes.to_vec();
            first.extend_from_slice(&intro);
            intro = first;
        }
        self.send_room_except(&room_id, &line, id);
        self.reply(id, intro);
        Ok(())
    }

    fn part(&mut self, id: ConnId, name: &str, text: Option<&str>) -> Result<(), Refusal> {
        let left = self.chat.part(id, name)?;
        let line = self.render(&Event::Part {
            room: &left.name,
            nick: self.chat.nick(id),
            text,
        });
        self.send_many(&left.told, &line);
        self.unroute(id, &left);
        Ok(())
    }

    fn say(&mut self, id: ConnId, name: &str, text: &str) -> Result<(), Refusal> {
        let room = self.chat.member_room(id, name)?;
        let at = room.stamp(now_ms());
        let room_name = room.name.clone();
        let room_id = RoomId::of(name);
        let nick = self.chat.nick(id).to_string();
        let line = self
            .render(&Event::Msg {
                room: &room_name,
                nick: &nick,
                text,
            })
            .by(id);
        let entry = Entry {
            at,
            nick,
            text: text.to_string(),
        };
        if let Err(e) = self.store.append(&room_id, &entry) {
            error!("cannot store a message of {room_name}: {e}");
        }
        self.send_room(&room_id, &line);
        Ok(())
    }

    fn whisper(&mut self, id: ConnId, nick: &str, text: &str) -> Result<(), Refusal> {
        let Some(to) = self.chat.find(nick) else {
            return self.whisper_offline(id, nick, text);
        };
        let line = self.render(&Event::Whisper {
            from: self.chat.nick(id),
            to: self.chat.nick(to),
            text,
        });
        if to == id {
            // A message to oneself reaches oneself, on IRC too.
            self.send_one(id, &line);
        } else {
            let line = line.by(id);
            self.send_one(to, &line);
            self.send_one(id, &line);
        }
        // IRC tells the sender when the recipient is away (never for a NOTICE).
        if let Some(away) = self.away(to).map(str::to_string)
            && !self.notice
            && let Some(me) = self.irc_me(id)
        {
            let mut out = Vec::new();
            irc::put_numeric(&mut out, 301, &me, &[self.chat.nick(to)], &away);
            self.reply(id, out);
        }
        Ok(())
    }

    /// A whisper to a registered nick that is away is kept for its next login.
    fn whisper_offline(&mut self, id: ConnId, nick: &str, text: &str) -> Result<(), Refusal> {
        let Some((account, _)) = self.accounts.get(&nick.to_ascii_lowercase()) else {
            return Err(Refusal::new(
                ErrCode::NoSuchUser,
                format!("there is no user {nick}"),
            ));
        };
        let account = account.clone();
        let stored = self.store.offline_count(&account).map_err(|e| {
            error!("cannot count whispers for {account}: {e}");
            Refusal::new(
                ErrCode::InboxFull,
                format!("{account} cannot take whispers now"),
            )
        })?;
        if stored >= self.settings.inbox_cap {
            return Err(Refusal::new(
                ErrCode::InboxFull,
                format!("{account} has {stored} whispers waiting already"),
            ));
        }
        let from = self.chat.nick(id).to_string();
        let whisper = Offline {
            at: now_ms(),
            from: from.clone(),
            text: text.to_string(),
        };
        self.store.put_offline(&account, &whisper).map_err(|e| {
            error!("cannot keep a whisper for {account}: {e}");
            Refusal::new(
                ErrCode::InboxFull,
                format!("{account} cannot take whispers now"),
            )
        })?;
        match self.irc_me(id) {
            Some(me) => {
                let mut out = Vec::new();
                irc::put(
                    &mut out,
                    irc::SERVER,
                    "NOTICE",
                    &[&me],
                    Some(&format!(
                        "{account} is offline: your message waits for their next login"
                    )),
                );
                self.reply(id, out);
            }
            None => {
                let line = self.render(&Event::Whisper {
                    from: &from,
                    to: &account,
                    text,
                });
                self.send_one(id, &line);
            }
        }
        Ok(())
    }

    fn broadcast(&mut self, id: ConnId, text: &str) -> Result<(), Refusal> {
        let line = self
            .render(&Event::Broadcast {
                from: self.chat.nick(id),
                text,
            })
            .by(id);
        let everyone: Vec<ConnId> = self.clients.keys().copied().collect();
        self.send_many(&everyone, &line);
        Ok(())
    }

    fn rooms(&mut self, id: ConnId) -> Result<(), Refusal> {
        let mut rooms: Vec<_> = self.chat.rooms().collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::new();
        for room in rooms {
            codec::encode_into(
                &Event::Room {
                    room: &room.name,
                    members: room.members.len(),
                    owner: self.chat.owner_nick(room),
                },
                &mut out,
            );
        }
        codec::encode_into(&Event::EndRooms, &mut out);
        self.reply(id, out);
        Ok(())
    }

    fn who(&mut self, id: ConnId, name: &str) -> Result<(), Refusal> {
        let room = self.chat.room(name).ok_or_else(|| no_room(name))?;
        let nicks: Vec<&str> = room.members.iter().map(|&m| self.chat.nick(m)).collect();
        let mut out = Vec::new();
        codec::encode_members(&room.name, &nicks, &mut out);
        self.reply(id, out);
        Ok(())
    }

    fn users(&mut self, id: ConnId) -> Result<(), Refusal> {
        let mut nicks: Vec<&str> = self.chat.users().map(|(_, u)| u.nick.as_str()).collect();
        nicks.sort_unstable_by_key(|n| n.to_ascii_lowercase());
        let mut out = Vec::new();
        codec::encode_users(&nicks, &mut out);
        self.reply(id, out);
        Ok(())
    }

    fn kick(
        &mut self,
        id: ConnId,
        name: &str,
        nick: &str,
        text: Option<&str>,
    ) -> Result<(), Refusal> {
        let (target, left) = self.chat.kick(id, name, nick)?;
        let line = self.render(&Event::Kicked {
            room: &left.name,
            nick: self.chat.nick(target),
            by: self.chat.nick(id),
            text,
        });
        self.send_many(&left.told, &line);
        self.unroute(target, &left);
        Ok(())
    }

    fn delete(&mut self, id: ConnId, name: &str) -> Result<(), Refusal> {
        let (room_id, room) = self.chat.delete(id, name)?;
        let by = self.chat.nick(id).to_string();
        let mut told = room.members.clone();
        // The owner of an account's room may delete it from outside.
        if !told.contains(&id) {
            told.push(id);
        }
        for member in told {
            let mut out = Vec::new();
            let me = self.irc_me(member);
            let event = Event::Closed {
                room: &room.name,
                by: &by,
            };
            match &me {
                // An IRC client that is not in the channel has no window to close.
                Some(_) if !room.members.contains(&member) => {}
                _ => put_event(me.as_deref(), &event, &mut out),
            }
            self.reply(member, out);
        }
        self.routes.lock().remove(&room_id);
        self.forget(&room_id);
        Ok(())
    }

    /// A room is gone: its record and its history go too.
    fn forget(&mut self, room: &RoomId) {
        if let Err(e) = self.store.forget_room(room) {
            error!("cannot forget room {}: {e}", room.as_str());
        }
    }

    fn page(&mut self, id: ConnId, name: &str, before: Option<u64>) -> Result<(), Refusal> {
        let room = self.chat.member_room(id, name)?;
        let room_name = room.name.clone();
        let entries = self
            .store
            .page(&RoomId::of(name), before, HISTORY_PAGE)
            .unwrap_or_else(|e| {
                error!("cannot read history of {name}: {e}");
                Vec::new()
            });
        let mut out = Vec::new();
        encode_history(self.irc_me(id).as_deref(), &room_name, &entries, &mut out);
        self.reply(id, out);
        Ok(())
    }

    fn pong(&mut self, id: ConnId, token: Option<&str>) -> Result<(), Refusal> {
        let mut out = Vec::new();
        put_event(self.irc_me(id).as_deref(), &Event::Pong { token }, &mut out);
        self.reply(id, out);
        Ok(())
    }

    fn quit(&mut self, id: ConnId, text: Option<&str>) -> Result<(), Refusal> {
        self.remove(id, text.unwrap_or("quit"), "goodbye");
        Ok(())
    }

    /// The reader of `id` stopped: the peer closed or the connection broke.
    fn drop_client(&mut self, id: ConnId, reason: &str) {
        self.remove(id, reason, reason);
    }

    /// Removes a client: `QUIT` to everyone sharing a room, `BYE` to the client,
    /// and the writer closes the socket once that is written.
    fn remove(&mut self, id: ConnId, quit_text: &str, bye_text: &str) {
        self.waiting.remove(&id);
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        if let Some(departure) = self.chat.disconnect(id) {
            info!(
                "conn {id} ({}) from {} left: {quit_text}",
                departure.nick, client.peer
            );
            for left in &departure.left {
                self.unroute(id, left);
            }
            let line = self.render(&Event::Quit {
                nick: &departure.nick,
                text: Some(quit_text),
            });
            self.send_many(&departure.peers, &line);
        }
        if client.irc.is_some() {
            self.irc_clients -= 1;
        }
        self.staged.push(Staged {
            line: bye(&client.outbox, bye_text),
            to: client.outbox.clone(),
            last: true,
        });
        client.stop_reading();
    }

    /// Takes `id` out of the routing table entry of a room it left.
    fn unroute(&mut self, id: ConnId, left: &Left) {
        {
            let mut routes = self.routes.lock();
            if left.gone {
                routes.remove(&left.room);
            } else if let Some(outboxes) = routes.get_mut(&left.room) {
                outboxes.retain(|o| o.id() != id);
            }
        }
        if left.gone {
            self.forget(&left.room);
        }
    }

    /// Ends the batch: commits the store, then hands every staged event to its
    /// outbox, and cuts off the readers whose outbox overflowed (which stages
    /// more events: `QUIT` to their room-mates), until nothing is left.
    fn deliver(&mut self) {
        while !self.staged.is_empty() {
            if !self.commit() {
                return;
            }
            for staged in std::mem::take(&mut self.staged) {
                if staged.last {
                    staged.to.push_last(&staged.line);
                } else if self.slow.contains(&staged.to.id()) {
                    // Its queue overflowed on an earlier event: it is cut off
                    // below, and nothing after the dropped event may reach it,
                    // even if the writer has made room since (no gaps).
                } else if staged.to.push(&staged.line).is_err() {
                    self.slow.push(staged.to.id());
                }
            }
            self.cut_off_slow();
        }
        // Reads (HISTORY) may have opened nothing; a batch of refusals writes nothing.
        self.commit();
    }

    /// Commits the store. If that fails, nothing of the batch is announced:
    /// its events are dropped and the server stops, rather than acknowledge
    /// a message the store may not hold.
    fn commit(&mut self) -> bool {
        match self.store.commit() {
            Ok(()) => true,
            Err(e) => {
                error!(
                    "cannot commit to the store: {e}; stopping, so that nothing unsaved is acknowledged"
                );
                self.staged.clear();
                self.broken = true;
                false
            }
        }
    }

    /// Cuts off every client whose outbox overflowed.
    fn cut_off_slow(&mut self) {
        while let Some(id) = self.slow.pop() {
            if let Some(client) = self.clients.get(&id) {
                warn!(
                    "conn {id} ({}) from {} cut off: send queue full ({} events)",
                    self.chat.nick(id),
                    client.peer,
                    client.outbox.len()
                );
                self.remove(
                    id,
                    "send queue full",
                    "send queue full: you read too slowly",
                );
            }
        }
    }

    /// Says `BYE` to every client and wakes its reader; the writer closes them.
    fn goodbye(&mut self, text: &str) {
        for (_, client) in self.clients.drain() {
            client.outbox.push_last(&bye(&client.outbox, text));
            client.stop_reading();
        }
        self.routes.lock().clear();
    }

    /// Queues bytes already rendered for client `id` (a reply to it alone).
    fn reply(&mut self, id: ConnId, out: Vec<u8>) {
        if out.is_empty() {
            return;
        }
        if let Some(client) = self.clients.get(&id) {
            self.staged.push(Staged {
                to: client.outbox.clone(),
                line: Bytes::from(out),
                last: false,
            });
        }
    }

    fn send_one(&mut self, id: ConnId, line: &Line) {
        if let Some(client) = self.clients.get(&id)
            && let Some(bytes) = line.pick(&client.outbox)
        {
            self.staged.push(Staged {
                to: client.outbox.clone(),
                line: bytes,
                last: false,
            });
        }
    }

    fn send_many(&mut self, ids: &[ConnId], line: &Line) {
        for &id in ids {
            self.send_one(id, line);
        }
    }

    fn send_room(&mut self, room: &RoomId, line: &Line) {
        self.send_room_except(room, line, ConnId::MAX);
    }

    /// Stages `line` for every member of `room` but `except`.
    fn send_room_except(&mut self, room: &RoomId, line: &Line, except: ConnId) {
        let routes = self.routes.lock();
        for outbox in routes.get(room).into_iter().flatten() {
            if outbox.id() == except {
                continue;
            }
            if let Some(bytes) = line.pick(outbox) {
                self.staged.push(Staged {
                    to: outbox.clone(),
                    line: bytes,
                    last: false,
                });
            }
        }
    }
}

fn no_room(name: &str) -> Refusal {
    Refusal::new(ErrCode::NoSuchRoom, format!("there is no room {name}"))
}

/// The `BYE` for outbox `to`, in its protocol.
fn bye(to: &Outbox, text: &str) -> Bytes {
    let event = Event::Bye { text };
    match to.protocol() {
        Protocol::Chat => bytes(&event),
        Protocol::Irc => Bytes::from(irc::render_shared(&event).unwrap_or_default()),
    }
}

/// True for what an IRC client may send before its registration is over.
fn registering(command: &Command) -> bool {
    matches!(
        command,
        Command::Nick { .. }
            | Command::Quit { .. }
            | Command::Irc(
                Query::Cap { .. } | Query::Ping { .. } | Query::PingPeer | Query::Numeric { .. }
            )
    )
}

fn encode_history(me: Option<&str>, room: &str, entries: &[Entry], out: &mut Vec<u8>) {
    for e in entries {
        put_event(
            me,
            &Event::History {
                room,
                at: e.at,
                nick: &e.nick,
                text: &e.text,
            },
            out,
        );
    }
    put_event(me, &Event::EndHistory { room }, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::outbox::Post;
    use crate::net::outbox::{Inbox, queue};
    use crate::store::MemoryStore;
    use crossbeam_channel::Receiver as Rx;

    struct Rig {
        dispatcher: Dispatcher,
        inboxes: HashMap<ConnId, Inbox>,
        _mail: Rx<Post>,
        limit: usize,
        mail_tx: crossbeam_channel::Sender<Post>,
    }

    impl Rig {
        fn new(limit: usize) -> Rig {
            let (mail_tx, mail) = crossbeam_channel::unbounded();
            let dispatcher = Dispatcher::new(
                Chat::new(10),
                Box::new(MemoryStore::new(100)),
                Arc::new(Routes::default()),
                Settings {
                    welcome: "hi".into(),
                    inbox_cap: 2,
                },
                None,
            )
            .unwrap();
            Rig {
                dispatcher,
                inboxes: HashMap::new(),
                _mail: mail,
                limit,
                mail_tx,
            }
        }

        fn connect(&mut self, id: ConnId) {
            let (outbox, inbox) = queue(id, self.limit, self.mail_tx.clone());
            self.inboxes.insert(id, inbox);
            self.dispatcher.handle(Input::Connect {
                id,
                peer: SocketAddr::from(([127, 0, 0, 1], 1000 + u16::try_from(id).unwrap())),
                outbox,
                socket: None,
            });
        }

        fn line(&mut self, id: ConnId, line: &str) {
            let command = crate::proto::command::parse_command(line);
            self.dispatcher.handle(Input::Line { id, command });
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
        rig.dispatcher.handle(Input::Line {
            id: 1,
            command: crate::proto::lines::Frame::BadUtf8.command(),
        });
        let got = rig.lines(1);
        assert!(got[0].starts_with("ERR NO_SUCH_ROOM "));
        assert!(got[1].starts_with("ERR NICK_RESERVED "));
        assert!(got[2].starts_with("ERR BAD_UTF8 "));
        assert_eq!(rig.dispatcher.chat.rooms().count(), 0);
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
        fn commit(&mut self) -> crate::store::StoreResult<()> {
            Err(crate::store::StoreError("disk full".into()))
        }
    }

    #[test]
    fn nothing_is_acknowledged_when_the_store_cannot_commit() {
        let (mail_tx, _mail) = crossbeam_channel::unbounded();
        let dispatcher = Dispatcher::new(
            Chat::new(10),
            Box::new(BrokenDisk(MemoryStore::new(10))),
            Arc::new(Routes::default()),
            Settings {
                welcome: "hi".into(),
                inbox_cap: 2,
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
                .send(Input::Line {
                    id: 1,
                    command: crate::proto::command::parse_command(line),
                })
                .unwrap();
        }
        drop(inputs);
        dispatcher.run(&queue_rx);
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
}
