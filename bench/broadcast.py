"""Broadcast benchmark: one orientation to N recipients through a fake platform enforcing a rate.

``python -m bench.broadcast [--recipients 2000] [--channel telegram|zalo] [--rate 30]
[--pace RATE] [--db sqlite|postgres] [--fail-every N] [--kill-at FRACTION]``

The service (``python -m bot serve``, only the chosen channel on) runs in its own process against
the fake Bot API or Zalo server of ``tests/fakes``, which runs here and answers 429 (with
``retry_after``) to every send beyond ``--rate`` per sliding second, overall, and beyond 1 per
second per chat. The broadcast is written into the database as a launch writes it (one outbox row
per recipient, ``tests/e2e/broadcast_seed.py``); the service's dispatcher sends it at ``--pace``
(its ``TELEGRAM_RATE`` / ``ZALO_RATE``). Printed: the achieved rate as a fraction of the limit,
the 429s the fake answered, the recipients who got nothing (losses) and the messages beyond one
per recipient (duplicates). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pg import database
from bench.processes import machine
from storage.database import Database
from storage.migrate import upgrade_to_head
from tests.e2e.broadcast_seed import Chat, seed_broadcast, telegram_chats, zalo_chats
from tests.e2e.harness import free_port, outbox_items
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo, ZaloSent
from tests.processes import clean_environ, serving, tail

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SETTLE = 1.0  # seconds to wait after the last copy settled, for late duplicates


# ---- the fakes, stamping each delivered message --------------------------------------------
class StampedTelegram(FakeTelegram):
    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def _record(self, method: str, p: dict[str, Any], content: dict[str, Any], *,
                text: str | None, file_ids: list[str] | None = None,
                group: str | None = None) -> dict[str, Any]:
        result = super()._record(method, p, content, text=text, file_ids=file_ids, group=group)
        self.stamps.append(time.perf_counter())
        return result

    def received(self) -> dict[Chat, int]:
        return {("telegram", str(chat)): n for chat, n in self.sent_counts().items()}


class StampedZalo(FakeZalo):
    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float] = []

    def _record(self, sent: ZaloSent) -> dict[str, Any]:
        result = super()._record(sent)
        self.stamps.append(time.perf_counter())
        return result

    def received(self) -> dict[Chat, int]:
        return {("zalo", chat): n for chat, n in self.sent_counts().items()}


Fake = StampedTelegram | StampedZalo


@dataclass
class Outcome:
    delivered: int
    lost: int
    duplicates: int
    throttled: int
    injected: int
    first_to_last_s: float
    settled_s: float
    interrupted: int  # copies left `sending` by the killed process (--kill-at)
    statuses: dict[str, int]


# ---- one run ---------------------------------------------------------------------------------
def service_env(args: argparse.Namespace, url: str, workdir: Path, fake: Fake) -> dict[str, str]:
    env = clean_environ() | {
        "DATABASE_URL": url, "MEDIA_DIR": str(workdir / "media"), "LOG_LEVEL": "ERROR",
    }
    if args.channel == "telegram":
        return env | {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE": fake.base_url,
                      "TELEGRAM_RATE": str(args.pace)}
    return env | {"ZALO_BOT_TOKEN": fake.token, "ZALO_API_BASE": fake.base_url,
                  "ZALO_RATE": str(args.pace)}


async def unfinished(url: str, broadcast_id: int) -> int:
    database = Database.connect(url)
    try:
        async with database.unit_of_work() as uow:
            return await uow.broadcasts.unfinished(broadcast_id)
    finally:
        await database.dispose()


async def until_settled(url: str, broadcast_id: int, deadline: float) -> None:
    while await unfinished(url, broadcast_id):
        if time.monotonic() > deadline:
            raise TimeoutError("the broadcast did not finish within --deadline")
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def service(
    env: dict[str, str], workdir: Path, name: str, verbose: bool
) -> AsyncIterator[Any]:
    """`python -m bot serve` in its own process, stopped (SIGTERM) when the block ends."""
    port = free_port()
    log = workdir / f"{name}.log"
    async with serving(env | {"HTTP_PORT": str(port)}, ROOT, log, port) as process:
        yield process
    if verbose:
        print(f"--- {name} log ---\n{tail(log)}", file=sys.stderr)


async def measure(args: argparse.Namespace, url: str, workdir: Path, fake: Fake) -> Outcome:
    await upgrade_to_head(url)
    chats = (telegram_chats if args.channel == "telegram" else zalo_chats)(args.recipients)
    if isinstance(fake, StampedZalo):
        fake.known_chats.update(chat for _, chat in chats)
    fake.rate_limit(per_second=args.rate, per_chat_per_second=1)
    if args.fail_every:
        method = "sendMessage"
        if isinstance(fake, StampedTelegram):
            fake.fail_every(method, args.fail_every, status=502)
        else:
            fake.fail_every(method, args.fail_every, error_code=500)
    seeded = await seed_broadcast(url, chats)
    env = service_env(args, url, workdir, fake)
    started = time.monotonic()
    deadline = started + args.deadline
    interrupted = 0
    async with service(env, workdir, "service", args.verbose) as first:
        if args.kill_at is None:
            await until_settled(url, seeded.broadcast_id, deadline)
        else:
            target = max(1, int(args.recipients * args.kill_at))
            while len(fake.stamps) < target:
                if time.monotonic() > deadline:
                    raise TimeoutError("the kill point was not reached within --deadline")
                await asyncio.sleep(0.02)
            first.kill()  # SIGKILL: nothing flushed
            first.wait()
    if args.kill_at is not None:
        interrupted = sum(1 for i in await outbox_items(url) if i.status.value == "sending")
        async with service(env, workdir, "restarted", args.verbose):
            await until_settled(url, seeded.broadcast_id, deadline)
    settled_s = time.monotonic() - started
    await asyncio.sleep(SETTLE)
    received = fake.received()
    statuses: dict[str, int] = {}
    for item in await outbox_items(url):
        statuses[item.status.value] = statuses.get(item.status.value, 0) + 1
    stamps = sorted(fake.stamps)
    return Outcome(
        delivered=sum(received.values()),
        lost=sum(1 for chat in chats if chat not in received),
        duplicates=sum(n - 1 for n in received.values() if n > 1),
        throttled=fake.throttled,
        injected=fake.schedule.injected,
        first_to_last_s=stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0,
        settled_s=settled_s,
        interrupted=interrupted,
        statuses=statuses,
    )




def describe(args: argparse.Namespace, o: Outcome) -> list[str]:
    achieved = (o.delivered - 1) / o.first_to_last_s if o.first_to_last_s > 0 else float("nan")
    return [
        f"recipients          : {args.recipients} on {args.channel}, db={args.db}",
        f"limit (fake)        : {args.rate:g}/s overall, 1/s per chat; 429 beyond",
        f"pace (service)      : {args.pace:g}/s ({args.pace / args.rate:.0%} of the limit)",
        f"achieved rate       : {achieved:.2f}/s = {achieved / args.rate:.3f} of the limit "
        f"(first to last delivery, {o.first_to_last_s:.1f} s)",
        f"429s from the fake  : {o.throttled}",
        f"injected 5xx        : {o.injected}",
        f"delivered messages  : {o.delivered}",
        f"losses              : {o.lost} (recipients who got nothing)",
        f"duplicates          : {o.duplicates} (messages beyond one per recipient)",
        "killed mid-way      : "
        + ("no" if args.kill_at is None else
           f"at {args.kill_at:.0%}; {o.interrupted} copies were in flight (settled as sent)"),
        f"outbox rows         : {o.statuses}",
        f"start to all settled: {o.settled_s:.1f} s (service start-up included)",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--channel", choices=["telegram", "zalo"], default="telegram")
    parser.add_argument("--rate", type=float, default=30.0,
                        help="the limit the fake enforces, messages/s overall (default 30)")
    parser.add_argument("--pace", type=float, default=None,
                        help="the service's rate setting (default: 90%% of --rate)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL), help="server + maintenance database")
    parser.add_argument("--fail-every", type=int, default=0,
                        help="answer every N-th send with a 5xx (default: none)")
    parser.add_argument("--kill-at", type=float, default=None,
                        help="SIGKILL the service once this fraction was delivered, restart it")
    parser.add_argument("--deadline", type=float, default=900.0,
                        help="seconds the whole run may take at most")
    parser.add_argument("--verbose", action="store_true", help="print the service's log tail")
    args = parser.parse_args(argv)
    if args.recipients < 2 or args.rate <= 0:
        parser.error("--recipients must be at least 2 and --rate positive")
    if args.kill_at is not None and not 0 < args.kill_at < 1:
        parser.error("--kill-at is a fraction between 0 and 1")
    args.pace = args.pace if args.pace is not None else round(args.rate * 0.9, 3)
    return args


async def run(args: argparse.Namespace) -> None:
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory(prefix="dlxh-bench-") as tmp:
        workdir = Path(tmp)
        fake: Fake = StampedTelegram() if args.channel == "telegram" else StampedZalo()
        async with fake, database(args.db, workdir, args.postgres_url) as url:
            outcome = await measure(args, url, workdir, fake)
    print("\n".join(describe(args, outcome)))


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
