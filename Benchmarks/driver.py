"""Runs every benchmark of atomd, several rounds interleaved, next to the same
work on OpenStack TaskFlow and Ansible, and writes results.json and
results.md (medians, spread, ratios against the targets of DESIGN.md
section 9, and the machine). Started by Benchmarks/run, which builds what
this needs; see its header for the options.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "Benchmarks", "peers")
RESULT = re.compile(r"^result: (\S+) (\S+) (.+)$")


class Bench:
    def __init__(self, bin_dir, quick, work):
        self.bin = bin_dir
        self.quick = quick
        self.work = work
        self.samples = {}  # name -> [values]
        self.units = {}

    def add(self, name, value, unit):
        self.samples.setdefault(name, []).append(float(value))
        self.units[name] = unit

    def tool(self, name):
        return os.path.join(self.bin, name)

    def run(self, argv, timeout=1800, env=None):
        """Runs a benchmark program and records every `result:` line it prints."""
        merged = dict(os.environ, **(env or {}))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=merged)
        if done.returncode != 0:
            raise SystemExit("%s exited %d:\n%s%s" % (" ".join(argv), done.returncode, done.stdout, done.stderr))
        found = 0
        for line in done.stdout.splitlines():
            match = RESULT.match(line)
            if match:
                self.add(match.group(1), match.group(2), match.group(3))
                found += 1
        if found == 0:
            raise SystemExit("%s printed no results:\n%s" % (" ".join(argv), done.stdout))

    def timed(self, argv, expect, env=None, cwd=None):
        """Wall seconds and peak RSS (KiB) of one whole process, by /usr/bin/time."""
        report = os.path.join(self.work, "time.out")
        merged = dict(os.environ, **(env or {}))
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report] + argv, capture_output=True, text=True,
                              timeout=1800, env=merged, cwd=cwd)
        seconds = time.perf_counter() - start
        if done.returncode not in expect:
            raise SystemExit("%s exited %d (expected %s):\n%s%s" % (" ".join(argv), done.returncode, expect,
                                                                  done.stdout[-2000:], done.stderr[-2000:]))
        with open(report) as handle:
            peak = int(handle.read().strip().splitlines()[-1])
        return seconds, peak


# MARK: scenarios, one round each

def engine(bench):
    steps, width = ("10", "1") if bench.quick else ("100,1000,10000", "100")
    bench.run([bench.tool("engine-benchmark"), "--runs", "1", "--steps", steps, "--width", width])
    if not bench.quick:
        # The shapes TaskFlow runs too: a parallel group of 100, a 10x10 graph.
        bench.run([bench.tool("engine-benchmark"), "--runs", "1", "--steps", "none", "--width", "10"])


def journal(bench):
    if bench.quick:
        plans = [("full", 10, 2, 10), ("normal", 10, 0, 0)]
    else:
        plans = [("full", 100, 0, 100), ("full", 1000, 8, 1000), ("full", 10000, 0, 0),
                 ("normal", 100, 0, 0), ("normal", 1000, 0, 0), ("normal", 10000, 0, 0)]
    for sync, steps, concurrent, compensate in plans:
        bench.run([bench.tool("journal-benchmark"), "--sync", sync, "--steps", str(steps), "--runs", str(concurrent),
                   "--compensate", str(compensate)])


class Postgres:
    """A throwaway PostgreSQL cluster of Debian's postgresql (scripts/setup
    installs it), on a Unix socket only, run by the `postgres` user when this
    runs as root (PostgreSQL refuses root); fsync and synchronous_commit on,
    as the journal requires. A database per measurement."""

    def __init__(self, work):
        versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit())
        if not versions:
            raise SystemExit("no PostgreSQL under /usr/lib/postgresql: scripts/setup installs it")
        self.bin = "/usr/lib/postgresql/%d/bin" % versions[-1]
        self.dir = tempfile.mkdtemp(dir=work, prefix="pg-")
        self.port = 5432 + os.getpid() % 20000
        self.prefix = []
        if os.geteuid() == 0:
            import pwd
            user = pwd.getpwnam("postgres")
            os.chmod(work, 0o755)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        self.count = 0
        self.owner([self.bin + "/initdb", "-D", self.dir + "/data", "-U", "atomd", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8"])
        self.owner([self.bin + "/pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/server.log", "-w", "-t", "60", "-o",
                    "-k %s -p %d -c listen_addresses='' -c fsync=on -c synchronous_commit=on" % (self.dir, self.port), "start"])

    def owner(self, argv):
        subprocess.run(self.prefix + argv, check=True, capture_output=True, cwd="/", timeout=120)

    def database(self):
        self.count += 1
        name = "bench_%d" % self.count
        subprocess.run([self.bin + "/psql", "-X", "-q", "-h", self.dir, "-p", str(self.port), "-U", "atomd", "-d", "postgres",
                        "-c", "CREATE DATABASE " + name], check=True, capture_output=True, timeout=60)
        return name

    def url(self, name):
        """atomd's URL of database `name`, over the socket."""
        return "postgresql://atomd@%s:%d/%s" % (self.dir.replace("/", "%2F"), self.port, name)

    def sqlalchemy_url(self, name):
        return "postgresql+psycopg://atomd@/%s?host=%s&port=%d" % (name, self.dir, self.port)

    def stop(self):
        self.owner([self.bin + "/pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop"])


