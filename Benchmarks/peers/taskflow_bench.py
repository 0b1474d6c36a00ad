"""The engine work of atomd's benchmarks, on OpenStack TaskFlow.

Each task does nothing (as atomd's `test.noop`), so what is measured is the
engine: scheduling, state transitions and, with the SQLite backend, their
persistence. Prints `result: NAME VALUE UNIT` lines for Benchmarks/run.

    python taskflow_bench.py --tasks 100 [--width 10] [--sqlite DIR | --postgres SQLALCHEMY_URL]
"""
import argparse
import os
import time

from taskflow import engines, task
from taskflow.patterns import graph_flow, linear_flow, unordered_flow
from taskflow.persistence import backends, models


class Noop(task.Task):
    def execute(self):
        return None

    def revert(self, *args, **kwargs):
        return None


class Fail(task.Task):
    def execute(self):
        raise RuntimeError("injected failure")


def linear(count, last=None):
    flow = linear_flow.Flow("linear")
    flow.add(*[Noop("t%d" % i) for i in range(count - (1 if last else 0))])
    if last:
        flow.add(last("t%d" % (count - 1)))
    return flow


def unordered(count):
    flow = unordered_flow.Flow("unordered")
    flow.add(*[Noop("t%d" % i) for i in range(count)])
    return flow


def graph(width):
    """`width` levels of `width` tasks, each linked to the task above it and
    the one above-right: the graph of atomd's engine benchmark."""
    flow = graph_flow.Flow("graph")
    levels = [[Noop("n%d-%d" % (level, column)) for column in range(width)] for level in range(width)]
    for level in levels:
        flow.add(*level)
    for above, level in zip(levels, levels[1:]):
        for column, node in enumerate(level):
            flow.link(above[column], node)
            if width > 1:
                flow.link(above[(column + 1) % width], node)
    return flow


def backend_for(directory, name, postgres=None):
    if postgres is not None:
        # TaskFlow's SQLAlchemy backend on PostgreSQL (psycopg): one database,
        # the flows told apart by their logbooks.
        connection_url = postgres
    elif directory is None:
        return None
    else:
        connection_url = "sqlite:///" + os.path.join(directory, name + ".sqlite")
    backend = backends.fetch({"connection": connection_url})
    connection = backend.get_connection()
    connection.upgrade()
    connection.close()
    return backend


def run(flow, backend, expect_failure=False):
    """Seconds to load and run `flow`; loading is part of a run, as in atomd."""
    start = time.perf_counter()
    if backend is not None:
        book = models.LogBook("bench")
        detail = models.FlowDetail(flow.name, uuid=book.uuid + "-flow")
        book.add(detail)
        connection = backend.get_connection()
        connection.save_logbook(book)
        connection.close()
        engine = engines.load(flow, flow_detail=detail, book=book, backend=backend, engine="serial")
    else:
        engine = engines.load(flow, engine="serial")
    try:
        engine.run()
        if expect_failure:
            raise SystemExit("the failing flow succeeded")
    except RuntimeError:
        if not expect_failure:
            raise
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--width", type=int, default=10, help="the graph flow is width x width tasks")
    parser.add_argument("--sqlite", help="directory for SQLite backends; memory only without it")
    parser.add_argument("--postgres", help="SQLAlchemy URL of a PostgreSQL database for the SQL backend")
    args = parser.parse_args()
    n = args.tasks
    label = "postgres" if args.postgres else "sqlite" if args.sqlite else "memory"
    if not (1 <= n <= 100000 and 1 <= args.width <= 300):
        raise SystemExit("--tasks must be from 1 to 100000, --width from 1 to 300")
    for shape, build in (("linear", linear), ("unordered", unordered)):
        seconds = run(build(n), backend_for(args.sqlite, shape, args.postgres))
        print("result: taskflow.%s.%s.%d %.1f us/task" % (shape, label, n, seconds / n * 1e6))
    w = args.width
    seconds = run(graph(w), backend_for(args.sqlite, "graph", args.postgres))
    print("result: taskflow.graph.%s.%dx%d %.1f us/task" % (label, w, w, seconds / (w * w) * 1e6))
    seconds = run(linear(n, last=Fail), backend_for(args.sqlite, "revert", args.postgres), expect_failure=True)
    print("result: taskflow.revert.%s.%d %.1f us/task" % (label, n, seconds / n * 1e6))


if __name__ == "__main__":
    main()
