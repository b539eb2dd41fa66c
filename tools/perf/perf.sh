#!/usr/bin/env bash
# Side-by-side performance figures for Sala and reference servers, measured
# with ONE harness (chatload, ../shared/tools/chatload beside the repo) in ONE run,
# interleaved: for each repetition, each scenario runs against every server in
# turn (A, B, C, D, E, A, B, ...), so that slow drift of the machine touches
# all servers alike. docs/performance.md quotes medians over REPS runs.
#
# Servers (all on 127.0.0.1, each with RLIMIT_NOFILE 20000, the hard limit here):
#   salamem      target/release/server --max-per-ip 0 --flood-rate 0 --no-persist
#   salapersist  target/release/server --max-per-ip 0 --flood-rate 0 --data-dir <fresh mktemp -d>
#   salabase     the server of commit $BASE (built in a worktree), flags as salamem  (ab phase)
#   salairc      target/release/server --max-per-ip 0 --flood-rate 0 --no-persist --irc-listen ...  (measured on its IRC port)
#   ideal        idealfanout --coalesce   (chatload's minimal coalescing reference)
#   ngircd       ngIRCd 26.1 (Debian), MaxPenaltyTime = 0 (flood penalty off)
#   inspircd     InspIRCd 3.15 (Debian), threshold/commandrate 2^31-1, fakelag off
# The ngircd/inspircd configs are copied from chatload's scripts/anchors.sh
# (credit: the chatload authors; see ANCHORS.md) with our own ports and a
# private config directory, so that a concurrent anchors.sh run is not disturbed.
#
# Safety: loopback only (chatload refuses anything else); every server this
# script starts is stopped by the PID it got from `$!` (trap on EXIT/INT/TERM),
# never by name; every run is bounded by chatload's own deadlines, its SIGALRM
# cap and an outer `timeout`.
#
# usage: tools/perf/perf.sh [all|load|idle|sweep|bench|persist|irc|ab]...    (default: all)
#   ab:  this tree's server against the commit BASE (env, e.g. BASE=HEAD~3), both --no-persist,
#        interleaved: fan-out K100 and K1000 and whisper P50, AB_REPS (default REPS) rounds;
#        AB_PROTO=irc measures both servers' IRC doors instead.
#   irc: Sala's IRC front door against ngIRCd, both with chatload --proto irc
#        (fan-out K100/K1000/rate50 and whisper P50), IRC_REPS (default REPS) rounds.
#   env: REPS=3 PERSIST_REPS=5  OUT=docs/perf/results-<stamp>.jsonl
#        CHATLOAD_SRC=<repo>/../shared/tools/chatload  CHATLOAD_TARGET=<target>/chatload
#        CARGO_TARGET_DIR=<repo>/target  (Sala's build; chatload is built under it too)
#        NGIRCD, INSPIRCD  (default: ngircd, inspircd found on PATH)
#        SWEEP_SERVERS="salamem ideal ngircd"  LOAD_SERVERS="salamem salapersist ideal ngircd inspircd"
#        IDLE_SERVERS="salamem salapersist ideal ngircd inspircd"
#        QUIET_BUSY_PCT=25 QUIET_WAIT_S=1200  (wait while the box is busier than this without us)
# Takes about 20 minutes with REPS=3 on a 2-core machine (plus any wait for quiet).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
REPS=${REPS:-3}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/docs/perf/results-$STAMP.jsonl}
LOG=${OUT%.jsonl}.log
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CHATLOAD_SRC=${CHATLOAD_SRC:-$ROOT/../shared/tools/chatload}
CHATLOAD_TARGET=${CHATLOAD_TARGET:-$TARGET/chatload}
LOAD_SERVERS=${LOAD_SERVERS:-"salamem salapersist ideal ngircd inspircd"}
IDLE_SERVERS=${IDLE_SERVERS:-"salamem salapersist ideal ngircd inspircd"}
SWEEP_SERVERS=${SWEEP_SERVERS:-"salamem ideal ngircd"}
QUIET_BUSY_PCT=${QUIET_BUSY_PCT:-25}
QUIET_WAIT_S=${QUIET_WAIT_S:-1200}
NOFILE=20000
# Extra flags for the Sala servers (the persist phase adds --send-queue, below).
SALA_ARGS=${SALA_ARGS:-}
CONF=$(mktemp -d -t sala-perf.XXXXXX)
NGIRCD=${NGIRCD:-$(command -v ngircd || true)}
INSPIRCD=${INSPIRCD:-$(command -v inspircd || true)}
WHAT=("$@")
[ ${#WHAT[@]} -gt 0 ] || WHAT=(all)

declare -A PORT=([salabase]=16808 [salabaseirc]=16809 [salamem]=16801 [salapersist]=16802 [ideal]=16803 [ngircd]=16804 [inspircd]=16805 [salairc]=16806)
IRC_PORT=16807
IRC_BASE_PORT=16810
declare -A PID=()
declare -A CMD=()
declare -A DATADIR=()

mkdir -p "$(dirname "$OUT")"

log() { echo "$*" | tee -a "$LOG" >&2; }

cleanup() {
    local s
    for s in "${!PID[@]}"; do
        kill "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!PID[@]}"; do
        wait "${PID[$s]}" 2>/dev/null || true
    done
    for s in "${!DATADIR[@]}"; do rm -rf "${DATADIR[$s]}"; done
    rm -rf "$CONF"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ build
build() {
    log "# building sala (release)"
    cargo build --release --quiet --workspace
    if [ ! -x "$CHATLOAD_TARGET/release/chatload" ] || [ ! -x "$CHATLOAD_TARGET/release/idealfanout" ]; then
        log "# building chatload from $CHATLOAD_SRC into $CHATLOAD_TARGET"
        # A writable copy: shared/ is read-only, and cargo writes Cargo.lock.
        local src=$TARGET/chatload-src
        rm -rf "$src"
        mkdir -p "$TARGET"
        cp -r "$CHATLOAD_SRC" "$src"
        chmod -R u+w "$src"
        # Its own workspace: the copy sits under our target dir, inside Sala's workspace.
        grep -q '^\[workspace\]' "$src/Cargo.toml" || printf '\n[workspace]\n' >>"$src/Cargo.toml"
        (cd "$src" && cargo build --release --quiet --target-dir "$CHATLOAD_TARGET")
    fi
    # Run private copies: other people's builds may replace target/release/* mid-run.
    mkdir -p "$CONF/bin"
    cp "$TARGET/release/server" "$TARGET/release/bench" "$CHATLOAD_TARGET/release/chatload" \
        "$CHATLOAD_TARGET/release/idealfanout" "$CONF/bin/"
    SALA=$CONF/bin/server
    BENCH=$CONF/bin/bench
    CL=$CONF/bin/chatload
    IDEAL=$CONF/bin/idealfanout
    if [ -n "${BASE:-}" ]; then
        local rev wt
        # Outside this repository, so that cargo does not take it for a member of our workspace.
        wt=$CONF/base-src
        rev=$(git -C "$ROOT" rev-parse --verify "$BASE^{commit}")
        log "# building the server of $BASE ($rev) in $wt"
        git -C "$ROOT" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
        git -C "$ROOT" worktree add --detach "$wt" "$rev" >/dev/null
        (cd "$wt" && cargo build --release --quiet --bin server --target-dir "$TARGET/perf-base")
        git -C "$ROOT" worktree remove --force "$wt"
        cp "$TARGET/perf-base/release/server" "$CONF/bin/server-base"
        SALA_BASE=$CONF/bin/server-base
    fi
    [ -x "$NGIRCD" ] || log "# ngircd missing (apt-get install ngircd): ngircd runs skipped"
    [ -x "$INSPIRCD" ] || log "# inspircd missing (apt-get install inspircd): inspircd runs skipped"
}

have() { # server
    case $1 in
        ngircd) [ -x "$NGIRCD" ] ;;
        inspircd) [ -x "$INSPIRCD" ] ;;
        *) true ;;
    esac
}

