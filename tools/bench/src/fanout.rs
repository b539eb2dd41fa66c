//! `fanout`: K members join one room; members 0..S-1 each send M messages
//! (`SAY <room> SB <slot> <seq> <send_ns> xxx…`).
//!
//! - Free-running (no `--rate`): each sender keeps about 32 KiB queued in its
//!   socket while it accepts data; the stamp is the generation time, so the
//!   latency includes queueing in the server (a saturation test).
//! - `--rate R`: each sender sends R msgs/s on a fixed schedule, staggered
//!   across senders; the stamp is the *intended* send time, so a late
//!   generator does not hide latency (no coordinated omission).
//!
//! Every member stamps each read on the same monotonic clock. Deliveries
//! (not counting the sender's own echo, which is counted apart) are checked
//! per member and sender for loss, duplicates and order.

use crate::cli::FanoutArgs;
use crate::common::{self, Ctx};
use crate::engine::{Handler, Net, Outcome, St};
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use crate::sys::Meter;
use crate::wire::{self, Stamp};
use sala::proto::command::is_valid_room;
use sala::proto::lines::MAX_LINE;

/// Bytes a free-running sender keeps queued before handing them to the kernel.
const FILL_BYTES: usize = 32 * 1024;

struct Fanout {
    say_prefix: Vec<u8>,
    k: usize,
    s: usize,
    m: u32,
    size: usize,
    interval_ns: Option<u64>,
    active: Vec<bool>,
    sent: Vec<u32>,
    next_due: Vec<u64>,
    work: Vec<usize>,
    in_work: Vec<bool>,
    senders_left: usize,
    t_start: u64,
    t_last_send: u64,
    t_last_recv: u64,
    received: u64,
    expected: u64,
    echo_base: u64,
    echo_expected: u64,
    hist: Hist,
    /// per (member, sender): next expected seq and messages received
    next_seq: Vec<u32>,
    got: Vec<u32>,
    out_of_order: u64,
    duplicates: u64,
    foreign: u64,
    gen_lag_max_ns: u64,
    quiet_ns: u64,
    prog_last: (u64, u64),
}

impl Fanout {
    fn generate(&mut self, net: &mut Net, slot: usize, ts: u64) {
        let seq = self.sent[slot];
        self.sent[slot] += 1;
        let buf = net.wbuf(slot);
        buf.extend_from_slice(&self.say_prefix);
        wire::write_stamp(buf, Stamp { slot, seq, ts }, self.size);
        buf.push(b'\n');
        self.t_last_send = self.t_last_send.max(ts);
        if self.sent[slot] == self.m {
            self.senders_left -= 1;
        }
    }

    fn can_send(&self, net: &Net, slot: usize) -> bool {
        self.active[slot] && self.sent[slot] < self.m && net.conns[slot].st == St::Ready
    }

    /// Free-running: fill each sender that may write, then flush it.
    fn pump(&mut self, net: &mut Net, now: u64) {
        for slot in std::mem::take(&mut self.work) {
            self.in_work[slot] = false;
            if !self.can_send(net, slot) {
                continue;
            }
            while self.sent[slot] < self.m && net.pending_out(slot) < FILL_BYTES {
                self.generate(net, slot, now);
            }
            net.flush(slot);
            if self.can_send(net, slot) && !net.is_blocked(slot) {
                self.queue(slot);
            }
        }
    }

    /// Fixed rate: send everything that is due, stamped with its due time.
    fn scheduled(&mut self, net: &mut Net, now: u64, iv: u64) {
        for slot in 0..self.s {
            let mut any = false;
            while self.can_send(net, slot) && self.next_due[slot] <= now {
                let due = self.next_due[slot];
                self.gen_lag_max_ns = self.gen_lag_max_ns.max(now - due);
                self.generate(net, slot, due);
                self.next_due[slot] += iv;
                any = true;
            }
            if any {
                net.mark_dirty(slot);
            }
        }
    }

    fn queue(&mut self, slot: usize) {
        if !self.in_work[slot] {
            self.in_work[slot] = true;
            self.work.push(slot);
        }
    }

    fn record(&mut self, member: usize, st: Stamp, now: u64) {
        self.received += 1;
        self.t_last_recv = now;
        self.hist.record(now.saturating_sub(st.ts) / 1000);
        let k = member * self.s + st.slot;
        self.got[k] += 1;
        let exp = self.next_seq[k];
        if st.seq == exp {
            self.next_seq[k] = exp + 1;
        } else if st.seq < exp {
            self.duplicates += 1;
        } else {
            self.out_of_order += 1;
            self.next_seq[k] = st.seq + 1;
        }
    }

    /// Deliveries that never arrived, over members ready at the start.
    fn missing(&self, members: &[bool]) -> u64 {
        let mut miss = 0;
        for (mi, _) in members.iter().enumerate().filter(|(_, r)| **r) {
            for slot in (0..self.s).filter(|&s| self.active[s] && s != mi) {
                let got = u64::from(self.got[mi * self.s + slot]);
                miss += u64::from(self.sent[slot]).saturating_sub(got);
            }
        }
        miss
    }
}

