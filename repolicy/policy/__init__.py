"""The policy: what a repository allows, as plain typed objects built once, at load.

- `model`: the objects (`Policy`, `Rule`, `Budget`, ...) and `load_policy`
- `loader`: reading policy files, `extends` and presets, errors at FILE:LINE:COL
- `positions`: YAML with line and column for every value (shared with DVC files)
- `match`: git's pattern rules, compiled once per list
- `programs`: the compiled regexes of those rules, kept by the cache
- `cache`: the loaded policy kept in the git directory, keyed by what it was read from
"""

from __future__ import annotations

from repolicy.policy.model import (
    ALLOW_KEYS,
    BUDGET_KEYS,
    DEFAULT_PRESET,
    ITEM_KEYS,
    LIST_KEYS,
    PATTERN_BUDGET_KEYS,
    POLICY_FILE,
    SCREENED_KEYS,
    SEVERITIES,
    TOP_KEYS,
    Allow,
    Budget,
    PatternBudget,
    Policy,
    Requirement,
    Rule,
    Source,
    load_policy,
    parse_size,
    preset_names,
    presets_dir,
)

__all__ = [
    "ALLOW_KEYS",
    "BUDGET_KEYS",
    "DEFAULT_PRESET",
    "ITEM_KEYS",
    "LIST_KEYS",
    "PATTERN_BUDGET_KEYS",
    "POLICY_FILE",
    "SCREENED_KEYS",
    "SEVERITIES",
    "TOP_KEYS",
    "Allow",
    "Budget",
    "PatternBudget",
    "Policy",
    "Requirement",
    "Rule",
    "Source",
    "load_policy",
    "parse_size",
    "preset_names",
    "presets_dir",
]
