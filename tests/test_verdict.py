import pytest

from core.errors import GuardFormatError
from guard.verdict import Verdict, parse_llama_guard_output


@pytest.mark.parametrize("text,expected", [
    ("safe", (True, ())),
    ("\n\nsafe", (True, ())),
    ("safe\n", (True, ())),
    ("unsafe\nS1", (False, ("S1",))),
    ("\n\nunsafe\nS1,S10", (False, ("S1", "S10"))),
    ("unsafe\nS2, S11\n", (False, ("S2", "S11"))),
    ("unsafe\no7", (False, ("O7",))),
])
def test_parses_llama_guard_verdicts(text, expected):
    assert parse_llama_guard_output(text) == expected


@pytest.mark.parametrize("text", ["", "Safe", "unsafe", "unsafe\n", "safe unsafe", "I think it is safe",
                                  "unsafe\nviolence", "The answer is: safe", "unsafe\nS1 S2"])
def test_anything_else_is_a_format_error(text):
    with pytest.raises(GuardFormatError):
        parse_llama_guard_output(text)


@pytest.mark.parametrize("status,allowed", [("passed", True), ("missing", True), ("blocked", False), ("error", False)])
def test_only_passed_and_missing_let_a_turn_through(status, allowed):
    assert Verdict("llama_guard", status).allowed is allowed