# ------------------------------------------------------------------ configs (from chatload's anchors.sh)
write_ngircd_conf() {
cat > "$CONF/ngircd.conf" <<EOF
# chatload anchor config for ngIRCd 26.1 (Debian bookworm), port changed. Loopback only.
[Global]
	Name = load.ngircd.test
	Info = chatload anchor server
	Listen = 127.0.0.1
	Ports = ${PORT[ngircd]}
	MotdPhrase = "chatload"
	ServerUID = irc
	ServerGID = irc
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	MaxPenaltyTime = 0
	PingTimeout = 600
	PongTimeout = 120
	IdleTimeout = 0
[Options]
	DNS = no
	Ident = no
	PAM = no
	RequireAuthPing = no
	SyslogFacility = local1
EOF
chmod 755 "$CONF"; chmod 644 "$CONF/ngircd.conf"
}

write_inspircd_conf() {
cat > "$CONF/inspircd.conf" <<EOF
# chatload anchor config for InspIRCd 3.15.0 (Debian bookworm), port changed. Loopback only, no modules.
<server name="load.inspircd.test" description="chatload anchor server" network="LoadNet">
<admin name="chatload" nick="chatload" email="chatload@load.test">
<bind address="127.0.0.1" port="${PORT[inspircd]}" type="clients">
<connect name="main"
         allow="127.0.0.1"
         maxchans="1000"
         timeout="120"
         pingfreq="600"
         hardsendq="1073741824"
         softsendq="1073741824"
         recvq="1073741824"
         threshold="2147483647"
         commandrate="2147483647"
         fakelag="no"
         localmax="1000000"
         globalmax="1000000"
         maxconnwarn="no"
         resolvehostnames="no"
         useident="no"
         limit="1000000">
<files motd="$CONF/inspircd.motd">
<pid file="$CONF/inspircd.pid">
<dns server="127.0.0.1" timeout="1">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" pingwarning="15">
<security hideserver="" userstats="Pu" flatlinks="no" hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
<performance quietbursts="yes" softlimit="100000" somaxconn="4096" netbuffersize="65000" clonesonconnect="no" timeskipwarn="0">
<whowas groupsize="0" maxgroups="0" maxkeep="0">
<limits maxnick="30" maxchan="64">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$CONF/inspircd.log">
EOF
echo chatload > "$CONF/inspircd.motd"
}

