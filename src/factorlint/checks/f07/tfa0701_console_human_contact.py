from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.edits import approval_call
from factorlint.checks.f07._contact import conditional_calls, console_label, function_label, is_console_input
from factorlint.engine.agents.entrypoints import repeated_prompts
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.recognise.retries import calls_in
from factorlint.engine.recognise.tools import (
    function_calls,
    literal,
    local_function,
    reachable_calls,
    scan,
    tool_definitions,
    tool_functions,
)

_FIX = (
    "Make the question a tool call or intent the model emits (`request_human_input` with the "
    "question and options), save the thread, notify the person on a channel (Slack, email, web), "
    "return, and resume the thread when the answer arrives."
)


class ConsoleHumanContact(Rule):
    """## What it does
    Finds agents that reach a person by blocking on the console: `input()`, `getpass`,
    `click.prompt`/`confirm`, `typer.prompt`, `rich.prompt.Prompt.ask`, `questionary`,
    `prompt_toolkit` (the `console_input` components of the knowledge tables)

    - inside an agent loop, under a condition (`if step.intent == "deploy": input("Deploy?")`);
    - in a function the agent loop calls, up to two calls deep;
    - inside a tool function (the model "calls a human" through the terminal);
    - in a framework's default human-input handler: CrewAI `Task(human_input=True)` (unless a
      provider is installed with `set_provider`), AutoGen `UserProxyAgent` /
      `ConversableAgent` whose `human_input_mode` asks the console (`"ALWAYS"`, `"TERMINATE"`,
      the defaults), AgentChat `UserProxyAgent` without `input_func=`.

    The prompt at the top of a chat REPL, asked every turn whatever the model said, is not
    reported: that is a console-only entry point (factor 11), not the agent contacting a person.

    ## Why is this bad?
    Factor 7 (contact humans with tool calls): asking a person is one more structured intent,
    handled through any channel and resumed later. A console prompt only works while someone
    watches the terminal of this process; the agent cannot run in a service, a queue or a
    webhook, and the question, the options and the answer leave no trace in the thread.

    ## Example
    ```python
    if step.intent == "deploy_backend":
        if input(f"Deploy {step.tag}? [y/N] ") != "y":
            continue
        deploy(step.tag)
    ```

    ## Use instead
    ```python
    if step.intent == "deploy_backend":
        thread.append(Event("approval_requested", step))
        store.save(thread_id, thread)
        channels.request_approval(step, thread_id=thread_id)   # Slack / email / web
        return thread                                          # resumed by the approval webhook
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), when the `approval-function` setting names your approval
    function (`myapp.approvals.request_approval`): a console prompt becomes a call of it with
    the same arguments, and it is imported. That function decides how the person is reached
    and how the run resumes. Without the setting there is no fix.

    ## Options
    None. A command-line tool that is meant to be interactive can turn the rule off for its
    files with `per-file-ignores`.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-07-contact-humans-with-tools.md
    """

    meta = RuleMeta(
        code="TFA0701",
        name="console-human-contact",
        factor=7,
        severity="warning",
        confidence="high",
        summary="The agent asks a person at the console: the run blocks on stdin",
        fix_advice=_FIX,
        fix="sometimes",
    )

    fixes = [
        (
            """
from openai import OpenAI
client = OpenAI()

def run(thread, deploy):
    for _ in range(10):
        step = client.chat.completions.parse(model="gpt-4o", messages=thread, response_format=dict)
        thread.append(step)
        if step.intent == "deploy_backend":
            if input(f"Deploy {step.tag}? [y/N] ") != "y":
                continue
            thread.append(deploy(step.tag))
""",
            """
from openai import OpenAI
from myapp.approvals import request_approval
client = OpenAI()

def run(thread, deploy):
    for _ in range(10):
        step = client.chat.completions.parse(model="gpt-4o", messages=thread, response_format=dict)
        thread.append(step)
        if step.intent == "deploy_backend":
            if request_approval(f"Deploy {step.tag}? [y/N] ") != "y":
                continue
            thread.append(deploy(step.tag))
""",
            {"approval_function": "myapp.approvals.request_approval"},
        ),
    ]

    invalid = [
        """
from openai import OpenAI

client = OpenAI()

def run(thread, deploy):
    for _ in range(10):
        step = client.chat.completions.parse(model="gpt-4o", messages=thread, response_format=dict)
        thread.append(step)
        if step.intent == "deploy_backend":
            if input(f"Deploy {step.tag}? [y/N] ") != "y":  # expect: TFA0701 @16-51 | `input()` asks a person at the console inside the agent loop of `run`: the run blocks on stdin
                continue
            thread.append(deploy(step.tag))
""",
        # A tool that asks the terminal, and a helper the loop calls under a condition.
        """
import click
from langchain_core.tools import tool
from openai import OpenAI

client = OpenAI()

@tool
def ask_human(question: str) -> str:
    \"\"\"Ask the user a question.\"\"\"
    return input(question)  # expect: TFA0701 @12-27 | Tool `ask_human` asks a person with `input()` at the console: the run blocks on stdin

def confirm(action):
    return click.confirm(f"Run {action}?")  # expect: TFA0701 @12-43 | `click.confirm()` in `confirm`, called from the agent loop of `loop`, asks a person at the console: the run blocks on stdin

def loop(messages):
    while len(messages) < 50:
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        if reply.choices[0].message.tool_calls:
            if not confirm(reply.choices[0].message.tool_calls[0].function.name):
                break
""",
        # Framework default handlers that read the console.
        """
from crewai import Agent, Task
from autogen import UserProxyAgent
from autogen_agentchat.agents import UserProxyAgent as ChatUserProxy

writer = Agent(role="Writer", goal="Write", backstory="A writer.")
review = Task(description="Draft the post.", expected_output="A post.", agent=writer, human_input=True)  # expect: TFA0701 @10-104 | CrewAI `Task` (`human_input=True`): the default handler asks a person with `input()` at the console
proxy = UserProxyAgent("user")  # expect: TFA0701 @9-31 | AutoGen 0.2 / AG2 `UserProxyAgent` (`human_input_mode` defaults to 'ALWAYS'): the default handler asks a person with `input()` at the console
chat_proxy = ChatUserProxy("user")  # expect: TFA0701 @14-35 | AutoGen AgentChat `UserProxyAgent` (no `input_func=`): the default handler asks a person with `input()` at the console
""",
        # One pause, one finding: the same approval worded for two displays in the two branches
        # of one `if`, and an optional question answered before it, are reported at the approval.
        """
import subprocess
from openai import OpenAI
client = OpenAI()

def run(messages, plain, careful, lint):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
        messages.append({"role": "assistant", "content": reply})
        if reply.startswith("```"):
            scan = False
            if careful:
                scan = input("Scan this code first? (y/n) ") == "y"
            if scan:
                lint(reply)
            if plain:
                answer = input("Run this code? (y/n) ")  # expect: TFA0701 @26-56 | `input()` asks a person at the console inside the agent loop of `run`: the run blocks on stdin
            else:
                answer = input("  Run this code? (y/n)\\n  ")
            if answer == "y":
                messages.append({"role": "user", "content": subprocess.run(reply, shell=True, capture_output=True, text=True).stdout})
        else:
            return reply
""",
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def run(thread, store, channels, thread_id):
    for _ in range(10):
        step = client.chat.completions.parse(model="gpt-4o", messages=thread, response_format=dict)
        thread.append(step)
        if step.intent == "deploy_backend":
            store.save(thread_id, thread)
            channels.request_approval(step, thread_id=thread_id)
            return thread
""",
        # Framework handlers routed away from the console.
        """
from crewai import Agent, Task
from crewai.core.providers.human_input import set_provider
from autogen import UserProxyAgent
from autogen_agentchat.agents import UserProxyAgent as ChatUserProxy

set_provider(object())
review = Task(description="Draft.", expected_output="A post.", human_input=True)
proxy = UserProxyAgent("user", human_input_mode="NEVER")

async def from_web(prompt, cancellation_token=None):
    return "ok"

chat_proxy = ChatUserProxy("user", input_func=from_web)
""",
        # A console prompt outside any agent loop (a CLI entry point, factor 11's business).
        """
from openai import OpenAI

client = OpenAI()

def main():
    question = input("Ask: ")
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": question}])
""",
    ]
    near_miss = [
        # A chat REPL's own menu: prompts asked before the model's turn are the user's turn.
        """
from openai import OpenAI
client = OpenAI()

def repl(messages):
    while True:
        text = input("> ")
        if text == "d":
            email = input("Email for the waitlist? ")
            continue
        messages.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # A chat REPL: the person types every turn, whatever the model said.
        """
from openai import OpenAI

client = OpenAI()

def chat():
    messages = []
    while True:
        user = input("> ")
        if user == "exit":
            break
        messages.append({"role": "user", "content": user})
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
""",
        # input() in a loop that never calls a model.
        """
def menu(items):
    while True:
        if items:
            choice = input("Pick: ")
            items.append(choice)
""",
        # A function named like a tool but never given to a model, and agents whose defaults
        # never ask at every step.
        """
from autogen import AssistantAgent, ConversableAgent

def ask_human(question):
    return input(question)

assistant = AssistantAgent("helper")
logger_agent = ConversableAgent(name="Editor", system_message="Plan the outline.")
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._loops: list[tuple[cst.CSTNode, cst.FunctionDef | None, tuple[str, ...]]] = []
        self._frameworks: list[tuple[cst.Call, str, list[str]]] = []
        self._reported: set[int] = set()
        self._conditional: dict[int, set[int]] = {}  # id(root) -> its conditional calls

    def _conditional_calls(self, root: cst.CSTNode) -> set[int]:
        found = self._conditional.get(id(root))
        if found is None:
            found = self._conditional[id(root)] = conditional_calls(root)
        return found

    def visit_While(self, node: cst.While) -> None:
        self._loop(node)

    def visit_For(self, node: cst.For) -> None:
        self._loop(node)

    def _loop(self, node) -> None:
        info = self.ctx.loops.analyse(node)
        if info.llm_calls:
            function = self.ctx.function_stack[-1] if self.ctx.function_stack else None
            self._loops.append((node, function, info.requires))

    def visit_Call(self, node: cst.Call) -> None:
        construct = self.ctx.recognise.agent_construct(node)
        if construct is None or construct.spec.human_input is None:
            return
        spec = construct.spec.human_input
        arg = keyword_arg(node, spec.keyword)
        if arg is None:
            # A default only counts when it asks at every step (UserProxyAgent's "ALWAYS"); a
            # ConversableAgent's "TERMINATE" asks only if a chat it replies in ends that way.
            console = spec.console_if_absent or (spec.default is not None and spec.default in spec.approval_values)
            shown = f"`{spec.keyword}` defaults to {spec.default!r}" if spec.default is not None else (
                f"no `{spec.keyword}=`")
        else:
            value = literal(arg.value)
            console = not spec.console_if_absent and isinstance(value, (bool, str)) and value in spec.console_values
            shown = f"`{spec.keyword}={self.ctx.code_for(arg.value).strip()}`"
        if console:
            label = f"{construct.framework.title} `{construct.qualname.rsplit('.', 1)[-1]}`"
            self._frameworks.append((node, f"{label} ({shown})", spec.replaced_by))

    def leave_Module(self, node: cst.Module) -> None:
        for loop, function, requires in self._loops:
            self._check_loop(loop, function, requires)
        for tool in tool_definitions(self.ctx):
            for call, qualname, owner in reachable_calls(self.ctx, tool_functions(tool)):
                if is_console_input(self.ctx, qualname):
                    where = "" if owner in tool_functions(tool) else f" (through {function_label(owner)})"
                    self._report(call, f"Tool `{tool.name}` asks a person with {console_label(qualname)} at "
                                 f"the console{where}: the run blocks on stdin")
        replaced = {q for calls in scan(self.ctx).calls.values() for _, q in calls if q}
        for call, label, replaced_by in self._frameworks:
            if any(r in replaced for r in replaced_by):
                continue
            self._report(call, f"{label}: the default handler asks a person with `input()` at the console")

    def _check_loop(self, loop, function, requires) -> None:
        qualnames = {id(c): q for c, q in function_calls(self.ctx, function)}
        conditional = self._conditional_calls(loop.body)
        where = f"the agent loop of {function_label(function)}"
        calls = calls_in(loop.body)
        info = self.ctx.loops.analyse(loop)
        first_turn = 0
        if info.human_gated:
            # A chat REPL's own menu (a prompt before the model's turn) is the user's turn, not
            # the agent asking mid-run: only prompts after the model has answered count.
            turns = {id(c.node) for c in info.llm_calls if c.certain} or {id(c.node) for c in info.llm_calls}
            first_turn = next((i for i, c in enumerate(calls) if id(c) in turns), 0)
        for index, call in enumerate(calls):
            if index < first_turn:
                continue
            qualname = qualnames.get(id(call))
            if is_console_input(self.ctx, qualname):
                if id(call) in conditional:
                    self._report(call, f"{console_label(qualname)} asks a person at the console inside {where}: "
                                 "the run blocks on stdin", requires)
                continue
            callee = local_function(self.ctx, call, qualname, function)
            if callee is None:
                continue
            for inner, inner_qualname, owner in reachable_calls(self.ctx, [callee], depth=1):
                if not is_console_input(self.ctx, inner_qualname):
                    continue
                if id(call) in conditional or id(inner) in self._conditional_calls(owner):
                    self._report(inner, f"{console_label(inner_qualname)} in {function_label(owner)}, called from "
                                 f"{where}, asks a person at the console: the run blocks on stdin", requires)

    def _report(self, node, message: str, requires: tuple[str, ...] = ()) -> None:
        if id(node) in self._reported or id(node) in repeated_prompts(self.ctx):
            return
        self._reported.add(id(node))
        console = isinstance(node, cst.Call) and is_console_input(self.ctx, self.ctx.qualname(node.func))
        self.report(node, message, requires_llm=requires, fix=approval_call(self.ctx, node) if console else None)
