"""Validate real responses against the schemas of the app's own OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contract.settings import Settings
from web.openapi import openapi_document

ROOT = "urn:fanout:openapi"


def validator(settings: Settings, name: str) -> Draft202012Validator:
    document = openapi_document(settings)
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource(ROOT, resource)
    return Draft202012Validator({"$ref": f"{ROOT}#/components/schemas/{name}"}, registry=registry)


def assert_matches(settings: Settings, name: str, instance: Any) -> None:
    errors = sorted(validator(settings, name).iter_errors(instance), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
