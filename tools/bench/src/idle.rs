//! `idle`: N clients connect, register and join room `<room><i mod R>`, then
//! sit idle. The server's VmRSS and thread count are read before the first
//! connect and after a settle period: their growth divided by the clients
//! held is the cost of one connection. Then everyone QUITs, and the server is
//! sampled once more (does it give threads and memory back?).

use crate::cli::IdleArgs;
use crate::common::{self, Ctx};
use crate::report::{Report, thousands};
use crate::sys::Meter;

pub fn run(a: &IdleArgs, ctx: &Ctx, r: &mut Report) -> Result<(), String> {
    let rooms = a.rooms.unwrap_or(a.clients / 100).max(1);
    let mut net = ctx.new_net()?;
    for i in 0..a.clients {
        net.add(ctx.nick(i), format!("{}{}", ctx.room, i % rooms));
    }
    r.u("clients", a.clients as u64).u("rooms", rooms as u64);
    r.row(
        "scenario",
        format!("{} idle clients in {rooms} rooms", a.clients),
    );

    let before = ctx.sample();
    let meter = Meter::start(ctx.pid);
    let setup = common::setup_phase(&mut net, ctx);
    let cpu = meter.stop();
    common::settle(&mut net, ctx.settle_ns(1000));
    let held = net.ready;
    let after = ctx.sample();

    common::report_setup(r, &setup, a.clients);
    r.u("clients_held_after_settle", held as u64);
    common::report_memory(r, before, after, held);
    common::report_cpu(r, &cpu);
    r.row("(CPU is for)", "the setup phase");
    common::quit_and_report(r, &mut net, ctx, 10);
    report_after_quit(r, ctx);
    common::report_net(r, &net);
    Ok(())
}

/// Sample the server half a second after everyone left.
fn report_after_quit(r: &mut Report, ctx: &Ctx) {
    std::thread::sleep(std::time::Duration::from_millis(500));
    if let Some(s) = ctx.sample() {
        r.u("server_rss_after_quit_kb", s.rss_kb)
            .u("server_threads_after_quit", s.threads);
        r.row(
            "server after QUIT",
            format!(
                "RSS {} kB, {} threads",
                thousands(s.rss_kb as f64),
                s.threads
            ),
        );
    }
}
