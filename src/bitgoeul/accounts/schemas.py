"""What crosses the API for accounts: Create bodies and Public answers.

Public variants never carry a password hash, a token hash or a session id.  The patterns and
lengths here are the same ones ``actions`` enforces for callers that skip the API (CLI, demo).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.accounts.passwords import PASSWORD_MAX_LENGTH

USERNAME_PATTERN = r"^[a-z0-9_-]{2,64}$"
USERNAME_RULE = "2–64 characters: lowercase letters, digits, '-' or '_'"
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SLUG_RULE = "2–64 characters: lowercase letters and digits, words joined by single '-'"
EMAIL_PATTERN = r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$"
TOKEN_NAME_MAX_LENGTH = 100
TOKEN_MAX_DAYS = 3650

# A name shown to people: surrounding spaces dropped, and not empty once they are.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Body(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is not silently lost."""

    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: datetime | None = None


class OrganizationCreate(_Body):
    slug: str = Field(min_length=2, max_length=64, pattern=SLUG_PATTERN)
    name: Name = Field(max_length=200)
    kind: OrganizationKind
    name_ko: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=5000)
    website: str = Field(default="", max_length=300)


class OrganizationUpdate(_Body):
    """An organization's new names, kind, description and website (the slug stays)."""

    name: Name = Field(max_length=200)
    kind: OrganizationKind
    name_ko: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=5000)
    website: str = Field(default="", max_length=300)


class UserChange(_Body):
    """A user's new role and organization (slug; none for a citizen)."""

    role: Role
    organization: str | None = Field(default=None, max_length=64)


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    name_ko: str
    kind: OrganizationKind
    description: str
    website: str


class UserCreate(_Body):
    username: str = Field(min_length=2, max_length=64, pattern=USERNAME_PATTERN)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)
    role: Role
    organization: str | None = Field(
        default=None,
        max_length=64,
        description="Slug of the user's organization; a steward's own when a steward creates.",
    )
    display_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254, pattern=EMAIL_PATTERN)


class UserPublic(BaseModel):
    username: str
    display_name: str
    role: Role
    organization: str | None = Field(description="Slug of the user's organization.")
    is_active: bool
    created_at: datetime


class Me(BaseModel):
    """The signed-in user as they see themselves."""

    username: str
    display_name: str
    email: str
    role: Role
    organization: OrganizationPublic | None
    locale: str
    signed_in_via: str = Field(description="'session' (browser) or 'token' (API).")


class ApiTokenCreate(_Body):
    name: Name = Field(max_length=TOKEN_NAME_MAX_LENGTH)
    expires_in_days: int | None = Field(default=None, ge=1, le=TOKEN_MAX_DAYS)


class ApiTokenPublic(BaseModel):
    """A token as listed: its name and the first characters, never the secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="The secret token. Shown once: store it now.")