# ------------------------------------------------------------------ servers
port_busy() { ss -ltnH "sport = :$1" | grep -q LISTEN; }

start_server() { # name
    local s=$1 port=${PORT[$1]}
    if port_busy "$port"; then log "!! port $port already in use; not starting $s"; exit 3; fi
    case $s in
        salabase|salabaseirc)
            # Every load client comes from 127.0.0.1: no per-address limit, if the base has one.
            local per_ip="" irc=""
            if "$SALA_BASE" --help | grep -q -- --max-per-ip; then per_ip="--max-per-ip 0"; fi
            [ "$s" = salabaseirc ] && irc="--irc-listen 127.0.0.1:$IRC_BASE_PORT"
            CMD[$s]="$SALA_BASE --listen 127.0.0.1:$port --web-listen off $per_ip $irc --flood-rate 0 --no-persist $SALA_ARGS"
            ;;
        salamem)
            CMD[$s]="$SALA --listen 127.0.0.1:$port --web-listen off --max-per-ip 0 --flood-rate 0 --no-persist $SALA_ARGS"
            ;;
        salairc)
            CMD[$s]="$SALA --listen 127.0.0.1:$port --web-listen off --max-per-ip 0 --irc-listen 127.0.0.1:$IRC_PORT --flood-rate 0 --no-persist"
            ;;
        salapersist)
            DATADIR[$s]=$(mktemp -d -t sala-perf-data.XXXXXX)
            CMD[$s]="$SALA --listen 127.0.0.1:$port --web-listen off --max-per-ip 0 --flood-rate 0 --data-dir ${DATADIR[$s]} $SALA_ARGS"
            ;;
        ideal)
            CMD[$s]="$IDEAL --listen 127.0.0.1:$port --max-seconds 7200 --coalesce"
            ;;
        ngircd)
            CMD[$s]="$NGIRCD --nodaemon --config $CONF/ngircd.conf"
            ;;
        inspircd)
            CMD[$s]="$INSPIRCD --runasroot --nofork --config=$CONF/inspircd.conf"
            ;;
    esac
    # shellcheck disable=SC2086
    prlimit --nofile=$NOFILE:$NOFILE ${CMD[$s]} >"$CONF/$s.out" 2>&1 &
    PID[$s]=$!
    local i
    for i in $(seq 1 100); do
        port_busy "$port" && break
        sleep 0.1
    done
    port_busy "$port" || { log "!! $s did not start: $(tail -3 "$CONF/$s.out")"; exit 4; }
    sleep 0.5
    log "== started $s pid ${PID[$s]}: prlimit --nofile=$NOFILE:$NOFILE ${CMD[$s]}"
}

stop_server() { # name
    local s=$1 p=${PID[$1]:-}
    [ -n "$p" ] || return 0
    kill "$p" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "PID[$s]"
    if [ -n "${DATADIR[$s]:-}" ]; then
        log "== stopped $s pid $p (data dir $(du -sh "${DATADIR[$s]}" | cut -f1))"
        rm -rf "${DATADIR[$s]}"
        unset "DATADIR[$s]"
    else
        log "== stopped $s pid $p"
    fi
    sleep 1
}

