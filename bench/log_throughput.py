"""Client side of bench/log_throughput.sh: one measured run against a collector and an agent the
script started. Needs /usr/bin/python3 with python3-websockets (only for --client python) and the
standard library; with --client cpp (the default) the subscribers are bench/log_subscribers.cpp.

  log_throughput.py write [--wait] [--rate R] FILE LINES [SEED]
      Appends LINES nginx-like lines (~133 bytes on average; every 100th an error-log line with
      "[warn]", the rest access-log lines the agent reads as INFO) to FILE as fast as it can, 500
      lines per write(2), or R lines per second (R/20 every 50 ms). The lines are made first; with --wait it prints "ready" and waits for a
      line on stdin before the first write. Each line ends with its write time and number
      (" t=<unix µs> i=<n>"). Prints one JSON object: lines, bytes, first and last write time.

  log_throughput.py run --url http://127.0.0.1:PORT --db DATA/corvid.db --server-id ID --token JWT
                        --log FILE --lines L [--subscribers N] [--level WARN] [--client cpp|python]
                        [--logsub PATH] [--rate R] [--collector-pid P] [--agent-pid P] [--timeout 300]
                        [--seed S]
      1. waits until the agent follows FILE: appends a probe line ("[warn] corvid-bench probe K")
         until it is stored; what is stored then is the baseline;
      2. opens N logs sockets (/api/v1/ws/logs/ID), authenticates each, subscribes with
         {"history":1} (and "level" if given) and waits for the probe to come back as history, so
         every subscriber is live before the first line is written. --client cpp runs
         corvid-bench-logsub for this (one C++ thread); --client python does it here (asyncio);
      3. starts the writer (`write` above, a child process) and polls the database every 0.1 s
         for entries past the baseline until all L are stored (or --timeout); samples the TCP
         queues of the collector's port (/proc/net/tcp) every 0.5 s meanwhile;
      4. then waits for the subscribers until each has received, or been told it lost
         ({"type":"dropped","count":N}), every line its filter selects, or has had nothing for 10 s.
      Prints one JSON object: rates, CPU time of the collector and the agent by thread and their
      time waiting for a CPU (/proc/PID/task/*/stat and schedstat), their RSS (VmRSS every 0.5 s
      over the run, and VmHWM), the
      clients' CPU, the agent's batches (from the stored rows), per-subscriber counts, latencies.
      Stops only what it started (its children).

  log_throughput.py login --url U --user U --password P     prints an access token
  log_throughput.py oneline RUN.json                          a one-line summary of a run
  log_throughput.py summarize DIR                             Markdown tables of DIR/*.json

Latencies: "write → subscriber" is the receive time minus the write time carried in the line (same
host, same wall clock). "write → agent read" is the entry's stored timestamp (the time of the
agent's read that found the line, ms) minus the write time.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import sqlite3
import statistics
import sys
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")

# ---- the lines ------------------------------------------------------------------------------

# No word here is a level word of agent/logs/log_level.cpp (error, err, warn, info, debug, trace,
# notice, alert, crit, fatal, panic, emerg ...), so access lines are INFO and only the [warn]
# lines are WARN. Runs of letters are what the agent looks at: "errors" is not "error".
PATH_WORDS = ["api", "v1", "v2", "orders", "cart", "items", "users", "session", "search", "static", "img",
              "assets", "checkout", "payment", "catalog", "product", "reviews", "account", "login", "logout",
              "feed", "stock", "invoice", "shipping", "track", "wishlist", "media", "thumb", "report", "export"]
QUERY_KEYS = ["page", "q", "sort", "limit", "ref", "lang", "id", "filter"]
QUERY_VALUES = ["price", "asc", "desc", "shoes", "red", "en", "de", "fr", "mobile", "summer", "new", "sale"]
METHODS = ["GET"] * 16 + ["POST"] * 3 + ["PUT", "DELETE", "HEAD"]
STATUSES = [200] * 40 + [304] * 6 + [301, 302, 201, 204] + [404] * 3 + [403, 499, 500, 502]
AGENTS = ["Mozilla/5.0", "Mozilla/5.0 (X11)", "Mozilla/5.0 (iPhone)", "curl/7.88.1", "Go-http-client/2.0",
          "python-requests/2.31", "okhttp/4.12"]
WARN_TEXTS = ["upstream response is buffered to a temporary file", "upstream server temporarily disabled",
              "client intended to send too large body", "upstream timed out (110: Connection timed out)"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class line_maker:
    """Lines of about 120 bytes: 99% access-log lines, 1% (every 100th) error-log lines at [warn]."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def body(self, i, t_s):
        """The line without its " t=<µs> i=<n>" tail."""
        r = self.rng
        ts = time.gmtime(t_s)
        if i % 100 == 99:
            return (f"{ts.tm_year}/{ts.tm_mon:02}/{ts.tm_mday:02} {ts.tm_hour:02}:{ts.tm_min:02}:{ts.tm_sec:02} "
                    f"[warn] {r.randint(1000, 9999)}#0: *{r.randint(1, 999999)} {r.choice(WARN_TEXTS)}, "
                    f"client: 198.51.100.{r.randint(1, 254)}")
        path = "/" + "/".join(r.choice(PATH_WORDS) for _ in range(r.randint(1, 2)))
        if r.random() < 0.5:
            path += f"/{r.randint(1, 99999)}"
        if r.random() < 0.2:
            path += f"?{r.choice(QUERY_KEYS)}={r.choice(QUERY_VALUES)}"
        return (f"203.0.113.{r.randint(1, 254)} - - [{ts.tm_mday:02}/{MONTHS[ts.tm_mon - 1]}/{ts.tm_year}:"
                f"{ts.tm_hour:02}:{ts.tm_min:02}:{ts.tm_sec:02} +0000] \"{r.choice(METHODS)} {path} HTTP/1.1\" "
                f"{r.choice(STATUSES)} {r.randint(0, 65000)} \"{r.choice(AGENTS)}\"")


