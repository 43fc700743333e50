"""YAML files with line numbers: safe loading and JSON Schema validation whose errors say file and line."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import ConfigError

MAX_BYTES = 1 << 20
JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, where it came from, and the line of every value in it."""

    data: Any
    file: str
    lines: dict[JsonPath, int]

    def line_of(self, path: JsonPath) -> int | None:
        """Line of the value at ``path``, or of its nearest ancestor present in the file."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: JsonPath, message: str) -> ConfigError:
        return ConfigError(message, self.file, self.line_of(path))


#: libyaml's parser when PyYAML has it (every run reads a few hundred files: five times faster)
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: str | Path) -> Document:
    """Parse one YAML file; anchors, aliases, duplicate keys and huge files are refused."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", name) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"file is larger than {MAX_BYTES} bytes", name)
    try:
        text = raw.decode("utf-8")
        for event in yaml.parse(text, Loader=_LOADER):
            # aliases let a small file expand into a huge value (a "billion laughs")
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise ConfigError("anchors and aliases are not allowed", name, line)
        node = yaml.compose(text, Loader=_LOADER)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 ({exc.reason})", name) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(f"not valid YAML: {exc.problem}", name, line) from None
    lines: dict[JsonPath, int] = {}
    data = _build(node, (), lines, name) if node is not None else None
    return Document(data, name, lines)


def _build(node: yaml.Node, path: JsonPath, lines: dict[JsonPath, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain strings", file, key_node.start_mark.line + 1)
            key = key_node.value
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file, key_node.start_mark.line + 1)
            out[key] = _build(value_node, (*path, key), lines, file)
            # point at the key, not at a block value that starts on the next line
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, file) for i, item in enumerate(node.value)]
    return _scalar(node, file)


def _scalar(node: yaml.Node, file: str) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # e.g. an unquoted date that does not exist: 2027-13-01
        raise ConfigError(f"bad value {node.value!r}: {exc}", file, node.start_mark.line + 1) from None
    finally:
        loader.dispose()


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``harness/schemas``."""
    text = resources.files("harness.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def validate(doc: Document, schema_name: str) -> None:
    """Validate ``doc`` against a shipped schema; the first error (by position in the file) is raised."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = list(validator.iter_errors(doc.data))
    if not errors:
        return
    located = [_locate(doc, error) for error in errors]
    located.sort(key=lambda item: item.line or 0)
    raise located[0]


def _locate(doc: Document, error: jsonschema.ValidationError) -> ConfigError:
    path: JsonPath = tuple(error.absolute_path)
    where = "/".join(str(p) for p in path) or "top level"
    if (error.validator == "additionalProperties" and isinstance(error.instance, dict)
            and isinstance(error.schema, dict)):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        key = extra[0] if extra else ""
        hint = difflib.get_close_matches(key, allowed, n=1)
        message = f"unknown key {key!r} in {where}"
        message += f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
        return doc.error((*path, key), message)
    return doc.error(path, f"{where}: {error.message}")
