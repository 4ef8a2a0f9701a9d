from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, RuleMeta
from factorlint.checks.edits import add_keyword
from factorlint.checks.f09._sites import RetrySiteRule
from factorlint.engine.recognise import retries
from factorlint.engine.recognise.recognisers import keyword_arg

# How many attempts the fix allows: three, as the advice says (a retry is for a transient error).
ATTEMPTS = 3


class UnboundedRetry(RetrySiteRule):
    """## What it does
    Finds retries of model calls that never give up: a tenacity `@retry` (or `Retrying(...)`)
    without `stop=` or with `stop=stop_never`, a backoff decorator with neither `max_tries=` nor
    `max_time=`, a hand-written `while True:` loop that catches the error and tries again with no
    attempt counter or time budget, and SDK clients built with a huge or infinite `max_retries=`.
    A retry only counts when the retried code reaches a model, directly or through your own
    wrapper functions.

    ## Why is this bad?
    Factor 9 (compact errors into the context window) asks the agent to count failures and, after
    a few, stop, reshape the context or escalate to a human. tenacity retries forever by default
    (`stop=stop_never`) and so does backoff without a limit: an expired key, a bad request or a
    context-length error then hangs the agent and burns quota instead of surfacing as an error
    the loop can record.

    ## Example
    ```python
    @retry(wait=wait_exponential(min=1, max=30))
    def next_step(thread):
        return client.chat.completions.parse(model=M, messages=render(thread), response_format=NextStep)
    ```

    ## Use instead
    ```python
    @retry(stop=stop_after_attempt(3) | stop_after_delay(60),
           wait=wait_random_exponential(min=1, max=20),
           retry=retry_if_exception_type((openai.RateLimitError, openai.APIConnectionError)),
           reraise=True)
    def next_step(thread):
        ...
    ```

    ## Fix safety
    Unsafe (`--fix --unsafe-fixes`): tenacity gets `stop=stop_after_attempt(3)` (the import is
    added, or `tenacity.stop_after_attempt` where the module calls tenacity by its name), backoff
    gets `max_tries=3`, and `stop=stop_never` / `max_tries=None` are replaced. It turns "hang
    forever" into an exception the caller must handle. Hand-written loops and SDK clients are
    not fixed automatically.

    ## Options
    - `max-retries-threshold`: the largest SDK `max_retries=`/`num_retries=` accepted (default 10).
    - `bounded-by`, `budget-name-pattern`: what bounds a hand-written loop (as for TFA0802).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-09-compact-errors.md
    - https://tenacity.readthedocs.io/en/latest/#stopping
    - OWASP LLM10: Unbounded Consumption
    """

    meta = RuleMeta(
        code="TFA0901",
        name="unbounded-retry",
        factor=9,
        severity="error",
        confidence="high",
        summary="Retry of a model call has no attempt or time limit",
        fix_advice=(
            "Bound the retry: `stop=stop_after_attempt(3)` (tenacity), `max_tries=3` (backoff), an "
            "attempt counter in a hand-written loop, and re-raise so the agent loop can record the error."
        ),
        fix="sometimes",
    )

    fixes = [
        (
            """
from openai import OpenAI
from tenacity import retry, wait_exponential

client = OpenAI()

@retry(wait=wait_exponential(min=1, max=30))
def next_step(thread):
    return client.chat.completions.create(model="m", messages=thread)

@retry
def again(thread):
    return client.chat.completions.create(model="m", messages=thread)
""",
            """
from openai import OpenAI
from tenacity import retry, wait_exponential
from tenacity import stop_after_attempt

client = OpenAI()

@retry(wait=wait_exponential(min=1, max=30), stop=stop_after_attempt(3))
def next_step(thread):
    return client.chat.completions.create(model="m", messages=thread)

@retry(stop=stop_after_attempt(3))
def again(thread):
    return client.chat.completions.create(model="m", messages=thread)
""",
        ),
        (
            """
import backoff
import litellm
import tenacity

@tenacity.retry(stop=tenacity.stop_never, reraise=True)
def ask(messages):
    return litellm.completion(model="m", messages=messages)

@backoff.on_exception(backoff.expo, litellm.RateLimitError)
def ask_again(messages):
    return litellm.completion(model="m", messages=messages)

def ask_inline(messages):
    for attempt in tenacity.Retrying(
        wait=tenacity.wait_fixed(2),
    ):
        with attempt:
            return litellm.completion(model="m", messages=messages)
""",
            """
import backoff
import litellm
import tenacity

@tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)
def ask(messages):
    return litellm.completion(model="m", messages=messages)

@backoff.on_exception(backoff.expo, litellm.RateLimitError, max_tries=3)
def ask_again(messages):
    return litellm.completion(model="m", messages=messages)

def ask_inline(messages):
    for attempt in tenacity.Retrying(
        wait=tenacity.wait_fixed(2), stop=tenacity.stop_after_attempt(3),
    ):
        with attempt:
            return litellm.completion(model="m", messages=messages)
""",
        ),
    ]

    invalid = [
        """
from openai import OpenAI
from tenacity import retry, wait_exponential

client = OpenAI()

@retry(wait=wait_exponential(min=1, max=30))  # expect: TFA0901 @1-45 | `@tenacity.retry` without `stop=` retries a failing model call forever
def next_step(thread):
    return client.chat.completions.create(model="gpt-4o", messages=thread)
""",
        # An alias still resolves to tenacity.retry; bare, it retries forever.
        """
import anthropic
from tenacity import retry as r

class Bot:
    def __init__(self):
        self.client = anthropic.Anthropic()

    @r  # expect: TFA0901 @5-7 | `@tenacity.retry` without `stop=` retries a failing model call forever
    def ask(self, prompt):
        return self.client.messages.create(model="m", max_tokens=100, messages=prompt)
""",
        """
import backoff
import litellm
import tenacity

@tenacity.retry(stop=tenacity.stop_never)  # expect: TFA0901 @1-42 | `@tenacity.retry` with `stop=tenacity.stop_never` retries a failing model call forever
def complete(messages):
    return litellm.completion(model="gpt-4o", messages=messages)

@backoff.on_exception(backoff.expo, litellm.RateLimitError, max_tries=None)  # expect: TFA0901 @1-76 | `@backoff.on_exception` without `max_tries=` or `max_time=` retries a failing model call forever
def complete_again(messages):
    return litellm.completion(model="gpt-4o", messages=messages)

def complete_inline(messages):
    for attempt in tenacity.Retrying(wait=tenacity.wait_fixed(2)):  # expect: TFA0901 @20-66 | `tenacity.Retrying(...)` without `stop=` retries a failing model call forever
        with attempt:
            return litellm.completion(model="gpt-4o", messages=messages)

def complete_later(messages):
    retryer = tenacity.Retrying(reraise=True)  # expect: TFA0901 @15-46 | `tenacity.Retrying(...)` without `stop=` retries a failing model call forever
    return retryer(litellm.completion, model="gpt-4o", messages=messages)
""",
        """
import time
from openai import OpenAI

client = OpenAI()

def ask(messages):
    while True:  # expect: TFA0901 @5-11:26 | Hand-written `while` retry loop around a model call has no attempt counter or time budget: a persistent error is retried forever
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except Exception:
            time.sleep(2)
""",
        """
import sys
from anthropic import Anthropic
from langchain_openai import ChatOpenAI
from openai import OpenAI

client = OpenAI(max_retries=100)  # expect: TFA0901 @17-32 | `openai.OpenAI(...)` with `max_retries=100` retries each model call 100 times (max-retries-threshold is 10)
claude = Anthropic(max_retries=sys.maxsize)  # expect: TFA0901 @20-43 | `anthropic.Anthropic(...)` with `max_retries=sys.maxsize` retries a failing model call forever
llm = ChatOpenAI(model="gpt-4o", max_retries=float("inf"))  # expect: TFA0901 @34-58 | `langchain_openai.ChatOpenAI(...)` with `max_retries=float("inf")` retries a failing model call forever
""",
        # The decorated function reaches the model through a wrapper in another file.
        {
            "llm.py": """
from openai import OpenAI

client = OpenAI()

def complete(prompt):
    return client.responses.create(model="gpt-4o", input=prompt)
""",
            "agent.py": """
from tenacity import retry, wait_random_exponential
from llm import complete

@retry(wait=wait_random_exponential(max=20))  # expect: TFA0901 @1-45 | `@tenacity.retry` without `stop=` retries a failing model call forever
def next_step(thread):
    return complete(str(thread))
""",
        },
    ]
    valid = [
        """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

client = openai.OpenAI(max_retries=0)

@retry(
    stop=stop_after_attempt(3),
    wait=wait_random_exponential(min=1, max=20),
    retry=retry_if_exception_type((openai.RateLimitError, openai.APIConnectionError)),
    reraise=True,
)
def next_step(thread):
    return client.chat.completions.create(model="gpt-4o", messages=thread)
""",
        """
import backoff
import litellm

@backoff.on_exception(backoff.expo, litellm.RateLimitError, max_tries=3)
def complete(messages):
    return litellm.completion(model="gpt-4o", messages=messages)

@backoff.on_predicate(backoff.fibo, max_time=60)
def complete_until_non_empty(messages):
    return litellm.completion(model="gpt-4o", messages=messages)
""",
        # A hand-written retry loop with an attempt counter.
        """
import time
import openai

client = openai.OpenAI()

def ask(messages):
    attempts = 0
    while True:
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except openai.RateLimitError:
            attempts += 1
            if attempts >= 3:
                raise
            time.sleep(2 ** attempts)
""",
        """
from openai import AsyncOpenAI
from tenacity import AsyncRetrying, stop_after_delay

client = AsyncOpenAI(max_retries=5)

async def ask(messages):
    async for attempt in AsyncRetrying(stop=stop_after_delay(60)):
        with attempt:
            return await client.chat.completions.create(model="gpt-4o", messages=messages)
""",
    ]
    near_miss = [
        # A websocket receive loop: each pass handles a new message, it retries nothing.
        """
from openai import AsyncOpenAI
client = AsyncOpenAI()

async def receive(websocket):
    while True:
        try:
            data = await websocket.receive_text()
            reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": data}])
            await websocket.send_text(reply.choices[0].message.content)
            if data == "bye":
                return
        except Exception as error:
            await websocket.send_text(str(error))
""",
        # Exponential backoff until a time budget: the flag it clears ends the loop (aider).
        """
import time
import litellm

RETRY_TIMEOUT = 60

def send(messages):
    delay = 0.125
    while True:
        try:
            return litellm.completion(model="m", messages=messages)
        except litellm.RateLimitError:
            should_retry = True
            delay *= 2
            if delay > RETRY_TIMEOUT:
                should_retry = False
            if not should_retry:
                return None
            time.sleep(delay)
""",
        # Retrying a database read: no model call is retried. A queue's own max_retries.
        """
import openai
from myqueue import Worker
from tenacity import retry

client = openai.OpenAI(max_retries=10)
worker = Worker(max_retries=1000)  # not a model client

@retry
def load_thread(conn, thread_id):
    return conn.execute("select body from threads where id = ?", (thread_id,)).fetchone()
""",
        # The retried project function turns out not to reach any model.
        {
            "db.py": """
def fetch_user(user_id):
    return {"id": user_id}
""",
            "service.py": """
import openai
from db import fetch_user
from tenacity import retry, wait_fixed

@retry(wait=wait_fixed(1))
def load(user_id):
    return fetch_user(user_id)
""",
        },
        # A project decorator that happens to be called `retry`, and a polling loop over HTTP.
        """
import time
import requests
from openai import OpenAI

client = OpenAI()

def retry(fn):
    return fn

@retry
def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)

def wait_for_job(url):
    while True:
        try:
            return requests.get(url, timeout=5).json()
        except requests.RequestException:
            time.sleep(5)
""",
    ]

    # -- tenacity / backoff -------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        self._check_sdk_retries(node)

    def _check_site(self, site: retries.RetrySite) -> None:
        reason = retries.unbounded_reason(self.ctx, site)
        if reason is None:
            return
        if site.spec.name == "tenacity":
            advice = "Add `stop=stop_after_attempt(3)` (or `| stop_after_delay(60)`) and `reraise=True`."
        else:
            advice = f"Add `{site.spec.stop_keywords[0]}=3` to bound the retries."
        self.report(
            site.node,
            f"{site.label} {reason} retries a failing model call forever",
            requires_llm=site.requires,
            fix_message=advice,
            fix=self._bound(site),
        )

    def _bound(self, site: retries.RetrySite) -> CodeFix | None:
        """The retry bounded at ``ATTEMPTS``: tenacity's ``stop=stop_after_attempt(3)`` (written
        ``tenacity.stop_after_attempt`` where the module calls tenacity through its name),
        backoff's ``max_tries=3``; a ``stop=stop_never`` or ``max_tries=None`` replaced."""
        call = site.call
        target = site.node.decorator if isinstance(site.node, cst.Decorator) else site.node
        if site.spec.name == "tenacity":
            dotted = self.ctx.code_for(call.func if call is not None else target).startswith("tenacity.")
            value = f"{'tenacity.' if dotted else ''}stop_after_attempt({ATTEMPTS})"
            imports = () if dotted else (("tenacity", "stop_after_attempt"),)
            keyword = "stop"
        else:
            value, imports, keyword = str(ATTEMPTS), (), site.spec.stop_keywords[0]
        if call is None:  # a bare ``@retry``
            edit = RawEdit(target, f"{self.ctx.code_for(target)}({keyword}={value})")
        else:
            given = keyword_arg(call, keyword)
            edit = RawEdit(given.value, value) if given is not None else add_keyword(self.ctx, call, keyword, value)
        return CodeFix((edit,), imports, unsafe=True)

    # -- hand-written loops -------------------------------------------------------------------

    def _check_loop(self, node) -> None:
        found = retries.retry_loop(self.ctx, node)
        if found is None or found.bounded:
            return
        kind = "while" if isinstance(node, cst.While) else "for"
        self.report(
            node,
            f"Hand-written `{kind}` retry loop around a model call has no attempt counter or time "
            "budget: a persistent error is retried forever",
            requires_llm=found.requires,
            fix_message=(
                "Count attempts and re-raise past a small limit (`for attempt in range(3):` with "
                "`else: raise`), or use tenacity with `stop=stop_after_attempt(3)`."
            ),
        )

    # -- SDK clients --------------------------------------------------------------------------

    def _check_sdk_retries(self, call: cst.Call) -> None:
        found = retries.sdk_retries(self.ctx, call)
        threshold = self.settings.max_retries_threshold
        if found is None or found.count <= threshold:
            return
        setting = f"`{found.keyword}={self.ctx.code_for(found.arg.value)}`"
        if found.count == float("inf") or found.count >= 2**31:
            message = f"`{found.qualname}(...)` with {setting} retries a failing model call forever"
        else:
            message = (
                f"`{found.qualname}(...)` with {setting} retries each model call {int(found.count)} "
                f"times (max-retries-threshold is {threshold})"
            )
        self.report(
            found.arg,
            message,
            fix_message=(
                f"Use a small `{found.keyword}=` (2-3, at most {threshold}) and let the agent loop "
                "record the failure instead of retrying forever."
            ),
        )