def is_warn_line(i):
    return i % 100 == 99


def cmd_write(args):
    # The bodies are made first, so that writing is only joining and write(2): this process must
    # not be what limits the rate. With --wait it prints "ready" and starts on a line on stdin.
    maker = line_maker(args.seed)
    t_s = int(time.time())
    bodies = [maker.body(i, t_s) for i in range(args.lines)]
    if args.wait:
        print("ready", flush=True)
        sys.stdin.readline()
    # Paced (--rate R): R/20 lines every 50 ms, on an absolute schedule. Else 500 lines per write.
    chunk = max(1, args.rate // 20) if args.rate else 500
    written_bytes = 0
    first = None
    t_start = time.monotonic()
    fd = os.open(args.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for start in range(0, args.lines, chunk):
            if args.rate:
                due = t_start + start / args.rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            t_us = time.time_ns() // 1000
            data = "".join(f"{bodies[i]} t={t_us} i={i}\n" for i in range(start, min(args.lines, start + chunk))).encode()
            if first is None:
                first = time.time()
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            written_bytes += len(data)
        last = time.time()
    finally:
        os.close(fd)
    print(json.dumps({"lines": args.lines, "bytes": written_bytes, "first_write": first, "last_write": last}))


# ---- measuring --------------------------------------------------------------------------------

def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def summary_ms(values):
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50": round(pct(values, 50), 1), "p90": round(pct(values, 90), 1),
            "p99": round(pct(values, 99), 1), "max": round(max(values), 1)}


def proc_threads(pid):
    """{tid: (name, utime+stime ticks, ns on a CPU, ns waiting for one)} for every live thread of
    pid ({} when it is gone). The nanoseconds come from schedstat: the wait is time runnable but not
    running, which is what other work on a loaded machine costs a process."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]), run_ns, wait_ns)
    return out


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_delta(pid, before, after, seconds):
    """Per process and per thread name: CPU seconds and % of one core between two snapshots, and
    seconds spent runnable but waiting for a CPU (schedstat; threads that ended in between are
    missing from the thread figures, not from the process total)."""
    if not pid:
        return None
    total = (after["total"] - before["total"]) / HZ
    threads, waits = {}, {}
    for tid, (name, ticks, run_ns, wait_ns) in after["threads"].items():
        prev = before["threads"].get(tid, (name, 0, 0, 0))
        label = "main" if tid == pid else name
        threads[label] = threads.get(label, 0) + (ticks - prev[1]) / HZ
        waits[label] = waits.get(label, 0) + (wait_ns - prev[3]) / 1e9
    return {"cpu_s": round(total, 2), "cpu_pct": round(100 * total / seconds, 1),
            "threads_cpu_s": {k: round(v, 2) for k, v in sorted(threads.items())},
            "runq_wait_s": round(sum(waits.values()), 2),
            "threads_runq_wait_s": {k: round(v, 2) for k, v in sorted(waits.items())}}


def snapshot(pid):
    if not pid:
        return None
    return {"total": proc_ticks(pid) or 0, "threads": proc_threads(pid)}


class subscriber:
    def __init__(self, index):
        self.index = index
        self.received = 0       # live log entries of this run (past the baseline probe)
        self.dropped = 0        # sum of the counts of "dropped" messages
        self.dropped_msgs = 0
        self.latencies_ms = []  # write -> receive, per received line
        self.last_message = time.monotonic()
        self.closed = None      # why the socket ended early, if it did
        self.other = 0          # messages of other types after the start
        self.ws = None


async def open_subscriber(ws_base, server_id, token, level, index):
    import websockets
    s = subscriber(index)
    # max_queue: frames the library reads ahead of us; a full queue stops reading the socket (TCP
    # pushes back, the collector's per-socket queue fills and it starts counting drops).
    s.ws = await websockets.connect(f"{ws_base}/api/v1/ws/logs/{server_id}", open_timeout=20, close_timeout=5,
                                    max_queue=1024, ping_interval=None)
    await s.ws.send(json.dumps({"type": "auth", "token": token}))
    reply = json.loads(await asyncio.wait_for(s.ws.recv(), 20))
    if reply.get("type") != "auth_success":
        raise RuntimeError(f"subscriber {index}: {reply}")
    sub = {"type": "subscribe", "history": 1}
    if level:
        sub["level"] = level
    await s.ws.send(json.dumps(sub))
    # The probe (a [warn] line, so it passes a WARN filter too) comes back as history: from here on
    # this socket is live.
    deadline = time.monotonic() + 20
    while True:
        msg = json.loads(await asyncio.wait_for(s.ws.recv(), max(0.1, deadline - time.monotonic())))
        if msg.get("type") == "log" and "corvid-bench probe" in msg["data"]["message"]:
            break
        if msg.get("type") == "error":
            raise RuntimeError(f"subscriber {index}: {msg}")
    return s


async def receive(s):
    """Reads until the socket closes or the task is cancelled."""
    ws = s.ws
    now = time.time
    mono = time.monotonic
    try:
        async for text in ws:
            t = now()
            s.last_message = mono()
            # Fast path for the bulk ({"type":"log","data":{…"message":"… t=<µs> i=<n>"…}}); anything
            # else is parsed properly.
            if text.startswith('{"type":"log"'):
                at = text.rfind(" t=")
                if at < 0:
                    continue  # not a line of this run (e.g. "N lines dropped from ...")
                end = text.find(" ", at + 3)
                s.received += 1
                s.latencies_ms.append((t - int(text[at + 3:end]) / 1e6) * 1000.0)
                continue
            msg = json.loads(text)
            if msg.get("type") == "dropped":
                s.dropped += int(msg["count"])
                s.dropped_msgs += 1
            else:
                s.other += 1
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a closed socket ends this subscriber; the summary says why
        s.closed = f"{type(e).__name__}: {e}"
    else:
        s.closed = f"closed by the collector: {ws.close_code} {ws.close_reason}"


def tcp_queues(port):
    """Bytes queued on 127.0.0.1 TCP sockets that talk to the collector's port: (sum of the receive
    queues of the client ends: sent by the collector, not yet read by a client; sum of the send
    queues of the collector's ends: written by the collector, not yet taken by the peer's kernel)."""
    client_rx = server_tx = 0
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].split(":")[1], 16)
                remote_port = int(fields[2].split(":")[1], 16)
                tx, rx = (int(x, 16) for x in fields[4].split(":"))
                if remote_port == port:
                    client_rx += rx
                elif local_port == port:
                    server_tx += tx
    except OSError:
        pass
    return client_rx, server_tx


def self_runq_wait_s():
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except OSError:
            pass
    return total / 1e9


def db_connect(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def stored_after(con, base_id):
    return con.execute("SELECT count(*) FROM log_entries WHERE id > ?", (base_id,)).fetchone()[0]


async def wait_for_probe(args, con):
    """Appends probe lines until one is stored; returns the highest id stored then (the baseline)."""
    deadline = time.monotonic() + 60
    k = 0
    while time.monotonic() < deadline:
        k += 1
        probe = f"2026/11/23 00:00:00 [warn] 1#0: corvid-bench probe {k}"
        with open(args.log, "a") as f:
            f.write(probe + "\n")
        until = time.monotonic() + 2.5
        while time.monotonic() < until:
            row = con.execute("SELECT id FROM log_entries WHERE message = ?", (probe,)).fetchone()
            if row:
                return con.execute("SELECT max(id) FROM log_entries").fetchone()[0]
            await asyncio.sleep(0.1)
    raise RuntimeError("the agent did not ship a probe line within 60 s")


async def cmd_run_async(args):
    con = db_connect(args.db)
    base_id = await wait_for_probe(args, con)
    ws_base = "ws" + args.url[len("http"):]

    expected_per_sub = sum(1 for i in range(args.lines) if not args.level or is_warn_line(i))
    subs, tasks, logsub = [], [], None
    t_sub0 = time.monotonic()
    if args.subscribers and args.client == "cpp":
        cmd = [args.logsub, "--url", ws_base, "--server-id", args.server_id, "--token", args.token,
               "--subscribers", str(args.subscribers), "--expected", str(expected_per_sub),
               "--idle-s", "10", "--deadline-s", str(int(args.timeout + 90))]
        if args.level:
            cmd += ["--level", args.level]
        logsub = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        ready = (await asyncio.wait_for(logsub.stdout.readline(), 120)).decode().split()
        if ready[:1] != ["ready"] or int(ready[1]) != args.subscribers:
            logsub.stdin.close()
            raise RuntimeError(f"corvid-bench-logsub: {ready} ({(await logsub.stdout.read()).decode()[:2000]})")
    elif args.subscribers:
        # Connect in groups of 20: quick, and far below max_connections_per_address.
        for g in range(0, args.subscribers, 20):
            subs += await asyncio.gather(*(open_subscriber(ws_base, args.server_id, args.token, args.level, i)
                                           for i in range(g, min(args.subscribers, g + 20))))
        tasks = [asyncio.create_task(receive(s)) for s in subs]
    connect_s = time.monotonic() - t_sub0

    writer = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "write", "--wait", "--rate", str(args.rate), args.log,
        str(args.lines), str(args.seed),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    ready = await asyncio.wait_for(writer.stdout.readline(), 120)
    if ready.strip() != b"ready":
        raise RuntimeError(f"writer: {ready!r}")
    load0 = open("/proc/loadavg").read().split()[:3]
    snap0 = {"collector": snapshot(args.collector_pid), "agent": snapshot(args.agent_pid)}
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    wait0 = self_runq_wait_s()
    port = int(args.url.rsplit(":", 1)[1])
    queues = []  # (client receive queues, collector send queues), every 0.5 s until stored
    rss_max = {"collector": 0, "agent": 0}  # VmRSS, KiB, every 0.5 s from the first write on

    async def sample_rss():
        while True:
            for key, pid in (("collector", args.collector_pid), ("agent", args.agent_pid)):
                if pid:
                    rss_max[key] = max(rss_max[key], proc_status_kb(pid, "VmRSS") or 0)
            await asyncio.sleep(0.5)
    rss_task = asyncio.create_task(sample_rss())
    t0 = time.time()
    writer.stdin.write(b"go\n")
    await writer.stdin.drain()
    progress = []  # (seconds since t0, stored entries)
    deadline = time.monotonic() + args.timeout
    stored = 0
    t_first_stored = None
    timed_out = False
    while True:
        stored = stored_after(con, base_id)
        el = time.time() - t0
        progress.append((round(el, 2), stored))
        if stored > 0 and t_first_stored is None:
            t_first_stored = el
        if stored >= args.lines:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        if args.subscribers and len(progress) % 5 == 0:
            queues.append(tcp_queues(port))
        await asyncio.sleep(0.1)
    t_stored = time.time()
    snap1 = {"collector": snapshot(args.collector_pid), "agent": snapshot(args.agent_pid)}
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    wait1 = self_runq_wait_s()
    wout = await asyncio.wait_for(writer.stdout.read(), 60)
    await asyncio.wait_for(writer.wait(), 10)
    written = json.loads(wout)

    # Subscribers: until each has everything it should get (received or reported dropped), or has
    # been quiet for 10 s, or the overall deadline.
    logsub_report = None
    if logsub:
        try:
            logsub.stdin.write(b"stored\n")
            await logsub.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it has finished already: every subscriber got (or was told it lost) everything
        out = await asyncio.wait_for(logsub.stdout.read(), args.timeout + 120)
        await asyncio.wait_for(logsub.wait(), 10)
        logsub_report = json.loads(out.decode().strip().splitlines()[-1])
    else:
        def done(s):
            return s.received + s.dropped >= expected_per_sub or s.closed or time.monotonic() - s.last_message > 10
        while subs and not all(done(s) for s in subs) and time.monotonic() < deadline + 30:
            await asyncio.sleep(0.1)
    t_subs = time.time()
    snap2 = {"collector": snapshot(args.collector_pid), "agent": snapshot(args.agent_pid)}
    ru2 = resource.getrusage(resource.RUSAGE_SELF)
    wait2 = self_runq_wait_s()
    rss_task.cancel()
    for t in tasks:
        t.cancel()
    await asyncio.gather(rss_task, *tasks, return_exceptions=True)
    await asyncio.gather(*(asyncio.wait_for(s.ws.close(), 5) for s in subs), return_exceptions=True)

    # write -> agent read, and levels, from what is stored
    read_lat, warn_stored = [], 0
    batches = {}  # batch_seq -> (entries, the agent's read time of its first entry)
    for ts_ms, level, msg, seq in con.execute(
            "SELECT timestamp_ms, level, message, batch_seq FROM log_entries WHERE id > ?", (base_id,)):
        at = msg.rfind(" t=")
        if at >= 0:
            read_lat.append(ts_ms - int(msg[at + 3:msg.find(" ", at + 3)]) / 1000.0)
        if level == 3:
            warn_stored += 1
        n, first = batches.get(seq, (0, ts_ms))
        batches[seq] = (n + 1, min(first, ts_ms))
    con.close()
    # The agent's batches: how many entries each, and how far apart they were cut (read times).
    seqs = sorted(batches)
    gaps = [batches[b][1] - batches[a][1] for a, b in zip(seqs, seqs[1:])]
    sizes = [batches[q][0] for q in seqs]

    def window(frac_lo, frac_hi):
        """Storage rate between two fractions of L (steady state, without ramp and tail)."""
        lo = next((p for p in progress if p[1] >= frac_lo * args.lines), None)
        hi = next((p for p in progress if p[1] >= frac_hi * args.lines), None)
        if not lo or not hi or hi[0] <= lo[0]:
            return None
        return round((hi[1] - lo[1]) / (hi[0] - lo[0]))

    store_s = t_stored - written["first_write"]
    all_s = t_subs - t0
    if logsub_report:
        per = logsub_report["subscribers"]
        sub_rows = [(x["received"], x["dropped"], x["dropped_msgs"], x["ended"]) for x in per]
        lat_summary = logsub_report["latency_ms"]
        client_sub_cpu = logsub_report["cpu_s"]
        client_sub_wait = logsub_report["runq_wait_s"]
    else:
        sub_rows = [(x.received, x.dropped, x.dropped_msgs, x.closed or "") for x in subs]
        lat_summary = summary_ms([x for s in subs for x in s.latencies_ms])
        client_sub_cpu = ru2.ru_utime + ru2.ru_stime - ru0.ru_utime - ru0.ru_stime
        client_sub_wait = wait2 - wait0
    per_sub_received = sorted(r[0] for r in sub_rows)
    per_sub_dropped = sorted(r[1] for r in sub_rows)
    result = {
        "lines": args.lines, "bytes": written["bytes"], "subscribers": args.subscribers, "level": args.level,
        "client": args.client if args.subscribers else None, "rate": args.rate,
        "loadavg_at_start": load0, "timed_out": timed_out,
        "write_s": round(written["last_write"] - written["first_write"], 3),
        "stored": stored, "store_s": round(store_s, 2),
        "stored_per_s": round(stored / store_s) if store_s > 0 else None,
        "stored_per_s_10_90": window(0.1, 0.9),
        "first_stored_s": t_first_stored,
        "warn_stored": warn_stored,
        "write_to_agent_read_ms": summary_ms(read_lat),
        "agent_batches": {"count": len(seqs), "entries_mean": round(statistics.mean(sizes), 1) if sizes else None,
                          "full_500": sum(1 for x in sizes if x >= 500),
                          "interval_ms": summary_ms(gaps)},
        "collector": cpu_delta(args.collector_pid, snap0["collector"], snap1["collector"], t_stored - t0),
        "agent": cpu_delta(args.agent_pid, snap0["agent"], snap1["agent"], t_stored - t0),
        "collector_until_subscribers_done": cpu_delta(args.collector_pid, snap0["collector"], snap2["collector"], all_s),
        # VmRSS sampled every 0.5 s over the run; VmHWM is the peak since start, which for the
        # collector includes the login (the password hash takes 64 MiB for a moment).
        "collector_rss_max_kb": rss_max["collector"], "agent_rss_max_kb": rss_max["agent"],
        "collector_vmhwm_kb": proc_status_kb(args.collector_pid, "VmHWM") if args.collector_pid else None,
        "agent_vmhwm_kb": proc_status_kb(args.agent_pid, "VmHWM") if args.agent_pid else None,
        "client_cpu_s_until_stored": round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 2),
        "client_runq_wait_s_until_stored": round(wait1 - wait0, 2),
        "client_cpu_pct_until_stored": round(100 * (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime)
                                             / (t_stored - t0), 1),
        "client_cpu_pct_until_subscribers_done": round(100 * (ru2.ru_utime + ru2.ru_stime - ru0.ru_utime - ru0.ru_stime)
                                                       / all_s, 1),
        "progress": progress[::5],
    }
    if args.subscribers:
        result.update({
            "subscribers_connect_s": round(connect_s, 2),
            "expected_per_subscriber": expected_per_sub,
            "subscribers_done_s": round(all_s, 2),
            "received_total": sum(per_sub_received), "dropped_total": sum(per_sub_dropped),
            "received_per_sub": {"min": per_sub_received[0], "median": statistics.median(per_sub_received),
                                 "max": per_sub_received[-1]},
            "dropped_per_sub": {"min": per_sub_dropped[0], "median": statistics.median(per_sub_dropped),
                                "max": per_sub_dropped[-1]},
            "dropped_messages_total": sum(r[2] for r in sub_rows),
            "missing_total": sum(max(0, expected_per_sub - r[0] - r[1]) for r in sub_rows),
            "subscribers_closed_early": sorted({r[3] for r in sub_rows if r[3]}),
            "write_to_subscriber_ms": lat_summary,
            "received_per_s_all_subscribers": round(sum(per_sub_received) / all_s),
            # The subscriber client (all of it: the C++ process, or this Python process) from the
            # first write until all subscribers were done.
            "subscriber_client_cpu_s": round(client_sub_cpu, 2),
            "subscriber_client_cpu_pct": round(100 * client_sub_cpu / all_s, 1),
            "subscriber_client_runq_wait_s": round(client_sub_wait, 2),
            "subscriber_client_errors": logsub_report["errors"] if logsub_report else [],
            # KiB; large client receive queues mean the client reads too slowly
            "tcp_client_rx_kib": {"mean": round(statistics.mean(q[0] for q in queues) / 1024) if queues else None,
                                  "max": round(max(q[0] for q in queues) / 1024) if queues else None},
            "tcp_collector_tx_kib": {"mean": round(statistics.mean(q[1] for q in queues) / 1024) if queues else None,
                                     "max": round(max(q[1] for q in queues) / 1024) if queues else None},
        })
    print(json.dumps(result))


def log_schema(source_file):
    """The collector's log tables, as its storage code creates them (from CREATE TABLE log_entries
    up to the gaps table), so the SQLite figures follow the product's schema."""
    text = open(source_file).read()
    start = text.index("CREATE TABLE log_entries")
    end = text.index("CREATE TABLE gaps", start)
    return text[start:end]


