from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.checks.f01._probes import probes
from factorlint.engine.recognise.responses import Origin, render_path, tracker
from factorlint.engine.recognise.scrapers import handed_reply
from factorlint.engine.semantic.names import literal_string, paths_in

_LOGGING_ROOTS = frozenset({"logging", "loguru", "structlog"})


class ProseDrivenBranch(Rule):
    """## What it does
    Finds `if`/`while`/`match` tests (and conditional expressions) that inspect the free text of
    a model reply: `"refund" in reply.lower()`, `answer.strip() == "yes"`,
    `text.startswith("FINAL ANSWER")`, `re.search(r"DONE", text)`. The reply is the text of a call
    that asked for neither tools nor structured output (`resp.choices[0].message.content`,
    `resp.output_text`, `msg.content[0].text`, a LangChain message's `.content`), followed
    through up to four assignments. A wrapper of your own counts when it is defined in the same
    file, or when the function clearly uses its result as a string.

    ## Why is this bad?
    Factor 1 (natural language to tool calls) says the model's job is to turn a request into a
    structured next step that deterministic code can switch on. Searching prose for keywords is
    brittle: the model writes "I would not recommend a refund", answers "Yes." or "Sure", or
    translates the keyword, and the branch silently goes the wrong way.

    ## Example
    ```python
    reply = client.chat.completions.create(model=M, messages=msgs).choices[0].message.content
    if "refund" in reply.lower():
        issue_refund(order_id)
    ```

    ## Use instead
    ```python
    class NextStep(BaseModel):
        intent: Literal["refund", "escalate"]

    step = client.chat.completions.parse(model=M, messages=msgs, response_format=NextStep)
    if step.choices[0].message.parsed.intent == "refund":
        issue_refund(order_id)
    ```

    ## Fix safety
    No automatic fix: it needs a schema for the next step.

    ## Options
    None. A branch whose only effect is logging is not reported, nor a sentinel test that only
    drops the reply from the results a `for` loop collects (`if summary == "Not relevant.":
    continue`, then `summaries.append(summary)`): it filters the answer, and chooses no tool,
    route or stop.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-01-natural-language-to-tool-calls.md
    """

    meta = RuleMeta(
        code="TFA0101",
        name="prose-driven-branch",
        factor=1,
        severity="warning",
        confidence="medium",
        summary="Branch on the free text of a model reply instead of a structured next step",
        fix_advice=(
            "Ask for a typed next step (tools, or structured output such as `response_format=Model` "
            "/ `with_structured_output(Model)`) and branch on its discriminator field."
        ),
    )

    invalid = [
        # The same test in a `for` loop that does not collect the reply: it decides what the loop
        # does next.
        """
from openai import OpenAI
client = OpenAI()

def review(drafts, publish):
    for draft in drafts:
        verdict = client.chat.completions.create(model="m", messages=[{"role": "user", "content": draft}]).choices[0].message.content
        if verdict == "Not relevant.":  # expect: TFA0101 @12-38 | `verdict == "Not relevant."` branches on the free text (`choices[].message.content`) returned by `client.chat.completions.create(...)`, which asked for neither tools nor structured output
            continue
        publish(draft)
""",
        """
from openai import OpenAI
client = OpenAI()

def triage(msgs, order_id):
    reply = client.chat.completions.create(model="gpt-4o", messages=msgs).choices[0].message.content
    if "refund" in reply.lower():  # expect: TFA0101 @8-33 | `"refund" in reply.lower()` branches on the free text (`choices[].message.content`) returned by `client.chat.completions.create(...)`, which asked for neither tools nor structured output
        issue_refund(order_id)
""",
        """
import re
import anthropic

client = anthropic.Anthropic()

def review(diff):
    msg = client.messages.create(model="m", max_tokens=200, messages=[{"role": "user", "content": diff}])
    verdict = msg.content[0].text.strip()
    if verdict.startswith("APPROVED"):  # expect: TFA0101 @8-38 | `verdict.startswith("APPROVED")` branches on the free text (`content[].text`) returned by `client.messages.create(...)`, which asked for neither tools nor structured output
        merge(diff)
    elif re.search(r"REJECT(ED)?", verdict):  # expect: TFA0101 @10-44 | `re.search(r"REJECT(ED)?", verdict)` branches on the free text (`content[].text`) returned by `client.messages.create(...)`, which asked for neither tools nor structured output
        close(diff)
""",
        # LangChain: the `.content` of an invoke result.
        """
from langchain_openai import ChatOpenAI
llm = ChatOpenAI(model="gpt-4o")

def route(question):
    answer = llm.invoke(question)
    label = answer.content
    return escalate() if label == "human" else reply(label)  # expect: TFA0101 @26-42 | `label == "human"` branches on the free text (`content`) returned by `llm.invoke(...)`, which asked for neither tools nor structured output
""",
        # A wrapper in another file whose text is clearly used as text.
        {
            "llm.py": """
from openai import OpenAI
client = OpenAI()

def chat(history):
    return client.chat.completions.create(model="m", messages=history).choices[0].message.content
""",
            "agent.py": """
from llm import chat

def run(history):
    text = chat(history)
    if "DONE" in text:  # expect: TFA0101 @8-22 | `"DONE" in text` branches on the free text returned by `chat(...)`, which asked for neither tools nor structured output
        return finish(history)
    history.append({"role": "assistant", "content": text})
""",
        },
        # A wrapper in the same file that returns the reply text.
        """
from openai import OpenAI
client = OpenAI()

def ask(prompt):
    resp = client.responses.create(model="gpt-4.1", input=prompt)
    return resp.output_text

def should_deploy(change):
    decision = ask(f"Deploy {change}? Answer yes or no.")
    match decision.strip().lower():  # expect: TFA0101 @11-35 | `match decision.strip().lower()` branches on the free text returned by `ask(...)`, which asked for neither tools nor structured output
        case "yes":
            deploy(change)
        case _:
            pass
""",
        # A piece a helper of another module cut out of the reply decides the next step
        # (metagpt's Role._think).
        {
            "logs.py": """
import logging
logger = logging.getLogger("agent")
""",
            "repair.py": """
import re
from logs import logger

def extract_state_value_from_output(content):
    content = content.strip()
    matches = re.findall(r"[0-9]", content)
    logger.debug(matches)
    return matches[0] if matches else "-1"
""",
            "role.py": """
from openai import OpenAI
from repair import extract_state_value_from_output
client = OpenAI()

def think(prompt, states):
    next_state = client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
    next_state = extract_state_value_from_output(next_state)
    if next_state == "-1":  # expect: TFA0101 @8-26 | `next_state == "-1"` branches on the free text (`choices[].message.content`) returned by `client.chat.completions.create(...)`, which asked for neither tools nor structured output
        return None
    return states[int(next_state)]
""",
        },
    ]
    valid = [
        # Structured output: the branch is on a typed field.
        """
from openai import OpenAI
client = OpenAI()

def triage(msgs, order_id):
    resp = client.chat.completions.parse(model="gpt-4o", messages=msgs, response_format=NextStep)
    step = resp.choices[0].message.parsed
    if step.intent == "refund":
        issue_refund(order_id)
""",
        # Tools: the model names the next step in a tool call.
        """
from openai import OpenAI
client = OpenAI()

def run(msgs, tools):
    resp = client.chat.completions.create(model="gpt-4o", messages=msgs, tools=tools)
    msg = resp.choices[0].message
    if msg.tool_calls:
        return dispatch(msg.tool_calls)
    return msg.content
""",
        # LangChain structured output.
        """
from langchain_openai import ChatOpenAI
llm = ChatOpenAI(model="gpt-4o")
planner = llm.with_structured_output(Plan)

def plan(goal):
    result = planner.invoke(goal)
    if result.content == "stop":
        return None
    return result
""",
        # BAML returns typed classes.
        """
from baml_client import b

def step(thread):
    nxt = b.DetermineNextStep(thread)
    if nxt.intent == "done_for_now":
        return nxt
""",
    ]
    near_miss = [
        # A sentinel that only drops the reply from the results a `for` loop collects.
        """
from openai import OpenAI
client = OpenAI()

def summarise(chunks):
    summaries = []
    for chunk in chunks:
        prompt = f"Summarise this for the topic, or reply 'Not relevant.':\\n{chunk}"
        summary = client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}]).choices[0].message.content
        if summary == "Not relevant.":
            continue
        if not summary:
            for line in chunk.splitlines():
                continue
        summaries.append(summary)
    return summaries
""",
        # The reply handed to a helper that looks something up with it: what comes back is the
        # helper's own data, not a piece of the reply.
        {
            "store.py": """
import sqlite3
from logs import logger

def order_status(order_text):
    logger.info(order_text)
    row = sqlite3.connect("orders.db").execute("select status from orders where note = ?", (order_text,)).fetchone()
    return row[0] if row else "unknown"
""",
            "logs.py": """
import logging
logger = logging.getLogger("agent")
""",
            "agent.py": """
from openai import OpenAI
from store import order_status
client = OpenAI()

def step(messages):
    reply = client.chat.completions.create(model="m", messages=messages).choices[0].message.content
    status = order_status(reply)
    if status == "shipped":
        return "done"
""",
        },
        # The helper maps the reply onto labels the module owns (simpleqa's grader): comparing
        # the label is not branching on the model's prose.
        """
from openai import OpenAI
client = OpenAI()
LETTERS = ["A", "B"]
LABELS = dict(zip(LETTERS, ["CORRECT", "WRONG"]))

def grade(answer):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": answer}])
    letter = reply.choices[0].message.content.strip()
    if letter in LETTERS:
        return LABELS[letter]
    return "UNKNOWN"

def score(answer):
    label = grade(answer)
    return 1.0 if label == "CORRECT" else 0.0
""",
        # Emptiness and finish-reason checks are not prose probes.
        """
from openai import OpenAI
client = OpenAI()

def answer(msgs):
    resp = client.chat.completions.create(model="gpt-4o", messages=msgs)
    text = resp.choices[0].message.content
    if not text or text.strip() == "":
        raise ValueError("empty reply")
    if resp.choices[0].finish_reason == "length":
        return None
    return text
""",
        # A branch that only logs.
        """
import logging
from openai import OpenAI
client = OpenAI()
log = logging.getLogger(__name__)

def answer(msgs):
    text = client.chat.completions.create(model="m", messages=msgs).choices[0].message.content
    if "sorry" in text.lower():
        log.info("model apologised")
    return text
""",
        # A wrapper from another file whose result is a mapping, not text.
        {
            "tools.py": """
from openai import OpenAI
client = OpenAI()

def run_tool(call):
    return {"error": None, "out": client.chat.completions.create(model="m", messages=[])}
""",
            "agent.py": """
from tools import run_tool

def step(call):
    result = run_tool(call)
    if "error" in result:
        return result["error"]
""",
        },
        # A wrapper of another file that already turned the reply into a bool: comparing that
        # with a string is a bug of its own, not a branch on the model's prose.
        {
            "decide.py": """
import json
from openai import OpenAI
client = OpenAI()

class Base:
    async def run(self, prompt):
        return client.chat.completions.create(model="m", messages=[]).choices[0].message.content

class DecideToTalk(Base):
    async def run(self, prompt):
        reply = client.chat.completions.create(model="m", messages=[], response_format={"type": "json_object"})
        result = True if json.loads(reply.choices[0].message.content)["talk"] else False
        return result
""",
            "plan.py": """
from decide import DecideToTalk

async def plan(role):
    react_mode = await DecideToTalk().run(role)
    if react_mode == "1":
        return "chat"
""",
        },
        # JSON mode asked for: the reply is meant to be parsed, not scraped.
        """
from openai import OpenAI
client = OpenAI()

def classify(msgs):
    resp = client.chat.completions.create(model="m", messages=msgs, response_format={"type": "json_object"})
    text = resp.choices[0].message.content
    if "refund" in text:
        return "refund"
""",
        # google-genai: the response schema sits in `config=`, built up in a dict.
        """
import json
from google import genai
client = genai.Client()

def extract(contents, schema):
    config = {"temperature": 0}
    config["response_schema"] = schema
    response = client.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
    text = response.text.strip()
    if text.startswith("```json"):
        text = text[7:-3]
    return json.loads(text)
""",
        # Options passed through **kwargs may carry a response format.
        """
from openai import OpenAI
client = OpenAI()

def ask(msgs, **options):
    text = client.chat.completions.create(model="m", messages=msgs, **options).choices[0].message.content
    if text.startswith("{"):
        return text
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._filters: set[int] = set()  # ids of ``if <reply test>: continue`` that filter results

    def visit_For(self, node: cst.For) -> None:
        statements = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []
        for at, statement in enumerate(statements):
            if isinstance(statement, cst.If) and statement.orelse is None and _only_continues(statement.body):
                tested = {p.split(".", 1)[0] for p in paths_in(statement.test)}
                if any(_collects(later, tested) for later in statements[at + 1:]):
                    self._filters.add(id(statement))

    def visit_If(self, node: cst.If) -> None:
        if self._only_logs(node) or id(node) in self._filters:
            return
        self._check_test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._check_test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._check_test(node.test)

    def visit_Match(self, node: cst.Match) -> None:
        has_text_case = any(
            isinstance(case.pattern, cst.MatchValue) and literal_string(case.pattern.value)
            for case in node.cases
        )
        if has_text_case:
            origin = tracker(self.ctx).reply_text(node.subject)
            if origin is not None:
                self._report(node.subject, origin, f"`match {self.ctx.code_for(node.subject)}`")

    def _check_test(self, test: cst.BaseExpression) -> None:
        track = tracker(self.ctx)
        for probe, operand in probes(self.ctx, test):
            origin = track.reply_text(operand)
            if origin is not None:
                self._report(probe, origin, f"`{_short(self.ctx.code_for(probe))}`")
                if not origin.wrapper:
                    continue
            # A helper's result is also read as a wrapper's: the project pass keeps the reading
            # that holds (the helper reaches a model, or it scrapes the reply it was handed).
            for origin, entry in self._cut_by_helper(operand):
                self._report(probe, origin, f"`{_short(self.ctx.code_for(probe))}`", (f"{entry}|scrapes",))

    def _cut_by_helper(self, operand: cst.BaseExpression) -> list:
        """Pieces a project helper may have cut out of a reply (metagpt's ``next_state =
        extract_state_value_from_output(rsp)``): (the reply's origin, ``callee|place``) for each
        call the operand may hold; the project pass keeps the one whose helper scrapes a reply."""
        calls: list[cst.Call] = []
        if isinstance(operand, cst.Call):
            calls.append(operand)
        elif isinstance(operand, cst.Name) and self.ctx.function_stack:
            for kind, value in self.ctx.current_flow().bindings.get(operand.value, []):
                call = value.expression if isinstance(value, cst.Await) else value
                if kind == "value" and isinstance(call, cst.Call):
                    calls.append(call)
        return [handed for call in calls if (handed := handed_reply(self.ctx, call)) is not None]

    def _report(self, node: cst.CSTNode, origin: Origin, what: str, scraped_by: tuple[str, ...] = ()) -> None:
        callee = _short(self.ctx.code_for(origin.source.func), 60)
        direct = origin.source is origin.llm.node
        where = f" (`{render_path(origin.path).lstrip('.')}`)" if origin.path and direct else ""
        self.report(
            node,
            f"{what} branches on the free text{where} returned by `{callee}(...)`, which asked for "
            "neither tools nor structured output",
            requires_llm=origin.requires,
            requires_text=origin.requires if origin.wrapper else (),
            requires_scrape=scraped_by,
        )

    def _only_logs(self, node: cst.If) -> bool:
        """Does every branch of this if only log, print or pass?"""
        blocks = [node.body]
        orelse = node.orelse
        if isinstance(orelse, cst.Else):
            blocks.append(orelse.body)
        elif orelse is not None:
            return False
        for block in blocks:
            statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
            for statement in statements:
                if not isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                    return False
                for small in statement.body:
                    if isinstance(small, cst.Pass):
                        continue
                    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
                        return False
                    qualname = self.ctx.qualname(small.value.func) or ""
                    if qualname != "builtins.print" and qualname.split(".", 1)[0] not in _LOGGING_ROOTS:
                        return False
        return True


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _only_continues(block: cst.BaseSuite) -> bool:
    statements = list(block.body) if isinstance(block, cst.IndentedBlock) else [block]
    simple = [s for s in statements if isinstance(s, (cst.SimpleStatementLine, cst.SimpleStatementSuite))]
    if len(simple) != len(statements):
        return False
    smalls = [small for statement in simple for small in statement.body]
    return len(smalls) == 1 and isinstance(smalls[0], cst.Continue)


def _collects(statement: cst.CSTNode, names: set[str]) -> bool:
    """``results.append(name)`` (or ``add``) of one of ``names``, as a statement of its own."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        call = small.value if isinstance(small, cst.Expr) else None
        if (
            isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in ("append", "add") and len(call.args) == 1
            and isinstance(call.args[0].value, cst.Name) and call.args[0].value.value in names
        ):
            return True
    return False