addr_of() {
    case $1 in
        ngircd|inspircd) echo "--proto irc --addr 127.0.0.1:${PORT[$1]}" ;;
        salairc) echo "--proto irc --addr 127.0.0.1:$IRC_PORT" ;;
        salabaseirc) echo "--proto irc --addr 127.0.0.1:$IRC_BASE_PORT" ;;
        *) echo "--proto chat --addr 127.0.0.1:${PORT[$1]}" ;;
    esac
}

# Connect window per server: ngIRCd's listen backlog is 10 (hard-coded), so a
# wider window loses handshakes (ANCHORS.md, odd thing 1); InspIRCd registers
# clients on its 1-s tick, so a narrow window only makes setup slow.
window_of() {
    case $1 in
        ngircd) echo 8 ;;
        inspircd) echo 1000 ;;
        *) echo 64 ;;
    esac
}

# ------------------------------------------------------------------ machine state
# CPU busy % of the whole machine over 1 s (100 = all cores busy).
busy_pct() {
    local a b
    read -r -a a < <(head -1 /proc/stat)
    sleep 1
    read -r -a b < <(head -1 /proc/stat)
    local ta=0 tb=0 i
    for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
    local ia=$((a[4] + a[5])) ib=$((b[4] + b[5]))
    local dt=$((tb - ta)) di=$((ib - ia))
    [ "$dt" -gt 0 ] || { echo 0; return; }
    echo $(((dt - di) * 100 / dt))
}

# Wait (up to QUIET_WAIT_S) until the machine is quiet apart from our idle servers.
wait_quiet() { # what
    local t0=$SECONDS b
    b=$(busy_pct)
    while [ "$b" -gt "$QUIET_BUSY_PCT" ]; do
        if [ $((SECONDS - t0)) -ge "$QUIET_WAIT_S" ]; then
            log "!! machine still busy ($b %) after ${QUIET_WAIT_S}s; measuring anyway: $1"
            break
        fi
        log "## busy $b % before $1 (load $(cut -d' ' -f1-3 /proc/loadavg)); top: $(ps -eo pcpu,pid,comm --sort=-pcpu | sed -n 2,4p | tr -s ' ' | tr '\n' ';')"
        sleep 30
        b=$(busy_pct)
    done
    log "## $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg), busy ${b} % before $1"
}

# ------------------------------------------------------------------ one run
# run SERVER REP LABEL chatload-args...   (JSON line, tagged, appended to $OUT)
run() {
    local s=$1 rep=$2 label=$3; shift 3
    local p=${PID[$s]}
    local cmd="chatload $* --pid $p --label $s/$label"
    log "+ $cmd"
    local line rc=0
    line=$(timeout -k 5 900 "$CL" "$@" --pid "$p" --label "$s/$label" 2> >(tee -a "$LOG" >&2)) || rc=$?
    [ $rc -eq 0 ] || log "!! exit $rc: $cmd"
    if [ -n "$line" ]; then
        tag "$line" chatload "$s" "$rep" "$cmd" "${CMD[$s]}" >>"$OUT"
    fi
    sleep 1
}

# tag JSON HARNESS SERVER REP CMDLINE SERVER_CMDLINE: add who/what/how to the JSON line
tag() {
    python3 - "$@" <<'PY'
import json, sys
line, harness, server, rep, cmd, server_cmd = sys.argv[1:7]
r = json.loads(line)
out = {"harness": harness, "server": server, "rep": int(rep), "command": cmd,
       "server_cmd": server_cmd, "load1": float(open("/proc/loadavg").read().split()[0])}
out.update(r)
print(json.dumps(out, separators=(",", ":")))
PY
}

# ------------------------------------------------------------------ phases
load_phase() {
    local s r
    for s in $LOAD_SERVERS; do if have "$s"; then start_server "$s"; fi; done
    for r in $(seq 1 "$REPS"); do
        for sc in K100 K1000 rate50; do
            wait_quiet "load rep $r $sc"
            for s in $LOAD_SERVERS; do
                have "$s" || continue
                local a w
                a=$(addr_of "$s"); w=$(window_of "$s")
                # shellcheck disable=SC2086
                case $sc in
                    K100)   run "$s" "$r" fanout-K100-S10-M1000 fanout $a --window $w --members 100 --senders 10 --messages 1000 --timeout 120 ;;
                    K1000)  run "$s" "$r" fanout-K1000-S5-M200 fanout $a --window $w --members 1000 --senders 5 --messages 200 --timeout 120 ;;
                    rate50) run "$s" "$r" fanout-K500-S5-rate50 fanout $a --window $w --members 500 --senders 5 --messages 500 --rate 50 --timeout 60 ;;
                esac
            done
        done
    done
    for s in $LOAD_SERVERS; do stop_server "$s"; done
}