def cmd_sqlite(args):
    """What storing the lines costs SQLite alone: the same lines into the collector's log schema in
    500-row transactions (WAL, synchronous=NORMAL, 16 KiB pages, as the collector), then without
    the FTS5 trigram index, then also without the three secondary indexes. CPU time of this process
    (Python's part is the same in every variant), so the differences are SQLite's."""
    import tempfile
    schema = log_schema(args.schema_from)
    no_fts = schema.replace("INSERT INTO log_fts (rowid, message) VALUES (new.id, new.message);", "")
    no_fts = no_fts.replace("INSERT INTO log_fts (log_fts, rowid, message) VALUES ('delete', old.id, old.message);", "")
    no_index = "\n".join(l for l in no_fts.splitlines() if not l.startswith("CREATE INDEX"))
    if no_fts == schema or no_index == no_fts:
        raise RuntimeError("the log schema changed; update cmd_sqlite")
    maker = line_maker(args.seed)
    t_us = time.time_ns() // 1000
    rows = [("3ca9d30b-02c4-405c-8227-4a64d8e83335", 1 + i // 500, i % 500, t_us // 1000, 3 if is_warn_line(i) else 2,
             "/var/log/nginx/access.log", f"{maker.body(i, t_us // 1_000_000)} t={t_us} i={i}", 0, 400)
            for i in range(args.rows)]
    results = []
    for name, ddl in (("collector schema (indexes + FTS5 trigram)", schema), ("without FTS5", no_fts),
                      ("without FTS5 and the 3 secondary indexes", no_index)):
        with tempfile.TemporaryDirectory(dir=args.dir) as d:
            con = sqlite3.connect(os.path.join(d, "logs.db"), isolation_level=None)
            con.execute("PRAGMA page_size = 16384")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            con.executescript(ddl)
            c0, w0 = time.process_time(), time.monotonic()
            for b in range(0, len(rows), 500):
                con.execute("BEGIN")
                con.executemany("INSERT INTO log_entries (server_id, batch_seq, idx, timestamp_ms, level, source, "
                                "message, truncated, size_estimate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                rows[b:b + 500])
                con.execute("COMMIT")
            cpu, wall = time.process_time() - c0, time.monotonic() - w0
            con.close()
            size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        results.append({"variant": name, "rows": args.rows, "cpu_us_per_row": round(1e6 * cpu / args.rows, 1),
                        "rows_per_cpu_s": round(args.rows / cpu), "rows_per_s": round(args.rows / wall),
                        "bytes_per_row": round(size / args.rows)})
    print(json.dumps({"sqlite": results}))


def cmd_oneline(args):
    r = json.load(open(args.file))
    line = (f"{r['stored_per_s']} lines/s stored ({r['stored']} in {r['store_s']} s); collector {r['collector']['cpu_pct']}% "
            f"(waited {r['collector']['runq_wait_s']} s for a CPU), agent {r['agent']['cpu_pct']}% "
            f"(waited {r['agent']['runq_wait_s']} s), client {r['client_cpu_pct_until_stored']}%; "
            f"agent batches every {r['agent_batches']['interval_ms'].get('p50')} ms (p50), "
            f"{r['agent_batches']['entries_mean']} entries")
    if r["subscribers"]:
        line += (f"; subscribers received {r['received_total']}, dropped {r['dropped_total']}, "
                 f"missing {r['missing_total']}")
    print(line + f"; {r.get('stops', '')}")


def cmd_login(args):
    req = urllib.request.Request(f"{args.url}/api/v1/auth/login", method="POST",
                                 data=json.dumps({"username": args.user, "password": args.password}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        print(json.loads(resp.read())["access_token"])


def cmd_summarize(args):
    """Markdown tables from the run JSON files in a results directory: one row per run, then the
    median and range per scenario."""
    runs = []
    for name in sorted(os.listdir(args.dir)):
        if name.endswith(".json"):
            runs.append(json.load(open(os.path.join(args.dir, name))))
    scen = {"A": "A: no subscribers", "B": "B: 100 subscribers, no filter",
            "C": "C: 100 subscribers, level WARN (1%)", "L": "L: 100 subscribers, no filter, writer paced",
            "P": "P: as B, Python client"}

    def threads(cpu, wall):
        # main thread first, then the others by name, as % of one core; the wait for a CPU after
        parts = sorted(cpu["threads_cpu_s"].items(), key=lambda kv: (kv[0] != "main", kv[0]))
        return " + ".join(f"{k} {100 * v / wall:.0f}" for k, v in parts if 100 * v / wall >= 0.5)

    def storage_us(r):
        # every collector thread but the io (main) thread: the SQLite writer and readers
        c = r["collector"]
        return 1e6 * (c["cpu_s"] - c["threads_cpu_s"].get("main", 0)) / r["stored"]

    def io_us_per_frame(r):
        c = r["collector_until_subscribers_done"]
        frames = r["received_total"] + r["dropped_messages_total"]
        return 1e6 * c["threads_cpu_s"].get("main", 0) / frames if frames else 0

    out = ["| run | load avg at start | lines/s stored | 10–90% rate | agent batch every p50 ms (entries) "
           "| write → agent read p50 / p99 ms | collector CPU % (threads) / waited for CPU s | agent CPU % (threads) / waited s "
           "| collector storage threads / agent µs CPU per line | RSS max in run collector / agent MiB "
           "| VmHWM collector / agent MiB |",
           "|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|"]
    for r in runs:
        wall = r["store_s"]
        b = r["agent_batches"]
        out.append(f"| {r['run']} | {' '.join(r['loadavg_at_start'])} | **{r['stored_per_s']:,}** "
                   f"| {r['stored_per_s_10_90'] or '-':,} | {b['interval_ms'].get('p50')} ({b['entries_mean']:.0f}) "
                   f"| {r['write_to_agent_read_ms'].get('p50'):.0f} / {r['write_to_agent_read_ms'].get('p99'):.0f} "
                   f"| {r['collector']['cpu_pct']} ({threads(r['collector'], wall)}) / {r['collector']['runq_wait_s']} "
                   f"| {r['agent']['cpu_pct']} ({threads(r['agent'], wall)}) / {r['agent']['runq_wait_s']} "
                   f"| {storage_us(r):.0f} / {1e6 * r['agent']['cpu_s'] / r['stored']:.1f} "
                   f"| {r['collector_rss_max_kb'] / 1024:.1f} / {r['agent_rss_max_kb'] / 1024:.1f} "
                   f"| {r['collector_vmhwm_kb'] / 1024:.0f} / {r['agent_vmhwm_kb'] / 1024:.1f} |")
    out.append("")
    sub_runs = [r for r in runs if r["subscribers"]]
    if sub_runs:
        out.append("| run | client | expected per subscriber | received, all subscribers | told dropped | missing "
                   "| received per subscriber min / median / max | write → subscriber p50 / p90 / p99 / max ms "
                   "| done after s | collector CPU % until then | collector io thread µs per frame sent "
                   "| client CPU % / waited s | client TCP receive queues mean / max KiB |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sub_runs:
            exp = r["expected_per_subscriber"] * r["subscribers"]
            lat = r["write_to_subscriber_ms"]
            rp = r["received_per_sub"]
            out.append(f"| {r['run']} | {r['client']}{', ' + str(r['rate']) + ' lines/s' if r.get('rate') else ''} | {r['expected_per_subscriber']:,} "
                       f"| {r['received_total']:,} ({100 * r['received_total'] / exp:.1f}%) "
                       f"| {r['dropped_total']:,} ({100 * r['dropped_total'] / exp:.1f}%) "
                       f"| {r['missing_total']:,} | {rp['min']:,} / {rp['median']:,.0f} / {rp['max']:,} "
                       f"| {lat.get('p50', 0):.0f} / {lat.get('p90', 0):.0f} / {lat.get('p99', 0):.0f} / {lat.get('max', 0):.0f} "
                       f"| {r['subscribers_done_s']} | {r['collector_until_subscribers_done']['cpu_pct']} | {io_us_per_frame(r):.1f} "
                       f"| {r['subscriber_client_cpu_pct']} / {r['subscriber_client_runq_wait_s']} "
                       f"| {r['tcp_client_rx_kib']['mean']} / {r['tcp_client_rx_kib']['max']} |")
            notes = r["subscribers_closed_early"] + r["subscriber_client_errors"]
            if notes:
                out.append(f"|  | {r['run']}: {'; '.join(notes)} ||||||||||||")
        out.append("")
    out.append("| scenario | runs | lines/s stored: median (range) | collector CPU % | agent CPU % "
               "| subscribers received % | told dropped % | write → subscriber p50 / p99 ms |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in scen.items():
        rs = [r for r in runs if r["run"].startswith(key + "-")]
        if not rs:
            continue

        def med(f):
            v = [f(r) for r in rs]
            return statistics.median(v), min(v), max(v)
        rate = med(lambda r: r["stored_per_s"])
        col = med(lambda r: r["collector"]["cpu_pct"])
        ag = med(lambda r: r["agent"]["cpu_pct"])
        row = (f"| {label} | {len(rs)} | **{rate[0]:,.0f}** ({rate[1]:,}–{rate[2]:,}) | {col[0]:.0f} ({col[1]:.0f}–{col[2]:.0f}) "
               f"| {ag[0]:.1f} ({ag[1]}–{ag[2]}) |")
        if rs[0]["subscribers"]:
            def share(key):
                return med(lambda r: 100 * r[key] / (r["expected_per_subscriber"] * r["subscribers"]))
            rec, dr = share("received_total"), share("dropped_total")
            p50 = med(lambda r: r["write_to_subscriber_ms"].get("p50") or 0)
            p99 = med(lambda r: r["write_to_subscriber_ms"].get("p99") or 0)
            row += (f" {rec[0]:.1f} ({rec[1]:.1f}–{rec[2]:.1f}) | {dr[0]:.1f} ({dr[1]:.1f}–{dr[2]:.1f}) "
                    f"| {p50[0]:,.0f} ({p50[1]:,.0f}–{p50[2]:,.0f}) / {p99[0]:,.0f} ({p99[1]:,.0f}–{p99[2]:,.0f}) |")
        else:
            row += " - | - | - |"
        out.append(row)
    cost = os.path.join(args.dir, "sqlite-cost.txt")
    if os.path.exists(cost):
        out += ["", "| SQLite alone, 500-row transactions | rows | CPU µs per row | rows per CPU second | rows/s (wall) | file bytes per row |",
                "|---|---:|---:|---:|---:|---:|"]
        for v in json.load(open(cost))["sqlite"]:
            out.append(f"| {v['variant']} | {v['rows']:,} | {v['cpu_us_per_row']} | {v['rows_per_cpu_s']:,} "
                       f"| {v['rows_per_s']:,} | {v['bytes_per_row']} |")
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("file")
    w.add_argument("lines", type=int)
    w.add_argument("seed", type=int, nargs="?", default=1)
    w.add_argument("--wait", action="store_true")
    w.add_argument("--rate", type=int, default=0, help="lines per second (0: as fast as possible)")
    lg = sub.add_parser("login")
    lg.add_argument("--url", required=True)
    lg.add_argument("--user", required=True)
    lg.add_argument("--password", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--db", required=True)
    r.add_argument("--server-id", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--lines", type=int, required=True)
    r.add_argument("--subscribers", type=int, default=0)
    r.add_argument("--level", default=None)
    r.add_argument("--collector-pid", type=int, default=0)
    r.add_argument("--agent-pid", type=int, default=0)
    r.add_argument("--timeout", type=float, default=300)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--client", choices=["cpp", "python"], default="cpp")
    r.add_argument("--rate", type=int, default=0, help="the writer's lines per second (0: as fast as possible)")
    r.add_argument("--logsub", default="corvid-bench-logsub", help="path of corvid-bench-logsub (--client cpp)")
    sq = sub.add_parser("sqlite")
    sq.add_argument("--rows", type=int, default=100000)
    sq.add_argument("--schema-from", required=True, help="collector/storage/sqlite_schema.cpp")
    sq.add_argument("--dir", default=None, help="where the temporary database goes")
    sq.add_argument("--seed", type=int, default=1)
    ol = sub.add_parser("oneline")
    ol.add_argument("file")
    sm = sub.add_parser("summarize")
    sm.add_argument("dir")
    args = p.parse_args()
    if args.cmd == "write":
        cmd_write(args)
    elif args.cmd == "login":
        cmd_login(args)
    elif args.cmd == "sqlite":
        cmd_sqlite(args)
    elif args.cmd == "oneline":
        cmd_oneline(args)
    elif args.cmd == "summarize":
        cmd_summarize(args)
    else:
        asyncio.run(cmd_run_async(args))


if __name__ == "__main__":
    main()
