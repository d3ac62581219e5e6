"""The programmes' two state machines, written out: (state, event) -> next state.

Anything not listed is refused with a message naming the state and what may happen next;
``programmes.actions`` moves every row through :func:`advance` and audits each move.
"""

from __future__ import annotations

from enum import StrEnum

from bitgoeul.errors import Conflict
from bitgoeul.messages import msg
from bitgoeul.programmes.models import ApplicationStatus, EnrolmentStatus


class ApplicationEvent(StrEnum):
    approve = "approve"
    reject = "reject"
    withdraw = "withdraw"


class EnrolmentEvent(StrEnum):
    complete = "complete"
    withdraw = "withdraw"


APPLICATION: dict[tuple[ApplicationStatus, ApplicationEvent], ApplicationStatus] = {
    (ApplicationStatus.submitted, ApplicationEvent.approve): ApplicationStatus.approved,
    (ApplicationStatus.submitted, ApplicationEvent.reject): ApplicationStatus.rejected,
    (ApplicationStatus.submitted, ApplicationEvent.withdraw): ApplicationStatus.withdrawn,
}

ENROLMENT: dict[tuple[EnrolmentStatus, EnrolmentEvent], EnrolmentStatus] = {
    (EnrolmentStatus.enrolled, EnrolmentEvent.complete): EnrolmentStatus.completed,
    (EnrolmentStatus.enrolled, EnrolmentEvent.withdraw): EnrolmentStatus.withdrawn,
}


def application_next(state: ApplicationStatus, event: ApplicationEvent) -> ApplicationStatus:
    following = APPLICATION.get((state, event))
    if following is None:
        raise Conflict(
            msg(
                "This application is {state} already; only a submitted application is "
                "approved, rejected or withdrawn.",
                state=state.value,
            )
        )
    return following


def enrolment_next(state: EnrolmentStatus, event: EnrolmentEvent) -> EnrolmentStatus:
    following = ENROLMENT.get((state, event))
    if following is None:
        raise Conflict(
            msg(
                "This enrolment is {state}; only an enrolment in progress can be completed or "
                "withdrawn.",
                state=state.value,
            )
        )
    return following
