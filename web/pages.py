"""The HTML pages. Each renders what it shows on the server (readable without JavaScript); the
scripts in web/static keep it live by reading the page again and placing the server's rendering
of its live parts, so every word and number on a page is written here, by web/formats.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from redis.exceptions import RedisError
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response as BaseResponse

from contract.keys import ID_PATTERN
from producer import stats
from producer.presets import SWEEP_PRESETS, SWEEP_STRATEGIES, presets
from producer.proctree import read_trees
from producer.reader import (
    RunNotFound,
    iter_tasks,
    list_runs,
    load_comparison,
    load_run,
    read_running,
)
from producer.scaling import TargetLocked, parse_target, set_target, target_overview
from producer.submit import MAX_REPEAT, submit_comparison, submit_run
from producer.sweep import SweepNotFound, list_sweeps, load_sweep
from producer.task_table import SORT_KEYS, TableQuery
from producer.validation import InvalidInput, build_spec
from producer.workers import workers_overview
from web import lessons
from web.clients import get_queue, get_redis, get_settings
from web.compareview import compare_context
from web.errors import REDIS_DOWN, REDIS_OUTAGES
from web.export import csv_chunks, json_chunks, trace_chunks
from web.formats import counted
from web.forms import RunForm
from web.metrics import count_submission
from web.persistence import current_persistence
from web.runview import PAGE_ROWS, STATE_FILTERS, notes_view, table
from web.security import grant_ui_reads, token_matches

bp = Blueprint("pages", __name__)


def redis_ok() -> bool:
    try:
        return bool(get_redis().ping())
    except RedisError:
        return False


def _gone(what: str, record_id: str) -> NotFound:
    """The 404 of a run, comparison or sweep that is not (or no longer) in Redis."""
    return NotFound(f"No {what} {record_id!r}: it never existed or has expired.")


def _render(template: str, status: int = 200, **context: Any) -> Response:
    grant_ui_reads()
    context.setdefault("poll_ms", current_app.config["POLL_INTERVAL_MS"])
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _new_run_page(form: RunForm, status: int = 200, redis_down: bool = False) -> Response:
    settings = get_settings()
    return _render(
        "new_run.html",
        status,
        form=form,
        presets=presets(settings.origin_url),  # their JSON is the form script's too
        max_concurrency=settings.max_concurrency,
        max_urls=settings.max_urls,
        max_repeat=MAX_REPEAT,
        redis_down=redis_down,
    )


@bp.get("/url-count")
def url_count() -> Response:
    """The new-run form's count of the URLs it will send, as the form's script counted them
    (`n` in all, `in_file` of them in the file `file`): "1,234 URLs (34 URLs in urls.txt)"."""
    n = min(max(0, request.args.get("n", 0, type=int)), 10**12)
    text = counted(n, "URL")
    if "file" in request.args:
        in_file = min(max(0, request.args.get("in_file", 0, type=int)), n)
        text += f" ({counted(in_file, 'URL')} in {request.args['file']})"
    return Response(text, mimetype="text/plain")


@bp.route("/", methods=["GET", "POST"])
def new_run() -> BaseResponse:
    """The form. `?preset=demo` fills it without JavaScript; POST submits it (303 to the run)."""
    form = RunForm()
    if request.method == "GET":
        key = request.args.get("preset")
        preset = next((p for p in presets(get_settings().origin_url) if p.key == key), None)
        if preset is not None:
            form.fill_from(preset)
        return _new_run_page(form, redis_down=not redis_ok())
    if not form.validate_on_submit():  # only the CSRF token can fail here
        return _new_run_page(form, 400)
    compare = bool(form.compare.data)
    settings = get_settings()
    try:
        spec = build_spec(form.submission(), settings, strategy_required=not compare)
        repeat = form.repeats() if compare else 1
    except InvalidInput as error:
        form.show_error(error)
        return _new_run_page(form, 400)
    try:
        if compare:
            comparison_id, run_ids = submit_comparison(
                get_redis(), get_queue(), spec, settings, repeat=repeat
            )
            count_submission("comparison", len(run_ids))
            target = url_for("pages.compare", comparison_id=comparison_id)
        else:
            run_id = submit_run(get_redis(), get_queue(), spec, settings)
            count_submission("run", 1)
            target = url_for("pages.run", run_id=run_id)
    except REDIS_OUTAGES:
        form.form_errors.append(REDIS_DOWN)
        return _new_run_page(form, 503, redis_down=True)
    return redirect(target, code=303)


def _page_query() -> TableQuery:
    """The table's query from the page's links; anything unknown falls back to the default."""
    sort = request.args.get("sort", "index")
    state = request.args.get("state") or None
    page = request.args.get("page", 1, type=int) or 1
    return TableQuery(
        sort=sort if sort in SORT_KEYS else "index",
        descending=request.args.get("order") == "desc",
        state=state if state in STATE_FILTERS else None,
        offset=(min(max(1, page), 100_000) - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
    )


@bp.get("/runs/<id:run_id>")
def run(run_id: str) -> Response:
    """The run's figures and one page of its task table: never every task (see web.runview)."""
    redis = get_redis()
    try:
        record = load_run(redis, run_id, include_tasks=False)
        page = table(redis, run_id, _page_query())
        notes = notes_view(redis, run_id, time.time())
    except RunNotFound:
        raise _gone("run", run_id) from None
    return _render("run.html", run=record, table=page, notes=notes)


