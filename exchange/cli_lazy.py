"""A click group that imports a command's module only when that command runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and its one-line help, so listing it imports nothing."""

    name: str
    module: str
    attribute: str
    summary: str

    def load(self) -> click.Command:
        """Import the module and return the command it defines."""
        command = getattr(import_module(self.module), self.attribute)
        if not isinstance(command, click.Command) or command.name != self.name:
            raise RuntimeError(f"{self.module}.{self.attribute} is not the command {self.name!r}")
        return command

    def placeholder(self) -> click.Command:
        """Return a stand-in carrying only the name and help, for the command list."""
        return click.Command(self.name, help=self.summary)


class LazyGroup(click.Group):
    """A group whose commands come from a static table (click's lazy-group pattern)."""

    def __init__(
        self, *args: Any, lazy_commands: Iterable[LazyCommand] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = {entry.name: entry for entry in lazy_commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command name, eager and lazy, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command, importing its module the first time it is asked for."""
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        command = self.lazy_commands[cmd_name].load()
        self.add_command(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its one-line help, without importing the lazy ones."""
        commands = [(name, self._listed(name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in commands if not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl(
                [(name, command.get_short_help_str(limit)) for name, command in shown]
            )

    def _listed(self, name: str) -> click.Command:
        if name in self.commands:
            return self.commands[name]
        return self.lazy_commands[name].placeholder()