impl Handler for Fanout {
    fn on_msg(&mut self, _net: &mut Net, idx: usize, _from: &[u8], text: &[u8], now: u64) {
        match wire::parse_stamp(text) {
            Some(st) if st.slot < self.s && idx < self.k => self.record(idx, st, now),
            _ => self.foreign += 1,
        }
    }

    fn on_writable(&mut self, net: &mut Net, idx: usize) {
        if self.interval_ns.is_none() && idx < self.s && self.can_send(net, idx) {
            self.queue(idx);
        }
    }

    fn tick(&mut self, net: &mut Net, now: u64) {
        match self.interval_ns {
            None => self.pump(net, now),
            Some(iv) => self.scheduled(net, now, iv),
        }
    }

    fn next_wake(&self) -> Option<u64> {
        match self.interval_ns {
            None => (!self.work.is_empty()).then_some(0),
            Some(_) => (0..self.s)
                .filter(|&s| self.active[s] && self.sent[s] < self.m)
                .map(|s| self.next_due[s])
                .min(),
        }
    }

    fn progress(&mut self, net: &Net, now: u64) -> String {
        let (t, n) = self.prog_last;
        let rate = (self.received - n) as f64 / ((now - t) as f64 / 1e9).max(1e-9);
        self.prog_last = (now, self.received);
        let sent: u64 = self.sent.iter().map(|&x| u64::from(x)).sum();
        format!(
            "sent {}  delivered {}/{} ({}/s)  echoes {}/{}",
            thousands(sent as f64),
            thousands(self.received as f64),
            thousands(self.expected as f64),
            thousands(rate),
            net.c.echoes - self.echo_base,
            self.echo_expected
        )
    }

    fn done(&self, net: &Net) -> bool {
        let echoes = net.c.echoes - self.echo_base;
        if self.received >= self.expected && echoes >= self.echo_expected {
            return true;
        }
        let last = self.t_last_recv.max(self.t_last_send);
        self.senders_left == 0 && net.now().saturating_sub(last) > self.quiet_ns
    }
}

fn check_args(a: &FanoutArgs, ctx: &Ctx) -> Result<(), String> {
    if a.members < 2 || a.senders == 0 || a.senders > a.members {
        return Err("fanout needs --members >= 2 and 1 <= --senders <= --members".into());
    }
    if !is_valid_room(&ctx.room) {
        return Err(format!("bad room name '{}'", ctx.room));
    }
    // The MSG line (verb, room, nick, text, newline) must stay within MAX_LINE:
    // the bench's splitter, like the server's, discards a longer line.
    let overhead = 4 + ctx.room.len() + 1 + ctx.nick(a.members).len() + 1 + 1;
    if a.size + overhead > MAX_LINE || a.size == 0 {
        return Err(format!("--size must be 1..={}", MAX_LINE - overhead));
    }
    if a.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate must be > 0".into());
    }
    Ok(())
}

pub fn run(a: &FanoutArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    check_args(a, ctx)?;
    let mut net = ctx.new_net()?;
    for i in 0..a.members {
        net.add(ctx.nick(i), ctx.room.clone());
    }
    let rate_txt = a
        .rate
        .map(|x| format!("{x}/s per sender"))
        .unwrap_or_else(|| "free-running".into());
    r.u("members", a.members as u64)
        .u("senders", a.senders as u64)
        .u("messages", u64::from(a.messages))
        .opt_f("rate_per_sender", a.rate)
        .u("size", a.size as u64)
        .s("room", &ctx.room);
    r.row(
        "scenario",
        format!(
            "{} members in '{}', {} senders x {} msgs of {} B, {rate_txt}",
            a.members, ctx.room, a.senders, a.messages, a.size
        ),
    );
    let before = ctx.sample();
    let setup = common::setup_phase(&mut net, ctx);
    common::settle(&mut net, ctx.settle_ns(500));
    let after = ctx.sample();
    common::report_setup(r, &setup, a.members);
    common::report_memory(r, before, after, net.ready);

    let members: Vec<bool> = net.conns.iter().map(|c| c.st == St::Ready).collect();
    let mut f = new_fanout(a, ctx, &net, &members);
    let meter = Meter::start(ctx.pid);
    let failures0 = net.failures;
    net.phase = "fanout";
    start(&mut f, &mut net);
    let deadline = f.t_start + ctx.timeout_ns;
    let outcome = net.run(&mut f, deadline);
    let cpu = meter.stop();
    let t_end = net.now();
    report_fanout(r, &f, &net, &members, outcome, t_end);
    r.u("members_lost_during_run", net.failures - failures0);
    common::report_cpu(r, &cpu);
    common::quit_and_report(r, &mut net, ctx, 5);
    common::report_net(r, &net);
    Ok(())
}

