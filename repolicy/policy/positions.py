"""YAML with positions: composed into nodes, every complaint at FILE:LINE:COL.

The one YAML reader of the product: policy files (`repolicy.policy.loader`)
and DVC's files (`repolicy.dvc.files`) are both composed here, never
constructed, so no tag can build an object and every value keeps the line
and column a message points at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# An error naming a place: (file, line, column, message), all 1-based.
ErrorAt = Callable[[str, int, int, str], Exception]


def compose(
    data: bytes,
    source: str,
    error: ErrorAt,
    hint: Callable[[str, str], str] | None = None,
    not_utf8: str = "not valid UTF-8",
) -> Any:
    """The root node of a YAML document (None when empty), or `error` at its position.

    `hint(context, message)` may add advice to a syntax error's message.
    """
    import yaml

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(source, line, 1, not_utf8) from None
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if hint is not None and "alias" in f"{exc.context} {message}":
            # An unquoted `*.log` is a YAML alias; point at the '*'.
            mark = exc.context_mark or mark
            message = hint(str(exc.context), message)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise error(source, line, col, f"invalid YAML: {message}") from None
    except yaml.YAMLError as exc:
        raise error(source, 1, 1, f"invalid YAML: {exc}") from None


def kind(node: Any) -> str:
    """What a node that is not a value holds, for messages."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "empty"


class NodeReader:
    """Typed access to composed YAML nodes; every complaint carries its position."""

    def __init__(self, source: str, error: ErrorAt) -> None:
        self.source = source
        self.error = error

    def fail(self, node: Any, message: str) -> Exception:
        mark = node.start_mark
        return self.error(self.source, mark.line + 1, mark.column + 1, message)

    def mapping(self, node: Any, what: str) -> dict[str, Any]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, Any] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, f"keys of {what} must be strings")
            if key.value in out:
                raise self.fail(key, f"duplicate key {key.value!r} in {what}")
            out[str(key.value)] = value
        return out

    def sequence(self, node: Any, what: str) -> list[Any]:
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: Any, what: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, f"{what} must be a value, not {kind(node)}")
        return str(node.value)

    def integer(self, node: Any, what: str) -> int:
        text = self.scalar(node, what)
        try:
            value = int(text)
        except ValueError:
            raise self.fail(node, f"{what} must be a whole number, not {text!r}") from None
        if value < 0:
            raise self.fail(node, f"{what} cannot be negative")
        return value

    def boolean(self, node: Any, what: str) -> bool:
        text = self.scalar(node, what).lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.fail(node, f"{what} must be true or false, not {text!r}")
