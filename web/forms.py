"""The new-run form. Flask-WTF gives it CSRF protection; the checks themselves are
`producer.validation.build_spec`'s (contract.verdicts' rules), so the form, the upload, the API,
the CLI and the worker say the same things."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField

from contract import verdicts
from contract.states import Strategy, Workload
from producer.presets import Preset
from producer.submit import MAX_REPEAT
from producer.validation import InvalidInput

STRATEGY_HELP = {
    Strategy.SEQUENTIAL.value: "one URL after another, one job",
    Strategy.THREADS.value: "a thread pool, one job",
    Strategy.PROCESSES.value: "a process pool, one job",
    Strategy.ASYNCIO.value: "an event loop, one job",
    Strategy.QUEUE.value: "one RQ job per URL, all workers",
    Strategy.HYBRID.value: "chunks as jobs, an event loop in each",
}

WORKLOAD_HELP = {
    Workload.FETCH.value: "fetch (I/O-bound)",
    Workload.CPU.value: "cpu (fetch + CPU)",
}


#: The fields an InvalidInput may name, shown next to them.
FIELDS = ("urls", "urls_file", "strategy", "concurrency", "workload", "repeat")


class RunForm(FlaskForm):
    urls = TextAreaField("URLs, one per line")
    urls_file = FileField("…or a text file of URLs, one per line")
    strategy = SelectField(
        "Strategy",
        choices=[SelectChoice(s.value, f"{s.value} · {STRATEGY_HELP[s.value]}") for s in Strategy],
        default=Strategy.THREADS.value,
        validate_choice=False,  # build_spec names the bad value and the choices
    )
    concurrency = StringField("Concurrency", default="8")
    workload = SelectField(
        "Workload",
        choices=[SelectChoice(w.value, WORKLOAD_HELP[w.value]) for w in Workload],
        default=Workload.FETCH.value,
        validate_choice=False,
    )
    repeat = StringField("Repeat", default="1")  # compare only: `repeats`
    run = SubmitField("Run")
    compare = SubmitField("Compare all strategies")

    def submission(self) -> dict[str, Any]:
        """The form's values in the shape `build_spec` takes (the same as the JSON API's)."""
        return {
            "urls": self._urls_text(),
            "strategy": self.strategy.data,
            "concurrency": (self.concurrency.data or "").strip(),
            "workload": self.workload.data,
        }

    def repeats(self) -> int:
        """How many times a comparison runs each strategy (interleaved, for a median and a
        range): ASCII digits from 1 to MAX_REPEAT, judged as the API's `repeat`; empty is 1."""
        return verdicts.whole_number(
            (self.repeat.data or "").strip() or "1", "repeat", 1, MAX_REPEAT
        )

    def _urls_text(self) -> str:
        """The pasted URLs, then the uploaded file's (its line numbers follow the pasted ones)."""
        pasted = self.urls.data or ""
        if len(request.files.getlist(self.urls_file.name)) > 1:
            raise InvalidInput("urls_file", "send one file of URLs (this form got several)")
        upload = self.urls_file.data
        if not upload or not getattr(upload, "filename", ""):
            return pasted
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("urls_file", "the file is not UTF-8 text") from None
        return f"{pasted.rstrip()}\n{text}" if pasted.strip() else text

    def show_error(self, error: InvalidInput) -> None:
        """Put the message next to the field it concerns (`form_errors` when none matches)."""
        field = getattr(self, error.field, None)
        if field is not None and error.field in FIELDS:
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)

    def fill_from(self, preset: Preset) -> None:
        self.urls.data = "\n".join(preset.urls)
        self.strategy.data = preset.strategy.value
        self.concurrency.data = str(preset.concurrency)
        self.workload.data = preset.workload.value
