"""The README documents every command and every option (as sqlite-utils' docs test does), and the
exit codes, so that it cannot drift from the code."""

from __future__ import annotations

import re

import click
from conftest import ROOT

from extractor import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")
HEADING = re.compile(r"^### `xxgk ([a-z][a-z-]*(?: [a-z][a-z-]*)?)[ `]", re.M)


def sections() -> dict[str, str]:
    """The README's text under each `### \\`xxgk COMMAND …\\`` heading, by command path."""
    found = list(HEADING.finditer(README))
    out = {}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(README)
        end = min(end, README.find("\n## ", m.end()) % (len(README) + 1) or end)
        out.setdefault(m.group(1), README[m.start():end])
    return out


def commands(group=cli.main, prefix=""):
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from commands(command, path + " ")
        else:
            yield path, command


LLM_FLAGS = {"--llm-base-url", "--llm-api-key", "--llm-model", "--llm-profile", "--llm-mode",
             "--llm-concurrency",
             "--llm-timeout", "--llm-token-budget", "--no-llm"}


def test_every_command_has_a_section_and_every_option_is_in_it():
    documented = sections()
    configuration = README[README.index("### Configuration"):]
    missing = []
    for path, command in commands():
        if path not in documented:
            missing.append(f"no section `xxgk {path}`")
            continue
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            for opt in param.opts + param.secondary_opts:
                where = configuration if opt in LLM_FLAGS else documented[path]
                if not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", where):
                    missing.append(f"xxgk {path} {opt}")
    assert missing == []


def test_the_check_can_fail():
    """A command the README does not name is caught."""
    cli.main.add_command(click.Command("undocumented-xyz", params=[click.Option(["--zz"])]))
    try:
        paths = {p for p, _ in commands()}
        assert "undocumented-xyz" in paths and "undocumented-xyz" not in sections()
    finally:
        del cli.main.commands["undocumented-xyz"]


def test_exit_codes_are_documented():
    table = README[README.index("### Exit codes"):]
    for code in (0, cli.EXIT_ERROR, cli.EXIT_USAGE, cli.EXIT_FILES_FAILED, cli.EXIT_INTERRUPTED):
        assert re.search(rf"^\| `{code}` \|", table, re.M), code


def test_the_readme_states_the_python_versions_and_the_extras():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "Python 3.11, 3.12 and 3.13" in README
    for extra in project["optional-dependencies"]:
        if extra not in ("test", "lint"):
            assert f"xxgk[{extra}]" in README, extra
