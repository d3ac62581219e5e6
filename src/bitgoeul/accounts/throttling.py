"""How long a sign-in must wait, worked out from the failures already recorded: no I/O.

``queries.login_retry_after`` counts the ``login_failures`` rows and asks ``wait_before_sign_in``;
``actions.authenticate`` refuses with 429 while the answer is not None.  Two counts decide:

* failures to one account **from one address**: after ``after_failures`` of them, that address
  waits ``first_delay``, then twice as long after each further failure, up to ``max_delay``;
* failures to one account **from every address together**: after ``account_after_failures``,
  every address that has itself failed for the account waits on the same doubling schedule,
  but never longer than ``account_max_delay``, which is kept short because strangers add to
  this count.

Both waits are measured from the last failure *from the asking address*, so nobody elsewhere
can lengthen them, and an address with no recent failure for the account is never held back:
a stranger's guesses cannot lock the real user out when the user signs in from another
address.

What this does not protect against: someone who controls many addresses gets one unhindered
guess per address, then a wait of at least ``account_max_delay`` between guesses from each;
guesses spread over many accounts (one or two passwords tried for each) are not slowed at
all; and people who share an address (a campus or office NAT, a proxy not listed in
``BITGOEUL_TRUSTED_PROXIES``) share its waits for an account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bitgoeul.config import Settings

# Enough doublings to pass any sensible cap; stops 2**n growing with an attacker's count.
_MOST_DOUBLINGS = 40


@dataclass(frozen=True)
class LoginDelays:
    """The schedule of waits, from ``BITGOEUL_LOGIN_*`` settings."""

    window: timedelta
    after_failures: int
    first_delay: timedelta
    max_delay: timedelta
    account_after_failures: int
    account_max_delay: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginDelays:
        return cls(
            window=timedelta(seconds=settings.login_failure_window_seconds),
            after_failures=settings.login_delay_after_failures,
            first_delay=timedelta(seconds=settings.login_delay_first_seconds),
            max_delay=timedelta(seconds=settings.login_delay_max_seconds),
            account_after_failures=settings.login_account_delay_after_failures,
            account_max_delay=timedelta(seconds=settings.login_account_delay_max_seconds),
        )

    def delay(self, *, from_address: int, for_account: int) -> timedelta:
        """The wait after the last failure from an address that has ``from_address`` recent
        failures for an account with ``for_account`` recent failures in all."""
        return max(
            _doubling(from_address, self.after_failures, self.first_delay, self.max_delay),
            _doubling(
                for_account, self.account_after_failures, self.first_delay, self.account_max_delay
            ),
        )


def _doubling(failures: int, after: int, first: timedelta, cap: timedelta) -> timedelta:
    if failures < after:
        return timedelta(0)
    return min(cap, first * (1 << min(failures - after, _MOST_DOUBLINGS)))


def wait_before_sign_in(
    delays: LoginDelays,
    *,
    failures_from_address: int,
    last_failure_from_address: datetime | None,
    failures_for_account: int,
    now: datetime,
) -> int | None:
    """Whole seconds this address must still wait before trying this account; None if none.

    The counts are failures within ``delays.window``; ``failures_for_account`` includes those
    from this address.
    """
    if failures_from_address == 0 or last_failure_from_address is None:
        return None
    delay = delays.delay(from_address=failures_from_address, for_account=failures_for_account)
    remaining = (last_failure_from_address + delay - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None
