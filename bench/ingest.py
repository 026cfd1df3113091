"""Ingest benchmark: N collaborators file whole reports at once through the Telegram webhook.

``python -m bench.ingest [--users 20] [--db sqlite|postgres] [--reports-per-user 3]``

The service (``python -m bot serve``, TELEGRAM_MODE=webhook) and the reference echo bot
(``bench/echo_bot.py``) each run in their own process against the fake Bot API server of
``tests/fakes``, which runs here together with the simulated users (bench/simulated_users.py).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.pg import database
from bench.processes import RssSampler, cpu_seconds, machine, no_collections_here
from bench.simulated_users import (
    BOT_USERNAME,
    Action,
    Tally,
    TimedTelegram,
    drive,
    echo_script,
    service_script,
)
from tests.e2e.harness import free_port
from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.processes import HOST, clean_environ, spawned, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_PATH = "/webhooks/telegram"
WEBHOOK_SECRET = "bench-hook_secret42"
SETTLE = 0.5  # seconds to wait after the load for late (duplicate) replies
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
# ---- one measured run ---------------------------------------------------------------------
@dataclass
class Figures:
    name: str
    expected_steps: int
    answered: int
    cpu_ms_per_step: float
    p50_ms: float
    p99_ms: float
    peak_rss_mib: float
    wall_s: float
    lost: int
    duplicates: int
    failed_deliveries: int
    api_calls: dict[str, int]
    stuck: list[str]
    notes: list[str] = field(default_factory=list)
    # The benchmark process's own CPU (fake Bot API server + simulated users) per step.
    load_cpu_ms_per_step: float = math.nan


@dataclass
class Target:
    name: str
    command: list[str]
    env: dict[str, str]  # without TELEGRAM_API_BASE, which is the fake's
    port: int
    workdir: Path


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(share * len(ordered))))
    return ordered[rank - 1]


async def measure(target: Target, tg: TimedTelegram, scripts: list[list[Action]],
                  deadline: float) -> Figures:
    env = {**target.env, "TELEGRAM_API_BASE": tg.base_url}
    log = target.workdir / f"{target.name}.log"
    async with spawned(target.command, env, target.workdir, log) as process:
        sampler = RssSampler(process.pid)
        sampler.start()
        try:
            await wait_healthy(target.port, process, log)
            tg.deliver_to(f"http://{HOST}:{target.port}{WEBHOOK_PATH}", WEBHOOK_SECRET)
            cpu_before, started = cpu_seconds(process.pid), time.perf_counter()
            ours_before = cpu_seconds(os.getpid())
            with no_collections_here():
                tally = await drive(tg, scripts, deadline)
            wall, cpu = time.perf_counter() - started, cpu_seconds(process.pid) - cpu_before
            ours = cpu_seconds(os.getpid()) - ours_before
            await asyncio.sleep(SETTLE)
        finally:
            peak = sampler.stop()
    result = figures(target.name, tg, scripts, tally, cpu, wall, peak)
    result.load_cpu_ms_per_step = ours * 1000 / result.answered if result.answered else math.nan
    return result


def figures(name: str, tg: TimedTelegram, scripts: list[list[Action]], tally: Tally,
            cpu: float, wall: float, peak: int) -> Figures:
    expected = sum(len(s) for s in scripts)
    messages = sum(replies for script in scripts for _, _, replies in script)
    answered = len(tally.latencies)
    received = sum(len(v) for v in tg.stamps.values())
    ms = [x * 1000 for x in tally.latencies]
    return Figures(
        name=name, expected_steps=expected, answered=answered,
        cpu_ms_per_step=cpu * 1000 / answered if answered else float("nan"),
        p50_ms=percentile(ms, 0.50), p99_ms=percentile(ms, 0.99),
        peak_rss_mib=peak / 2**20, wall_s=wall, lost=tally.lost,
        duplicates=max(0, received - messages),
        failed_deliveries=sum(1 for d in tg.deliveries if not 200 <= d.status < 300),
        api_calls=dict(Counter(call.method for call in tg.requests)), stuck=tally.stuck)


# ---- the service run ----------------------------------------------------------------------
def service_env(database_url: str, workdir: Path, port: int, pacing: str) -> dict[str, str]:
    env = clean_environ() | {
        "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_BOT_USERNAME": BOT_USERNAME, "HTTP_HOST": HOST, "HTTP_PORT": str(port),
        "MEDIA_DIR": str(workdir / "media"), "LOG_LEVEL": "WARNING",
    }
    if pacing == "off":  # simulated users answer instantly; real people do not
        env |= {"TELEGRAM_RATE": "inf", "TELEGRAM_PER_CHAT_RATE": "inf"}
    return env


async def cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    """``python -m bot ARGS`` with the service's environment; its stdout."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -m bot {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


