#!/usr/bin/env python3
"""Bounded, searchable logs for the local stack (deploy/local/stack.sh).

    logs.py rotate FILE --max-bytes N --keep K
        Copies standard input to FILE, whole lines at a time. Before FILE would grow past N bytes it
        becomes FILE.1 (FILE.1 becomes FILE.2, ...; FILE.K is dropped), so one process never holds
        more than (K + 1) * N bytes of log. The services and Redis write their output through it.
        Exits when its input closes (the process it logs for exited); SIGINT/SIGTERM/SIGHUP are
        ignored so that nothing written before that is lost.

    logs.py watch --max-bytes N --keep K --interval S [--reopen PIDFILE FILE]... [--prune DIR]...
        For processes that open their log files themselves: every S seconds, a FILE past N bytes is
        rotated the same way and the process in PIDFILE is sent SIGUSR1 (nginx reopens its logs);
        in each DIR (PostgreSQL's logging collector, which rotates by size itself) only the newest
        K + 1 `*.log` files are kept.

    logs.py search DIR [QUERY] [--follow]
        Every line containing QUERY (a request id, a trace id, any text; every line without one) in
        every log under DIR, oldest file first, each prefixed with its source (`auth-1`, `gateway-access`).
        --follow keeps printing new matching lines as they are written, across rotations.
"""
import argparse
import os
import pathlib
import signal
import sys
import time


def rotate_files(path: pathlib.Path, keep: int) -> None:
    """FILE -> FILE.1 -> ... -> FILE.keep; what was FILE.keep is dropped."""
    for i in range(keep, 0, -1):
        src = path if i == 1 else path.with_name(f"{path.name}.{i - 1}")
        if src.exists():
            os.replace(src, path.with_name(f"{path.name}.{i}"))


def drop_beyond(path: pathlib.Path, keep: int) -> None:
    """Removes FILE.(keep+1) and later, left by an earlier run with a larger LOG_KEEP."""
    i = keep + 1
    while (old := path.with_name(f"{path.name}.{i}")).exists():
        old.unlink()
        i += 1


class RotatingWriter:
    """Appends whole lines to a file and rotates it before it passes `max_bytes`."""

    def __init__(self, path: pathlib.Path, max_bytes: int, keep: int):
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        drop_beyond(path, keep)
        self.out = open(path, "ab")
        self.size = self.out.tell()

    def rotate(self) -> None:
        self.out.close()
        rotate_files(self.path, self.keep)
        self.out = open(self.path, "ab")
        self.size = 0

    def emit(self, data: bytes) -> None:
        self.out.write(data)
        self.out.flush()
        self.size += len(data)

    def write(self, data: bytes) -> None:
        """Writes `data` (whole lines), rotating at line boundaries so no file passes the limit;
        a single line longer than the limit gets a file of its own."""
        while data:
            room = self.max_bytes - self.size
            if len(data) <= room:
                self.emit(data)
                return
            cut = data.rfind(b"\n", 0, room) + 1
            if cut == 0:
                if self.size > 0:
                    self.rotate()
                    continue
                cut = data.find(b"\n") + 1 or len(data)
            self.emit(data[:cut])
            data = data[cut:]
            self.rotate()


def cmd_rotate(args) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    writer = RotatingWriter(pathlib.Path(args.file), args.max_bytes, args.keep)
    pending = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut == 0 and len(pending) < args.max_bytes:
            continue  # wait for the end of the line
        cut = cut or len(pending)
        writer.write(pending[:cut])
        pending = pending[cut:]
    if pending:
        writer.write(pending)


def cmd_watch(args) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for _, file in args.reopen or []:
        drop_beyond(pathlib.Path(file), args.keep)
    while True:
        for pidfile, file in args.reopen or []:
            path = pathlib.Path(file)
            try:
                if path.stat().st_size <= args.max_bytes:
                    continue
                rotate_files(path, args.keep)
                pid = int(pathlib.Path(pidfile).read_text().split()[0])
                os.kill(pid, signal.SIGUSR1)
            except (OSError, ValueError, IndexError):
                continue  # not there yet, or the process is being restarted
        for folder in args.prune or []:
            try:
                logs = sorted(pathlib.Path(folder).glob("*.log"), key=lambda p: p.stat().st_mtime)
                for old in logs[: max(0, len(logs) - (args.keep + 1))]:
                    old.unlink()
            except OSError:
                continue
        time.sleep(args.interval)


def sources(folder: pathlib.Path):
    """(name, [files oldest first]) for every log under `folder` (PostgreSQL's folder included)."""
    found = {}
    for path in sorted(folder.glob("*.log*")) + sorted(folder.glob("*/*.log")):
        name, _, suffix = path.name.partition(".log")
        if path.parent != folder:
            found.setdefault(path.parent.name, []).append((path.stat().st_mtime, path))
        elif suffix == "" or suffix[1:].isdigit():
            found.setdefault(name, []).append((-int(suffix[1:] or 0), path))
    return {name: [p for _, p in sorted(files)] for name, files in sorted(found.items())}


def cmd_search(args) -> None:
    folder = pathlib.Path(args.dir)
    query = (args.query or "").encode()
    width = max((len(n) for n in sources(folder)), default=8)
    out = sys.stdout.buffer

    def show(name: str, line: bytes) -> None:
        if query in line:
            out.write(f"{name:<{width}} | ".encode() + line.rstrip(b"\n") + b"\n")

    if not args.follow:
        for name, files in sources(folder).items():
            for path in files:
                try:
                    with open(path, "rb") as f:
                        for line in f:
                            show(name, line)
                except OSError:
                    continue
        out.flush()
        return
    # Follow: from the current end of each log; a rotated file is reopened from its start.
    positions = {}
    for name, files in sources(folder).items():
        try:
            st = files[-1].stat()
            positions[files[-1]] = (st.st_ino, st.st_size, name)
        except OSError:
            continue
    while True:
        for name, files in sources(folder).items():
            path = files[-1]
            try:
                st = path.stat()
            except OSError:
                continue
            ino, offset, _ = positions.get(path, (st.st_ino, 0, name))
            if ino != st.st_ino or st.st_size < offset:
                offset = 0
            if st.st_size > offset:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
                end = data.rfind(b"\n") + 1
                for line in data[:end].splitlines(keepends=True):
                    show(name, line)
                offset += end
            positions[path] = (st.st_ino, offset, name)
        out.flush()
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rotate = sub.add_parser("rotate")
    rotate.add_argument("file")
    watch = sub.add_parser("watch")
    for p in (rotate, watch):
        p.add_argument("--max-bytes", type=int, required=True)
        p.add_argument("--keep", type=int, required=True)
    watch.add_argument("--interval", type=float, default=0.5)
    watch.add_argument("--reopen", nargs=2, action="append", metavar=("PIDFILE", "FILE"))
    watch.add_argument("--prune", action="append", metavar="DIR")
    search = sub.add_parser("search")
    search.add_argument("dir")
    search.add_argument("query", nargs="?")
    search.add_argument("--follow", action="store_true")
    args = parser.parse_args()
    if getattr(args, "max_bytes", 1) < 1 or getattr(args, "keep", 1) < 1:
        parser.error("--max-bytes and --keep must be at least 1")
    try:
        {"rotate": cmd_rotate, "watch": cmd_watch, "search": cmd_search}[args.command](args)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
