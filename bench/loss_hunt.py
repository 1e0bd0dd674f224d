#!/usr/bin/python3
"""Runs one lepus-perf scenario against a fresh lepusd again and again until a run reports a
message that never arrived (gaps) or never went out (unsent), then prints that run's summary
and the tail of lepusd's log. For chasing losses that show in one run out of tens: two
processes that spin on the CPUs meanwhile (--spinners) make them more frequent.

    /usr/bin/python3 bench/loss_hunt.py build/bench/bin --runs 40 --spinners 2 -- \\
        --producers 1 --consumers 1 --queues 1 --size 1024 --autoack --duration 3

The directory holds lepusd and lepus-perf. Exit status 1 when a run lost something, 0 when
none of the runs did.
"""
import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spin():
    while True:
        pass


def wait_for_port(port, process, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lepusd exited at start-up with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"lepusd did not listen on {port} within {timeout_s} s")


def one_run(bin_dir, perf_args, grace_s):
    work = tempfile.mkdtemp(prefix="lepus-loss-hunt-")
    port = free_port()
    log_path = os.path.join(work, "lepusd.log")
    with open(log_path, "wb") as log:
        lepusd = subprocess.Popen([os.path.join(bin_dir, "lepusd"), "--listen",
                                   f"127.0.0.1:{port}", "--data-dir", os.path.join(work, "data"),
                                   "--management-listen", "none"],
                                  stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port, lepusd)
        done = subprocess.run([os.path.join(bin_dir, "lepus-perf"), "--uri",
                               f"amqp://guest:guest@127.0.0.1:{port}/", "--json",
                               "--grace", str(grace_s), *perf_args],
                              capture_output=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"lepus-perf failed ({done.returncode}): {done.stderr.decode()}")
        summary = json.loads(done.stdout)
    finally:
        lepusd.terminate()
        lepusd.wait()
    with open(log_path, "rb") as log:
        log_text = log.read().decode("utf-8", "replace")
    shutil.rmtree(work, ignore_errors=True)
    return summary, log_text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bin_dir", help="the directory with lepusd and lepus-perf")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--spinners", type=int, default=0,
                        help="processes that spin on the CPUs during the runs")
    parser.add_argument("--grace", type=float, default=2.0, help="lepus-perf's --grace")
    # Everything after "--" is lepus-perf's scenario, passed as it is.
    argv = sys.argv[1:]
    perf_args = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.perf_args = perf_args
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.spinners)]
    for spinner in spinners:
        spinner.start()
    try:
        for run in range(1, args.runs + 1):
            summary, log_text = one_run(args.bin_dir, args.perf_args, args.grace)
            gaps, unsent = summary.get("gaps", 0), summary.get("unsent", 0)
            print(f"run {run}: sent {summary['sent']} received {summary['received']} "
                  f"gaps {gaps} unsent {unsent}", flush=True)
            if gaps or unsent or summary.get("duplicates"):
                print(json.dumps(summary, indent=1))
                print("--- the end of lepusd's log ---")
                print("\n".join(log_text.splitlines()[-20:]))
                return 1
        return 0
    finally:
        for spinner in spinners:
            spinner.terminate()


if __name__ == "__main__":
    sys.exit(main())
