"""Paths in the commands a report prints: one argument each, whatever their bytes."""

from __future__ import annotations

import os
import subprocess

import pytest

from repolicy.report.names import quote_paths, shell_quote

WORDS = [
    "train.log",
    "outputs/run 1/epoch_3.pth",
    "-h",
    "it's",
    "''",
    "$HOME",
    "`id`",
    "*.pth",
    "a\nb",
    "café.pth",
    os.fsdecode(b"bad\xe9.log"),
    "",
]


@pytest.mark.parametrize("word", WORDS)
def test_a_quoted_word_reaches_a_shell_command_as_itself(word: str) -> None:
    out = subprocess.run(
        ["sh", "-c", f"printf '%s' {shell_quote(word)}"], capture_output=True, check=True
    ).stdout
    assert out == os.fsencode(word)


def test_safe_words_are_printed_as_they_are() -> None:
    assert quote_paths(["data/v1/train.csv", "-x"]) == "data/v1/train.csv -x"
    assert quote_paths(["a b", "c"]) == "'a b' c"
