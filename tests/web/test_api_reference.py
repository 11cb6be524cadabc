"""`/api` is a readable API reference: Swagger UI, served by the app, rendering /openapi.json."""

from __future__ import annotations

import pytest

from tests.web.conftest import assert_no_csp_violation

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_the_operations_from_the_apps_own_document(page, web_server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api")
    operation = page.locator(".opblock-post", has_text="/api/runs").first
    operation.wait_for(timeout=30_000)
    assert operation.locator(".opblock-summary-method").inner_text() == "POST"
    assert "/api/runs" in operation.locator(".opblock-summary-path").inner_text()
    assert page.locator(".opblock-get", has_text="/api/workers").count() >= 1
    assert all(url.startswith(web_server.url) for url in requested), requested
    assert_no_csp_violation(page)


def test_the_api_reference_page_and_the_document_are_both_served(client):
    page = client.get("/api")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/openapi.json" in page.get_data(as_text=True)
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
