"""Fixed sweeps over our own tables, run by APScheduler (no pickled job store)."""

from scheduler.leader import AlwaysLeader, Leadership, PostgresLeader, leadership_for
from scheduler.runner import SweepScheduler

__all__ = ["AlwaysLeader", "Leadership", "PostgresLeader", "SweepScheduler", "leadership_for"]
