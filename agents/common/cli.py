"""The command line every agent shares: a config dataclass becomes an argparse CLI.

An agent's config is one `@dataclass` whose fields carry a docstring each (CleanRL style):

    learning_rate: float = 1e-4
    \"\"\"the learning rate of the optimizer\"\"\"

`build_parser` turns it into `--learning-rate` with that docstring as its help. Values come from
three layers, later ones winning: the dataclass defaults, the preset of the env's family, and the
flags the user typed. Bad values end in `UsageError`, which `run_main` prints as one line and
turns into exit status 2, as argparse does for the errors it catches itself.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

Config = TypeVar("Config")


class UsageError(Exception):
    """A mistake in what the user asked for; its message says what was wrong and what to do."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line, as a `UsageError` is, not the whole usage first."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of the dataclass `cls` and of the dataclasses it extends,
    read from their source."""
    docs = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without `None`, whether `None` is allowed) for a field's annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        return members[0], len(members) < len(typing.get_args(annotation))
    return annotation, False


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(map(str, value))
    return "none" if value is None else str(value)


def build_parser(
    cls: type,
    *,
    prog: str,
    description: str,
    presets: Mapping[str, Mapping[str, Any]] | None = None,
) -> argparse.ArgumentParser:
    """An argparse parser with one flag per field of `cls`. Every flag defaults to None, so
    `resolve` can tell a typed flag from a default; the help shows the real defaults, and each
    preset's value where it differs."""
    parser = Parser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        kind, _ = _base_type(hints[field.name])
        default = field.default
        help_text = docs.get(field.name, "")
        notes = [] if default is None else [f"default {_show(default)}"]
        for family, values in (presets or {}).items():
            if field.name in values and values[field.name] != default:
                notes.append(f"{family} {_show(values[field.name])}")
        if notes:
            help_text = f"{help_text} ({'; '.join(notes)})"
        help_text = help_text.replace("%", "%%")
        options: dict[str, Any] = {"default": None, "help": help_text, "dest": field.name}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:  # tuple[int, ...]: one or more values
            options.update(type=typing.get_args(kind)[0], nargs="+", metavar="INT")
        elif typing.get_origin(kind) is Literal:
            options["choices"] = typing.get_args(kind)
        else:
            options["type"] = kind
            options["metavar"] = kind.__name__.upper()
        parser.add_argument(_flag(field.name), **options)
    return parser


def explicit_values(namespace: argparse.Namespace) -> dict[str, Any]:
    """The flags the user typed (argparse left the others at None)."""
    return {name: value for name, value in vars(namespace).items() if value is not None}


def resolve(cls: type[Config], *layers: Mapping[str, Any]) -> Config:
    """`cls` built from its defaults overlaid by `layers` in order (later layers win)."""
    names = {field.name for field in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for layer in layers:
        values.update({name: value for name, value in layer.items() if name in names})
    for name, value in values.items():  # lists from argparse or JSON become the declared tuples
        if isinstance(value, list) and typing.get_origin(_base_type(hints[name])[0]) is tuple:
            values[name] = tuple(value)
    return cls(**values)


def run_main(main: Callable[[], int], prog: str) -> None:
    """Runs an agent's `main` and exits with its status; a `UsageError` is one line on stderr
    and status 2, Ctrl-C one line and status 130 (what a shell reports for SIGINT)."""
    try:
        status = main()
    except UsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        status = 130
    sys.exit(status)
