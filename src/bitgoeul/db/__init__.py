"""Database: engine, sessions, the declarative base, and Alembic migrations."""

from bitgoeul.db.base import Base, utcnow
from bitgoeul.db.engine import make_engine, make_sessionmaker
from bitgoeul.db.upgrade import upgrade

__all__ = ["Base", "make_engine", "make_sessionmaker", "upgrade", "utcnow"]