fn new_fanout(a: &FanoutArgs, ctx: &Ctx, net: &Net, members: &[bool]) -> Fanout {
    let s = a.senders;
    let active: Vec<bool> = members[..s].to_vec();
    let s_active = active.iter().filter(|&&x| x).count() as u64;
    let ready = members.iter().filter(|&&x| x).count() as u64;
    Fanout {
        say_prefix: format!("SAY {} ", ctx.room).into_bytes(),
        k: a.members,
        s,
        m: a.messages,
        size: a.size,
        interval_ns: a.rate.map(|x| (1e9 / x).max(1.0) as u64),
        active,
        sent: vec![0; s],
        next_due: vec![0; s],
        work: Vec::new(),
        in_work: vec![false; s],
        senders_left: s_active as usize,
        t_start: 0,
        t_last_send: 0,
        t_last_recv: 0,
        received: 0,
        expected: s_active * u64::from(a.messages) * ready.saturating_sub(1),
        echo_base: net.c.echoes,
        echo_expected: s_active * u64::from(a.messages),
        hist: Hist::default(),
        next_seq: vec![0; a.members * s],
        got: vec![0; a.members * s],
        out_of_order: 0,
        duplicates: 0,
        foreign: 0,
        gen_lag_max_ns: 0,
        quiet_ns: a.quiet_ms * 1_000_000,
        prog_last: (net.now(), 0),
    }
}

fn start(f: &mut Fanout, net: &mut Net) {
    let t = net.now();
    f.t_start = t;
    f.t_last_send = t;
    f.prog_last = (t, 0);
    if f.m == 0 {
        f.senders_left = 0;
    }
    for slot in 0..f.s {
        if !f.active[slot] {
            continue;
        }
        match f.interval_ns {
            Some(iv) => f.next_due[slot] = t + iv * slot as u64 / f.s as u64,
            None => f.queue(slot),
        }
    }
}

fn report_fanout(
    r: &mut Report,
    f: &Fanout,
    net: &Net,
    members: &[bool],
    outcome: Outcome,
    t_end: u64,
) {
    let sent: u64 = f.sent.iter().map(|&x| u64::from(x)).sum();
    let last = if f.received > 0 { f.t_last_recv } else { t_end };
    let span = (last.saturating_sub(f.t_start) as f64 / 1e9).max(1e-9);
    let send_span = (f.t_last_send.saturating_sub(f.t_start) as f64 / 1e9).max(1e-9);
    let missing = f.missing(members);
    let echoes = net.c.echoes - f.echo_base;
    let all_ready = members.iter().all(|&x| x);
    let complete = all_ready
        && f.expected > 0
        && f.received >= f.expected
        && missing == 0
        && f.out_of_order == 0
        && f.duplicates == 0
        && echoes >= f.echo_expected;
    let loss_pct = 100.0 * missing as f64 / (f.expected.max(1)) as f64;
    r.u(
        "ready_members",
        members.iter().filter(|&&x| x).count() as u64,
    )
    .u(
        "active_senders",
        f.active.iter().filter(|&&x| x).count() as u64,
    )
    .u("msgs_sent", sent)
    .u("deliveries_expected", f.expected)
    .u("deliveries_received", f.received)
    .u("deliveries_missing", missing)
    .f("loss_pct", loss_pct)
    .u("echoes_expected", f.echo_expected)
    .u("echoes_received", echoes)
    .u("out_of_order", f.out_of_order)
    .u("duplicates_or_late", f.duplicates)
    .u("foreign_msgs", f.foreign)
    .b("complete", complete)
    .s("outcome", &format!("{outcome:?}"))
    .f("wall_s", span)
    .f("send_s", send_span)
    .f("msgs_per_s", sent as f64 / span)
    .f("deliveries_per_s", f.received as f64 / span)
    .hist("lat_", &f.hist)
    .f("gen_lag_max_ms", f.gen_lag_max_ns as f64 / 1e6);
    r.row(
        "deliveries",
        format!(
            "{}/{} (missing {missing}, {loss_pct:.3}%), out-of-order {}, dup/late {}, echoes {echoes}/{}{}",
            thousands(f.received as f64),
            thousands(f.expected as f64),
            f.out_of_order,
            f.duplicates,
            f.echo_expected,
            if complete { "" } else { "  [INCOMPLETE]" }
        ),
    );
    r.row(
        "throughput",
        format!(
            "{} deliveries/s, {} msgs/s (first send -> last delivery {:.3} s; sending took {:.3} s)",
            thousands(f.received as f64 / span),
            thousands(sent as f64 / span),
            span,
            send_span
        ),
    );
    r.row("latency (send -> read)", hist_human(&f.hist));
    if f.interval_ns.is_some() {
        r.row(
            "generator lag max",
            format!("{:.3} ms", f.gen_lag_max_ns as f64 / 1e6),
        );
    }
    if outcome != Outcome::Done {
        r.row("ended by", format!("{outcome:?}"));
    }
}
