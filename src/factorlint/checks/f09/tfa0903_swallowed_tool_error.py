from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, Rule, RuleMeta
from factorlint.engine.agents.loops import LoopInfo
from factorlint.engine.parse.walk import find_all
from factorlint.engine.recognise import errors, retries
from factorlint.engine.recognise.tools import tool_definitions

_CLEANUP = frozenset(
    {"close", "aclose", "cleanup", "shutdown", "release", "disconnect", "terminate", "kill",
     "unlink", "cancel", "flush", "stop", "join"}
)

class SwallowedToolError(Rule):
    """## What it does
    Finds `except` handlers inside an agent loop that drop the error: the handler only passes,
    continues, sleeps or logs (`logger.*`, `logging.*`, `print`). It neither records the error in
    the history the loop sends to the model, nor re-raises, nor leaves the loop.

    ## Why is this bad?
    Factor 9 (compact errors into the context window) says a failed tool call should become a
    short event in the thread, so the model can see what went wrong and correct itself, with a
    counter that escalates after a few consecutive failures. A swallowed error leaves the model
    blind: it asks for the same failing call again, or carries on as if it had succeeded, and the
    only trace is a log line nobody reads during the run.

    ## Example
    ```python
    while True:
        step = determine_next_step(thread)
        try:
            thread.append(execute(step))
        except Exception:
            logger.exception("tool failed")
            continue
    ```

    ## Use instead
    ```python
    while True:
        step = determine_next_step(thread)
        try:
            thread.append(execute(step))
            consecutive_errors = 0
        except ToolError as e:
            consecutive_errors += 1
            thread.append({"type": "error", "data": format_error(e, max_chars=800)})
            if consecutive_errors >= 3:
                return escalate(thread, reason="3 consecutive tool errors")
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`), in a tool: a handler that names what it catches gets `as
    error` and returns `f"Error: {type(error).__name__}: {error}"` instead of its body, so the
    model reads what went wrong. A bare `except:` and a handler in the agent loop are left to
    you: what to record and when to escalate is for the agent's author.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-09-compact-errors.md
    """

    meta = RuleMeta(
        code="TFA0903",
        name="swallowed-tool-error",
        factor=9,
        severity="warning",
        confidence="medium",
        summary="An error in the agent loop or a tool is dropped: the model never sees it",
        fix_advice=(
            "Append a compact error event to the loop's history (the list the model reads), count "
            "consecutive failures, and escalate or re-raise past a small limit."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
import logging
from langchain_core.tools import tool

logger = logging.getLogger(__name__)

@tool
def calculator(expression: str) -> str:
    \"\"\"Evaluate an arithmetic expression.\"\"\"
    try:
        return str(safe_eval(expression))
    except Exception:
        # the model does not need to know
        return "error"

@tool
def read_note(path: str) -> str:
    \"\"\"Read a note.\"\"\"
    try:
        return open(path).read()
    except Exception as exc:
        logger.warning("read_note failed")
        return ""
""",
            """
import logging
from langchain_core.tools import tool

logger = logging.getLogger(__name__)

@tool
def calculator(expression: str) -> str:
    \"\"\"Evaluate an arithmetic expression.\"\"\"
    try:
        return str(safe_eval(expression))
    except Exception as error:
        # the model does not need to know
        return f"Error: {type(error).__name__}: {error}"

@tool
def read_note(path: str) -> str:
    \"\"\"Read a note.\"\"\"
    try:
        return open(path).read()
    except Exception as exc:
        return f"Error: {type(exc).__name__}: {exc}"
""",
        ),
    ]

    invalid = [
        """
import logging
from openai import OpenAI

client = OpenAI()
logger = logging.getLogger(__name__)
TOOLS = {}

def run(messages, tools):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
        messages.append(reply.choices[0].message)
        for call in reply.choices[0].message.tool_calls or []:
            try:
                result = TOOLS[call.function.name](call.function.arguments)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            except Exception:  # expect: TFA0903 @13-18:25 | `except Exception:` in the agent loop only logs and continues: the error never reaches the model, so it cannot correct the call
                logger.exception("tool failed")
                continue
""",
        """
import anthropic

class Bot:
    def __init__(self, tools):
        self.client = anthropic.Anthropic()
        self.history = []
        self.tools = tools

    def loop(self):
        while True:
            msg = self.client.messages.create(model="m", max_tokens=512, messages=self.history)
            self.history.append({"role": "assistant", "content": msg.content})
            if msg.stop_reason == "end_turn":
                return msg
            try:
                self.history.append({"role": "user", "content": self.tools.run(msg)})
            except:  # expect: TFA0903 @13-18:36 | `except:` in the agent loop only logs: the error never reaches the model, so it cannot correct the call
                print("tool error")
""",
        # The loop calls a wrapper from another file; the handler is a one-liner.
        {
            "llm.py": """
import litellm

def determine_next_step(thread):
    return litellm.completion(model="gpt-4o", messages=thread)
""",
            "agent.py": """
import time
from llm import determine_next_step
from tools import execute

def handle(thread):
    while len(thread) < 40:
        step = determine_next_step(thread)
        thread.append(step)
        try:
            thread.append(execute(step))
        except ValueError: pass  # expect: TFA0903 @9-32 | `except ValueError:` in the agent loop only passes: the error never reaches the model, so it cannot correct the call
        except TimeoutError:  # expect: TFA0903 @9-13:26 | `except TimeoutError:` in the agent loop only sleeps: the error never reaches the model, so it cannot correct the call
            time.sleep(1)
""",
            "tools.py": """
def execute(step):
    return {"role": "tool", "content": str(step)}
""",
        },
        # Inside a tool's body: the model gets "error" and nothing it can act on.
        """
from langchain_core.tools import tool

@tool
def calculator(expression: str) -> str:
    \"\"\"Evaluate an arithmetic expression.\"\"\"
    try:
        return str(safe_eval(expression))
    except Exception:  # expect: TFA0903 @5-9:23 | `except Exception:` in tool `calculator` returns "error": the model sees no error, only an answer, so it cannot correct the call
        return "error"
""",
        """
from agents import function_tool

@function_tool
def read_note(path: str) -> str:
    \"\"\"Read a note.\"\"\"
    try:
        return open(path).read()
    except:  # expect: TFA0903 @5-9:13 | `except:` in tool `read_note` passes: the model sees no error, only an answer, so it cannot correct the call
        pass
""",
    ]
    valid = [
        # The error goes back into the messages the model reads.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, execute):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        try:
            messages.append({"role": "user", "content": execute(reply)})
        except Exception as exc:
            messages.append({"role": "user", "content": f"error: {type(exc).__name__}: {exc}"[:800]})
""",
        # Re-raising, or leaving the loop, hands the error to someone who can act on it.
        """
import logging
from openai import OpenAI

client = OpenAI()

def run(messages, execute):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        try:
            messages.append(execute(reply))
        except PermissionError:
            logging.exception("tool refused")
            raise
        except TimeoutError:
            return escalate(messages, "tool timed out")
""",
        # factor-09's pattern: record the error, count failures, escalate past a limit.
        """
from openai import OpenAI

client = OpenAI()

def run(thread, execute):
    consecutive_errors = 0
    while True:
        step = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(step)
        try:
            thread.append(execute(step))
            consecutive_errors = 0
        except Exception as e:
            consecutive_errors += 1
            thread.append({"role": "user", "content": str(e)[:800]})
            if consecutive_errors >= 3:
                break
""",
        # A tool that tells the model what failed.
        """
from langchain_core.tools import tool

@tool
def calculator(expression: str) -> str:
    \"\"\"Evaluate an arithmetic expression.\"\"\"
    try:
        return str(safe_eval(expression))
    except Exception as exc:
        return f"Could not evaluate {expression!r}: {type(exc).__name__}: {exc}"
""",
    ]
    near_miss = [
        # Closing the abandoned stream: its error has nothing to tell the model.
        """
import logging
from openai import OpenAI

client = OpenAI()

def run(messages, tools):
    for _ in range(10):
        stream = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools, stream=True)
        messages.append(collect(stream))
        try:
            stream.close()
        except Exception:
            logging.debug("could not close the stream")
""",
        # A batch loop is not an agent loop: nothing is fed back to the model.
        """
import logging
from openai import OpenAI

client = OpenAI()

def summarise(docs, store):
    for doc in docs:
        try:
            store.save(client.responses.create(model="gpt-4o", input=doc))
        except Exception:
            logging.warning("skipped %s", doc)
""",
        # A local parse with a default (standard library only), and a control-flow exception.
        """
from openai import OpenAI

client = OpenAI()

def run(messages, ticker):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
        try:
            budget = int(reply.choices[0].message.content)
        except ValueError:
            pass
        try:
            next(ticker)
        except StopIteration:
            pass
""",
        # The handler records the error through a helper (one call deep).
        """
from openai import OpenAI

client = OpenAI()

def record_error(thread, exc):
    thread.append({"role": "user", "content": f"error: {exc}"})

def run(thread, execute):
    for _ in range(10):
        step = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(step)
        try:
            thread.append(execute(step))
        except Exception as exc:
            record_error(thread, exc)
            continue
""",
        # A narrow exception with a meaningful answer, and a sentence that says what went wrong.
        """
from langchain_core.tools import tool

ORDERS = {}

@tool
def order_status(order_id: str) -> str:
    \"\"\"Look up an order's status.\"\"\"
    try:
        return ORDERS[order_id]["status"]
    except KeyError:
        return ""

@tool
def refund(order_id: str) -> str:
    \"\"\"Refund an order.\"\"\"
    try:
        return issue_refund(order_id)
    except Exception:
        return "The refund service is unavailable; ask the customer to try again later."
""",
    ]

    def __init__(self, ctx, sink) -> None:
        super().__init__(ctx, sink)
        self._loop_depth: list[int] = [0]  # ctx.loop_stack length where each function starts
        self._reported: set[int] = set()  # handlers reported inside an agent loop

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.append(len(self.ctx.loop_stack))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loop_depth.pop()

    def visit_Try(self, node: cst.Try) -> None:
        self._check(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._check(node)

    def _check(self, node) -> None:
        info = self._agent_loop()
        if info is None or not self._runs_tool_or_model(node):
            return
        for handler in node.handlers:
            actions = errors.drops_error(self.ctx, handler)
            if actions is None:
                continue
            self._reported.add(id(handler))
            feedback = errors.feedback_path(info)
            history = f"`{feedback}`" if feedback else "the history the model reads"
            self.report(
                handler,
                f"{errors.caught_label(self.ctx, handler)} in the agent loop only {actions}: the "
                "error never reaches the model, so it cannot correct the call",
                requires_llm=info.requires,
                unless_human=info.may_ask,
                fix_message=(
                    f"Append a short error event to {history} (type, truncated message, a hint), "
                    "count consecutive failures, and escalate or re-raise after about 3."
                ),
            )

    def leave_Module(self, node: cst.Module) -> None:
        for tool in tool_definitions(self.ctx):
            function = tool.function
            if function is None:
                continue
            for attempt in find_all(function.body, (cst.Try, cst.TryStar), into_scopes=False):
                for handler in attempt.handlers:
                    actions = errors.hides_error(self.ctx, handler)
                    if actions is None or id(handler) in self._reported:
                        continue
                    self.report(
                        handler,
                        f"{errors.caught_label(self.ctx, handler)} in tool `{tool.name}` {actions}: the "
                        "model sees no error, only an answer, so it cannot correct the call",
                        fix_message=(
                            "Let the error reach the model: return or raise a short message with the "
                            "error's type and text (truncated), or let the framework's tool-error "
                            "handling report it."
                        ),
                        fix=_return_error(self.ctx, handler, function),
                    )

    def _agent_loop(self) -> LoopInfo | None:
        """The innermost enclosing agent loop of the current function."""
        for loop in reversed(self.ctx.loop_stack[self._loop_depth[-1]:]):
            info = self.ctx.loops.analyse(loop)
            if info.llm_calls and not info.human_gated:  # a chat REPL's try is about the console
                return info
        return None

    def _runs_tool_or_model(self, node) -> bool:
        """Does the try run more than standard-library code (a tool, a model, a dispatch)?"""
        for call in retries.calls_in(node.body):
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in _CLEANUP:
                continue  # closing a stream or a session: its error has nothing to tell the model
            if self.ctx.recognise.llm_call(call) is not None:
                return True
            qualname = self.ctx.qualname(call.func)
            if qualname is None or self.ctx.knowledge.is_framework_module(qualname):
                return True
        return False


def _return_error(ctx, handler: cst.ExceptHandler, function: cst.FunctionDef) -> CodeFix | None:
    """A tool's handler that hides the error returns it to the model instead: ``except
    ValueError as error: return f"Error: {type(error).__name__}: {error}"``. Only a handler
    that names what it catches and whose body is a block of its own; unsafe: the tool now
    answers with the error."""
    if handler.type is None or not isinstance(handler.body, cst.IndentedBlock) or not handler.body.body:
        return None
    edits = []
    if handler.name is None:
        name = "error"
        if name in ctx.flow(function).bindings:
            return None
        edits.append(RawEdit(handler.type, f"{ctx.code_for(handler.type)} as {name}"))
    elif isinstance(handler.name.name, cst.Name):
        name = handler.name.name.value
    else:
        return None
    statements = handler.body.body
    edits.append(RawEdit(statements[0], f'return f"Error: {{type({name}).__name__}}: {{{name}}}"',
                         until=statements[-1]))
    return CodeFix(tuple(edits), unsafe=True)
