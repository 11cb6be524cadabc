"""The JSON API's request bodies, declared once as pydantic models.

The API validates with them and the OpenAPI document states their JSON Schema (web.openapi), so
the document and the checks cannot drift apart. Each value's verdict is contract.verdicts' (the
form, the upload, the CLI and the worker ask it too), raised as InvalidInput inside the models'
validators: a refusal has the same message whichever channel it came through. The limits a model
states (URLs per run, concurrency) are the server's settings, so one model class per settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from contract import verdicts
from contract.settings import Settings, fetch_limit
from contract.states import Strategy, Workload
from contract.target import Target, TargetMode
from contract.verdicts import MAX_URL_LENGTH, URL_PATTERN, InvalidInput
from producer.presets import SWEEP_PRESETS, SWEEP_STRATEGIES
from producer.scaling import parse_target
from producer.submit import MAX_REPEAT
from producer.sweep import MAX_COUNTS as MAX_SWEEP_COUNTS
from producer.validation import check_urls

REF_TEMPLATE = "#/components/schemas/{model}"

#: Exactly the URLs contract.verdicts takes (the pattern, and both HTTP clients reading it alike).
HTTP_URL_SCHEMA = {
    "type": "string",
    "minLength": 8,
    "maxLength": MAX_URL_LENGTH,
    "pattern": f"^{URL_PATTERN}$",
    "description": "An http(s) URL: a host name, an IPv4 address or a bracketed IPv6 address, "
    "an optional port, no spaces, no user info",
}
HttpUrl = Annotated[str, WithJsonSchema(HTTP_URL_SCHEMA)]


def _documented_defaults(schema: dict[str, Any]) -> None:
    """What one property cannot say: a plain run names its strategy (it has no default) and
    does not repeat; a comparison may do both."""
    schema.get("properties", {}).get("strategy", {}).pop("default", None)
    schema["anyOf"] = [
        {"required": ["strategy"], "not": {"required": ["repeat"]}},
        {"required": ["compare"], "properties": {"compare": {"const": True}}},
    ]


@dataclass(frozen=True)
class _Checked:
    """A field's rule stated once: `check` judges the value before pydantic looks (the refusal
    is contract.verdicts'), and `bounds` are the JSON Schema keywords that say the same."""

    check: Callable[[Any], Any]
    bounds: Mapping[str, int]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), **self.bounds}


def _json_integer(field: str, low: int, high: int) -> _Checked:
    """A JSON number from `low` to `high` (a string is the form's spelling, not JSON's)."""

    def check(value: Any) -> int:
        if isinstance(value, str):
            raise InvalidInput(
                field, f"{field} must be between {low} and {high}, an integer (a JSON number)"
            )
        return verdicts.whole_number(value, field, low, high)

    return _Checked(check, {"minimum": low, "maximum": high})


def _choice(enum: type[Strategy] | type[Workload], field: str) -> BeforeValidator:
    return BeforeValidator(lambda value: verdicts.choice(enum, field, value))


def _boolean(field: str) -> BeforeValidator:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise InvalidInput(field, f"{field} must be true or false")
        return value

    return BeforeValidator(check)


def _strategy_list(value: Any) -> list[Strategy]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("strategies", "strategies must be a non-empty list of strategies")
    chosen = [verdicts.choice(Strategy, "strategies", item) for item in value]
    if len(set(chosen)) != len(chosen):
        raise InvalidInput("strategies", "strategies must not repeat a strategy")
    return chosen


def _urls(settings: Settings) -> _Checked:
    """A JSON list of URLs, each judged by contract.verdicts, every bad one named by line."""

    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise InvalidInput("urls", "urls must be a list of http(s) URLs")
        return list(check_urls(value, settings))

    return _Checked(check, {"minItems": 1, "maxItems": settings.max_urls})


WorkloadChoice = Annotated[Workload, _choice(Workload, "workload")]
Strategies = Annotated[
    list[Strategy],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    BeforeValidator(_strategy_list),
]


