"""`--format sarif`: a report as one SARIF 2.1.0 log, for GitHub code scanning and other viewers.

Choices the standard leaves open, made so an upload to GitHub code scanning
shows every violation and keeps one alert per problem across runs:

- Every check of the registry is a rule, in registry order, with its
  documentation as description and help, so `ruleIndex` is stable.
- A path becomes a relative URI under `%SRCROOT%` (the repository root):
  the bytes git stores, percent-encoded, so a space, `%`, `:`, a newline or
  a name that is not UTF-8 survives exactly.
- Locations carry no region. Violations are about whole files (often
  multi-gigabyte binaries or blobs that exist only in history), and a
  location without a line tells GitHub's upload action not to read the file
  to compute a line hash.
- A repository-wide violation (`repo-budget`, `lfs-budget`, `unpushed`) has
  no path of its own; GitHub drops a result without a location, so it is
  placed at the policy file (where the budget is set) with a location
  message saying so, and `properties.repositoryWide` is true.
- `partialFingerprints["repolicy/v1"]` hashes check, commit, blob and path:
  the same violation keeps its alert from run to run, and the same path in
  two commits of history gives two alerts.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from repolicy import __version__
from repolicy.checks import REGISTRY, doc
from repolicy.report import ERROR, WARNING, Report, Violation, dumps_json

if TYPE_CHECKING:
    from repolicy.policy import Allow

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT = "repolicy/v1"
DEFAULT_POLICY = ".repolicy.yaml"
# GitHub code scanning truncates (or rejects) rule descriptions past this length.
DESCRIPTION_LIMIT = 1024

_LEVELS = {ERROR: "error", WARNING: "warning"}
# Sections of a check's documentation that are prose; the others (Example,
# How to fix) hold commands and keep their layout.
_PROSE = ("What it does", "Why it matters", "Policy keys")


def render_sarif(report: Report) -> str:
    # The JSON report's writer: undecodable bytes as \udcXX escapes, valid UTF-8.
    return dumps_json(sarif_log(report))


def sarif_log(report: Report) -> dict[str, Any]:
    names = list(REGISTRY)
    # A check a newer report carries that the registry lacks still gets a rule.
    names.extend(dict.fromkeys(v.check for v in report.violations if v.check not in REGISTRY))
    names.extend(dict.fromkeys(v.check for v, _ in report.allowed if v.check not in names))
    index = {name: k for k, name in enumerate(names)}
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if report.notes:
        invocation["toolExecutionNotifications"] = [
            {"level": "note", "message": {"text": note}} for note in report.notes
        ]
    properties: dict[str, Any] = {"command": report.command, "policy": report.policy}
    if report.budgets is not None:
        properties["budgets"] = report.budgets
    properties["summary"] = {"errors": report.errors, "warnings": report.warnings}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "repolicy",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [rule_descriptor(name) for name in names],
            }
        },
        "automationDetails": {"id": f"repolicy/{report.command}/"},
        "originalUriBaseIds": {
            SRCROOT: {"description": {"text": "The root of the git repository's work tree."}}
        },
        "invocations": [invocation],
        "results": [
            *(result(v, index[v.check], report.policy) for v in report.violations),
            *(
                suppressed(result(v, index[v.check], report.policy), entry)
                for v, entry in (report.allowed if report.include_allowed else [])
            ),
        ],
        "properties": properties,
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def suppressed(item: dict[str, Any], entry: Allow) -> dict[str, Any]:
    """An allowed finding as code scanning expects one: suppressed outside the source
    (the policy's `allow` list), with its reason as the justification."""
    suppression: dict[str, Any] = {
        "kind": "external",
        "status": "accepted",
        "justification": entry.reason,
    }
    if not entry.source.file.startswith("preset:"):
        suppression["location"] = {
            "physicalLocation": {
                "artifactLocation": artifact(entry.source.file),
                "region": {"startLine": entry.source.line},
            }
        }
    item["suppressions"] = [suppression]
    return item


def rule_descriptor(name: str) -> dict[str, Any]:
    info = REGISTRY.get(name)
    if info is None:
        return {"id": name, "shortDescription": {"text": name}}
    text = doc(name)
    sections = doc_sections(text)
    what = " ".join(sections.get("What it does", [name])).strip()
    why = " ".join(sections.get("Why it matters", [])).strip()
    return {
        "id": name,
        "shortDescription": {"text": _clip(_first_sentence(what))},
        "fullDescription": {"text": _clip(f"{what} {why}".strip())},
        "help": {"text": text, "markdown": doc_markdown(sections)},
        "defaultConfiguration": {"level": _LEVELS.get(info.severity, "note")},
        "properties": {
            "tags": ["repository-policy", _TAGS.get(info.family, info.family)],
            "precision": "very-high",
            "reportedBy": list(info.reported_by),
        },
    }


def doc_sections(text: str) -> dict[str, list[str]]:
    """A check's documentation by heading; body lines keep their indentation past two spaces."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            current = sections.setdefault(line.strip(), [])
        elif current is not None:
            current.append(line[2:] if line.startswith("  ") else line.strip())
    for body in sections.values():
        while body and not body[-1]:
            body.pop()
    return sections


def doc_markdown(sections: dict[str, list[str]]) -> str:
    parts = []
    for heading, body in sections.items():
        if heading in _PROSE:
            content = " ".join(line.strip() for line in body if line.strip())
        else:
            # One backtick more than the longest run inside, so the fence cannot close early.
            longest = max((len(m) for m in re.findall("`+", "\n".join(body))), default=0)
            ticks = "`" * max(3, longest + 1)
            content = f"{ticks}text\n" + "\n".join(body) + f"\n{ticks}"
        parts.append(f"**{heading}**\n\n{content}")
    return "\n\n".join(parts) + "\n"


def result(v: Violation, rule_index: int, policy: str) -> dict[str, Any]:
    blob = blob_id(v)
    item: dict[str, Any] = {
        "ruleId": v.check,
        "ruleIndex": rule_index,
        "level": _LEVELS.get(v.severity, "note"),
        "message": {"text": message_text(v)},
    }
    properties: dict[str, Any] = {}
    if v.path is not None:
        item["locations"] = [{"physicalLocation": {"artifactLocation": artifact(v.path)}}]
        properties["path"] = v.path
    else:
        where = policy_location(policy)
        item["locations"] = [
            {
                "physicalLocation": {"artifactLocation": artifact(where)},
                "message": {
                    "text": "Repository-wide: shown at the policy file, where the budget is set."
                },
            }
        ]
        properties["repositoryWide"] = True
    item["partialFingerprints"] = {FINGERPRINT: fingerprint(v, blob)}
    for key, value in (
        ("commit", v.commit),
        ("blob", blob),
        ("size", v.size),
        ("rule", v.rule),
        ("why", v.why),
        ("fix", v.fix),
    ):
        if value is not None:
            properties[key] = value
    item["properties"] = properties
    return item


def message_text(v: Violation) -> str:
    """What the text report says about a violation, as one message: what, where from, why, fix."""
    return "\n".join([v.message, *(f"{label}: {value}" for label, value in v.details())])


def artifact(path: str) -> dict[str, str]:
    return {"uri": path_uri(path), "uriBaseId": SRCROOT}


def path_uri(path: str) -> str:
    """A repository path as a relative URI reference: its bytes, percent-encoded.

    Only unreserved characters and `/` stay as they are; `:` in particular is
    encoded, or `a:b` would read as a URI with scheme `a`.
    """
    return quote(os.fsencode(path), safe="/")


def policy_location(policy: str) -> str:
    """The policy file when the repository holds it; else where one would be."""
    if policy.startswith("preset:") or os.path.isabs(policy) or policy.startswith("../"):
        return DEFAULT_POLICY
    return policy


def blob_id(v: Violation) -> str | None:
    blob = getattr(v, "blob", None)
    return blob if isinstance(blob, str) else None


def fingerprint(v: Violation, blob: str | None) -> str:
    key = "\0".join((v.check, v.commit or "", blob or "", v.path or ""))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


# A rule's tag is its family's name, which code-scanning filters may name; the
# family module `upstream` became `unpushed`, and its tag stays what it was.
_TAGS = {"unpushed": "upstream"}


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def _clip(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 3] + "..."
