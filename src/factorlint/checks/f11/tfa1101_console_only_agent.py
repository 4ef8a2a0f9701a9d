from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.entrypoints import (
    body_statements,
    entry_points,
    handoff_label,
    is_console_input,
    loops_in,
)
from factorlint.engine.recognise.retries import calls_in
from factorlint.engine.semantic.names import paths_in


class ConsoleOnlyAgent(Rule):
    """## What it does
    Finds agent logic that lives inside a console loop: a loop that reads a person with `input()`
    (or `click.prompt`, `prompt_toolkit`, `rich.prompt`) and is itself the agent, an agent loop
    written inline or a framework hand-off run from the loop (`executor.invoke(input())` in an
    `if __name__ == "__main__":` block), in a module that defines no other entry point (no web
    route, chat event, queue task or schedule).

    A console loop that hands the text to a function of the project that runs the agent
    (`print(run_agent(input("> ")))`) is a thin caller, not a finding: anything else can call that
    function too. A yes/no question whose answer is only compared (`input("Install it? (Y/n)")`,
    directly or through a local) asks for approval, not for work, and does not make the console the
    agent's way in.

    ## Why is this bad?
    Factor 11 (trigger from anywhere, meet users where they are): agents should be startable from
    chat, email, webhooks, crons and other agents, and answer through the same channel. An agent
    wired to `input()`/`print()` can only be used by someone sitting at that terminal, and its
    state lives as long as the process. Separating the agent (`launch(event) -> thread_id`,
    `resume(thread_id, event)`) from the console lets a CLI, a webhook and a cron share it.

    The check is per file: an HTTP server in another module of the project is not seen.

    ## Example
    ```python
    while True:
        question = input("> ")
        print(run_agent(question))
    ```

    ## Use instead
    ```python
    def launch(event: Event) -> str: ...            # any channel can call this
    def resume(thread_id: str, event: Event): ...

    if __name__ == "__main__":                      # the console is one channel among others
        thread_id = launch(Event("user_message", input("> ")))
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-11-trigger-from-anywhere.md
    """

    meta = RuleMeta(
        code="TFA1101",
        name="console-only-agent",
        factor=11,
        severity="warning",
        confidence="medium",
        summary="The agent can only be started from a console prompt",
        fix_advice=(
            "Move the agent behind `launch(event) -> thread_id` and `resume(thread_id, event)` "
            "functions; keep the console loop as one thin caller, and add a webhook or queue entry."
        ),
    )

    invalid = [
        """
from openai import OpenAI
client = OpenAI()

def chat():
    messages = []
    while True:  # expect: TFA1101 @5-10:48 | The agent is only reachable from the console: this loop reads `input()` and runs an agent loop; nothing in this module lets a webhook, a queue or another agent start it
        messages.append({"role": "user", "content": input("> ")})
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        print(reply.choices[0].message.content)
""",
        """
from smolagents import CodeAgent, InferenceClientModel

agent = CodeAgent(tools=[], model=InferenceClientModel())

while True:  # expect: TFA1101 @1-9:27 | The agent is only reachable from the console: this loop reads `input()` and runs `CodeAgent.run`; nothing in this module lets a webhook, a queue or another agent start it
    line = input(">>> ")
    if line == "exit":
        break
    print(agent.run(line))
""",
    ]
    valid = [
        # The same agent is also served over HTTP from this module.
        """
from fastapi import FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/threads")
async def launch(text: str):
    return (await Runner.run(agent, text)).final_output

if __name__ == "__main__":
    while True:
        print(Runner.run_sync(agent, input("> ")).final_output)
""",
        # One run from command-line arguments: no console loop.
        """
import sys
from agents import Agent, Runner

agent = Agent(name="a", instructions="x")

if __name__ == "__main__":
    print(Runner.run_sync(agent, sys.argv[1]).final_output)
""",
        # A queue worker reads its tasks, not a person.
        """
from celery import Celery
from agents import Agent, Runner

app = Celery("tasks")
agent = Agent(name="a", instructions="x")

@app.task
def handle(text):
    return Runner.run_sync(agent, text).final_output

def debug():
    while True:
        print(handle(input("> ")))
""",
    ]
    near_miss = [
        # The REPL only drives a session object whose agent lives in another module: the
        # session is reusable from anywhere else (open-interpreter's terminal).
        {
            "session.py": """
from openai import OpenAI
client = OpenAI()

class Session:
    def __init__(self):
        self.messages = []

    def chat(self, text):
        self.messages.append({"role": "user", "content": text})
        reply = client.chat.completions.create(model="m", messages=self.messages)
        self.messages.append(reply.choices[0].message)
        return reply.choices[0].message.content
""",
            "terminal.py": """
from session import Session

def terminal(session: Session):
    messages = []
    while True:
        text = input("> ")
        messages.append(text)
        messages.append(session.chat(messages[-1]))
""",
        },
        # A thin console caller: the agent is a function anything else can call.
        {
            "agent.py": """
import litellm

def run_agent(question):
    messages = [{"role": "user", "content": question}]
    for _ in range(10):
        r = litellm.completion(model="gpt-4o", messages=messages)
        messages.append(r.choices[0].message)
    return messages[-1]
""",
            "cli.py": """
from agent import run_agent

if __name__ == "__main__":
    while True:
        print(run_agent(input("question: ")))
""",
        },
        # A console loop that never reaches a model.
        """
def repl(calculator):
    while True:
        line = input("> ")
        print(calculator.evaluate(line))
""",
        # A console loop around a single, stateless model call is not an agent.
        """
from openai import OpenAI
client = OpenAI()

while True:
    text = input("translate: ")
    r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    print(r.choices[0].message.content)
""",
        # The console only approves a step (rawdog's "execute this script?", its answer kept in a
        # local and compared): the answer is never handed to the model.
        """
from openai import OpenAI
client = OpenAI()

def run(messages):
    while True:
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        answer = input("Execute the script? (Y/n) ")
        if answer.strip().lower() == "n":
            break
        messages.append({"role": "user", "content": execute(reply)})
""",
        # The console only approves a step (rawdog's "install this package?"): the answer is
        # compared, never handed to the model.
        {
            "helpers.py": """
from openai import OpenAI
client = OpenAI()

def package_for(error):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": error}])
""",
            "repair.py": """
from helpers import package_for

def repair(script):
    fixed = True
    while fixed:
        fixed = False
        error = run(script)
        if error:
            package = package_for(error)
            if input(f"Install {package}? (Y/n) ").strip().lower() != "n":
                fixed = install(package)
""",
        },
        # A project function that turns out not to reach a model.
        {
            "helpers.py": """
def lookup(word):
    return word.upper()
""",
            "cli.py": """
from helpers import lookup

while True:
    print(lookup(input("word: ")))
""",
        },
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        # (id(loop), ids of the enclosing functions) -> the first console read inside that loop
        self._inputs: dict[tuple, cst.Call] = {}
        self._compared: set[int] = set()  # ids of calls whose value a comparison reads

    def visit_Comparison(self, node: cst.Comparison) -> None:
        for operand in (node.left, *(c.comparator for c in node.comparisons)):
            while isinstance(operand, cst.Call) and isinstance(operand.func, cst.Attribute):
                operand = operand.func.value  # ``input(...).strip().lower()``
            if isinstance(operand, cst.Call):
                self._compared.add(id(operand))

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) in self._compared:
            return  # a yes/no answer: an approval, not the agent's way in
        if self.ctx.loop_stack and is_console_input(self.ctx, node) and not self._only_compared(node):
            scope = tuple(id(f) for f in self.ctx.function_stack)
            for loop in self.ctx.loop_stack:
                self._inputs.setdefault((id(loop), scope), node)

    def leave_Module(self, node: cst.Module) -> None:
        if not self._inputs:
            return
        ep = entry_points(self.ctx)
        if ep.serves():
            return
        found = []
        for loop, chain in ep.loops:
            call = self._inputs.get((id(loop), tuple(id(f) for f in chain)))
            if call is None:
                continue
            with ep.scope(chain):
                run = self._agent_in(loop)
            if run is not None:
                found.append((loop, call, run))
        inner = {id(nested) for loop, _, _ in found for nested in loops_in(body_statements(loop))}
        for loop, call, (label, requires) in found:
            if any(id(loop) == i for i in inner) or not self._innermost(loop, found):
                continue
            name = (self.ctx.qualname(call.func) or "input").replace("builtins.", "").replace("()", "")
            self.report(
                loop,
                f"The agent is only reachable from the console: this loop reads `{name}()` and runs "
                f"{label}; nothing in this module lets a webhook, a queue or another agent start it",
                requires_llm=requires,
            )

    def _only_compared(self, call: cst.Call) -> bool:
        """Is the console read kept in a local that is compared and never handed on
        (``answer = input("Run it? (Y/n)")`` ... ``if answer.strip().lower() == "n":``)?"""
        flow = self.ctx.current_flow()
        names = flow.results(call)
        if not names:
            return False
        compared = {p.split(".", 1)[0] for c in flow.comparisons for p in paths_in(c)}
        handed = {p.split(".", 1)[0] for c in flow.calls for a in c.args for p in paths_in(a.value)}
        return names <= compared and not names & handed

    @staticmethod
    def _innermost(loop, found) -> bool:
        nested = {id(inner) for inner in loops_in(body_statements(loop))}
        return not any(id(other) in nested for other, _, _ in found if other is not loop)

    def _agent_in(self, loop) -> tuple[str, tuple[str, ...]] | None:
        """The agent the loop runs inline: an agent loop written in it, or a framework hand-off.
        A call of a project function is a thin caller's (the function is reusable)."""
        for candidate in (loop, *loops_in(body_statements(loop))):
            info = self.ctx.loops.analyse(candidate)
            if any(call.certain for call in info.llm_calls):
                return "an agent loop", info.requires
        for call in calls_in(loop):
            handoff = self.ctx.recognise.handoff(call)
            if handoff is not None:
                return handoff_label(handoff), ()
        return None