@lru_cache(maxsize=8)
def submission_model(settings: Settings) -> type[BaseModel]:
    """`POST /api/runs`' body under these settings' limits."""
    limit = fetch_limit(settings)

    class Submission(BaseModel):
        """A batch: one run under `strategy`, or with `compare` one run per strategy in turn."""

        model_config = ConfigDict(
            title="Submission",
            json_schema_extra=_documented_defaults,
        )

        urls: Annotated[list[HttpUrl], _urls(settings)]
        strategy: Annotated[Strategy, _choice(Strategy, "strategy")] = Strategy.THREADS
        concurrency: Annotated[int, _json_integer("concurrency", 1, settings.max_concurrency)] = 8
        workload: WorkloadChoice = Workload.FETCH
        compare: Annotated[
            bool,
            _boolean("compare"),
            Field(description="Run the batch under every strategy (or `strategies`), in turn"),
        ] = False
        strategies: Annotated[
            Strategies,
            Field(description="With compare: the strategies to run, in order (default: all)"),
        ] = list(Strategy)
        repeat: Annotated[
            int,
            Field(
                description="With compare only: run each strategy this many times, interleaved; "
                "the comparison shows each strategy's median and range. URLs x strategies x "
                f"repeat is at most {limit} (FANOUT_MAX_FETCHES)",
            ),
            _json_integer("repeat", 1, MAX_REPEAT),
        ] = 1

        @model_validator(mode="after")
        def _whole(self) -> Submission:
            """What no one field decides: a plain run names its strategy and does not repeat;
            a comparison's fetches stay within the limit."""
            given = self.model_fields_set
            if not self.compare and "strategy" not in given:
                raise InvalidInput("strategy", 'strategy is required (or send "compare": true)')
            if not self.compare and "repeat" in given:
                raise InvalidInput(
                    "repeat",
                    'repeat applies to comparisons only: send "compare": true, or leave it out',
                )
            if self.compare:
                problem = verdicts.fetches_problem(
                    len(self.urls), len(self.strategies), self.repeat, limit
                )
                if problem is not None:
                    raise InvalidInput("urls", problem)
            return self

    return Submission


def _closed(title: str) -> ConfigDict:
    return ConfigDict(title=title, extra="forbid")


@lru_cache(maxsize=8)
def target_models(settings: Settings) -> tuple[type[BaseModel], type[BaseModel]]:
    """`PUT /api/workers/target`' body: `{"per_host": n}` or `{"total": n}`, exactly one. The
    bounds that depend on the live hosts are producer.scaling's (a 409 past them)."""
    most = settings.max_workers_per_host

    class PerHostTarget(BaseModel):
        """Every live host runs `per_host` workers (at most FANOUT_MAX_WORKERS_PER_HOST)."""

        model_config = _closed("PerHostTarget")
        per_host: Annotated[int, _json_integer("per_host", 0, most)]

    class TotalTarget(BaseModel):
        """`total` workers spread over the live hosts (at most live hosts x the per-host cap)."""

        model_config = _closed("TotalTarget")
        total: Annotated[int, _json_integer("total", 1, MAX_TOTAL_WORKERS)]

    return PerHostTarget, TotalTarget


SweepStrategy = Literal[SWEEP_STRATEGIES]  # type: ignore[valid-type]  # a Literal of a tuple made at run time
_PRESET_NAMES = tuple(SWEEP_PRESETS)
SweepPreset = Literal[_PRESET_NAMES]  # type: ignore[valid-type]  # as SweepStrategy
#: A bound for any worker total, far past any fleet (the live hosts decide the real one).
MAX_TOTAL_WORKERS = 100_000


def _either(names: Iterable[str], *, quoted: bool = False) -> str:
    """`a or b` (`"a" or "b"` when `quoted`): the choices a refusal names."""
    return " or ".join(f'"{name}"' if quoted else name for name in names)


def _sweep_strategy(value: Any) -> str:
    if value not in get_args(SweepStrategy):
        raise InvalidInput(
            "strategy",
            f"strategy must be {_either(SWEEP_STRATEGIES)} (the ones spread over workers)",
        )
    return str(value)


#: The totals of workers to measure at: their bounds against the live hosts are checked when
#: the sweep is created (producer.sweep.check_counts, a 409 past them).
WorkerCounts = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "minItems": 1,
            "maxItems": MAX_SWEEP_COUNTS,
            "uniqueItems": True,
        }
    ),
]


