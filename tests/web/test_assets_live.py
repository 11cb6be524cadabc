"""plotly.js built after the web app started (`make assets` beside a running `fanout web`) is
served at once: the app looks for a missing bundle again on each request, and keeps one found."""

from __future__ import annotations

import shutil
from importlib.resources import files

from tests.web.conftest import make_app
from web.assets import BUNDLE

URL = f"/static/vendor/{BUNDLE}"


def test_a_bundle_that_appears_after_start_is_served_without_a_restart(settings, tmp_path):
    bundle = tmp_path / BUNDLE
    app = make_app(settings, PLOTLY_BUNDLE=str(bundle))
    client = app.test_client()
    missing = client.get(URL)
    assert missing.status_code == 503
    assert "make assets" in missing.get_data(as_text=True)
    assert missing.headers["Cache-Control"] == "no-store"
    page_url_missing = _plotly_url(app)

    shutil.copyfile(str(files("web").joinpath("static", "vendor", BUNDLE)), bundle)
    found = client.get(URL)
    assert found.status_code == 200
    assert found.data == bundle.read_bytes()
    assert _plotly_url(app) != page_url_missing  # pages link the bundle's digest from now on

    bundle.unlink()  # a bundle found is kept: the process serves what it found
    assert client.get(URL).status_code == 200


def _plotly_url(app) -> str:
    from web.assets import plotly_url

    with app.test_request_context("/"):
        return plotly_url()
