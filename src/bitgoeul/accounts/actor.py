"""Who is asking: the identity every decision and action receives."""

from __future__ import annotations

from dataclasses import dataclass

from bitgoeul.accounts.models import Role, User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: Role | None
    organization_id: int | None
    via: str = "anonymous"  # "session", "token", "cli", "anonymous"

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def is_operator(self) -> bool:
        return self.role == Role.operator

    def is_steward_of(self, organization_id: int | None) -> bool:
        return (
            self.role == Role.steward
            and organization_id is not None
            and self.organization_id == organization_id
        )

    @classmethod
    def for_user(cls, user: User, *, via: str) -> Actor:
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,
            organization_id=user.organization_id,
            via=via,
        )


ANONYMOUS = Actor(user_id=None, username="anonymous", role=None, organization_id=None)
