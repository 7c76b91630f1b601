#!/usr/bin/env python3
"""Where the machine's CPU time went during a measured run, per component, per answer.

    cpu.py snap FILE
        Writes a snapshot of every process (pid, parent, CPU time of itself and of the children it
        reaped) and of the machine's busy and total time (/proc/stat) to FILE.
    cpu.py split BEFORE AFTER --count N [--root NAME=PID ...] [--detail NAME ...]
        Prints, as JSON, {"busy_pct": .., "us": {NAME: µs per answer, ..., "other": ..}}: each
        process's CPU time between the two snapshots (its own and that of the children it reaped
        meanwhile, e.g. PostgreSQL's short-lived backends or the archiver's compressor) goes to the
        nearest of its ancestors (or itself) given as a root; what no root accounts for (the kernel's
        own threads, processes outside the stack, samplers that came and went) is "other". busy_pct
        is the share of all cores that was busy. µs are CPU microseconds per answer (N answers). With
        --detail NAME, "detail" also splits that component by process title: for PostgreSQL, its
        backends by role (inventory_stock, inventory_ledger, ...) and its own processes (walwriter,
        walsender, archiver with its compressor, autovacuum, ...); "postmaster" holds the children
        that exited during the run (short sessions, autovacuum workers).

A root's name may be given several times (two stock instances are one component). Times come from
/proc in clock ticks (10 ms): over a 20 s run on two cores, a component's figure is exact to about
0.1 % of the machine. A process that ended during the run counts with what it spent during it only
(its parent's reaped time holds its whole life; what it had spent before is taken off); one whose
parent is not in the stack is counted under "other" (through the machine's busy time), and so
are the snapshots' own time and anything else not under a root.
"""
import argparse
import json
import os
import sys


def title(pid: str) -> str:
    """The process's title, e.g. "postgres: inventory_stock inventory 127.0.0.1(5432) idle"."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def role(process_title: str) -> str:
    """The part of a title that names what the process does: "postgres: autovacuum worker" ->
    "autovacuum", "postgres: inventory_stock inventory ..." -> "inventory_stock"; the program for
    anything else."""
    head, _, rest = process_title.partition(": ")
    if not rest:
        return "postmaster" if "postgres" in head else head.split(" ")[0].rsplit("/", 1)[-1]
    return rest.split()[0] if rest.split() else head


def processes() -> dict:
    """pid -> [ppid, start time, own ticks, reaped children's ticks, title] for every process."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        # The command name is in parentheses and may contain spaces: split after its last ")".
        fields = stat[stat.rindex(")") + 2:].split()
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        start = int(fields[19])
        procs[int(name)] = [ppid, start, utime + stime, cutime + cstime, title(name)]
    return procs


def machine() -> list:
    """[busy ticks, total ticks] of all cores."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (cpu + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return [busy, busy + idle + iowait]


def snap(path: str) -> None:
    procs = processes()
    # This process's own time so far: it is reaped by its parent during the run (a "before"
    # snapshot) or alive at its end (an "after" one), and is the bench's, not the load's.
    times = os.times()
    own = round((times.user + times.system) * os.sysconf("SC_CLK_TCK"))
    me = {"pid": str(os.getpid()), "ppid": str(os.getppid()), "ticks": own}
    with open(path, "w") as f:
        json.dump({"machine": machine(), "procs": procs, "self": me}, f)


def split(before_path: str, after_path: str, count: int, roots: list, detail: list) -> dict:
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    hz = os.sysconf("SC_CLK_TCK")
    owner = {}
    names = []
    for root in roots:
        name, pid = root.split("=", 1)
        if pid.strip().isdigit():
            owner[pid.strip()] = name
        if name not in names:
            names.append(name)
    ticks = dict.fromkeys(names, 0)
    parts = {name: {} for name in detail}
    procs_before, procs_after = before["procs"], after["procs"]
    procs_after.pop(after["self"]["pid"], None)
    # A process that ended during the run is in its parent's reaped time with its whole life: take
    # off what it had spent before the run (and the "before" snapshot itself, reaped meanwhile).
    earlier_life = {}
    gone = [(pid, p[0], p[2] + p[3]) for pid, p in procs_before.items()
            if pid not in procs_after or procs_after[pid][1] != p[1]]
    gone.append((before["self"]["pid"], int(before["self"]["ppid"]), before["self"]["ticks"]))
    for pid, ppid, life in gone:
        parent_before, parent_after = procs_before.get(str(ppid)), procs_after.get(str(ppid))
        if parent_before and parent_after and parent_before[1] == parent_after[1]:
            earlier_life[str(ppid)] = earlier_life.get(str(ppid), 0) + life
    for pid, (ppid, start, own, reaped, process_title) in procs_after.items():
        earlier = procs_before.get(pid)
        spent = own + reaped - earlier_life.get(pid, 0)
        if earlier and earlier[1] == start:
            spent -= earlier[2] + earlier[3]
        if spent <= 0:
            continue
        # The nearest root among the process and its ancestors (parents listed in the later snapshot).
        cursor, seen = pid, 0
        while cursor not in owner and cursor in procs_after and seen < 64:
            cursor, seen = str(procs_after[cursor][0]), seen + 1
        if cursor in owner:
            ticks[owner[cursor]] += spent
            if owner[cursor] in parts:
                part = parts[owner[cursor]]
                part[role(process_title)] = part.get(role(process_title), 0) + spent
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    ticks["other"] = max(busy - sum(ticks.values()), 0)
    per = 1e6 / hz / max(count, 1)
    result = {
        "busy_pct": round(100 * busy / total, 1) if total else 0.0,
        "us": {name: round(t * per, 1) for name, t in ticks.items()},
    }
    if parts:
        result["detail"] = {
            name: dict(sorted(((k, round(t * per, 1)) for k, t in part.items()), key=lambda kv: -kv[1]))
            for name, part in parts.items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap_cmd = sub.add_parser("snap")
    snap_cmd.add_argument("file")
    split_cmd = sub.add_parser("split")
    split_cmd.add_argument("before")
    split_cmd.add_argument("after")
    split_cmd.add_argument("--count", type=int, required=True)
    split_cmd.add_argument("--root", action="append", default=[])
    split_cmd.add_argument("--detail", action="append", default=[])
    args = parser.parse_args()
    if args.command == "snap":
        snap(args.file)
    else:
        json.dump(split(args.before, args.after, args.count, args.root, args.detail), sys.stdout)
        print()


if __name__ == "__main__":
    main()