def _export(
    run_id: str, suffix: str, mimetype: str, chunks: Callable[..., Iterator[str]]
) -> Response:
    """A download streamed from Redis a slice of tasks at a time (`producer.reader.iter_tasks`):
    `chunks(record, tasks, running)` yields the body."""
    redis = get_redis()
    try:  # no peak read from every task here: the export streams them, it does not hold them
        record = load_run(redis, run_id, include_tasks=False, read_peak=False)
    except RunNotFound:
        raise _gone("run", run_id) from None
    running = read_running(redis, run_id)
    tasks = iter_tasks(redis, run_id, record["total"])
    name = f"fanout-run-{run_id}{suffix}"
    return Response(
        stream_with_context(chunks(record, tasks, running)),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/runs/<id:run_id>.csv")
def run_as_csv(run_id: str) -> Response:
    return _export(run_id, ".csv", "text/csv", lambda _, tasks, running: csv_chunks(tasks, running))


@bp.get("/runs/<id:run_id>.json")
def run_as_json(run_id: str) -> Response:
    return _export(run_id, ".json", "application/json", json_chunks)


@bp.get("/runs/<id:run_id>.trace.json")
def run_as_trace(run_id: str) -> Response:
    """The run in the Trace Event Format: open it in Perfetto or chrome://tracing."""
    return _export(run_id, ".trace.json", "application/json", trace_chunks)


@bp.get("/compare/<id:comparison_id>")
def compare(comparison_id: str) -> Response:
    try:
        comparison = load_comparison(get_redis(), comparison_id, include_tasks=False)
    except RunNotFound:
        raise _gone("comparison", comparison_id) from None
    return _render("compare.html", comparison=comparison, **compare_context(comparison))


#: The API's largest offset (web.api.get_runs); a page past it is refused, not sent to Redis.
MAX_RUNS_OFFSET = 1_000_000


@bp.get("/runs")
def runs() -> Response:
    per_page = current_app.config["RUNS_PER_PAGE"]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    last_page = MAX_RUNS_OFFSET // per_page
    if page > last_page:
        raise BadRequest(f"page must be a whole number from 1 to {last_page}.")
    listed = list_runs(get_redis(), limit=per_page + 1, offset=(page - 1) * per_page)
    return _render("runs.html", runs=listed[:per_page], page=page, has_next=len(listed) > per_page)


def _workers_page(status: int = 200, target_error: str | None = None) -> Response:
    redis = get_redis()
    window_s = current_app.config["STATS_WINDOW_S"]
    settings = get_settings()
    return _render(
        "workers.html",
        status,
        overview=workers_overview(redis, get_queue()),
        trees=read_trees(redis),
        series=stats.throughput_series(redis, window_s=window_s),
        window_s=window_s,
        persistence=current_persistence(),
        target=target_overview(redis, settings.max_workers_per_host),
        needs_token=bool(settings.api_token),
        target_error=target_error,
        sweep_presets=SWEEP_PRESETS,
        sweep_strategies=SWEEP_STRATEGIES,
    )


@bp.get("/workers")
def workers() -> Response:
    return _workers_page()


@bp.post("/workers/target")
def set_workers_target() -> BaseResponse:
    """The Workers page's scale control (a form, CSRF-checked; the API token too when set)."""
    settings = get_settings()
    if settings.api_token and not token_matches(request.form.get("token", "")):
        return _workers_page(401, "the API token is wrong or missing (FANOUT_API_TOKEN is set)")
    raw = request.form.get("n", "").strip()
    mode = request.form.get("mode", "total")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        return _workers_page(400, "workers must be a whole number")
    try:
        set_target(get_redis(), parse_target({mode: int(raw)}), settings.max_workers_per_host)
    except InvalidInput as error:
        return _workers_page(400, error.message)
    except TargetLocked as error:
        return _workers_page(409, str(error))
    return redirect(url_for("pages.workers"), code=303)


@bp.get("/sweeps")
def sweeps() -> Response:
    """Every sweep still kept, newest first; starting one is on the Workers page."""
    return _render("sweeps.html", sweeps=list_sweeps(get_redis()))


@bp.get("/sweeps/<id:sweep_id>")
def sweep(sweep_id: str) -> Response:
    try:
        record = load_sweep(get_redis(), sweep_id)
    except SweepNotFound:
        raise _gone("sweep", sweep_id) from None
    return _render("sweep.html", sweep=record)


# The Lessons page: five steps, each a comparison on the demo origin explained with its own
# numbers (web.lessons). A step's last comparison is in the URL (`?threads=<id>`) and in the
# session, so a reload, or a visit from the nav, shows the answers again.
LESSONS_SESSION = "lessons"
ID_RE = re.compile(ID_PATTERN)


def _lesson_ids() -> dict[str, str]:
    """Each step's comparison: the session's, then the URL's (which wins); bad ids are 400."""
    remembered = session.get(LESSONS_SESSION)
    ids = {
        key: value
        for key, value in (remembered if isinstance(remembered, dict) else {}).items()
        if key in lessons.BY_KEY and isinstance(value, str) and ID_RE.fullmatch(value)
    }
    for key in lessons.BY_KEY:
        value = request.args.get(key)
        if value is None:
            continue
        if not ID_RE.fullmatch(value):
            raise BadRequest(f"{key} must be a comparison id (12 hexadecimal digits).")
        ids[key] = value
    return ids


def _lesson_answer(lesson: lessons.Lesson, comparison_id: str) -> lessons.Answer:
    try:
        comparison = load_comparison(get_redis(), comparison_id, include_tasks=False)
    except RunNotFound:
        return lessons.run_again(comparison_id, "has expired or never existed")
    return lessons.explain(lesson, comparison)


def _lessons_page(
    ids: dict[str, str], status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    answers: dict[str, lessons.Answer] = {}
    redis_down = status == 503 or (not ids and not redis_ok())
    try:
        for key, comparison_id in ids.items():
            answers[key] = _lesson_answer(lessons.BY_KEY[key], comparison_id)
    except REDIS_OUTAGES:
        redis_down = True
    return _render(
        "lessons.html",
        status,
        lessons=lessons.LESSONS,
        answers=answers,
        errors=errors or {},
        batch_text=lessons.batch_text,
        redis_down=redis_down,
    )


@bp.get("/lessons")
def lessons_page() -> Response:
    ids = _lesson_ids()
    session[LESSONS_SESSION] = ids
    return _lessons_page(ids)


@bp.post("/lessons/<key>")
def lesson_run(key: str) -> BaseResponse:
    """A step's button (a form, CSRF-checked): its comparison, then 303 back to the step."""
    lesson = lessons.BY_KEY.get(key)
    if lesson is None:
        raise NotFound(f"No lesson {key!r}: the steps are {', '.join(lessons.BY_KEY)}.")
    ids = _lesson_ids()
    settings = get_settings()
    try:
        spec = lessons.lesson_spec(lesson, settings)
        comparison_id, _ = submit_comparison(
            get_redis(), get_queue(), spec, settings, lesson.strategies
        )
    except InvalidInput as error:
        message = f"This step's batch is refused by the server's settings: {error.message}"
        return _lessons_page(ids, 400, {key: message})
    except REDIS_OUTAGES:
        return _lessons_page(ids, 503, {key: REDIS_DOWN})
    ids[key] = comparison_id
    session[LESSONS_SESSION] = ids
    values: dict[str, Any] = dict(ids)
    return redirect(url_for("pages.lessons_page", _anchor=key, **values), code=303)
