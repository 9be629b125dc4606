"""The parsed command line, shared by every command (whichever parser produced it)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


class Options:
    """The parsed command line, whichever parser produced it."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.chdir: str | None = None
        self.policy: str | None = None
        self.format = "text"
        self.strict = False
        self.no_color = False
        self.quiet = False
        self.paths: list[str] = []
        self.names: list[str] = []
        self.push = False
        self.pre_receive = False
        self.from_ref: str | None = None
        self.to_ref: str | None = None
        self.range: str | None = None
        self.base: str | None = None
        self.remote: str | None = None
        self.url: str | None = None
        self.force = False
        self.preset: str | None = None  # init
        self.uninstall = False
        self.check = False
        self.diff = False
        self.write_baseline = False
        self.include_allowed = False

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace) -> Options:
        options = cls(ns.command)
        for name, value in vars(ns).items():
            setattr(options, name, value)
        return options
