//! `amplify`: reply amplification (issue 11, finding 4). N idle clients are
//! online; S of them ("spammers") send `USERS` on a fixed schedule, R times a
//! second each (the server's default flood rate, 10), whatever the server
//! answers; one more client (the bystander) sends `PING <n>` every
//! `--ping-every` ms and times each `PONG <n>`. The figure is the bystander's
//! round-trip time: how much a crowd asking for the list of everyone delays
//! one person's line. The spammers' answers are counted (`END USERS`).

use crate::cli::AmplifyArgs;
use crate::common::{self, Ctx};
use crate::engine::{Handler, Net, St};
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use crate::sys::Meter;
use crate::wire::{parse_u64, split_word};
use std::collections::HashMap;

struct Amplify {
    spammers: Vec<usize>,
    bystander: usize,
    /// ns between two USERS of one spammer, and between two PINGs.
    users_every: u64,
    ping_every: u64,
    next_users: u64,
    next_ping: u64,
    /// PING token -> when it was sent.
    pings: HashMap<u64, u64>,
    ping_seq: u64,
    users_sent: u64,
    users_answered: u64,
    hist: Hist,
    end: u64,
    prog_last: (u64, u64),
}

impl Handler for Amplify {
    fn on_other(&mut self, _net: &mut Net, idx: usize, line: &[u8], now: u64) {
        let (verb, rest) = split_word(line);
        match verb {
            b"PONG" if idx == self.bystander => {
                if let Some(sent) = parse_u64(rest).and_then(|n| self.pings.remove(&n)) {
                    self.hist.record(now.saturating_sub(sent) / 1000);
                }
            }
            b"END" if rest == b"USERS" => self.users_answered += 1,
            _ => {}
        }
    }

    fn tick(&mut self, net: &mut Net, now: u64) {
        if now >= self.end {
            return;
        }
        while now >= self.next_users {
            for &idx in &self.spammers {
                net.send(idx, b"USERS\n");
                self.users_sent += 1;
            }
            self.next_users += self.users_every;
        }
        if now >= self.next_ping {
            self.ping_seq += 1;
            self.pings.insert(self.ping_seq, now);
            let line = format!("PING {}\n", self.ping_seq);
            net.send(self.bystander, line.as_bytes());
            self.next_ping = now + self.ping_every;
        }
    }

    fn next_wake(&self) -> Option<u64> {
        Some(self.next_users.min(self.next_ping))
    }

    fn progress(&mut self, _net: &Net, now: u64) -> String {
        let (t, n) = self.prog_last;
        let rate = (self.users_answered - n) as f64 / ((now - t) as f64 / 1e9).max(1e-9);
        self.prog_last = (now, self.users_answered);
        let p99 = self.hist.quantile(0.99).map_or(0.0, |v| v as f64 / 1000.0);
        format!(
            "USERS answered {}/s, PING p99 {p99:.1} ms over {} pings",
            thousands(rate),
            self.hist.count()
        )
    }

    fn done(&self, net: &Net) -> bool {
        net.now() >= self.end
    }
}

pub fn run(a: &AmplifyArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    if a.spammers >= a.users || a.rate <= 0.0 || a.ping_every_ms == 0 {
        return Err("amplify needs --spammers < --users, --rate > 0, --ping-every > 0".into());
    }
    let mut net = ctx.new_net()?;
    // users - 1 idle clients and spammers, then the bystander: `users` online.
    for i in 0..a.users {
        net.add(ctx.nick(i), String::new());
    }
    r.u("users", a.users as u64)
        .u("spammers", a.spammers as u64)
        .f("users_rate", a.rate)
        .u("ping_every_ms", a.ping_every_ms)
        .f("seconds", a.seconds);
    r.row(
        "scenario",
        format!(
            "{} users online; {} send USERS {}/s each; 1 sends PING every {} ms, for {} s",
            a.users, a.spammers, a.rate, a.ping_every_ms, a.seconds
        ),
    );
    let setup = common::setup_phase(&mut net, ctx);
    common::settle(&mut net, ctx.settle_ns(500));
    common::report_setup(r, &setup, a.users);
    let ready: Vec<usize> = (0..a.users)
        .filter(|&i| net.conns[i].st == St::Ready)
        .collect();
    let Some((&bystander, rest)) = ready.split_last() else {
        return Err("no client is ready".into());
    };
    let spammers: Vec<usize> = rest.iter().copied().take(a.spammers).collect();
    let meter = Meter::start(ctx.pid);
    net.phase = "amplify";
    let t0 = net.now();
    let mut h = Amplify {
        spammers,
        bystander,
        users_every: (1e9 / a.rate) as u64,
        ping_every: a.ping_every_ms * 1_000_000,
        next_users: t0,
        next_ping: t0,
        pings: HashMap::new(),
        ping_seq: 0,
        users_sent: 0,
        users_answered: 0,
        hist: Hist::default(),
        end: t0 + (a.seconds * 1e9) as u64,
        prog_last: (t0, 0),
    };
    net.run(&mut h, t0 + ctx.timeout_ns);
    let cpu = meter.stop();
    let span = (net.now() - t0) as f64 / 1e9;
    let lost = h.pings.len() as u64;
    r.u("users_sent", h.users_sent)
        .u("users_answered", h.users_answered)
        .f("users_answered_per_s", h.users_answered as f64 / span)
        .u("pings_unanswered", lost)
        .hist("ping_rtt_", &h.hist);
    r.row(
        "USERS",
        format!(
            "{} sent, {} answered in {span:.1} s ({}/s)",
            thousands(h.users_sent as f64),
            thousands(h.users_answered as f64),
            thousands(h.users_answered as f64 / span)
        ),
    );
    r.row(
        "bystander PING",
        format!("{}; {lost} unanswered at the end", hist_human(&h.hist)),
    );
    common::report_cpu(r, &cpu);
    common::quit_and_report(r, &mut net, ctx, 10);
    common::report_net(r, &net);
    Ok(())
}