async def invitation_codes(env: dict[str, str], cwd: Path, count: int) -> list[str]:
    out = await cli(env, cwd, "invite", "--role", "collaborator", "--unit", "bo-de",
                    "--count", str(count), "--json")
    return [row["code"] for row in json.loads(out)]


async def stored_reports(env: dict[str, str], cwd: Path) -> int:
    return len(json.loads(await cli(env, cwd, "reports", "list", "--json")))


def service_command(profile: Path | None, profiler: str) -> list[str]:
    """``python -m bot serve``, possibly under a profiler writing pstats to ``profile``."""
    if profile is None:
        return [sys.executable, "-m", "bot", "serve"]
    if profiler == "pyinstrument":  # sampling: right also across SQLAlchemy's greenlets
        wrapper = ["-m", "pyinstrument", "-r", "pstats", "-o", str(profile)]
    else:
        wrapper = ["-m", "cProfile", "-o", str(profile)]
    return [sys.executable, *wrapper, "-m", "bot", "serve"]


async def run_service(args: argparse.Namespace, workdir: Path, database_url: str) -> Figures:
    port = free_port()
    env = service_env(database_url, workdir, port, args.pacing)
    codes = await invitation_codes(env, workdir, args.users)
    scripts = [service_script(code, args.reports_per_user) for code in codes]
    target = Target("service", service_command(args.profile, args.profiler), env, port, workdir)
    async with TimedTelegram() as tg:
        result = await measure(target, tg, scripts, args.deadline)
    stored = await stored_reports(env, workdir)
    wanted = args.users * args.reports_per_user
    verdict = "OK" if stored == wanted else "MISMATCH"
    result.notes.append(f"reports stored: {stored} (expected {wanted}) {verdict}")
    return result


async def run_echo(args: argparse.Namespace, workdir: Path, steps_per_user: int) -> Figures:
    port = free_port()
    env = clean_environ() | {
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HTTP_HOST": HOST, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING"}
    command = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
    scripts = [echo_script(steps_per_user) for _ in range(args.users)]
    async with TimedTelegram() as tg:
        return await measure(Target("echo", command, env, port, workdir), tg, scripts,
                             args.deadline)


# ---- report -------------------------------------------------------------------------------
def describe(f: Figures) -> list[str]:
    lines = [
        f"[{f.name}]",
        f"  steps answered           : {f.answered} / {f.expected_steps}",
        f"  CPU per answered step    : {f.cpu_ms_per_step:.2f} ms (bot process, user+system)",
        f"  step latency p50 / p99   : {f.p50_ms:.1f} ms / {f.p99_ms:.1f} ms",
        f"  load generator CPU/step  : {f.load_cpu_ms_per_step:.2f} ms (fake Bot API + users)",
        f"  peak RSS                 : {f.peak_rss_mib:.1f} MiB",
        f"  wall time of the load    : {f.wall_s:.2f} s ({f.answered / f.wall_s:.0f} steps/s)",
        f"  lost / duplicate replies : {f.lost} / {f.duplicates}",
        f"  failed webhook POSTs     : {f.failed_deliveries}",
        f"  Bot API calls per step   : {api_per_step(f)}",
    ]
    lines += [f"  {note}" for note in f.notes]
    lines += [f"  problem: {s}" for s in f.stuck[:10]]
    return lines


def api_per_step(f: Figures) -> str:
    if not f.answered:
        return "-"
    total = sum(f.api_calls.values()) / f.answered
    each = ", ".join(f"{m} {n / f.answered:.2f}" for m, n in sorted(
        f.api_calls.items(), key=lambda item: -item[1]))
    return f"{total:.2f} ({each})"


def in_brief(f: Figures) -> str:
    return "; ".join([
        f"{f.name} {f.cpu_ms_per_step:.2f} ms/step, p50 {f.p50_ms:.1f} / p99 {f.p99_ms:.1f} ms,"
        f" {f.answered}/{f.expected_steps} answered, {f.lost} lost, {f.duplicates} dup",
        *f.notes, *(f"problem: {s}" for s in f.stuck[:3]),
    ])


