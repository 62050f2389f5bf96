"""Validating payloads against a model's input schema, with short readable messages.

Every payload the fuzz stage sends, whether the AI wrote it or the offline generator did,
passes `validate_payload` first: a payload the model's own schema rejects only tests the
platform's validator, not the model. Cog's OpenAPI 3.0 flavour is normalised to Draft 7
before `jsonschema` sees it.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from tasks.core.errors import SafePushError
from tasks.core.openapi import to_json_schema
from tasks.fuzz.schema_view import as_input_schema

_MAX_MESSAGE = 240
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S")


class InvalidPayload(SafePushError, ValueError):
    """A payload that still breaks the input schema after repair.

    A ValueError too, so `AI.ask_json(check=...)` treats it as a reason to re-ask.
    """

    exit_code = 1

    def __init__(self, errors: list[str], payload: dict[str, Any] | None = None) -> None:
        self.errors = list(errors)
        self.payload = payload
        super().__init__("payload does not match the input schema: " + "; ".join(self.errors))


def _is_uri(value: Any) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _format_checker() -> jsonschema.FormatChecker:
    """Only `uri` is checked: the one format Cog emits that decides how inputs are sent.

    Built per call rather than kept as a module global, so no run can alter another's.
    """
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri", raises=())(_is_uri)
    return checker


def short_message(text: str) -> str:
    """A message fit for a log line or an AI prompt: data URIs elided, length capped."""
    text = re.sub(r"data:[\w.+/-]+;base64,[A-Za-z0-9+/=]{16,}", "data:...", text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def validate_payload(payload: Any, input_schema: dict[str, Any]) -> list[str]:
    """Every way `payload` breaks the input schema, as short readable messages ([] = valid)."""
    schema = to_json_schema(as_input_schema(input_schema))
    validator = jsonschema.Draft7Validator(schema, format_checker=_format_checker())
    messages = []
    for error in sorted(
        validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))
    ):
        where = ".".join(str(p) for p in error.absolute_path)
        messages.append(short_message(f"{where}: {error.message}" if where else error.message))
    return messages
