"""What a job costs in compute credits: its worst case (reserved before it is queued) and what
it used (refunded the difference when it ends).  Pure arithmetic; the credit movements
themselves are ``compute.actions`` (``grant_credits``, ``reserve_credits``,
``settle_credits``) and the balances are read through ``compute.queries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from bitgoeul.errors import AccessDenied

PRECISION = Decimal("0.000001")
MAX_GRANT_HOURS = Decimal(1_000_000)


class InsufficientCredits(AccessDenied):
    """A job would cost more than the organization has left (403, saying how much is left)."""


@dataclass(frozen=True)
class Cost:
    cpu_hours: Decimal
    gpu_hours: Decimal


def hours(value: float | Decimal) -> Decimal:
    return Decimal(value).quantize(PRECISION, rounding=ROUND_UP)


def worst_case(*, cpus: int, gpus: int, time_limit_s: int) -> Cost:
    """What a job may cost at most: every resource it asked for, for its whole time limit."""
    return Cost(
        hours(Decimal(cpus * time_limit_s) / 3600), hours(Decimal(gpus * time_limit_s) / 3600)
    )


def actual(*, cpu_seconds: float, gpus: int, wall_seconds: float) -> Cost:
    """What a job costs: the CPU time its cgroup used (measured by the kernel, at most its
    cores x run time, since the cgroup's quota holds it to its cores) and its GPUs x run
    time."""
    cpu = Decimal(str(max(0.0, cpu_seconds)))
    seconds = Decimal(str(max(0.0, wall_seconds)))
    return Cost(hours(cpu / 3600), hours(gpus * seconds / 3600))
