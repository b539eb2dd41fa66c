//! `whisper`: 2P registered clients (no room). Client 2i whispers a stamped
//! text to client 2i+1, which bounces it straight back; 2i records the round
//! trip and sends the next one, keeping `--inflight` per pair. CHAT/1 echoes
//! every WHISPER to its sender; those echoes are counted, not measured, so
//! one round trip is four lines from the server.

use crate::cli::WhisperArgs;
use crate::common::{self, Ctx};
use crate::engine::{Handler, Net, Outcome, St};
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use crate::sys::Meter;
use crate::wire::{self, Stamp};

struct Whisper {
    m: u32,
    size: usize,
    sent: Vec<u32>,
    completed: u64,
    expected: u64,
    bounced: u64,
    hist: Hist,
    foreign: u64,
    t_last: u64,
    quiet_ns: u64,
    prog_last: (u64, u64),
    echo_base: u64,
}

impl Whisper {
    fn send_one(&mut self, net: &mut Net, pair: usize, now: u64) {
        let seq = self.sent[pair];
        self.sent[pair] += 1;
        let idx = 2 * pair;
        let to = net.conns[idx + 1].nick.clone();
        let buf = net.wbuf(idx);
        buf.extend_from_slice(b"WHISPER ");
        buf.extend_from_slice(to.as_bytes());
        buf.push(b' ');
        wire::write_stamp(
            buf,
            Stamp {
                slot: pair,
                seq,
                ts: now,
            },
            self.size,
        );
        buf.push(b'\n');
        net.mark_dirty(idx);
    }

    fn bounce(&mut self, net: &mut Net, idx: usize, from: &[u8], text: &[u8]) {
        let buf = net.wbuf(idx);
        buf.extend_from_slice(b"WHISPER ");
        buf.extend_from_slice(from);
        buf.push(b' ');
        buf.extend_from_slice(text);
        buf.push(b'\n');
        net.mark_dirty(idx);
        self.bounced += 1;
    }
}

impl Handler for Whisper {
    fn on_whisper(&mut self, net: &mut Net, idx: usize, from: &[u8], text: &[u8], now: u64) {
        if idx % 2 == 1 {
            self.bounce(net, idx, from, text);
            return;
        }
        let pair = idx / 2;
        match wire::parse_stamp(text) {
            Some(st) if st.slot == pair => {
                self.hist.record(now.saturating_sub(st.ts) / 1000);
                self.completed += 1;
                self.t_last = now;
                if self.sent[pair] < self.m {
                    self.send_one(net, pair, now);
                }
            }
            _ => self.foreign += 1,
        }
    }

    fn progress(&mut self, _net: &Net, now: u64) -> String {
        let (t, n) = self.prog_last;
        let rate = (self.completed - n) as f64 / ((now - t) as f64 / 1e9).max(1e-9);
        self.prog_last = (now, self.completed);
        format!(
            "round trips {}/{} ({}/s)",
            thousands(self.completed as f64),
            thousands(self.expected as f64),
            thousands(rate)
        )
    }

    fn done(&self, net: &Net) -> bool {
        // Each round trip also echoes both whispers to their senders.
        let echoes = net.c.echoes - self.echo_base;
        (self.completed >= self.expected && echoes >= 2 * self.expected)
            || net.now().saturating_sub(self.t_last) > self.quiet_ns
    }
}

pub fn run(a: &WhisperArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    if a.pairs == 0 || a.size == 0 || a.size > 1900 {
        return Err("whisper needs --pairs >= 1 and --size 1..=1900".into());
    }
    let mut net = ctx.new_net()?;
    for i in 0..2 * a.pairs {
        net.add(ctx.nick(i), String::new());
    }
    let inflight = a.inflight.max(1);
    r.u("pairs", a.pairs as u64)
        .u("messages", u64::from(a.messages))
        .u("inflight", u64::from(inflight))
        .u("size", a.size as u64);
    r.row(
        "scenario",
        format!(
            "{} pairs x {} round trips, {inflight} in flight per pair, {} B texts",
            a.pairs, a.messages, a.size
        ),
    );
    let before = ctx.sample();
    let setup = common::setup_phase(&mut net, ctx);
    common::settle(&mut net, ctx.settle_ns(500));
    let after = ctx.sample();
    common::report_setup(r, &setup, 2 * a.pairs);
    common::report_memory(r, before, after, net.ready);

    let active: Vec<usize> = (0..a.pairs)
        .filter(|&p| net.conns[2 * p].st == St::Ready && net.conns[2 * p + 1].st == St::Ready)
        .collect();
    let mut w = Whisper {
        m: a.messages,
        size: a.size,
        sent: vec![0; a.pairs],
        completed: 0,
        expected: active.len() as u64 * u64::from(a.messages),
        bounced: 0,
        hist: Hist::default(),
        foreign: 0,
        t_last: 0,
        quiet_ns: a.quiet_ms * 1_000_000,
        prog_last: (0, 0),
        echo_base: net.c.echoes,
    };
    let echo0 = net.c.echoes;
    let meter = Meter::start(ctx.pid);
    net.phase = "whisper";
    let t0 = net.now();
    w.t_last = t0;
    w.prog_last = (t0, 0);
    for &p in &active {
        for _ in 0..inflight.min(a.messages) {
            w.send_one(&mut net, p, t0);
        }
    }
    let outcome = net.run(&mut w, t0 + ctx.timeout_ns);
    let cpu = meter.stop();
    let t_end = if w.completed > 0 { w.t_last } else { net.now() };
    let echoes = net.c.echoes - echo0;
    report_whisper(
        r,
        &w,
        active.len(),
        echoes,
        outcome,
        (t_end - t0) as f64 / 1e9,
    );
    common::report_cpu(r, &cpu);
    common::quit_and_report(r, &mut net, ctx, 5);
    common::report_net(r, &net);
    Ok(())
}

fn report_whisper(
    r: &mut Report,
    w: &Whisper,
    active: usize,
    echoes: u64,
    outcome: Outcome,
    span: f64,
) {
    let span = span.max(1e-9);
    let missing = w.expected.saturating_sub(w.completed);
    let complete = missing == 0 && w.expected > 0;
    r.u("active_pairs", active as u64)
        .u("round_trips_expected", w.expected)
        .u("round_trips_completed", w.completed)
        .u("missing", missing)
        .u("bounced", w.bounced)
        .u("echoes_received", echoes)
        .u("foreign_whispers", w.foreign)
        .b("complete", complete)
        .s("outcome", &format!("{outcome:?}"))
        .f("wall_s", span)
        .f("round_trips_per_s", w.completed as f64 / span)
        .f("whispers_per_s", 2.0 * w.completed as f64 / span)
        .hist("rtt_", &w.hist);
    r.row(
        "round trips",
        format!(
            "{}/{} in {span:.3} s = {}/s ({} whispers/s){}",
            thousands(w.completed as f64),
            thousands(w.expected as f64),
            thousands(w.completed as f64 / span),
            thousands(2.0 * w.completed as f64 / span),
            if complete { "" } else { "  [INCOMPLETE]" }
        ),
    );
    r.row("round-trip time", hist_human(&w.hist));
    r.row("echoes", format!("{echoes} (expected {})", 2 * w.expected));
}