idle_phase() {
    local s r
    for r in $(seq 1 "$REPS"); do
        for s in $IDLE_SERVERS; do
            have "$s" || continue
            wait_quiet "idle rep $r $s"
            start_server "$s"
            local a w
            a=$(addr_of "$s"); w=$(window_of "$s")
            # shellcheck disable=SC2086
            run "$s" "$r" idle-N10000-R100 idle $a --window $w --clients 10000 --rooms 100 --connect-timeout 240
            stop_server "$s"
        done
    done
}

# Room-size sweep for the chart. Saturation runs: S=5, M chosen so that each
# run carries ~1.5 M deliveries (5 * M * (K-1)); their latency is the drain time
# of that backlog. Fixed-rate runs: S=5 x 50 msg/s for 3 s: real latency.
sweep_phase() {
    local s r k m
    for s in $SWEEP_SERVERS; do if have "$s"; then start_server "$s"; fi; done
    for r in $(seq 1 "$REPS"); do
        for k in 10 50 100 250 500 1000; do
            m=$((1500000 / (5 * (k - 1))))
            wait_quiet "sweep rep $r K$k"
            for s in $SWEEP_SERVERS; do
                have "$s" || continue
                local a w
                a=$(addr_of "$s"); w=$(window_of "$s")
                # shellcheck disable=SC2086
                run "$s" "$r" "sweep-K$k-S5-M$m" fanout $a --window $w --members $k --senders 5 --messages $m --timeout 120
                # shellcheck disable=SC2086
                run "$s" "$r" "sweeprate-K$k-S5-rate50" fanout $a --window $w --members $k --senders 5 --messages 150 --rate 50 --timeout 60
            done
        done
    done
    for s in $SWEEP_SERVERS; do stop_server "$s"; done
}

# Persistence on vs off with 5x longer runs (~1 s each) than the target
# scenarios, where 0.15-s runs leave a +-20 % spread; PERSIST_REPS pairs, interleaved.
persist_phase() {
    local s r
    # 50,000 messages reach each member within ~0.6 s here. A member that lags
    # 16,384 events (the default --send-queue) behind is cut off, as designed,
    # and then the run measures cut-offs, not persistence: seen on 2026-12-01,
    # also with the 2026-11-22 binary. Both servers get the same larger queue.
    local saved=$SALA_ARGS
    SALA_ARGS="$SALA_ARGS --send-queue 65536"
    for s in salamem salapersist; do start_server "$s"; done
    SALA_ARGS=$saved
    for r in $(seq 1 "${PERSIST_REPS:-5}"); do
        wait_quiet "persist rep $r"
        for s in salamem salapersist; do
            local a
            a=$(addr_of "$s")
            # shellcheck disable=SC2086
            run "$s" "$r" fanout-K100-S10-M5000 fanout $a --members 100 --senders 10 --messages 5000 --timeout 120
            # shellcheck disable=SC2086
            run "$s" "$r" fanout-K1000-S5-M1000 fanout $a --members 1000 --senders 5 --messages 1000 --timeout 120
        done
    done
    for s in salamem salapersist; do stop_server "$s"; done
}

# Sala's IRC port against ngIRCd, the same chatload IRC client for both.
ab_phase() {
    [ -n "${SALA_BASE:-}" ] || { log "!! ab needs BASE=<commit>"; exit 2; }
    local s r sc pair="salabase salamem"
    # AB_PROTO=irc: the same scenarios on both servers' IRC doors.
    [ "${AB_PROTO:-chat}" = irc ] && pair="salabaseirc salairc"
    for s in $pair; do start_server "$s"; done
    for r in $(seq 1 "${AB_REPS:-$REPS}"); do
        for sc in K100 K1000 whisper; do
            wait_quiet "ab rep $r $sc"
            for s in $pair; do
                local a w
                a=$(addr_of "$s"); w=$(window_of "$s")
                # shellcheck disable=SC2086
                case $sc in
                    K100)    run "$s" "$r" fanout-K100-S10-M1000 fanout $a --window $w --members 100 --senders 10 --messages 1000 --timeout 120 ;;
                    K1000)   run "$s" "$r" fanout-K1000-S5-M200 fanout $a --window $w --members 1000 --senders 5 --messages 200 --timeout 120 ;;
                    whisper) run "$s" "$r" whisper-P50-M1000 whisper $a --window $w --pairs 50 --messages 1000 --timeout 120 ;;
                esac
            done
        done
    done
    for s in $pair; do stop_server "$s"; done
}

