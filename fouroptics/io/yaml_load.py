"""The one YAML reader of the project: system YAMLs, bench YAMLs, device profiles, anything else.

Safe by construction for files a user (or an attacker) hands us:

* size cap (:data:`MAX_BYTES`) checked before parsing;
* bytes decoded as UTF-8 (a UTF-8 BOM is skipped; UTF-16/UTF-32 with a BOM are decoded); other
  bytes give one line naming the file, the byte offset and line;
* safe tags only (``yaml.SafeLoader``) and no anchors or aliases at all: an alias bomb
  ("billion laughs") is refused at its first ``&anchor``, before anything is expanded;
* syntax errors, repeated keys, too-deep nesting and oversized numbers give one line
  ``file:line:column: ...``.

Every failure raises :class:`fouroptics.errors.ConfigError`.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from fouroptics.errors import ConfigError

#: Largest YAML file read, bytes (configurations are a few kB).
MAX_BYTES = 1 << 20

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (no expansion, no shared nodes)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent) or anchor is not None:
            kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            raise yaml.MarkedYAMLError(
                problem=f"YAML {kind}{anchor} not allowed (anchors and aliases are refused; "
                "write the value out)",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping whose keys are unique: a repeated key (``wavelength:`` twice) is refused
        rather than the last one silently winning."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class reports an unhashable key
                if key in seen:
                    raise yaml.MarkedYAMLError(
                        problem=f"duplicate key {key!r} (first at line {seen[key].line + 1}); "
                        "give each field once",
                        problem_mark=key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path, what: str = "YAML file", max_bytes: int = MAX_BYTES) -> Any:
    """Parse the YAML file at ``path`` (see the module docstring for what is refused).

    Args:
        path: the file (a FIFO or other stream works too).
        what: how to name it in messages, e.g. "system file", "bench file".
        max_bytes: size cap.

    Returns:
        the document (mapping, list, scalar; None for an empty file).

    Raises:
        ConfigError: one line naming the file and the problem.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read it ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise ConfigError(
            f"{what} {path}: larger than {max_bytes:,} bytes; a YAML configuration is at most "
            "that (is it the right file?)"
        )
    return parse_yaml(data, f"{what} {path}")


def parse_yaml(data: bytes | str, source: str = "YAML text") -> Any:
    """Parse YAML ``data`` (bytes are decoded as in :func:`load_yaml`); ``source`` names it in
    messages. Raises :class:`ConfigError`."""
    text = decode(data, source) if isinstance(data, bytes) else data
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{source}: longer than {MAX_BYTES:,} characters")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: safe tags only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{source}{where}: not valid YAML: {what}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from exc


def decode(data: bytes, source: str) -> str:
    """``data`` as text: UTF-8 (BOM optional) or UTF-16/32 with a BOM; else ConfigError naming
    the byte offset and line of the first byte that is not UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    f"{source}: starts with a {codec.upper()} byte-order mark but byte offset "
                    f"{exc.start} is not {codec.upper()}; save it as UTF-8"
                ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{source}: not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            f"(line {line}); save the file as UTF-8 (Latin-1 or another encoding?)"
        ) from exc
