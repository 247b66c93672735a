"""Safe YAML loading that keeps FILE:LINE and rejects duplicate keys.

Mappings load as `Mapping` (a dict) and sequences as `Sequence` (a list); both remember the
line where they start and the line of each key / element, so a validator can say
`rules/x.yaml:14: ...` about any value. Lines are 1-based.

Hostile files are refused before anything is built: only regular files are read (never a
device, FIFO, socket or folder), at most `max_bytes` of them; YAML aliases (`*name`, the
"billion laughs" expansion) and nesting deeper than MAX_DEPTH are refused while the events are
scanned, so nothing is expanded and no Python recursion runs deep.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Collection
from collections.abc import Mapping as AnyMapping
from pathlib import Path
from typing import Any

import yaml

from policybot.errors import ConfigError

MAX_BYTES = 1 << 20   # the largest YAML file read (a rules file); config.yaml passes its own
MAX_DEPTH = 40        # nested mappings / lists: a rule needs about 10
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))

try:  # the C loader parses ~6x faster; construction stays ours either way
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class Mapping(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class Sequence(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(_Base):  # type: ignore[misc,valid-type]
    pass


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> Mapping:
    loader.flatten_mapping(node)
    result = Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise _Located(line, f"unhashable key {key!r}") from None
        if key in result:
            first = result.key_lines[key]
            raise _Located(line, f"duplicate key '{key}' (first defined on line {first})")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> Sequence:
    result = Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Located(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _scan(text: str) -> None:
    """Refuse aliases and deep nesting from the event stream (C, ~10% of a load)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Located(event.start_mark.line + 1,
                               f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, _CLOSES):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise _Located(event.start_mark.line + 1,
                           f"YAML aliases (*{event.anchor}) are not allowed")


def loads(text: str, source: str) -> Any:
    """Parse YAML text; errors become ConfigError('SOURCE:LINE: message')."""
    try:
        _scan(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except _Located as exc:
        raise ConfigError(f"{source}:{exc.line}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{source}:{line}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}:1: invalid YAML: {exc}") from None


def load(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse a YAML file; errors name the file as `shown` does."""
    path = Path(path)
    data = read_bytes(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{shown(path)}:{line}: not UTF-8: {exc.reason}") from None
    return loads(text, shown(path))


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes`; ConfigError('PATH: ...') otherwise.

    stat first, so a device (/dev/zero), a FIFO or a socket is refused without being opened;
    then open without blocking and check the opened file again (it may have been swapped).
    """
    try:
        _regular(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            _regular(path, os.fstat(handle.fileno()))
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{path}:1: cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ConfigError(f"{path}: larger than {_size(max_bytes)}: refused")
    return data


def _regular(path: Path, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "a special file")
    raise ConfigError(f"{path}: is {kind}, not a regular file: refused")


def _size(count: int) -> str:
    return f"{count >> 20} MB" if count >= 1 << 20 and not count % (1 << 20) else f"{count >> 10} KB"


def line_of(container: Any, key: Any) -> int:
    """Line of `key` in a Mapping or index in a Sequence; the container's line otherwise."""
    if isinstance(container, Mapping):
        return container.line_of(key)
    if isinstance(container, Sequence) and isinstance(key, int):
        return container.line_of(key)
    return int(getattr(container, "line", 1))


def shown(path: str | Path) -> str:
    """A path as errors show it: relative to the current folder when inside it
    (`rules/x.yaml:14:`), else as it is."""
    given = Path(path)
    if not given.is_absolute():
        return str(given)
    try:
        return str(given.relative_to(Path.cwd()))
    except (ValueError, OSError):   # outside the current folder, or the folder is gone
        return str(given)


def suggest(name: str, known: Collection[str]) -> str:
    """' (did you mean 'x'?)' when difflib finds a close name, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def key_hint(key: str, known: Collection[str],
             homes: AnyMapping[str, Collection[str]] | None = None) -> str:
    """For an unknown key: where it belongs, if it is a key of a section below
    (' (did you mean to put 'none' under 'match:'?)'), else the closest known key."""
    for home, keys in (homes or {}).items():
        if key in keys:
            return f" (did you mean to put '{key}' under '{home}:'?)"
    return suggest(key, known)
