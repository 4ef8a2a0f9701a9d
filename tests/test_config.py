"""Configuration files: where they are found, how they chain, and how a bad one fails (exit 2)."""

from __future__ import annotations

import pytest
from helpers import AGENT, STATEFUL, assert_one_line_error, check_json, codes, invoke, write


def _found(*args: str) -> set[str]:
    return {code for _, code, _ in codes(check_json(*args)[1])}


@pytest.fixture
def agent(project):
    write(project, {"agent.py": AGENT, "state.py": STATEFUL})
    return project


def _pyproject(body: str) -> str:
    return "[project]\nname = 'demo'\n\n[tool.factorlint]\n" + body + "\n"


# --- where configuration comes from --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("pyproject.toml", _pyproject('ignore = ["TFA0802"]')),
        ("factorlint.toml", 'ignore = ["TFA0802"]\n'),
        (".factorlint.toml", 'ignore = ["TFA0802"]\n'),
    ],
)
def test_config_files_are_read(agent, name, content):
    assert _found(".") == {"TFA0802", "TFA1201"}
    write(agent, {name: content})
    assert _found(".") == {"TFA1201"}


def test_pyproject_without_a_factorlint_table_is_passed_over(project):
    # The closer pyproject.toml has no [tool.factorlint]: the factorlint.toml above it is used.
    write(project, {
        "factorlint.toml": 'ignore = ["TFA0802"]\n',
        "sub/pyproject.toml": "[project]\nname = 'demo'\n",
        "sub/agent.py": AGENT,
    })
    assert _found("sub") == set()


def test_per_file_ignores_and_select_from_config(agent):
    write(agent, {"factorlint.toml": 'select = ["TFA08", "TFA12"]\n[per-file-ignores]\n"agent.py" = ["TFA08"]\n'})
    assert _found(".") == {"TFA1201"}


PROMPT = '''\
from openai import OpenAI
client = OpenAI()

def ask(question):
    return client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": "You are a careful assistant who answers briefly."}, question],
    )
'''


def test_threshold_option_is_read(project):
    # A 48-character inline system prompt is under the default inline-prompt-min-chars (200).
    write(project, {"agent.py": PROMPT})
    assert _found(".") == set()
    write(project, {"factorlint.toml": "inline-prompt-min-chars = 40\n"})
    assert _found(".") == {"TFA0203"}


def test_closest_config_wins(project):
    write(project, {
        "pyproject.toml": _pyproject('ignore = ["TFA0802"]'),
        "sub/factorlint.toml": 'ignore = ["TFA1201"]\n',
        "sub/agent.py": AGENT,
        "sub/state.py": STATEFUL,
    })
    # Scanning sub/: its own file wins, the parent's is not merged in.
    assert _found("sub") == {"TFA0802"}
    assert _found(str(project / "sub")) == {"TFA0802"}


def test_closest_config_wins_per_file_when_scanning_the_parent(project):
    write(project, {
        "pyproject.toml": _pyproject('ignore = ["TFA0802"]'),
        "sub/factorlint.toml": 'ignore = ["TFA1201"]\n',
        "sub/agent.py": AGENT,
        "sub/state.py": STATEFUL,
    })
    assert _found(".") == {"TFA0802"}


def test_config_above_the_scanned_folder_is_found(project):
    write(project, {"pyproject.toml": _pyproject('ignore = ["TFA0802"]'), "src/pkg/agent.py": AGENT})
    assert _found("src/pkg") == set()


def test_config_next_to_a_file_named_on_the_command_line(project):
    write(project, {"sub/pyproject.toml": _pyproject('ignore = ["TFA0802"]'), "sub/agent.py": AGENT})
    assert _found("sub/agent.py") == set()


def test_extend_chains(project):
    write(project, {
        "pyproject.toml": _pyproject('ignore = ["TFA0802"]'),
        "sub/factorlint.toml": 'extend = "../pyproject.toml"\nmax-steps = 5\n',
        "sub/agent.py": AGENT,
        "sub/state.py": STATEFUL,
    })
    assert _found("sub") == {"TFA1201"}


def test_extend_accumulates_ignores(project):
    # As in ruff: without a `select` of its own, the child's ignore adds to the base's.
    write(project, {
        "pyproject.toml": _pyproject('ignore = ["TFA0802"]'),
        "sub/factorlint.toml": 'extend = "../pyproject.toml"\nignore = ["TFA1201"]\n',
        "sub/agent.py": AGENT,
        "sub/state.py": STATEFUL,
    })
    assert _found("sub") == set()


def test_extend_child_select_resets_the_chain(project):
    write(project, {
        "pyproject.toml": _pyproject('ignore = ["TFA0802"]'),
        "sub/factorlint.toml": 'extend = "../pyproject.toml"\nselect = ["TFA08", "TFA12"]\n',
        "sub/agent.py": AGENT,
        "sub/state.py": STATEFUL,
    })
    assert _found("sub") == {"TFA0802", "TFA1201"}


def test_extend_of_a_missing_file_exits_2(project):
    write(project, {"factorlint.toml": 'extend = "../nowhere.toml"\n', "agent.py": AGENT})
    assert_one_line_error(invoke("check", "."), "factorlint.toml", "extend")


