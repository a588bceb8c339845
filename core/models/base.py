"""The declarative base: one typed SQLAlchemy metadata for every tenant, stable names."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, Enum, Insert, MetaData, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase

from core.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with one metadata and stable constraint names."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def enum_type(cls: type[enum.Enum]) -> Enum:
    """A string column holding the enum's values (no native database enum)."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


def values_in(column: str, cls: type[enum.StrEnum]) -> str:
    """The SQL of a check that `column` holds one of the enum's values, in their order."""
    return f"{column} IN ({', '.join(repr(m.value) for m in cls)})"


def table_of(cls: type[Base]) -> Table:
    """The mapped class's table, for Core statements that skip the ORM's bulk paths."""
    return cast(Table, cls.__table__)


def insert_or_skip(dialect: str, table: Table, *key: str) -> Insert:
    """INSERT into `table` that skips a row whose `key` columns are already there."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(key))
