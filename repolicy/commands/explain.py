"""`repolicy explain PATH...`: which rules decide a path, and why (the facts are
`repolicy.explanation`'s; this prints them)."""

from __future__ import annotations

import sys
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from repolicy.options import Options


def run(args: Options) -> int:
    from repolicy.explanation import explain

    results = explain(args.paths, args.policy)
    if args.format == "json":
        from repolicy.report import dumps_json

        text = dumps_json({"version": 1, "command": "explain", "paths": results})
    else:
        from repolicy.report import safe_text

        # A file name's control characters reach the terminal in octal, as git quotes them.
        text = safe_text("\n\n".join(_render(r) for r in results))
    sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    sys.stdout.write(text + "\n")
    return 0


def _condition(rule: dict[str, Any]) -> str:
    """What an item bounds: an `lfs` item's size, a budget item's figures."""
    from repolicy.report import exact_size

    if rule.get("above") is not None:
        return f" above {exact_size(rule['above'])}"
    limits = rule.get("limits")
    if limits:
        return (
            " ("
            + ", ".join(
                f"{k}: {'unlimited' if v is None else exact_size(v)}" for k, v in limits.items()
            )
            + ")"
        )
    return ""


def _render(entry: dict[str, Any]) -> str:
    from repolicy.report import quote_c as _display_path

    lines = [_display_path(entry["path"])]
    if entry["rules"]:
        for k, rule in enumerate(entry["rules"]):
            won = {True: "  (wins)", False: "  (overruled)", None: ""}[rule["wins"]]
            label = "policy:" if k == 0 else ""
            replaced = rule.get("replaces")
            over = f", replacing {replaced['file']}:{replaced['line']}" if replaced else ""
            lines.append(
                f"  {label:<12}{rule['key']}: {rule['pattern']}{_condition(rule)}  "
                f"[{rule['file']}:{rule['line']}{over}]{won}"
            )
    else:
        lines.append(f"  {'policy:':<12}no rule matches")
    src = entry["ignore_source"]
    if src is None:
        ignore = "not ignored (no ignore line matches)"
    else:
        state = "ignored" if entry["ignored"] else "not ignored"
        ignore = f"{state} by {src['file']}:{src['line']}: {src['pattern']}"
    lines.append(f"  {'ignore:':<12}{ignore}")
    for dead in entry["dead_negations"]:
        blocked = dead["blocked_by"]
        lines.append(
            f"  {'':<12}{dead['file']}:{dead['line']}: `{dead['pattern']}` can never apply: "
            f"{blocked['file']}:{blocked['line']}: `{blocked['pattern']}` ignores a parent "
            "directory, and git does not look inside it"
        )
    attrs = [f"{k}={v}" for k, v in entry["attributes"].items() if v is not None]
    lines.append(f"  {'attributes:':<12}{' '.join(attrs) or 'none'}")
    by_line: dict[tuple[str, int, str], list[str]] = {}
    for name, s in entry["attribute_sources"].items():
        by_line.setdefault((s["file"], s["line"], s["text"]), []).append(name)
    for (file, line, text), names in by_line.items():
        lines.append(f"  {'':<12}{', '.join(names)} from {file}:{line}: {text}")
    index = {"absent": "not tracked", "blob": "tracked as an ordinary blob",
             "lfs-pointer": "tracked as an LFS pointer"}[entry["index"]]  # fmt: skip
    lines.append(f"  {'index:':<12}{index}")
    for v in entry["violations"]:
        lines.append(f"  {v['severity'] + ':':<12}{v['check']}: {v['message']}")
        if v.get("fix"):
            fix = str(v["fix"]).replace("\n", "\n" + " " * 19)
            lines.append(f"  {'':<12}fix: {fix}")
    for item in entry["allowed"]:
        allow = item["allow"]
        lines.append(
            f"  {'allowed:':<12}{item['check']}, by allow: {allow['path']}  "
            f"[{allow['file']}:{allow['line']}]: {allow['reason']}"
        )
    lines.append(f"  {'verdict:':<12}{entry['verdict']}")
    return "\n".join(lines)