def test_extend_loop_exits_2(project):
    write(project, {
        "factorlint.toml": 'extend = "other/factorlint.toml"\n',
        "other/factorlint.toml": 'extend = "../factorlint.toml"\n',
        "agent.py": AGENT,
    })
    assert_one_line_error(invoke("check", "."), "factorlint.toml")


def test_command_line_overrides_config(agent):
    write(agent, {"factorlint.toml": 'ignore = ["TFA0802"]\n'})
    assert _found(".", "--extend-select", "TFA0802") == {"TFA0802", "TFA1201"}
    assert _found(".", "--ignore", "TFA1201") == set()


def test_isolated_ignores_config(agent):
    write(agent, {"factorlint.toml": 'ignore = ["TFA0802"]\n'})
    assert _found(".", "--isolated") == {"TFA0802", "TFA1201"}
    # --isolated also skips a broken configuration.
    write(agent, {"factorlint.toml": "not valid = = toml\n"})
    assert _found(".", "--isolated") == {"TFA0802", "TFA1201"}


def test_config_option_uses_that_file(agent):
    write(agent, {
        "factorlint.toml": 'ignore = ["TFA0802"]\n',
        "elsewhere/strict.toml": 'ignore = ["TFA1201"]\n',
    })
    assert _found(".", "--config", "elsewhere/strict.toml") == {"TFA0802"}
    write(agent, {"elsewhere/pyproject.toml": _pyproject('select = ["TFA12"]')})
    assert _found(".", "--config", "elsewhere/pyproject.toml") == {"TFA1201"}


def test_config_option_with_a_missing_file_exits_2(agent):
    assert_one_line_error(invoke("check", ".", "--config", "missing.toml"), "missing.toml")


# --- a bad configuration exits 2 with one line naming the file and the key -----------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("bogus-key = 1", "bogus-key"),
        ('select = ["TFA99"]', "select"),
        ('ignore = ["NOPE"]', "ignore"),
        ('extend-select = ["TFX"]', "extend-select"),
        ('per-file-ignores = { "a.py" = ["XX1"] }', "per-file-ignores"),
        ('max-steps = "x"', "max-steps"),
        ("max-steps = 0", "max-steps"),
        ('ignore = "TFA0802"', "ignore"),
        ("respect-gitignore = 3", "respect-gitignore"),
        ('budget-name-pattern = "("', "budget-name-pattern"),
    ],
)
@pytest.mark.parametrize("file_name", ["pyproject.toml", "factorlint.toml"])
def test_bad_value_exits_2_naming_file_and_key(agent, body, key, file_name):
    content = _pyproject(body) if file_name == "pyproject.toml" else body + "\n"
    write(agent, {file_name: content})
    result = invoke("check", ".")
    assert_one_line_error(result, file_name, key)
    assert result.stdout == ""


def test_unknown_selector_message_names_the_selector(agent):
    write(agent, {"factorlint.toml": 'select = ["TFA99"]\n'})
    assert_one_line_error(invoke("check", "."), "factorlint.toml", "select", "TFA99")


def test_snake_case_key_is_an_unknown_key(agent):
    # Keys are kebab-case: the Python spelling of a field is not an alias users should rely on.
    write(agent, {"factorlint.toml": "max_steps = 5\n"})
    assert_one_line_error(invoke("check", "."), "factorlint.toml", "max_steps")


@pytest.mark.parametrize("file_name", ["pyproject.toml", "factorlint.toml"])
def test_malformed_toml_exits_2(agent, file_name):
    write(agent, {file_name: "[tool.factorlint]\nignore = [\n"})
    result = invoke("check", ".")
    assert_one_line_error(result, file_name, "invalid TOML")


def test_bad_config_in_audit_exits_2(agent):
    write(agent, {"factorlint.toml": "bogus = 1\n"})
    assert_one_line_error(invoke("audit", "."), "factorlint.toml", "bogus")


def test_bad_extended_config_names_the_extended_file(project):
    write(project, {
        "base.toml": "max-steps = 'many'\n",
        "factorlint.toml": 'extend = "base.toml"\n',
        "agent.py": AGENT,
    })
    assert_one_line_error(invoke("check", "."), "base.toml", "max-steps")


# --- paths in a configuration file ---------------------------------------------------------------


def test_config_paths_when_scanning_the_config_folder(project):
    write(project, {
        "pyproject.toml": _pyproject(
            'extend-exclude = ["src/gen"]\n[tool.factorlint.per-file-ignores]\n"src/agent.py" = ["TFA0802"]'
        ),
        "src/agent.py": AGENT,
        "src/gen/generated.py": AGENT,
    })
    assert _found(".") == set()


def test_config_paths_are_anchored_to_the_config_file(project):
    write(project, {
        "pyproject.toml": _pyproject(
            'extend-exclude = ["src/gen"]\n[tool.factorlint.per-file-ignores]\n"src/agent.py" = ["TFA0802"]'
        ),
        "src/agent.py": AGENT,
        "src/gen/generated.py": AGENT,
    })
    assert _found("src") == set()
