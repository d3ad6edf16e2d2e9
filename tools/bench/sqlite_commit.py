#!/usr/bin/env python3
"""Cost of SQLite's journal and synchronous settings per commit (docs/operations.md).

Usage: python3 tools/bench/sqlite_commit.py DIR   (DIR on the disk the database will live on)
Each setting: 1,000 transactions of one 2 KB row plus one audit row, median commit time, three
runs; prints the median of the three medians and each run.
"""
import os
import sqlite3
import statistics
import sys
import time


def run(directory, journal, sync, n=1000):
    path = os.path.join(directory, f"bench_{journal}_{sync}.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    c = sqlite3.connect(path, isolation_level=None)
    c.execute(f"PRAGMA journal_mode={journal}")
    c.execute(f"PRAGMA synchronous={sync}")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    c.execute("CREATE TABLE a (seq INTEGER PRIMARY KEY, h TEXT)")
    blob = os.urandom(2048)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO t (v) VALUES (?)", (blob,))
        c.execute("INSERT INTO a (h) VALUES ('x')")
        c.execute("COMMIT")
        times.append(time.perf_counter() - t)
    c.close()
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    return statistics.median(times) * 1000


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for journal, sync in [("WAL", "FULL"), ("WAL", "NORMAL"), ("DELETE", "FULL")]:
        runs = [run(sys.argv[1], journal, sync) for _ in range(3)]
        each = ", ".join(f"{x:.3f}" for x in runs)
        print(f"{journal:6} {sync:6} median commit {statistics.median(runs):.3f} ms (runs {each})")


if __name__ == "__main__":
    main()
