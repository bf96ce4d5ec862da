"""Column helpers shared by the tables."""

from piccolo.columns import UUID, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow


def pk() -> UUID:
    """A UUID primary key (uuid4 generated in Python)."""
    return UUID(primary_key=True)


def created_at() -> Timestamptz:
    """Creation time, set by the database default."""
    return Timestamptz(default=TimestamptzNow())


def updated_at() -> Timestamptz:
    """Last update time; services set it on every update."""
    return Timestamptz(default=TimestamptzNow())