def postgres(bench, cluster, python):
    """The journal on PostgreSQL: one commit, a durable step, 8 runs at once,
    10,000 steps flat, compensation; and TaskFlow's SQLAlchemy backend on the
    same server."""
    if bench.quick:
        plans = [(10, 2, 10)]
    else:
        plans = [(100, 0, 100), (1000, 8, 1000), (10000, 0, 0)]
    for steps, concurrent, compensate in plans:
        bench.run([bench.tool("journal-benchmark"), "--postgres", cluster.url(cluster.database()), "--steps", str(steps),
                   "--runs", str(concurrent), "--compensate", str(compensate)])
    tasks, width = ("10", "1") if bench.quick else ("100", "10")
    bench.run([python, os.path.join(PEERS, "taskflow_bench.py"), "--tasks", tasks, "--width", width,
               "--postgres", cluster.sqlalchemy_url(cluster.database())])


def shell(bench):
    bench.run([bench.tool("shell-benchmark"), "--count", "5" if bench.quick else "300"])


def http(bench):
    cloud = subprocess.Popen([bench.tool("FakeCloud"), "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = cloud.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            raise SystemExit("FakeCloud did not say where it listens: %r" % line)
        bench.run([bench.tool("http-benchmark"), "--base", match.group(0), "--count", "5" if bench.quick else "300"])
    finally:
        cloud.send_signal(signal.SIGTERM)
        cloud.wait(timeout=30)


def plugin(bench):
    bench.run([bench.tool("plugin-benchmark"), "--count", "10" if bench.quick else "3000"])


def agent(bench):
    latency, jobs = ("5", "10") if bench.quick else ("200", "1000")
    bench.run([bench.tool("agent-benchmark"), "--latency", latency, "--jobs", jobs])


def whole_process(bench):
    """`atomd validate` and `atomd run` of big jobs, and a step printing a lot:
    wall time and peak RSS of the whole process."""
    atomd = bench.tool("atomd")
    for count in ([100] if bench.quick else [1000, 10000]):
        path = os.path.join(bench.work, "independent-%d.yaml" % count)
        with open(path, "w") as handle:
            handle.write("version: 1\nname: independent\nsteps:\n")
            handle.writelines('  - id: s%d\n    run: "true"\n' % i for i in range(count))
        seconds, peak = bench.timed([atomd, "validate", path], expect=[0])
        bench.add("process.validate.%d.seconds" % count, seconds, "s")
        bench.add("process.validate.%d.peak" % count, peak / 1024, "MiB")
        path = os.path.join(bench.work, "noop-%d.yaml" % count)
        with open(path, "w") as handle:
            handle.write("version: 1\nname: noop\nsteps:\n")
            handle.writelines("  - id: s%d\n    uses: test.noop\n" % i for i in range(count))
        home = tempfile.mkdtemp(dir=bench.work)
        seconds, peak = bench.timed([atomd, "run", path, "--home", home, "--journal-sync", "normal"], expect=[0],
                                    env={"ATOMD_TEST_ATOMS": "1"})
        shutil.rmtree(home)
        bench.add("process.run_noop.%d.seconds" % count, seconds, "s")
        bench.add("process.run_noop.%d.peak" % count, peak / 1024, "MiB")
    size = 1 << 20 if bench.quick else 1 << 30
    path = os.path.join(bench.work, "loud.yaml")
    with open(path, "w") as handle:
        handle.write("version: 1\nname: loud\nsteps:\n  - id: loud\n"
                     "    run: head -c %d /dev/zero | tr '\\\\0' a | fold -w 99\n" % size)
    home = tempfile.mkdtemp(dir=bench.work)
    seconds, peak = bench.timed([atomd, "run", path, "--home", home], expect=[0])
    shutil.rmtree(home)
    bench.add("process.loud_step.peak", peak / 1024, "MiB")
    bench.add("process.loud_step.seconds", seconds, "s")


def taskflow(bench, python):
    script = os.path.join(PEERS, "taskflow_bench.py")
    sizes, width = ([10], "1") if bench.quick else ([100, 1000], "10")
    for tasks in sizes:
        bench.run([python, script, "--tasks", str(tasks), "--width", width])
    directory = tempfile.mkdtemp(dir=bench.work)
    bench.run([python, script, "--tasks", str(sizes[0]), "--width", width, "--sqlite", directory])
    shutil.rmtree(directory)


def ansible(bench, venv):
    """N `command: /bin/true` tasks on localhost against N `run: /bin/true`
    steps; and an undo written as block/rescue against compensation."""
    playbook = os.path.join(venv, "bin", "ansible-playbook")
    atomd = bench.tool("atomd")
    env = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_NOCOWS": "1",
           "ANSIBLE_LOCAL_TEMP": os.path.join(bench.work, "ansible-tmp"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    sizes = [3] if bench.quick else [10, 100, 500]

    def play(name, tasks):
        path = os.path.join(bench.work, name + ".yml")
        with open(path, "w") as handle:
            handle.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
        return [playbook, "-i", "localhost,", "-c", "local", path]

    def job(name, steps):
        path = os.path.join(bench.work, name + ".yaml")
        with open(path, "w") as handle:
            handle.write("version: 1\nname: %s\nsteps:\n%s" % (name, steps))
        return path

    def atomd_run(path, expect):
        home = tempfile.mkdtemp(dir=bench.work)
        seconds, _ = bench.timed([atomd, "run", path, "--home", home], expect=expect)
        shutil.rmtree(home)
        return seconds

    for count in sizes:
        tasks = "".join("    - command: /bin/true\n" for _ in range(count))
        seconds, _ = bench.timed(play("true-%d" % count, tasks), expect=[0], env=env)
        bench.add("ansible.true.%d" % count, seconds, "s")
        steps = "".join("  - id: s%d\n    run: /bin/true\n" % i for i in range(count))
        bench.add("atomd.true.%d" % count, atomd_run(job("true-%d" % count, steps), [0]), "s")
    count = 5 if bench.quick else 100
    body = "".join("        - command: /bin/true\n" for _ in range(count - 1)) + "        - command: /bin/false\n"
    rescue = "".join("        - command: /bin/true\n" for _ in range(count - 1))
    seconds, _ = bench.timed(play("undo", "    - block:\n" + body + "      rescue:\n" + rescue), expect=[0], env=env)
    bench.add("ansible.undo.%d" % count, seconds, "s")
    steps = "".join("  - id: s%d\n    run: /bin/true\n    revert: /bin/true\n" % i for i in range(count - 1))
    steps += "  - id: last\n    run: /bin/false\n"
    # Exit 1: the run failed and was compensated, as it should.
    bench.add("atomd.undo.%d" % count, atomd_run(job("undo", steps), [1]), "s")


# MARK: report

def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "samples": values}


def machine(venv):
    def first(path, key):
        try:
            with open(path) as handle:
                for line in handle:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            return None
        return None

    def output(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None

    python = os.path.join(venv, "bin", "python")
    fs = output(["df", "-T", tempfile.gettempdir()])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": first("/proc/meminfo", "MemTotal"),
        "kernel": platform.release(),
        "temp_filesystem": fs.splitlines()[-1].split()[1] if fs else None,
        "swift": (output(["swift", "--version"]) or "").splitlines()[0] if output(["swift", "--version"]) else None,
        "python": output([python, "--version"]),
        "taskflow": output([python, "-c", "import importlib.metadata as m; print(m.version('taskflow'))"]),
        "ansible_core": output([python, "-c", "import importlib.metadata as m; print(m.version('ansible-core'))"]),
    }


def ratio(results, top, bottom):
    if top not in results or bottom not in results:
        return None
    denominator = results[bottom]["median"]
    return results[top]["median"] / denominator if denominator else None


# What each comparison means: (label, numerator, denominator, target text, predicate on the ratio or None).
def comparisons(quick):
    n = 10 if quick else 1000
    small = 10 if quick else 100
    grid = "1x1" if quick else "10x10"
    rows = [
        ("durable `test.noop` step (FULL, %d steps) / one fsync'd commit" % n, "engine.full.linear.%d" % (10 if quick else 1000),
         "journal.commit.full", "≤ 2×", lambda r: r <= 2),
        ("per step at 10,000 steps / at 100 steps, journal off (flatness)", "engine.off.linear.10000", "engine.off.linear.100",
         "≈ 1 (flat)", lambda r: r <= 1.5),
        ("per step at 10,000 steps / at 100 steps, FULL (flatness)", "engine.full.linear.10000", "engine.full.linear.100",
         "≈ 1 (flat)", lambda r: r <= 1.5),
        ("supervised shell step / bare spawn of /bin/true", "shell.supervised", "shell.bare_spawn", "≤ 1.5×", lambda r: r <= 1.5),
        ("spawn in its own session with both pipes streamed / bare spawn (the library's share)", "shell.streamed_spawn",
         "shell.bare_spawn", "—", None),
        ("supervised shell step / that streamed spawn (the supervisor's own share)", "shell.supervised",
         "shell.streamed_spawn", "—", None),
        ("HTTP step / the curl command line", "http.atom", "http.curl", "—", None),
        ("plugin call isolated / in-process (noop)", "plugin.noop.isolated", "plugin.noop.in_process", "—", None),
        ("TaskFlow linear flow (memory) / atomd linear job (in-memory journal), %d" % small, "taskflow.linear.memory.%d" % small,
         "engine.memory.linear.%d" % small, "> 1: atomd faster", lambda r: r > 1),
        ("TaskFlow unordered flow (memory) / atomd parallel group, %d" % small, "taskflow.unordered.memory.%d" % small,
         "engine.memory.parallel.%d" % small, "> 1", lambda r: r > 1),
        ("TaskFlow graph flow (memory) / atomd graph group, %s" % grid, "taskflow.graph.memory.%s" % grid,
         "engine.memory.graph.%s" % grid, "> 1", lambda r: r > 1),
        ("TaskFlow linear flow (SQLite) / atomd linear job (FULL), %d" % small, "taskflow.linear.sqlite.%d" % small,
         "engine.full.linear.%d" % small, "> 1", lambda r: r > 1),
        ("TaskFlow revert of a linear flow (SQLite) / atomd compensation (FULL), %d" % small, "taskflow.revert.sqlite.%d" % small,
         "engine.full.compensate.%d" % small, "> 1", lambda r: r > 1),
        ("durable `test.noop` step (PostgreSQL, %d steps) / one PostgreSQL commit" % n, "engine.postgres.linear.%d" % n,
         "journal.commit.postgres", "≤ 2×", lambda r: r <= 2),
        ("per step at 10,000 steps / at 100 steps, PostgreSQL (flatness)", "engine.postgres.linear.10000", "engine.postgres.linear.100",
         "≈ 1 (flat)", lambda r: r <= 1.5),
        ("TaskFlow linear flow (PostgreSQL) / atomd linear job (PostgreSQL), %d" % small, "taskflow.linear.postgres.%d" % small,
         "engine.postgres.linear.%d" % small, "> 1", lambda r: r > 1),
        ("TaskFlow revert of a linear flow (PostgreSQL) / atomd compensation (PostgreSQL), %d" % small,
         "taskflow.revert.postgres.%d" % small, "engine.postgres.compensate.%d" % small, "> 1", lambda r: r > 1),
    ]
    if not quick:
        rows.insert(7, ("TaskFlow linear flow (memory) / atomd linear job (in-memory journal), 1000", "taskflow.linear.memory.1000",
                        "engine.memory.linear.1000", "> 1", lambda r: r > 1))
    for count in ([3] if quick else [10, 100, 500]):
        rows.append(("Ansible, %d `command: /bin/true` tasks / atomd, %d `run: /bin/true` steps (whole process)" % (count, count),
                     "ansible.true.%d" % count, "atomd.true.%d" % count, "> 1", lambda r: r > 1))
    undo = 5 if quick else 100
    rows.append(("Ansible block/rescue undo / atomd compensation, %d steps failing at the last" % undo,
                 "ansible.undo.%d" % undo, "atomd.undo.%d" % undo, "> 1", lambda r: r > 1))
    return rows


# The README's own table: what an operator compares, each with what it means.
HEADLINES = [
    ("engine.off.linear.100", "engine cost per in-process `test.noop` step, journal off, 100-step job", "≤ 20 µs"),
    ("engine.off.linear.10000", "the same, 10,000-step job", "≤ 20 µs, flat"),
    ("engine.memory.linear.1000", "the same with the in-memory journal, 1,000 steps", "—"),
    ("journal.commit.full", "one fsync'd SQLite commit (WAL, `synchronous=FULL`, one small row), same disk, same run", "—"),
    ("engine.full.linear.100", "durable `test.noop` step (journal `synchronous=FULL`), 100-step job", "≤ 2× one commit"),
    ("engine.full.linear.1000", "the same, 1,000 steps", "≤ 2× one commit"),
    ("engine.full.linear.10000", "the same, 10,000 steps", "flat"),
    ("engine.full.concurrent8.1000", "the same, 8 runs at once sharing commits (wall time / all steps)", "—"),
    ("engine.full.compensate.1000", "1,000 steps run, the next fails, all reverted (whole run / 1,000)", "—"),
    ("journal.commit.normal", "one unsynced commit (`synchronous=NORMAL`)", "—"),
    ("engine.normal.linear.1000", "durable step at `synchronous=NORMAL` (survives a crash of atomd, not a power loss)", "—"),
    ("journal.commit.postgres", "one PostgreSQL commit (one small row, `synchronous_commit=on`, Unix socket), same machine", "—"),
    ("engine.postgres.linear.1000", "durable `test.noop` step, journal on PostgreSQL, 1,000 steps", "≤ 2× one commit"),
    ("engine.postgres.linear.10000", "the same, 10,000 steps", "flat"),
    ("engine.postgres.concurrent8.1000", "the same, 8 runs at once (wall time / all steps)", "—"),
    ("engine.postgres.compensate.1000", "1,000 steps run, the next fails, all reverted, on PostgreSQL (whole run / 1,000)", "—"),
    ("taskflow.linear.postgres.100", "TaskFlow 6.5 linear flow on its SQLAlchemy backend, same PostgreSQL, per task", "—"),
    ("shell.bare_spawn", "bare spawn of `/bin/true` (posix_spawn and wait)", "—"),
    ("shell.streamed_spawn", "the same spawn in its own session, stdout and stderr streamed to their end", "—"),
    ("shell.supervised", "supervised shell step running `/bin/true` as its shell", "≤ 1.5× bare spawn"),
    ("shell.bash_step", "supervised bash step `true`", "—"),
    ("http.atom", "HTTP step, `GET /healthz` on FakeCloud", "—"),
    ("http.curl", "the curl command line, same request", "—"),
    ("plugin.noop.isolated", "plugin call, isolated host (C `trouble.noop`)", "—"),
    ("plugin.noop.in_process", "the same call in-process", "—"),
    ("plugin.cold_start", "isolated cold start: checks, host launch, handshake, first call", "—"),
    ("agent.spool_to_start.p50", "agent: job file renamed into `incoming/` until its first step starts, p50", "≤ 50 ms"),
    ("agent.spool_to_start.p99", "the same, p99", "—"),
    ("agent.jobs_per_second", "agent: 1,000 two-step jobs dropped at once (`max_runs: 8`, FULL)", "—"),
    ("agent.idle_rss", "agent idle RSS at start", "≤ 30 MiB"),
    ("process.validate.10000.seconds", "`atomd validate`, 10,000 independent steps, whole process", "< 0.3 s"),
    ("process.validate.10000.peak", "its peak RSS", "—"),
    ("process.run_noop.10000.seconds", "`atomd run`, 10,000 `test.noop` steps, `--journal-sync normal`, whole process", "—"),
    ("process.run_noop.10000.peak", "its peak RSS", "< 50 MB"),
    ("process.loud_step.peak", "`atomd run` peak RSS while a step prints 1 GiB", "bounded"),
]


def readme_fragment(results, ratios, info, rounds):
    lines = ["Measured by `Benchmarks/run` on %s (commit %s): %s, %s cores, %s, Linux %s; %d rounds, medians "
             "(spread min–max over the rounds). Every number: `Benchmarks/results.md`." % (
                 info["date"], info["commit"], info["cpu"], info["cores"], info["memory"], info["kernel"], rounds),
             "", "| what | median (spread) | target |", "|---|---|---|"]
    for name, meaning, target in HEADLINES:
        if name in results:
            entry = results[name]
            lines.append("| %s | %.4g %s (%.4g–%.4g) | %s |" % (meaning, entry["median"], entry["unit"], entry["min"],
                                                             entry["max"], target))
    lines += ["", "| comparison (same machine, same run) | ratio | target | met |", "|---|---|---|---|"]
    for row in ratios:
        value = "—" if row["ratio"] is None else "%.2f×" % row["ratio"]
        lines.append("| %s | %s | %s | %s |" % (row["label"], value, row["target"],
                                                {True: "yes", False: "**no**", None: "—"}[row["met"]]))
    return "\n".join(lines) + "\n"


def update_readme(path, fragment):
    begin, end = "<!-- benchmarks:begin -->\n", "<!-- benchmarks:end -->"
    with open(path) as handle:
        text = handle.read()
    if begin not in text or end not in text:
        raise SystemExit("%s has no %s ... %s markers" % (path, begin.strip(), end))
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as handle:
        handle.write(head + begin + fragment + end + tail)


def write(out, results, ratios, info, rounds, quick):
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump({"machine": info, "rounds": rounds, "quick": quick, "results": results, "ratios": ratios}, handle, indent=1,
                  sort_keys=True)
    lines = ["# atomd benchmark results", "",
             "Written by `Benchmarks/run`%s on %s (commit %s). %d round(s), every scenario once per round, interleaved; "
             "median over rounds, spread = min–max." % (" --quick" if quick else "", info["date"], info["commit"], rounds),
             "", "Machine: %s, %s cores, %s memory, Linux %s, temporary files on %s; %s; %s, TaskFlow %s, ansible-core %s."
             % (info["cpu"], info["cores"], info["memory"], info["kernel"], info["temp_filesystem"], info["swift"],
                info["python"], info["taskflow"], info["ansible_core"]), "",
             "## Ratios", "", "| comparison | ratio (median) | target | met |", "|---|---|---|---|"]
    for row in ratios:
        value = "—" if row["ratio"] is None else "%.2f×" % row["ratio"]
        met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        lines.append("| %s | %s | %s | %s |" % (row["label"], value, row["target"], met))
    lines += ["", "## Every measurement", "", "| name | median | spread | unit | samples |", "|---|---|---|---|---|"]
    for name in sorted(results):
        entry = results[name]
        lines.append("| %s | %.4g | %.4g–%.4g | %s | %d |" % (name, entry["median"], entry["min"], entry["max"], entry["unit"],
                                                         len(entry["samples"])))
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="the build's products (atomd and the benchmark programs)")
    parser.add_argument("--venv", required=True, help="the virtual environment with TaskFlow and Ansible")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", required=True)
    parser.add_argument("--readme", help="rewrite the table between this file's benchmarks markers")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 50:
        raise SystemExit("--rounds must be from 1 to 50")
    os.makedirs(args.out, exist_ok=True)
    python = os.path.join(args.venv, "bin", "python")
    with tempfile.TemporaryDirectory(prefix="atomd-bench-") as work:
        bench = Bench(args.bin, args.quick, work)
        cluster = Postgres(work)
        scenarios = [("engine", engine), ("journal", journal), ("PostgreSQL journal", lambda b: postgres(b, cluster, python)),
                     ("shell", shell), ("http", http), ("plugin", plugin),
                     ("agent", agent), ("whole process", whole_process), ("TaskFlow", lambda b: taskflow(b, python)),
                     ("Ansible", lambda b: ansible(b, args.venv))]
        try:
            for index in range(args.rounds):
                for name, scenario in scenarios:
                    start = time.perf_counter()
                    scenario(bench)
                    print("round %d/%d: %s (%.1f s)" % (index + 1, args.rounds, name, time.perf_counter() - start), flush=True)
        finally:
            cluster.stop()
        results = {name: dict(summary(values), unit=bench.units[name]) for name, values in bench.samples.items()}
    ratios = []
    for label, top, bottom, target, test in comparisons(args.quick):
        value = ratio(results, top, bottom)
        ratios.append({"label": label, "numerator": top, "denominator": bottom, "ratio": value, "target": target,
                       "met": None if value is None or test is None else bool(test(value))})
    missing = [row["label"] for row in ratios if row["ratio"] is None and not (args.quick and "10,000" in row["label"])]
    info = machine(args.venv)
    write(args.out, results, ratios, info, args.rounds, args.quick)
    if args.readme:
        update_readme(args.readme, readme_fragment(results, ratios, info, args.rounds))
    for row in ratios:
        print("%-100s %s" % (row["label"], "—" if row["ratio"] is None else "%.2f×" % row["ratio"]))
    print("wrote %s and %s" % (os.path.join(args.out, "results.md"), os.path.join(args.out, "results.json")))
    if missing:
        raise SystemExit("no measurement for: " + "; ".join(missing))


if __name__ == "__main__":
    main()
