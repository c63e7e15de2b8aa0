"""Steps shared by several features."""

from __future__ import annotations

from pytest_bdd import parsers, then


@then(parsers.parse("the exit code is {code:d}"))
def exit_code_is(result, code: int) -> None:
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@then(parsers.parse('the output says "{text}"'))
def output_says(result, text: str) -> None:
    assert text in result.stdout, result.stdout


@then(parsers.parse('the errors say "{text}"'))
def errors_say(result, text: str) -> None:
    assert text in result.stderr, result.stderr


@then(parsers.parse('the warnings say "{text}"'))
def warnings_say(result, text: str) -> None:
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any(text in line for line in warnings), result.stderr