def ratios(rounds: list[tuple[Figures, Figures]]) -> list[str]:
    """Each round's ratios (the two runs of a round follow each other within a minute, so the
    machine's drift touches both alike) and their median, which the verdict is on."""
    cpu = [s.cpu_ms_per_step / e.cpu_ms_per_step for s, e in rounds]
    p99 = [s.p99_ms / e.p99_ms for s, e in rounds if e.p99_ms] or [math.nan]
    each = ", ".join
    cpu_median, p99_median = statistics.median(cpu), statistics.median(p99)
    return [
        f"[service / echo] over {len(rounds)} round(s), the median of the rounds' ratios",
        f"  CPU per step ratio : {cpu_median:.2f}x (target <= 1.5x) "
        f"{'within target' if cpu_median <= 1.5 else 'ABOVE target'}"
        f"  [rounds: {each(f'{r:.2f}' for r in cpu)}]",
        f"  p99 latency ratio  : {p99_median:.2f}x (target <= 2x) "
        f"{'within target' if p99_median <= 2 else 'ABOVE target'}"
        f"  [rounds: {each(f'{r:.2f}' for r in p99)}]",
    ]


# ---- main ---------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--reports-per-user", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL), help="server + maintenance database")
    parser.add_argument("--pacing", choices=["off", "production"], default="off",
                        help="the service's outgoing rate limits (default: lifted)")
    parser.add_argument("--deadline", type=float, default=300.0,
                        help="seconds the load of one run may take at most")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the service under a profiler, pstats to this file")
    parser.add_argument("--profiler", choices=["cprofile", "pyinstrument"], default="cprofile",
                        help="pyinstrument must be pip-installed into the venv first")
    parser.add_argument("--skip-echo", action="store_true", help="measure the service only")
    parser.add_argument("--rounds", type=int, default=3,
                        help="service run then echo run, this many times (verdict on the median)")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 1000 or not 1 <= args.reports_per_user <= 100:
        parser.error("--users must be 1..1000 and --reports-per-user 1..100")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    return args


async def run(args: argparse.Namespace) -> None:
    print(machine())
    print(f"load: {args.users} users x {args.reports_per_user} reports, webhook, db={args.db},"
          f" service pacing={args.pacing}, {args.rounds} round(s)", flush=True)
    rounds: list[tuple[Figures, Figures]] = []
    with tempfile.TemporaryDirectory(prefix="dlxh-bench-") as tmp:
        for number in range(1, args.rounds + 1):
            workdir = Path(tmp) / f"round-{number}"
            workdir.mkdir()
            async with database(args.db, workdir, args.postgres_url) as url:
                service = await run_service(args, workdir, url)
            echo = None
            if not args.skip_echo:
                echo = await run_echo(args, workdir, 1 + 8 * args.reports_per_user)
                rounds.append((service, echo))
            if number == 1:  # every figure of the first round, a line for each later one
                for figures in (service, echo):
                    if figures is not None:
                        print("\n".join(describe(figures)), flush=True)
            else:
                brief = [in_brief(f) for f in (service, echo) if f is not None]
                print(f"[round {number}] " + " | ".join(brief), flush=True)
    if rounds:
        print("\n".join(ratios(rounds)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.profile is not None:
        args.profile = args.profile.resolve()
    asyncio.run(run(args))
    if args.profile is not None:
        print_hotspots(args.profile)


def print_hotspots(path: Path, count: int = 15) -> None:
    """The top cumulative entries of our own code (bot/, handlers/, storage/, domain/), leaving
    out module bodies and the CLI/serve wrappers that span the whole run. Times are wall-clock.
    cProfile counts every resumption of a coroutine as a call and loses track across greenlet
    switches (SQLAlchemy's asyncio layer), which inflates the callers of the database: prefer
    --profiler pyinstrument, whose sampled figures stay right."""
    import pstats

    stats = pstats.Stats(str(path))
    ours = tuple(str(ROOT / d) for d in ("bot", "handlers", "storage", "domain"))
    wrappers = tuple(str(ROOT / "bot" / f) for f in ("cli.py", "serve.py", "__main__.py"))
    rows = [(v[3], v[2], v[1], k) for k, v in stats.stats.items()  # type: ignore[attr-defined]
            if k[0].startswith(ours) and not k[0].startswith(wrappers) and k[2] != "<module>"]
    print(f"top {count} cumulative hotspots in our code (service run under the profiler):")
    for cumulative, total, calls, (file, line, func) in sorted(rows, reverse=True)[:count]:
        where = f"{Path(file).relative_to(ROOT)}:{line} {func}"
        print(f"  cum {cumulative * 1000:8.1f} ms  own {total * 1000:7.1f} ms  "
              f"calls {calls:6d}  {where}")


if __name__ == "__main__":
    main()
