from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence, where
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.taint.analyser import SinkFinding


class ShellWithModelOutput(TaintRule):
    """## What it does
    Finds text the model chose that reaches a shell: `subprocess.*(..., shell=True)`,
    `os.system`, `os.popen`, `subprocess.getoutput`, `asyncio.create_subprocess_shell`,
    `pexpect.spawn`, or an argv list that starts a shell with its command flag
    (`["bash", "-c", cmd]`). The text is a model's reply (content, tool-call arguments, parsed
    object) or an argument of a tool function, followed through assignments, f-strings,
    `.format`, concatenation and one call into a function of the same file.

    A tool function that runs a shell at all (`shell=True`, `os.system`) is reported as a
    warning even when its command is fixed: the model decides when it runs, and a later edit
    that interpolates an argument turns it into an injection.

    ## Why is this bad?
    A shell interprets `;`, `&&`, `$(...)` and redirections, so a model steered by a prompt
    injection can run any command with the program's rights (OWASP LLM05; bandit B602/B605).
    Factor 4 treats tool calls as structured data: pass the model's values as separate argv
    items, check them against an allow-list, and ask a person before high-stakes commands
    (factor 7).

    ## Example
    ```python
    @tool
    def grep_logs(pattern: str) -> str:
        return subprocess.run(f"grep {pattern} /var/log/app.log", shell=True,
                              capture_output=True, text=True).stdout
    ```

    ## Use instead
    ```python
    @tool
    def grep_logs(pattern: str) -> str:
        return subprocess.run(["grep", "--", pattern, "/var/log/app.log"],
                              capture_output=True, text=True).stdout
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), for a `subprocess` call with `shell=True` on a command held
    in a variable: the command is split into argv items (`shlex.split(command)`, `import shlex`
    added) and `shell=False`, so no shell reads what the model wrote: `&&`, pipes and `$(...)`
    become plain arguments. That changes what runs: a command that needed the shell fails.

    ## Options
    None. Shell calls, shell programs and sanitisers (`shlex.quote`) are data in
    `rules/frameworks/security_sinks.toml`.

    ## References
    - https://bandit.readthedocs.io/en/latest/plugins/b602_subprocess_popen_with_shell_equals_true.html
    - https://docs.astral.sh/ruff/rules/subprocess-popen-with-shell-equals-true/
    - https://genai.owasp.org/llmrisk/llm052025-improper-output-handling/
    """

    meta = RuleMeta(
        code="TFS002",
        name="shell-with-model-output",
        factor=None,
        also_factor=4,
        severity="error",
        confidence="high",
        summary="Text the model chose is run by a shell",
        fix_advice=(
            "Pass the model's values as separate argv items without a shell "
            "(`subprocess.run([...], shell=False)`), check them against an allow-list, and gate "
            "high-stakes commands behind an approval."
        ),
        fix="sometimes",
    )
    kind = "shell"

    fixes = [
        (
            """
import subprocess
from agents import function_tool

@function_tool
def grep(pattern: str) -> str:
    \"\"\"Search the logs.\"\"\"
    cmd = f"grep -r {pattern} /var/log/app"
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout
""",
            """
import subprocess
from agents import function_tool
import shlex

@function_tool
def grep(pattern: str) -> str:
    \"\"\"Search the logs.\"\"\"
    cmd = f"grep -r {pattern} /var/log/app"
    return subprocess.run(shlex.split(cmd), shell=False, capture_output=True, text=True).stdout
""",
        ),
    ]

    invalid = [
        """
import subprocess
from langchain_core.tools import tool

@tool
def grep_logs(pattern: str) -> str:
    \"\"\"Search the logs.\"\"\"
    cmd = f"grep {pattern} /var/log/app.log"
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout  # expect: TFS002 @12-75 | The tool argument `pattern` reaches a shell (shell=True): the model can run any command
""",
        # The reply of a model call, through .format and concatenation, into os.system / os.popen.
        """
import os
import litellm

def act(task):
    reply = litellm.completion(model="gpt-4o", messages=[{"role": "user", "content": task}])
    command = reply.choices[0].message.content
    os.system("cd /tmp && " + command)  # expect: TFS002 @5-39 | The reply of `litellm.completion` reaches a shell: the model can run any command
    return os.popen("echo {}".format(command)).read()  # expect: TFS002 @12-47 | The reply of `litellm.completion` reaches a shell: the model can run any command
""",
        # An argv list that starts a shell is a shell; a fixed shell=True in a tool is a warning.
        """
import subprocess
from agents import function_tool

@function_tool
def run_check(script: str) -> str:
    \"\"\"Run a check script.\"\"\"
    subprocess.run(["bash", "-c", script], check=True)  # expect: TFS002 @5-55 | The tool argument `script` reaches a shell (shell=True): the model can run any command
    return subprocess.check_output("uptime", shell=True, text=True)  # expect: TFS002 @12-68 | A tool function (decorated with `@function_tool`) runs a shell (shell=True): the model decides when it runs, and any argument later interpolated into it becomes an injection
""",
        # One call deep: the tool hands its argument to a same-file helper that uses a shell.
        """
import subprocess
from crewai.tools import BaseTool

def sh(command):
    return subprocess.getoutput(command)

class DeployTool(BaseTool):
    name: str = "deploy"
    description: str = "Deploy a branch"

    def _run(self, branch: str) -> str:
        return sh(f"git checkout {branch} && make deploy")  # expect: TFS002 @16-59 | The tool argument `branch` reaches a shell inside `sh()`: the model can run any command
""",
    ]
    valid = [
        # argv list, no shell: the model's value is one argument, never parsed by a shell.
        """
import subprocess
from langchain_core.tools import tool

@tool
def grep_logs(pattern: str) -> str:
    \"\"\"Search the logs.\"\"\"
    return subprocess.run(["grep", "--", pattern, "/var/log/app.log"], capture_output=True, text=True).stdout
""",
        # Quoted for the shell with shlex.quote.
        """
import shlex
import subprocess
from openai import OpenAI
client = OpenAI()

def list_dir(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    folder = shlex.quote(reply.choices[0].message.content)
    subprocess.run(f"ls -la {folder}", shell=True)
""",
        # An allow-list maps the model's choice to a fixed command.
        """
import subprocess
from smolagents import tool

COMMANDS = {"disk": ["df", "-h"], "memory": ["free", "-m"]}

@tool
def system_info(kind: str) -> str:
    \"\"\"Report system information.

    Args:
        kind: "disk" or "memory".
    \"\"\"
    return subprocess.run(COMMANDS[kind], capture_output=True, text=True).stdout
""",
    ]
    near_miss = [
        # subprocess.run([...]) argv list with model output and no shell.
        """
import subprocess
from openai import OpenAI
client = OpenAI()

def checkout(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    branch = reply.choices[0].message.content.strip()
    subprocess.run(["git", "checkout", branch], check=True)
""",
        # shell=True with a fixed command, outside any tool function.
        """
import subprocess
from openai import OpenAI
client = OpenAI()

def main(messages):
    subprocess.run("git status --short", shell=True)
    return client.chat.completions.create(model="gpt-4o", messages=messages)
""",
        # A parameter of an ordinary helper: nothing ties it to the model.
        """
import os

def open_editor(path):
    os.system(f"vim {path}")
""",
        # The model's choice is checked against an allow-list before the shell runs it.
        """
import subprocess
from openai import OpenAI
client = OpenAI()
ALLOWED_COMMANDS = {"git status", "git log --oneline -5"}

def run_suggested(messages):
    command = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    if command not in ALLOWED_COMMANDS:
        raise PermissionError(command)
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout
""",
        # shell=True where the value is a number the model chose: int() keeps none of its text.
        """
import subprocess
from openai import OpenAI
client = OpenAI()

def wait(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    seconds = int(reply.choices[0].message.content)
    subprocess.run(f"sleep {seconds}", shell=True)
""",
    ]

    def check(self, finding: SinkFinding) -> None:
        chosen = chosen_source(finding, module=self.ctx.module_name)
        if chosen is not None:
            source, requires = chosen
            self.report(
                finding.node,
                f"{sentence(source.label)} reaches {finding.label}"
                f"{where(finding)}: the model can run any command",
                requires_llm=requires,
                fix=self._without_shell(finding.node),
            )
        elif finding.tool and not finding.via:
            self.report(
                finding.node,
                f"A tool function ({finding.tool}) runs {finding.label}: the model decides when "
                "it runs, and any argument later interpolated into it becomes an injection",
                severity="warning",
                fix_message=(
                    "Run the command as an argv list without a shell "
                    "(`subprocess.run([...], shell=False)`)."
                ),
            )

    def _without_shell(self, node) -> CodeFix | None:
        if not isinstance(node, cst.Call) or self.ctx.qualname(node.func) not in _SUBPROCESS:
            return None
        shell = keyword_arg(node, "shell")
        first = node.args[0] if node.args and node.args[0].keyword is None and not node.args[0].star else None
        if shell is None or first is None or not isinstance(first.value, (cst.Name, cst.Attribute)):
            return None
        return CodeFix(
            (RawEdit(first.value, f"shlex.split({self.ctx.code_for(first.value)})"), RawEdit(shell.value, "False")),
            (("shlex", ""),), unsafe=True,
        )


_SUBPROCESS = frozenset({
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
})