@lru_cache(maxsize=8)
def sweep_models(settings: Settings) -> tuple[type[BaseModel], type[BaseModel]]:
    """`POST /api/sweeps`' body: the batch as `urls` or as a `preset`, and the worker counts."""

    class SweepSettings(BaseModel):
        model_config = _closed("SweepSettings")
        strategy: Annotated[SweepStrategy, BeforeValidator(_sweep_strategy)] = "queue"
        workload: WorkloadChoice = Workload.FETCH
        concurrency: Annotated[int, _json_integer("concurrency", 1, settings.max_concurrency)] = 8
        workers: WorkerCounts

    class SweepOfUrls(SweepSettings):
        """A sweep of your own batch."""

        model_config = _closed("SweepOfUrls")
        urls: Annotated[list[HttpUrl], _urls(settings)]

    class SweepOfPreset(SweepSettings):
        """A sweep of a preset batch: io is 80 x /delay/200, cpu 80 x the cpu workload."""

        model_config = _closed("SweepOfPreset")
        preset: Annotated[SweepPreset, BeforeValidator(_preset)]

    return SweepOfUrls, SweepOfPreset


def _preset(value: Any) -> str:
    if value not in get_args(SweepPreset):
        raise InvalidInput("preset", f"preset must be {_either(_PRESET_NAMES, quoted=True)}")
    return str(value)


def parse(model: type[BaseModel], data: Any) -> Any:
    """`data` as `model`, or the first refusal as InvalidInput (the API answers 400)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_refusal(exc) from None


def _first_refusal(exc: ValidationError) -> InvalidInput:
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidInput):
        return cause
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else ""
    if error["type"] == "missing":
        return InvalidInput(field, f"{field} is required")
    if error["type"] == "extra_forbidden":
        return InvalidInput(field, f"unknown field: {field}")
    return InvalidInput(field, f"{'.'.join(loc)}: {error['msg']}")


def _target(settings: Settings, data: Any) -> Target:
    target = parse_target(data)  # exactly one of per_host and total, a whole number
    per_host, total = target_models(settings)
    parse(per_host if target.mode is TargetMode.PER_HOST else total, data)
    return target


def _sweep(settings: Settings, data: dict[str, Any]) -> Any:
    if "urls" in data and "preset" in data:
        raise InvalidInput(
            "preset", f"give urls or a preset ({_either(_PRESET_NAMES, quoted=True)}), not both"
        )
    of_urls, of_preset = sweep_models(settings)
    return parse(of_preset if "preset" in data else of_urls, data)


@dataclass(frozen=True)
class Body:
    """A request body as an API view declares it (web.operations): its component in the
    OpenAPI document, and how it is read under the settings (the first refusal raised)."""

    component: str
    read: Callable[[Settings, Any], Any]
    #: What a 415 calls it, and whether it must be an object before `read` looks.
    what: str = "the submission"
    object_only: bool = True


SUBMISSION = Body("Submission", lambda settings, data: parse(submission_model(settings), data))
TARGET = Body("TargetRequest", _target, "the target", object_only=False)
SWEEP = Body("SweepRequest", _sweep)


def body_schemas(settings: Settings) -> dict[str, Any]:
    """The request bodies' JSON Schemas, as OpenAPI components (with the enums they name)."""
    models = [submission_model(settings), *target_models(settings), *sweep_models(settings)]
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF_TEMPLATE
    )
    return dict(top.get("$defs", {})) | {
        "HttpUrl": HTTP_URL_SCHEMA,
        "TargetRequest": {
            "oneOf": [
                {"$ref": REF_TEMPLATE.format(model=m.__name__)} for m in target_models(settings)
            ],
            "description": "Every host runs per_host, or total is spread over the live hosts "
            "(at most live hosts x FANOUT_MAX_WORKERS_PER_HOST)",
        },
        "SweepRequest": {
            "oneOf": [
                {"$ref": REF_TEMPLATE.format(model=m.__name__)} for m in sweep_models(settings)
            ],
            "description": "The batch as urls or a preset, and the totals of workers to measure "
            "it at (409 beyond the live hosts x FANOUT_MAX_WORKERS_PER_HOST)",
        },
    }
