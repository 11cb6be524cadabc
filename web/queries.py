"""The JSON API's query strings, declared as pydantic models like its bodies (web.bodies).

A view declares its model (web.operations) and gets it parsed; the OpenAPI document lists its
fields as the operation's parameters. Each field's check raises InvalidInput with the message the
API has always given, so a refusal names the field whatever the channel. Fields are checked in
the order they are declared: the first bad one is the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticUseDefault, core_schema

from contract.verdicts import InvalidInput
from producer import stats
from producer.task_table import SORT_KEYS, TableQuery
from producer.timeline import Window
from web.runview import MAX_PAGE_ROWS, PAGE_ROWS, STATE_FILTERS

#: Tasks one GET returns by default, and at most: `?offset=` pages through bigger runs.
TASKS_PAGE = 5000
MAX_TASKS_PAGE = 20_000
#: The largest task index a query may name (the most URLs a run can hold, with room).
MAX_INDEX = 10_000_000
MAX_SECONDS = 10_000_000


@dataclass(frozen=True, eq=False)
class Check:
    """A query field's check (its raw text and name in, its value out, or InvalidInput) and the
    JSON Schema it documents: pydantic metadata, as `Annotated[int, whole(1, 200)]`."""

    check: Callable[[str, str], Any]
    schema: dict[str, Any]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(raw: str, info: core_schema.ValidationInfo) -> Any:
            return self.check(raw, (info.field_name or "").rstrip("_"))  # `from_` is `from`

        return core_schema.with_info_before_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, _: Any, __: GetJsonSchemaHandler) -> dict[str, Any]:
        return self.schema


def whole(low: int, high: int) -> Check:
    """ASCII digits only: no sign, no exponent, no spaces (`int()` would take all three)."""

    def check(raw: str, name: str) -> int:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high):
            raise InvalidInput(name, f"{name} must be a whole number from {low} to {high}")
        return int(raw)

    return Check(check, {"type": "integer", "minimum": low, "maximum": high})


def _flag(raw: str, name: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "0", "false", "no"):
        return raw.lower() in ("1", "true", "yes")
    raise InvalidInput(name, f"{name} must be true or false (got {raw!r})")


def one_of(choices: tuple[str, ...]) -> Check:
    """One of `choices`; empty is the default (a form's unselected filter)."""

    def check(raw: str, name: str) -> str:
        if raw == "":
            raise PydanticUseDefault
        if raw not in choices:
            shown = ", ".join(choices)
            raise InvalidInput(name, f"{name} must be one of {shown} (got {raw[:40]!r})")
        return raw

    return Check(check, {"type": "string", "enum": list(choices)})


def _seconds(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= MAX_SECONDS:  # NaN compares false: refused too
        raise InvalidInput(name, f"{name} must be a number of seconds from 0 to {MAX_SECONDS}")
    return value


def _all(raw: str, name: str) -> str:
    if raw != "all":
        raise InvalidInput(name, f"{name} must be all (fit the marked points too) or absent")
    return raw


FLAG = Check(_flag, {"type": "boolean"})
SECONDS = Check(_seconds, {"type": "number", "minimum": 0, "maximum": MAX_SECONDS})


class RunsQuery(BaseModel):
    limit: Annotated[int, whole(1, 200)] = Field(50, description="Runs per page")
    offset: Annotated[int, whole(0, 1_000_000)] = Field(0, description="Runs to skip")


class ComparisonQuery(BaseModel):
    tasks: Annotated[bool, FLAG] = Field(True, description="Include every task record")


class RunQuery(ComparisonQuery):
    since: Annotated[int | None, whole(0, MAX_INDEX)] = Field(
        None,
        description="Only the tasks that ended after the first `since` (in the order they "
        "ended): a live page passes how many it already has",
    )
    offset: Annotated[int, whole(0, MAX_INDEX)] = Field(
        0, description="Without `since`: tasks from this index on (a page by index)"
    )
    limit: Annotated[int, whole(1, MAX_TASKS_PAGE)] = Field(
        TASKS_PAGE,
        description="Without `since`: at most this many tasks (`next_offset` names the next page)",
    )


class StatsQuery(BaseModel):
    window: Annotated[int, whole(10, stats.MAX_WINDOW_S)] = Field(
        300, description="Seconds of history"
    )


class TableArgs(BaseModel):
    """The task table's query (the run page's links use the same arguments)."""

    sort: Annotated[str, one_of(SORT_KEYS)] = Field("index", description="Column to sort by")
    order: Annotated[str, one_of(("asc", "desc"))] = Field("asc", description="asc or desc")
    state: Annotated[str | None, one_of(STATE_FILTERS)] = Field(
        None, description="Only tasks in this state"
    )
    offset: Annotated[int, whole(0, MAX_INDEX)] = Field(0, description="Rows to skip")
    limit: Annotated[int, whole(1, MAX_PAGE_ROWS)] = Field(
        PAGE_ROWS, description="Rows in the page"
    )

    def table_query(self) -> TableQuery:
        return TableQuery(self.sort, self.order == "desc", self.state, self.offset, self.limit)


class TimelineQuery(BaseModel):
    from_: Annotated[float | None, SECONDS] = Field(
        None, alias="from", description="Zoomed window's start, seconds from the first start"
    )
    to: Annotated[float | None, SECONDS] = Field(
        None, description="Zoomed window's end (at or before `from`: the tasks running at `from`)"
    )
    since: Annotated[int | None, whole(0, MAX_INDEX)] = Field(
        None,
        description="Without a window: only bars after the first `since` ended tasks (a live "
        "page's poll)",
    )

    def window(self) -> Window | None:
        """None without `from` or `to`; a window ending before it starts is the instant `from`."""
        start, end = self.from_, self.to
        if start is None and end is None:
            return None
        return Window(start or 0.0, None if end is None else max(end, start or 0.0))


class SweepQuery(BaseModel):
    fit: Annotated[Literal["all"] | None, Check(_all, {"type": "string", "enum": ["all"]})] = Field(
        None, description="all: fit the marked points too"
    )
