//! `storm`: connection churn. N client slots each run C cycles of
//! connect → NICK → JOIN `<room><i mod R>` → QUIT → server closes. A failed
//! cycle counts as a failure and the slot goes on with its next cycle. Each
//! cycle uses a fresh nick (`<prefix><slot>x<cycle>`), so a server that frees
//! a nick a little after closing the socket is not blamed for it. The server
//! is sampled before and after (threads and RSS should come back).

use crate::cli::StormArgs;
use crate::common::{self, Ctx};
use crate::engine::{Handler, Net, Outcome, St};
use crate::hist::Hist;
use crate::report::{Report, hist_human, thousands};
use crate::sys::{Meter, ProcSample};

struct Storm {
    prefix: String,
    cycles: u32,
    done_cycles: Vec<u32>,
    slots_left: usize,
    joined: u64,
    clean_cycles: u64,
    failed_cycles: u64,
    setup_hist: Hist,
    cycle_hist: Hist,
    prog_last: (u64, u64),
}

impl Storm {
    fn nick(&self, slot: usize, cycle: u32) -> String {
        format!("{}{slot}x{cycle}", self.prefix)
    }
}

impl Handler for Storm {
    fn on_ready(&mut self, net: &mut Net, idx: usize, now: u64) {
        self.joined += 1;
        self.setup_hist
            .record(now.saturating_sub(net.conns[idx].t_open) / 1000);
        net.quit(idx);
    }

    fn tick(&mut self, net: &mut Net, now: u64) {
        for idx in net.take_ended() {
            match net.conns[idx].st {
                St::Closed => {
                    self.clean_cycles += 1;
                    self.cycle_hist
                        .record(now.saturating_sub(net.conns[idx].t_open) / 1000);
                }
                _ => self.failed_cycles += 1,
            }
            self.done_cycles[idx] += 1;
            if self.done_cycles[idx] < self.cycles {
                let nick = self.nick(idx, self.done_cycles[idx]);
                net.reopen(idx, nick);
            } else {
                self.slots_left -= 1;
            }
        }
    }

    fn progress(&mut self, _net: &Net, now: u64) -> String {
        let (t, n) = self.prog_last;
        let rate = (self.joined - n) as f64 / ((now - t) as f64 / 1e9).max(1e-9);
        self.prog_last = (now, self.joined);
        format!(
            "cycles ok {} failed {}  joins {} ({}/s)",
            self.clean_cycles,
            self.failed_cycles,
            self.joined,
            thousands(rate)
        )
    }

    fn done(&self, _net: &Net) -> bool {
        self.slots_left == 0
    }
}

pub fn run(a: &StormArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    if a.clients == 0 || a.cycles == 0 {
        return Err("storm needs --clients >= 1 and --cycles >= 1".into());
    }
    let rooms = a.rooms.unwrap_or(a.clients / 100).max(1);
    let mut st = Storm {
        prefix: ctx.nick_prefix.clone(),
        cycles: a.cycles,
        done_cycles: vec![0; a.clients],
        slots_left: a.clients,
        joined: 0,
        clean_cycles: 0,
        failed_cycles: 0,
        setup_hist: Hist::default(),
        cycle_hist: Hist::default(),
        prog_last: (0, 0),
    };
    let mut net = ctx.new_net()?;
    for i in 0..a.clients {
        net.add(st.nick(i, 0), format!("{}{}", ctx.room, i % rooms));
    }
    let total = a.clients as u64 * u64::from(a.cycles);
    r.u("clients", a.clients as u64)
        .u("cycles", u64::from(a.cycles))
        .u("rooms", rooms as u64);
    r.row(
        "scenario",
        format!(
            "{} slots x {} cycles of connect/nick/join/quit, {rooms} rooms",
            a.clients, a.cycles
        ),
    );
    let before = ctx.sample();
    let meter = Meter::start(ctx.pid);
    net.phase = "storm";
    let t0 = net.now();
    st.prog_last = (t0, 0);
    let outcome = net.run(&mut st, t0 + ctx.timeout_ns);
    let cpu = meter.stop();
    let wall = (net.now() - t0) as f64 / 1e9;
    if outcome != Outcome::Done {
        net.fail_unfinished("storm timeout");
    }
    report_storm(r, &st, total, wall, outcome);
    common::report_cpu(r, &cpu);
    // Normally nothing is left open; a timed-out storm leaves some.
    let (clean, dropped) = net.quit_all(ctx.timeout_ns.min(5_000_000_000));
    r.u("quit_clean", clean).u("quit_dropped", dropped);
    common::settle(&mut net, ctx.settle_ns(500));
    report_leftovers(r, before, ctx.sample(), total);
    common::report_net(r, &net);
    Ok(())
}

fn report_storm(r: &mut Report, st: &Storm, total: u64, wall: f64, outcome: Outcome) {
    let wall = wall.max(1e-9);
    r.u("cycles_expected", total)
        .u("cycles_clean", st.clean_cycles)
        .u("cycles_failed", st.failed_cycles)
        .u("joins", st.joined)
        .b("complete", st.clean_cycles == total)
        .s("outcome", &format!("{outcome:?}"))
        .f("wall_s", wall)
        .f("connects_per_s", st.joined as f64 / wall)
        .f("cycles_per_s", st.clean_cycles as f64 / wall)
        .hist("setup_", &st.setup_hist)
        .hist("cycle_", &st.cycle_hist);
    r.row(
        "cycles",
        format!(
            "{}/{} clean, {} failed in {wall:.3} s{}",
            st.clean_cycles,
            total,
            st.failed_cycles,
            if st.clean_cycles == total {
                ""
            } else {
                "  [INCOMPLETE]"
            }
        ),
    );
    r.row(
        "rate",
        format!(
            "{} connects+joins/s, {} full cycles/s",
            thousands(st.joined as f64 / wall),
            thousands(st.clean_cycles as f64 / wall)
        ),
    );
    r.row("connect -> joined", hist_human(&st.setup_hist));
    r.row("connect -> closed after QUIT", hist_human(&st.cycle_hist));
}

/// Server RSS and threads before the storm and after everyone left: what is
/// left over (per cycle) hints at a leak.
fn report_leftovers(
    r: &mut Report,
    before: Option<ProcSample>,
    after: Option<ProcSample>,
    cycles: u64,
) {
    let (Some(b), Some(a)) = (before, after) else {
        r.row("server memory", "n/a (no --pid)");
        return;
    };
    let per_cycle = (a.rss_kb as f64 - b.rss_kb as f64) * 1024.0 / cycles.max(1) as f64;
    r.u("server_rss_before_kb", b.rss_kb)
        .u("server_rss_after_kb", a.rss_kb)
        .u("server_hwm_after_kb", a.hwm_kb)
        .u("server_threads_before", b.threads)
        .u("server_threads_after", a.threads)
        .f("rss_growth_bytes_per_cycle", per_cycle);
    r.row(
        "server after the storm",
        format!(
            "RSS {} kB -> {} kB ({} bytes/cycle left), threads {} -> {}, peak RSS {} kB",
            thousands(b.rss_kb as f64),
            thousands(a.rss_kb as f64),
            thousands(per_cycle),
            b.threads,
            a.threads,
            thousands(a.hwm_kb as f64)
        ),
    );
}