irc_phase() {
    local s r
    for s in salairc ngircd; do if have "$s"; then start_server "$s"; fi; done
    for r in $(seq 1 "${IRC_REPS:-$REPS}"); do
        for sc in K100 K1000 rate50 whisper; do
            wait_quiet "irc rep $r $sc"
            for s in salairc ngircd; do
                have "$s" || continue
                local a w
                a=$(addr_of "$s"); w=$(window_of "$s")
                # shellcheck disable=SC2086
                case $sc in
                    K100)    run "$s" "$r" irc-fanout-K100-S10-M1000 fanout $a --window $w --members 100 --senders 10 --messages 1000 --timeout 120 ;;
                    K1000)   run "$s" "$r" irc-fanout-K1000-S5-M200 fanout $a --window $w --members 1000 --senders 5 --messages 200 --timeout 120 ;;
                    rate50)  run "$s" "$r" irc-fanout-K500-S5-rate50 fanout $a --window $w --members 500 --senders 5 --messages 500 --rate 50 --timeout 60 ;;
                    whisper) run "$s" "$r" irc-whisper-P50-M1000 whisper $a --window $w --pairs 50 --messages 1000 --timeout 120 ;;
                esac
            done
        done
    done
    for s in salairc ngircd; do stop_server "$s"; done
}

# Our own bench (target/release/bench --spawn) once, to show it agrees with chatload.
bench_phase() {
    local b=$BENCH args line rc
    for args in "fanout --members 100 --senders 10 --messages 1000" "idle --clients 10000 --rooms 100"; do
        wait_quiet "bench $args"
        local cmd="$b $args --spawn --no-progress --label bench/${args%% *}"
        log "+ $cmd   (spawns: server --listen 127.0.0.1:0 --web-listen off --flood-rate 0 --no-persist --max-per-ip 0)"
        rc=0
        # shellcheck disable=SC2086
        line=$(timeout -k 5 900 $cmd 2> >(tee -a "$LOG" >&2)) || rc=$?
        [ $rc -eq 0 ] || log "!! exit $rc: $cmd"
        if [ -n "$line" ]; then
            tag "$line" bench salamem 1 "$cmd" "$SALA --listen 127.0.0.1:0 --web-listen off --flood-rate 0 --no-persist --max-per-ip 0" >>"$OUT"
        fi
        sleep 1
    done
}

# ------------------------------------------------------------------ main
build
write_ngircd_conf
write_inspircd_conf
{
    echo "# $(date -Is) perf.sh ${WHAT[*]} REPS=$REPS; results -> $OUT"
    echo "# host: $(nproc) cores, $(uname -srm), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
    echo "# sala: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') (+ working tree), rustc $(rustc --version | cut -d' ' -f2)"
    echo "# ngircd: $(dpkg-query -W -f='${Version}' ngircd 2>/dev/null || echo none); inspircd: $(dpkg-query -W -f='${Version}' inspircd 2>/dev/null || echo none)"
    echo "# binaries (copied to $CONF/bin; sha256): $(cd "$CONF/bin" && sha256sum server bench chatload idealfanout | awk '{printf "%s=%s ", $2, substr($1,1,12)}')"
} | tee -a "$LOG" >&2
t_start=$SECONDS
for w in "${WHAT[@]}"; do
    case $w in
        load) load_phase ;;
        idle) idle_phase ;;
        sweep) sweep_phase ;;
        bench) bench_phase ;;
        persist) persist_phase ;;
        irc) irc_phase ;;
        ab) ab_phase ;;
        all) load_phase; idle_phase; bench_phase; sweep_phase; persist_phase ;;
        *) echo "usage: $0 [all|load|idle|sweep|bench|persist|irc|ab]..." >&2; exit 2 ;;
    esac
done
log "# done $(date -Is) in $(((SECONDS - t_start) / 60)) min; chart: python3 tools/perf/perf_chart.py $OUT"
