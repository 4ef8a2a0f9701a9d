from __future__ import annotations

import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.tools import (
    ToolDef,
    local_function,
    reachable_calls,
    side_effect,
    tool_definitions,
    tool_functions,
    tool_names_per_agent,
)
from factorlint.model import through_parameter

# Tool names that announce an action with consequences (catalog §1.9). A name alone is weak
# evidence: it is reported as advice, and only when the tool hands its work to code we cannot see.
_HIGH_STAKES_NAME = re.compile(
    r"(?i)^(send|delete|remove|drop|deploy|publish|merge|pay|charge|refund|transfer|exec|run_shell|run_sql)(_|$)"
)


class HighStakesToolWithoutApproval(Rule):
    """## What it does
    Finds tools the model can call (see factorlint's tool recogniser: decorated functions, tool
    classes, functions in a `tools=[...]` list) whose body, or a function of the same file it calls
    (two calls deep), performs a side effect from the knowledge tables (a shell command, deleting
    or writing files, an HTTP POST/PUT/PATCH/DELETE, an email or chat message, a payment, a cloud
    resource change, a SQL write), and that no person approves first.

    Approval is any framework's native gate: OpenAI Agents `@function_tool(needs_approval=True)`,
    Pydantic AI `requires_approval=True` or `raise ApprovalRequired`, LangGraph `interrupt()` in the
    tool or `interrupt_before=[...]` on the graph, LangChain `HumanInTheLoopMiddleware(
    interrupt_on={"tool": True})`, CrewAI `Task(human_input=True)` on the task or its agent,
    AutoGen `human_input_mode="ALWAYS"`, HumanLayer `@hl.require_approval()`, or a decorator listed
    in `approval-decorators`.

    A tool only *named* like a high-stakes action (`deploy_backend`, `send_invoice`) whose work
    happens in code outside this file is reported as advice. So is a tool whose framework can gate
    tools where the agent is built (LangChain middleware, CrewAI tasks) when no agent in the same
    file is given the tool: the gate may be configured there.

    ## Why is this bad?
    Factor 7 (contact humans with tool calls): the model picks the action, but a refund, a deploy or
    an email to a customer should wait for a person's decision, and the denial should go back to
    the model as an event. Without a gate, one confused step or one prompt injection acts on the
    world with no one in the loop (OWASP LLM06, excessive agency).

    ## Example
    ```python
    @function_tool
    def refund(order_id: str, amount_cents: int) -> str:
        return stripe.Refund.create(payment_intent=order_id, amount=amount_cents).id
    ```

    ## Use instead
    ```python
    @function_tool(needs_approval=True)
    def refund(order_id: str, amount_cents: int) -> str:
        return stripe.Refund.create(payment_intent=order_id, amount=amount_cents).id

    result = await Runner.run(agent, msg)
    if result.interruptions:
        save(thread_id, result.to_state().to_json())
        notify_approver(result.interruptions, thread_id)
    ```

    ## Fix safety
    No automatic fix: turning the gate on changes the run (the caller must handle the pause).

    ## Options
    - `approval-decorators`: decorators of your own that gate a tool (`["myapp.guard.approved"]`).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-07-contact-humans-with-tools.md
    - OWASP LLM06: Excessive Agency
    """

    meta = RuleMeta(
        code="TFA0703",
        name="high-stakes-tool-without-approval",
        factor=7,
        severity="warning",
        confidence="medium",
        summary="A tool with side effects runs without a person's approval",
        fix_advice=(
            "Gate the tool behind an approval: the framework's flag (`needs_approval=True`, "
            "`requires_approval=True`, `interrupt_on=`), or record an approval request, notify a "
            "person and run the tool only once they approve."
        ),
    )

    invalid = [
        """
import stripe
from agents import Agent, function_tool

@function_tool
def refund(order_id: str, amount_cents: int) -> str:  # expect: TFA0703 @5-11 | Tool `refund` moves money (`Refund.create`) and nothing asks a person to approve the call first
    \"\"\"Refund an order.\"\"\"
    return stripe.Refund.create(payment_intent=order_id, amount=amount_cents).id

agent = Agent(name="support", instructions="Help customers.", tools=[refund])
""",
        # The side effect is one call deep, in a helper of the same file.
        """
import subprocess
from langchain_core.tools import tool

def _run(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True).stdout

@tool
def run_command(cmd: str) -> str:  # expect: TFA0703 @5-16 | Tool `run_command` runs a shell command (`subprocess.run`) and nothing asks a person to approve the call first (no approval gate for it in this file)
    \"\"\"Run a shell command.\"\"\"
    return _run(cmd)
""",
        """
import os
import requests
from smolagents import Tool, CodeAgent

class Cleaner(Tool):  # expect: TFA0703 @7-14 | Tool `cleaner` deletes or moves files (`os.remove`) and nothing asks a person to approve the call first
    name = "cleaner"
    description = "Delete a file."
    inputs = {"path": {"type": "string", "description": "the file"}}
    output_type = "string"

    def forward(self, path: str) -> str:
        os.remove(path)
        return "ok"

def publish_status(text: str) -> str:  # expect: TFA0703 @5-19 | Tool `publish_status` sends an HTTP POST (`requests.post`) and nothing asks a person to approve the call first
    \"\"\"Publish a status update.\"\"\"
    return requests.post("https://status.example.com", json={"text": text}).text

agent = CodeAgent(tools=[Cleaner(), publish_status], model=None)
""",
        # A tool only named like a deploy, whose work happens elsewhere: advice.
        """
from deployer import client
from langchain_core.tools import tool

@tool
def deploy_backend(tag: str) -> str:  # expect: TFA0703 @5-19 | Tool `deploy_backend` is named like a high-stakes action and nothing asks a person to approve the call first
    \"\"\"Deploy the backend.\"\"\"
    return client.deploy(tag)
""",
    ]
    valid = [
        # OpenAI Agents: needs_approval=True.
        """
import stripe
from agents import function_tool

@function_tool(needs_approval=True)
def refund(order_id: str, amount_cents: int) -> str:
    \"\"\"Refund an order.\"\"\"
    return stripe.Refund.create(payment_intent=order_id, amount=amount_cents).id
""",
        # Pydantic AI: requires_approval=True, and ApprovalRequired raised in the tool.
        """
import subprocess
from pydantic_ai import Agent, ApprovalRequired, RunContext

agent = Agent("openai:gpt-4o")

@agent.tool_plain(requires_approval=True)
def shell(cmd: str) -> str:
    \"\"\"Run a command.\"\"\"
    return subprocess.run(cmd, shell=True).stdout

@agent.tool
def delete(ctx: RunContext, path: str) -> str:
    \"\"\"Delete a file.\"\"\"
    if not ctx.tool_call_approved:
        raise ApprovalRequired
    import os
    os.remove(path)
    return "ok"
""",
        # LangGraph: interrupt() in the tool; interrupt_before on a prebuilt agent.
        """
import os
import shutil
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from langgraph.types import interrupt

@tool
def remove_dir(path: str) -> str:
    \"\"\"Remove a directory.\"\"\"
    answer = interrupt({"question": f"Remove {path}?"})
    if answer == "yes":
        shutil.rmtree(path)
    return "done"

@tool
def remove_file(path: str) -> str:
    \"\"\"Remove a file.\"\"\"
    os.remove(path)
    return "done"

agent = create_react_agent("openai:gpt-4o", tools=[remove_file], interrupt_before=["tools"])
""",
        # LangChain v1: HumanInTheLoopMiddleware names the tool.
        """
import smtplib
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.tools import tool

@tool
def send_email(to: str, body: str) -> str:
    \"\"\"Send an email.\"\"\"
    smtplib.SMTP("localhost").sendmail("bot@example.com", [to], body)
    return "sent"

agent = create_agent(
    "openai:gpt-4o",
    tools=[send_email],
    middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True})],
)
""",
        # CrewAI: the task that uses the agent asks a person before accepting the result.
        """
import subprocess
from crewai import Agent, Task
from crewai.tools import tool

@tool("Shell")
def shell(cmd: str) -> str:
    \"\"\"Run a shell command.\"\"\"
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout

ops = Agent(role="Ops", goal="Keep servers up", backstory="An operator.", tools=[shell])
restart = Task(description="Restart the web server.", expected_output="Status.", agent=ops, human_input=True)
""",
    ]
    near_miss = [
        # Reading is not a side effect: GET requests, reading files, SELECT queries.
        """
import requests
import sqlite3
from langchain_core.tools import tool

@tool
def lookup(city: str) -> str:
    \"\"\"Weather for a city.\"\"\"
    rows = sqlite3.connect("app.db").execute("SELECT * FROM cache WHERE city = ?", (city,))
    with open("cities.txt") as handle:
        handle.read()
    return requests.get(f"https://wttr.in/{city}").text
""",
        # A side-effecting function that is not a tool the model can call.
        """
import subprocess
from agents import function_tool

def deploy(tag):
    subprocess.run(["kubectl", "rollout", tag])

@function_tool
def status(service: str) -> str:
    \"\"\"Status of a service.\"\"\"
    return service
""",
        # A search API queried with POST (DuckDuckGo lite): POST alone is not a write.
        """
import requests
from smolagents import tool

@tool
def web_search(query: str) -> str:
    \"\"\"Search the web.

    Args:
        query: what to search for.
    \"\"\"
    return requests.post("https://lite.duckduckgo.com/lite/", data={"q": query}).text
""",
        # Named like a high-stakes action but visibly harmless (it only formats a draft).
        """
from langchain_core.tools import tool

@tool
def send_message(text: str) -> str:
    \"\"\"Reply to the user.\"\"\"
    return text.strip()
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        given = {name for names in tool_names_per_agent(self.ctx).values() for name in names}
        for tool in tool_definitions(self.ctx):
            if tool.approval or tool.kind == "schema":
                continue
            functions = tool_functions(tool)
            if not functions:
                continue
            name_node = tool.node.name if isinstance(tool.node, (cst.FunctionDef, cst.ClassDef)) else tool.node
            effect = self._effect(functions, _HIGH_STAKES_NAME.search(tool.name) is not None)
            if effect is not None:
                label, callee = effect
                # Where the gate would sit on the tool itself, or the agent that gets the tool is
                # built here, its absence is certain; otherwise an agent in another file may gate it.
                certain = (
                    bool(tool.spec and tool.spec.approval_keywords)
                    or tool.name in given
                    or not self._gates_at_agent(tool.framework)
                )
                self.report(
                    name_node,
                    f"Tool `{tool.name}` {label} (`{callee}`) and nothing asks a person to approve the "
                    f"call first{'' if certain else ' (no approval gate for it in this file)'}",
                    severity=None if certain else "advice",
                    fix_message=self._fix(tool),
                )
            elif _HIGH_STAKES_NAME.search(tool.name) and self._delegates(functions):
                self.report(
                    name_node,
                    f"Tool `{tool.name}` is named like a high-stakes action and nothing asks a person to "
                    "approve the call first",
                    severity="advice",
                    fix_message=self._fix(tool),
                )

    def _effect(self, functions, action_name: bool) -> tuple[str, str] | None:
        """The first side effect; an ambiguous one (an HTTP POST) only for a tool named like an
        action."""
        weak = None
        for call, qualname, _ in reachable_calls(self.ctx, functions, depth=2):
            spec = side_effect(self.ctx, call, qualname)
            if spec is None:
                continue
            shown = qualname or self.ctx.code_for(call.func).strip()
            found = spec.label, ".".join(shown.replace("()", "").split(".")[-2:])
            if not spec.ambiguous:
                return found
            weak = weak or found
        return weak if action_name else None

    def _delegates(self, functions) -> bool:
        """Does the tool hand its work to code outside this file (so its effect is unseen)?"""
        for call, qualname, owner in reachable_calls(self.ctx, functions, depth=2):
            if qualname is None or self.ctx.is_external(qualname) or through_parameter(qualname):
                continue  # a call on what the caller passes is not code seen elsewhere
            if local_function(self.ctx, call, qualname, owner) is None:
                return True
        return False

    def _gates_at_agent(self, framework_name) -> bool:
        """Can this framework gate a tool where the agent is built (middleware, task, graph)?"""
        framework = next((fw for fw in self.ctx.knowledge.frameworks if fw.name == framework_name), None)
        if framework is None:
            return True  # unknown: assume it might
        return any(a.approval_keywords for a in framework.agents) or any(
            c.role in ("approval", "interrupt") for c in framework.components
        )

    def _fix(self, tool: ToolDef) -> str:
        if tool.spec is not None and tool.spec.approval_keywords:
            keyword = tool.spec.approval_keywords[0]
            return (
                f"Set `{keyword}=True` on the tool and handle the pause: save the run, notify a "
                "person, resume with their decision (a denial goes back to the model as an event)."
            )
        framework = next((fw for fw in self.ctx.knowledge.frameworks if fw.name == tool.framework), None)
        if framework is not None:
            for component in framework.components:
                if component.role == "approval" and component.tools_keyword:
                    gate = component.names[0].rsplit(".", 1)[-1]
                    return (
                        f"Give the agent `{gate}({component.tools_keyword}={{\"{tool.name}\": True}})` "
                        "(with a checkpointer) so a person approves each call."
                    )
        return self.meta.fix_advice
