"""What organizers and participants do in the testbed: set up tasks, form teams, submit, re-run.

Every write here checks who may do it, changes the tables, appends to the audit log and
commits, in one transaction.  A team grows by invitation: a member invites a user, who joins
only by accepting (a pending invitation binds no one, so nobody can be kept out of a task by
being invited).  A task's terms are accepted when joining and kept on the membership.

The hidden test set is reached through the decision point only: ``testbed_inputs`` for what a
participant or a model sees (never the label, direct identifiers pseudonymised per task),
``testbed_score`` for the scorer, which reads the labels, keys them by the same pseudonyms and
lets nothing but a number out.  Each reading is an audit entry under the test set's publisher.

A predictions file is scored while the request waits (a million rows take well under two
seconds).  A model bundle becomes a job of the task's own project, which only the organizer
belongs to: the participant sees the job's status, the score and, when the task shows logs,
the end of the log, and never the job's outputs.  ``job_finished`` (a ``JobRunner`` finish
hook) scores it when the job ends.

One module per concept: ``tasks``, ``teams``, ``submissions``, ``model_scores``, ``reruns``
and ``test_inputs``; their public actions are re-exported here, so callers write
``testbed.actions.create_task``.
"""

from __future__ import annotations

from bitgoeul.testbed.actions.model_scores import (
    LOG_EXCERPT_CHARS,
    PREDICTION_FILES,
    job_finished,
    testbed_scorer,
)
from bitgoeul.testbed.actions.reruns import rerun_submission
from bitgoeul.testbed.actions.submissions import (
    scorer_environment,
    submit_model,
    submit_predictions,
)
from bitgoeul.testbed.actions.tasks import (
    ACCOUNTABLE_LEVELS,
    ORGANIZER_TEAM,
    create_task,
    update_task,
)
from bitgoeul.testbed.actions.teams import (
    MAX_PENDING_INVITATIONS,
    accept_invitation,
    accept_terms,
    create_team,
    decline_invitation,
    invite_to_team,
)
from bitgoeul.testbed.actions.test_inputs import write_test_inputs

__all__ = [
    "ACCOUNTABLE_LEVELS",
    "LOG_EXCERPT_CHARS",
    "MAX_PENDING_INVITATIONS",
    "ORGANIZER_TEAM",
    "PREDICTION_FILES",
    "accept_invitation",
    "accept_terms",
    "create_task",
    "create_team",
    "decline_invitation",
    "invite_to_team",
    "job_finished",
    "rerun_submission",
    "scorer_environment",
    "submit_model",
    "submit_predictions",
    "testbed_scorer",
    "update_task",
    "write_test_inputs",
]
