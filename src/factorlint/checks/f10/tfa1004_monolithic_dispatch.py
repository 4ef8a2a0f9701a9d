from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f10._dispatch import DispatchScan, derived_names, roots, streams
from factorlint.engine.parse.walk import run_visitor


class MonolithicDispatch(Rule):
    """## What it does
    Finds one agent loop that dispatches the model's choice over more than `max-intents` (default
    12) intents or tools: a `match` on the model's output with that many cases, `if`/`elif` tests
    comparing the same model-chosen value (`step.intent == "..."`, `call.function.name in (...)`,
    `isinstance(step, CreateIssue)`) with that many values, or a dispatch table
    (`HANDLERS[call.name](...)`, `TOOLS.get(name)`) with that many entries. The dispatch may sit in
    the loop or in a function of the same module that the loop hands the model's output to.

    Only values that come from the model's reply in the loop count as the subject, so a parser's
    or an event stream's `if`/`elif` ladder is not reported.

    ## Why is this bad?
    Factor 10 (small, focused agents) keeps an agent to one job. A loop that can take a dozen and
    more different actions is several agents in one: its prompt must describe them all, its
    context mixes their results, and every new intent makes the others less reliable. Focused
    agents with a few intents each, composed by deterministic code, are easier to prompt, test and
    bound.

    ## Example
    ```python
    while True:
        step = determine_next_step(thread)
        match step.intent:
            case "create_issue": ...
            case "close_issue": ...
            # ... 14 more ...
            case "done_for_now": break
    ```

    ## Use instead
    ```python
    area = classify_request(thread)              # one small call, or plain code
    result = {"issues": run_issue_agent, "deploys": run_deploy_agent}[area](thread)
    ```

    ## Fix safety
    No automatic fix: how to split the agent is a design decision.

    ## Options
    - `max-intents`: the most intents one agent loop may dispatch (default 12).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-10-small-focused-agents.md
    """

    meta = RuleMeta(
        code="TFA1004",
        name="monolithic-dispatch",
        factor=10,
        severity="advice",
        confidence="medium",
        summary="One agent loop dispatches more intents than max-intents",
        fix_advice=(
            "Split the agent: route each request to a focused agent that handles a few intents, and "
            "compose those agents with plain code."
        ),
    )

    invalid = [
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def determine_next_step(thread):
    return client.chat.completions.parse(model="m", messages=thread, response_format=Step)
""",
            "agent.py": """
from llm import determine_next_step

def run(thread):
    for _ in range(10):
        step = determine_next_step(thread)
        match step.intent:  # expect: TFA1004 @9-18:63 | The agent loop dispatches the model's choice over 13 cases, more than max-intents (12): split it into focused agents
            case "create_issue": thread.append(create_issue(step))
            case "close_issue": thread.append(close_issue(step))
            case "label_issue": thread.append(label_issue(step))
            case "assign_issue": thread.append(assign_issue(step))
            case "list_issues": thread.append(list_issues(step))
            case "open_pr" | "merge_pr" | "close_pr": thread.append(pr_action(step))
            case "deploy_backend": thread.append(deploy(step))
            case "rollback": thread.append(rollback(step))
            case "page_oncall": thread.append(page(step))
            case "post_slack": thread.append(post(step))
            case "done_for_now": break
            case _: thread.append({"error": "unknown intent"})
""",
        },
        """
from openai import OpenAI

client = OpenAI()

def execute(call):
    name = call.function.name
    args = call.function.arguments
    if name == "search":  # expect: TFA1004 @5-23:32 | The agent loop dispatches the model's choice over 13 compared values, more than max-intents (12): split it into focused agents
        return search(args)
    elif name == "fetch":
        return fetch(args)
    elif name in ("read_file", "write_file", "list_dir", "delete_file"):
        return files(name, args)
    elif name in ("git_status", "git_commit", "git_push"):
        return git(name, args)
    elif name == "run_tests":
        return run_tests(args)
    elif name == "shell":
        return shell(args)
    elif name == "ask_human":
        return ask_human(args)
    elif name == "send_email":
        return send_email(args)
    return "unknown tool"

def run(messages, tools):
    for _ in range(10):
        reply = client.chat.completions.create(model="m", messages=messages, tools=tools)
        messages.append(reply.choices[0].message)
        for call in reply.choices[0].message.tool_calls or []:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": execute(call)})
""",
        """
import anthropic

client = anthropic.Anthropic()
HANDLERS = {
    "search": search, "fetch": fetch, "read": read, "write": write, "list": list_dir,
    "delete": delete, "shell": shell, "python": python, "git": git, "email": email,
    "slack": slack, "calendar": calendar, "jira": jira, "deploy": deploy,
}

def run(history):
    for _ in range(10):
        msg = client.messages.create(model="m", max_tokens=512, messages=history, tools=[])
        history.append({"role": "assistant", "content": msg.content})
        for block in msg.content:
            history.append({"role": "user", "content": HANDLERS[block.name](**block.input)})  # expect: TFA1004 @56-76 | The agent loop dispatches the model's choice over 14 table entries, more than max-intents (12): split it into focused agents
""",
    ]
    valid = [
        """
from openai import OpenAI

client = OpenAI()

def run(thread):
    for _ in range(10):
        step = client.chat.completions.parse(model="m", messages=thread, response_format=Step)
        thread.append(step)
        match step.choices[0].message.parsed.intent:
            case "create_issue":
                thread.append(create_issue(step))
            case "list_issues":
                thread.append(list_issues(step))
            case "done_for_now":
                return step
""",
        """
from openai import OpenAI

client = OpenAI()
TOOLS = {"search": search, "fetch": fetch, "summarise": summarise}

def run(messages):
    for _ in range(8):
        reply = client.chat.completions.create(model="m", messages=messages)
        for call in reply.choices[0].message.tool_calls or []:
            messages.append(TOOLS[call.function.name](call.function.arguments))
""",
        """
from openai import OpenAI

client = OpenAI()
ROUTES = {"billing": run_billing_agent, "deploy": run_deploy_agent}

def handle(request):
    area = client.chat.completions.create(model="m", messages=[request]).choices[0].message.content
    return ROUTES[area](request)
""",
    ]
    near_miss = [
        # A long if/elif over a value that does not come from the model (a CLI option).
        """
from openai import OpenAI

client = OpenAI()

def run(messages, mode):
    for _ in range(5):
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(reply.choices[0].message)
        if mode in ("a", "b", "c", "d", "e", "f", "g"):
            log(reply)
        elif mode in ("h", "i", "j", "k", "l", "m", "n"):
            save(reply)
""",
        # The events of a streamed reply: transport chunks, not the model's choice.
        """
import anthropic

client = anthropic.Anthropic()

def run(messages):
    for _ in range(10):
        stream = client.messages.create(model="m", max_tokens=512, messages=messages, stream=True)
        content = []
        for event in stream:
            if event.type in ("message_start", "message_delta", "message_stop", "ping", "error"):
                continue
            elif event.type in ("content_block_start", "content_block_delta", "content_block_stop"):
                content.append(event)
            elif event.type in ("a", "b", "c", "d", "e", "f", "g"):
                pass
        messages.append({"role": "assistant", "content": content})
""",
        # The same long dispatch outside any agent loop: a plain command router.
        """
def route(name, args):
    match name:
        case "a" | "b" | "c" | "d" | "e": return first(args)
        case "f" | "g" | "h" | "i" | "j": return second(args)
        case "k" | "l" | "m" | "n" | "o": return third(args)
""",
        # A long table that the loop never indexes with the model's choice.
        """
from openai import OpenAI

client = OpenAI()
HANDLERS = {
    "a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g, "h": h, "i": i, "j": j, "k": k,
    "l": l, "m": m, "n": n,
}

def run(messages, mode):
    for _ in range(5):
        reply = client.chat.completions.create(model="m", messages=messages)
        messages.append(HANDLERS[mode](reply))
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._reported: set[int] = set()

    def visit_For(self, node: cst.For) -> None:
        self._check(node)

    def visit_While(self, node: cst.While) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        info = self.ctx.loops.analyse(loop)
        if not info.llm_calls:
            return
        seeds = {id(c.node): streams(self.ctx, c.node) for c in info.llm_calls}
        derived = derived_names(loop.body, seeds, set())
        scan = DispatchScan(self.ctx, derived)
        run_visitor(loop.body, scan)
        findings = list(scan.results())
        for function, _call in self._helpers(scan.calls, derived):
            params = {p.name.value for p in (*function.params.posonly_params, *function.params.params,
                                              *function.params.kwonly_params)} - {"self", "cls"}
            inner = DispatchScan(self.ctx, derived_names(function.body, {}, params))
            self.ctx.function_stack.append(function)
            try:
                run_visitor(function.body, inner)
                findings.extend(inner.results())
            finally:
                self.ctx.function_stack.pop()
        limit = self.settings.max_intents
        for node, what, count in findings:
            if count <= limit or id(node) in self._reported:
                continue
            self._reported.add(id(node))
            self.report(
                node,
                f"The agent loop dispatches the model's choice over {count} {what}, more than "
                f"max-intents ({limit}): split it into focused agents",
                requires_llm=info.requires,
            )

    def _helpers(self, calls: list[cst.Call], derived: set[str]):
        """Functions of this module the loop hands a model-derived value to."""
        prefix = self.ctx.module_name + "."
        for call in calls:
            if not any(roots(arg.value) & derived for arg in call.args):
                continue
            qualname = self.ctx.qualname(call.func) or ""
            if not qualname.startswith(prefix):
                continue
            local = qualname[len(prefix):]
            function = self.ctx.scan.module_functions.get(local)
            if function is None and "." in local:
                owner, _, name = local.rpartition(".")
                function = self.ctx.scan.methods.get(owner, {}).get(name)
            if function is not None and function not in self.ctx.function_stack:
                yield function, call
