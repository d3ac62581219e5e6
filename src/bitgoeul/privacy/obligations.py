"""What a door must do to data before it leaves: the decision point's ``Obligations``.

``governance.decide`` returns them; ``privacy.views`` applies them the same way at every door
(preview, download, query, export, job inputs, test inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MIN_GROUP_SIZE = 10
DEFAULT_DOMINANCE_N = 2
DEFAULT_DOMINANCE_K = 0.9


@dataclass(frozen=True)
class DonorFilter:
    """Donated data (``mydata``): only the rows of donors whose consent covers this use.

    Either ``keep`` lists the covered donors (when they are fewer) or ``drop`` lists the others,
    so the filter's size is the smaller side.  ``epoch`` is the pool's consent epoch the
    coverage was read at; the counts go to the audit entry."""

    column: str
    keep: frozenset[str] | None
    drop: frozenset[str]
    epoch: int
    tier: str
    included: int
    excluded: int


@dataclass(frozen=True)
class Obligations:
    """What the door must do to the data before it leaves.  The default obliges nothing."""

    visible_columns: list[str] | None = None  # None: every column
    pseudonymise_columns: list[str] = field(default_factory=list)
    pseudonym_scope: str = ""
    row_filter: str | None = None
    aggregate_only: bool = False
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    dominance_n: int = DEFAULT_DOMINANCE_N
    dominance_k: float = DEFAULT_DOMINANCE_K
    forbidden_output_columns: list[str] = field(default_factory=list)
    agreement_id: int | None = None
    # Jobs: what the job writes is held until the release review lets it out.
    review_outputs: bool = False
    # The DP door: only noisy statistics leave, each paid from the dataset's ε budgets.
    differential_privacy: bool = False
    # Donated data: only consenting donors' rows (``privacy.views`` adds it to the row filter).
    donor_filter: DonorFilter | None = None

    @property
    def changes_rows(self) -> bool:
        """Whether a reader gets anything but the stored file as it is."""
        return bool(
            self.visible_columns is not None
            or self.pseudonymise_columns
            or self.row_filter
            or self.aggregate_only
            or self.donor_filter is not None
        )
