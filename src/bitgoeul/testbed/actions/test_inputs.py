"""The test inputs a participant downloads (the ``testbed_inputs`` door, audited): the task's
input columns of the hidden test set, never the label, direct identifiers pseudonymised per
task.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import get_version
from bitgoeul.config import Settings
from bitgoeul.errors import (
    AccessDenied,
    ValidationFailed,
)
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Request
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed.access import (
    get_task,
    governs_task,
    testbed_context,
)
from bitgoeul.testbed.models import (
    TestbedAudit,
)


def write_test_inputs(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    task_slug: str,
    dest: Path,
    file_format: str = "csv",
) -> Path:
    """Write the test set's inputs (never its label) for a participant; audited.

    The same decision (``testbed_inputs``) and the same view SQL as a model's job inputs.  CSV
    text cells that a spreadsheet would run as formulas are neutralised (``engine.csv_chunks``).
    """
    require_signed_in(actor)
    if file_format not in ("csv", "parquet"):
        raise ValidationFailed(msg("format: choose csv or parquet."))
    task = get_task(session, task_slug)
    if not task.accepts_predictions and not governs_task(actor, task):
        raise AccessDenied(
            msg(
                "Task '{task}' takes models only: its test inputs stay on the hub, and your "
                "model reads them inside its job. Submit a model bundle on the task's page.",
                task=task.slug,
            )
        )
    dataset = session.get(Dataset, task.test_dataset_id)
    assert dataset is not None  # noqa: S101 - RESTRICT keeps it
    version = get_version(session, dataset.slug, task.test_version)
    context = testbed_context(
        session, actor=actor, dataset=dataset, version=version, task_slug=task.slug
    )
    target = dest / f"{task.slug}-test-inputs.{file_format}"
    door = Door(
        session, actor=actor, event=TestbedAudit.dataset_testbed_inputs, detail={"task": task.slug}
    )
    with door:
        passage = door.admit([Request(DataAction.testbed_inputs, dataset, version, context)])[0]
        # Direct identifiers come out as the task's pseudonyms (the decision's obligations);
        # predictions are keyed by them, and the scorer keys the labels the same way.
        door.write(store, passage, secret=settings.secret(), target=target, file_format=file_format)
        session.commit()
    return target
