"""A stand-in for ``jsonschema``, shipped in condor_nb's executor zip for nbformat only.

jsonschema >= 4.18 needs the compiled rpds-py, so the executor cannot ship it. nbformat
imports jsonschema at import time but validates with fastjsonschema (its default,
``NBFORMAT_VALIDATOR=fastjsonschema``); it builds a ``Draft4Validator`` only to explain
errors. This module gives it one backed by fastjsonschema: a valid notebook is checked
exactly as before, an invalid one gets fastjsonschema's (shorter) message. It lives at
the END of ``sys.path``: a worker's real jsonschema always wins.
Standard library + fastjsonschema, Python >= 3.9.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import fastjsonschema

__version__ = "0+condor-nb-fallback"


class ValidationError(Exception):
    """What nbformat reads from a jsonschema error, with empty defaults."""

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(message)
        self.message = message
        self.path = self.relative_path = deque(kw.get("path", ()))
        self.schema_path = self.relative_schema_path = deque(kw.get("schema_path", ()))
        self.context: list[ValidationError] = []
        self.instance = kw.get("instance")
        self.validator = kw.get("validator")
        self.validator_value = self.schema = None
        self.cause = self.parent = None


SchemaError = ValidationError


class ErrorTree:
    """An empty tree: fastjsonschema's errors carry no tree to walk."""

    def __init__(self, errors: Any = ()) -> None:
        self.errors: dict[str, Any] = {}

    def __contains__(self, key: object) -> bool:
        return False

    def __getitem__(self, key: object) -> ErrorTree:
        return ErrorTree()

    def __iter__(self) -> Iterator[Any]:
        return iter(())


_COMPILED: dict[str, Any] = {}  # schema text -> fastjsonschema's function


def _compiled(schema: Any) -> Any:
    key = json.dumps(schema, sort_keys=True)
    if key not in _COMPILED:
        _COMPILED[key] = fastjsonschema.compile(schema)
    return _COMPILED[key]


class Draft4Validator:
    def __init__(self, schema: Any, _root: Any = None, **_kw: Any) -> None:
        self.schema = schema
        self._root = schema if _root is None else _root

    def evolve(self, schema: Any) -> Draft4Validator:
        """A validator for ``schema`` whose references resolve in this one's root schema."""
        root = self._root if isinstance(self._root, dict) else {}
        merged = {k: v for k, v in root.items() if k in ("$schema", "definitions", "id", "$id")}
        merged.update(schema if isinstance(schema, dict) else {})
        return Draft4Validator(merged, _root=self._root)

    def iter_errors(self, instance: Any, schema: Any = None) -> Iterator[ValidationError]:
        if schema is not None:
            yield from self.evolve(schema).iter_errors(instance)
            return
        try:
            _compiled(self.schema)(instance)
        except fastjsonschema.JsonSchemaException as exc:
            yield ValidationError(str(exc), path=getattr(exc, "path", ()) or ())

    def validate(self, instance: Any) -> None:
        for error in self.iter_errors(instance):
            raise error

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_errors(instance), None) is None


Draft6Validator = Draft7Validator = Draft4Validator


def validate(instance: Any, schema: Any, **_kw: Any) -> None:
    Draft4Validator(schema).validate(instance)
