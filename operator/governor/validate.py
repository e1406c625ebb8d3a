"""``governor validate FILE...``: check InferenceService manifests offline, before they reach a cluster.

Runs the same checks a cluster and the operator would: the CRD's OpenAPI schema (with
``jsonschema``, strict about unknown fields, as ``kubectl apply`` with server-side field
validation is), the CEL rules (through ``parse_service``, which mirrors them) and the
PromQL override templates. Each problem is printed with its file, object and field path;
the exit status is 1 when any object is invalid. ``jsonschema`` is a test extra: without it
the schema step is skipped with a note and the parse checks still run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from governor import data
from governor.model import InvalidSpec, crdschema
from governor.model.parse import parse_service
from governor.model.resource import API_VERSION, GROUP, KIND


@dataclass(frozen=True)
class Problem:
    source: str  # file name, or "<stdin>"
    obj: str  # "InferenceService ml/chat", or "document 2" when it has no name
    path: str  # JSON path of the field ("" for the whole document)
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}: {self.obj}: {where}{self.message}"


class SchemaCheck:
    """The CRD's ``openAPIV3Schema`` as a callable: object → (path, message) pairs."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        import jsonschema  # a test extra; the caller handles ImportError

        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(crdschema.to_json_schema(schema))

    def __call__(self, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
        errors = sorted(self._validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        return [(_json_path(e.absolute_path), e.message) for e in errors]


def _json_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def load_schema_check(crd_path: Path | None) -> tuple[SchemaCheck | None, str | None]:
    """The schema check of the CRD at ``crd_path`` (``None``: the one shipped with Governor, package
    data), or ``None`` with the reason it is unavailable."""
    try:
        crd = data.crd() if crd_path is None else yaml.safe_load(crd_path.read_text())
    except OSError as error:
        return None, f"CRD file cannot be read ({error.strerror or error}): checking with parse rules only"
    try:
        return SchemaCheck(crdschema.version_schema(crd)), None
    except ImportError:
        return None, "jsonschema is not installed (pip install 'inference-governor[test]'): parse rules only"


def check_object(obj: Any, source: str, label: str, schema: SchemaCheck | None) -> list[Problem]:
    """Every problem of one YAML document that claims to be an InferenceService.

    The parser's wording is preferred (it names the rule); a schema error is added only where
    the parser reported nothing at or under the same path.
    """
    body = crdschema.apply_defaults(schema.schema, obj) if schema is not None and isinstance(obj, dict) else obj
    found: list[tuple[str, str]] = []
    try:
        parse_service(body)
    except InvalidSpec as invalid:
        found.extend((e.path, e.message) for e in invalid.errors)
    parsed = [path for path, _ in found]
    for path, message in schema(obj) if schema is not None else ():
        if not any(p == path or p.startswith((path + ".", path + "[")) for p in parsed):
            found.append((path, message))
    return [Problem(source, label, path, message) for path, message in found]


def _label(obj: Any, index: int) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str):
        return f"document {index + 1}"
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return f"{KIND} {namespace}/{name}" if isinstance(namespace, str) else f"{KIND} {name}"


def check_text(text: str, source: str, schema: SchemaCheck | None) -> tuple[int, list[Problem]]:
    """(InferenceServices checked, problems) for one YAML stream; other kinds are skipped."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        return 0, [Problem(source, "YAML", "", str(error).replace("\n", " "))]
    checked, problems = 0, []
    for index, obj in enumerate(documents):
        if obj is None:
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(source, f"document {index + 1}", "", "is not a YAML mapping"))
            continue
        if obj.get("kind") != KIND or not str(obj.get("apiVersion", "")).startswith(f"{GROUP}/"):
            continue
        checked += 1
        label = _label(obj, index)
        if obj.get("apiVersion") != API_VERSION:
            problems.append(Problem(source, label, "apiVersion", f"must be {API_VERSION}"))
            continue
        problems.extend(check_object(obj, source, label, schema))
    return checked, problems


def _inputs(names: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(source name, text or None when unreadable) for files, directories (*.yaml, *.yml) and ``-``."""
    for name in names:
        if name == "-":
            yield "<stdin>", sys.stdin.read()
            continue
        path = Path(name)
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            try:
                yield str(file), file.read_text()
            except OSError:
                yield str(file), None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="YAML files or directories ('-' reads stdin)")
    parser.add_argument("--crd", type=Path, default=None, help="CRD file (default: the one shipped with Governor)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print problems only, no summary")


def main(args: argparse.Namespace) -> int:
    schema, note = load_schema_check(args.crd)
    if note:
        print(f"note: {note}", file=sys.stderr)
    checked, problems = 0, []
    for source, text in _inputs(args.files):
        if text is None:
            problems.append(Problem(source, "file", "", "cannot be read"))
            continue
        count, found = check_text(text, source, schema)
        checked += count
        problems.extend(found)
    for problem in problems:
        print(problem)
    if not args.quiet:
        invalid = len({(p.source, p.obj) for p in problems})
        print(f"{checked} InferenceService(s) checked, {invalid} with problems, {len(problems)} problem(s)")
    return 1 if problems else 0
