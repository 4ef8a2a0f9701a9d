from __future__ import annotations

from factorlint.checks.base import RuleMeta
from factorlint.checks.f09._sites import RetrySiteRule
from factorlint.engine.recognise import errors, retries


class RetryOnEverything(RetrySiteRule):
    """## What it does
    Finds retries of model calls that retry on every exception: a tenacity `@retry` or
    `Retrying(...)` with no `retry=` argument (tenacity then retries any `Exception`) or with
    `retry_if_exception_type(Exception)`, a backoff `on_exception(..., Exception)`, and
    hand-written retry loops whose `except Exception:` (or bare `except:`) goes round again.
    A retry only counts when the retried code reaches a model, directly or through your own
    wrapper functions.

    Off by default (select `TFA0902`): bounded retries are not a violation (docs/violations.md,
    factor 9): a retry on every exception with a stop condition is a weakness some teams choose.
    Select it to hold retries to the exceptions that can succeed on a second try.

    ## Why is this bad?
    Factor 9 (compact errors into the context window) separates transient failures, worth a
    retry, from errors the agent must see and handle. An authentication error, a
    `BadRequestError`, a context-length error or a validation error fails the same way on every
    attempt: retrying it burns time and quota, and hides the one error message that would let the
    loop (or a human) fix the problem.

    ## Example
    ```python
    @retry(stop=stop_after_attempt(5))
    def ask(messages):
        return client.messages.create(model=M, max_tokens=1024, messages=messages)
    ```

    ## Use instead
    ```python
    @retry(
        stop=stop_after_attempt(5),
        retry=retry_if_exception_type(
            (anthropic.RateLimitError, anthropic.APIConnectionError, anthropic.InternalServerError)
        ),
        reraise=True,
    )
    def ask(messages):
        return client.messages.create(model=M, max_tokens=1024, messages=messages)
    ```

    ## Fix safety
    No automatic fix: which errors are transient depends on the provider.

    ## Options
    None.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-09-compact-errors.md
    - https://tenacity.readthedocs.io/en/latest/#whether-to-retry
    """

    meta = RuleMeta(
        code="TFA0902",
        name="retry-on-everything",
        factor=9,
        severity="warning",
        confidence="high",
        summary="Retry of a model call retries every exception, not only transient ones",
        fix_advice=(
            "Retry only transient errors: `retry=retry_if_exception_type((RateLimitError, "
            "APIConnectionError, APITimeoutError))` (tenacity), those types as backoff's exception "
            "argument, or `except RateLimitError:` in a hand-written loop."
        ),
        status="preview",  # opt-in: see "Off by default" above
    )

    invalid = [
        """
import anthropic
from tenacity import retry, stop_after_attempt

client = anthropic.Anthropic()

@retry(stop=stop_after_attempt(5))  # expect: TFA0902 @1-35 | `@tenacity.retry` without `retry=` retries a model call on every exception, including errors that fail the same way each time (authentication, bad request, context length)
def ask(messages):
    return client.messages.create(model="m", max_tokens=1024, messages=messages)
""",
        """
import backoff
import tenacity as t
from openai import OpenAI

client = OpenAI()

@t.retry(stop=t.stop_after_attempt(3), retry=t.retry_if_exception_type(Exception))  # expect: TFA0902 @1-83 | `@tenacity.retry` with `retry=t.retry_if_exception_type(Exception)` retries a model call on every exception, including errors that fail the same way each time (authentication, bad request, context length)
def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)

@backoff.on_exception(backoff.expo, (ValueError, Exception), max_tries=3)  # expect: TFA0902 @1-74 | `@backoff.on_exception` on `(ValueError, Exception)` retries a model call on every exception, including errors that fail the same way each time (authentication, bad request, context length)
def ask_again(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)
""",
        """
import time
from openai import OpenAI

client = OpenAI()

def ask(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except Exception:  # expect: TFA0902 @9-11:37 | Hand-written retry loop: `except Exception:` retries the model call on every error, including ones that fail the same way each time
            time.sleep(2 ** attempt)
    raise RuntimeError("model unavailable")

def ask_quietly(messages):
    for attempt in range(3):
        try:
            reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        except:  # expect: TFA0902 @9-19:21 | Hand-written retry loop: `except:` retries the model call on every error, including ones that fail the same way each time
            continue
        break
""",
        {
            "llm.py": """
import litellm

def complete(messages):
    return litellm.completion(model="gpt-4o", messages=messages)
""",
            "agent.py": """
from tenacity import Retrying, stop_after_attempt
from llm import complete

def next_step(thread):
    for attempt in Retrying(stop=stop_after_attempt(3)):  # expect: TFA0902 @20-56 | `tenacity.Retrying(...)` without `retry=` retries a model call on every exception, including errors that fail the same way each time (authentication, bad request, context length)
        with attempt:
            return complete(thread)
""",
        },
    ]
    valid = [
        """
import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt

client = openai.OpenAI()

@retry(
    stop=stop_after_attempt(3),
    retry=retry_if_exception_type((openai.RateLimitError, openai.APIConnectionError)),
    reraise=True,
)
def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)
""",
        """
import backoff
from anthropic import Anthropic, APIConnectionError, RateLimitError

client = Anthropic()

@backoff.on_exception(backoff.expo, (RateLimitError, APIConnectionError), max_tries=5)
def ask(messages):
    return client.messages.create(model="m", max_tokens=1024, messages=messages)
""",
        """
import time
import openai

client = openai.OpenAI()

def ask(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except (openai.RateLimitError, openai.APITimeoutError):
            time.sleep(2 ** attempt)
    raise RuntimeError("model unavailable")
""",
    ]
    near_miss = [
        # Each pass works on the next stage: a failed stage is recorded, not tried again.
        """
from openai import OpenAI
client = OpenAI()

def pipeline(stages, prompt):
    results = []
    for stage in stages:
        try:
            reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": stage(prompt)}])
        except Exception as exc:
            reply = str(exc)
        results.append(reply)
    return results
""",
        # The handler sorts errors: one it knows is retried differently, the others propagate.
        """
from openai import OpenAI
client = OpenAI()

def ask(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="m", messages=messages)
        except Exception as exc:
            if "context_length" not in str(exc):
                raise
            messages = messages[-4:]
""",
        # The handler recovers and the iteration goes on with the rest of its work.
        """
from openai import OpenAI
client = OpenAI()

def stream(messages):
    for attempt in range(2):
        try:
            chunks = client.chat.completions.create(model="m", messages=messages, stream=True)
        except Exception:
            chunks = client.chat.completions.create(model="m", messages=messages[-2:], stream=True)
        text = "".join(str(c) for c in chunks)
        if text:
            return text
""",
        # The retried function reads a database, not a model.
        """
import openai
from tenacity import retry, stop_after_attempt

@retry(stop=stop_after_attempt(3))
def load(conn, thread_id):
    return conn.execute("select body from threads where id = ?", (thread_id,)).fetchone()
""",
        # A batch loop that skips failed documents is not a retry: nothing is tried again.
        """
from openai import OpenAI

client = OpenAI()

def summarise(docs):
    out = []
    for doc in docs:
        try:
            out.append(client.responses.create(model="gpt-4o", input=doc))
        except Exception:
            continue
    return out
""",
        # `except Exception:` that re-raises ends the loop; a project function without a model call.
        {
            "cache.py": """
def read(key):
    return {"key": key}
""",
            "agent.py": """
import tenacity
from openai import OpenAI
from cache import read

client = OpenAI()

def ask(messages):
    while True:
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except Exception as exc:
            raise RuntimeError("model call failed") from exc

@tenacity.retry(stop=tenacity.stop_after_attempt(3))
def cached(key):
    return read(key)
""",
        },
    ]

    def _check_site(self, site: retries.RetrySite) -> None:
        reason = retries.catches_everything(self.ctx, site)
        if reason is None:
            return
        self.report(
            site.node,
            f"{site.label} {reason} retries a model call on every exception, including errors "
            "that fail the same way each time (authentication, bad request, context length)",
            requires_llm=site.requires,
        )

    def _check_loop(self, node) -> None:
        found = retries.retry_loop(self.ctx, node)
        if found is None:
            return
        for handler in found.handlers:
            if not errors.catches_everything(self.ctx, handler) or errors.leaves_on_some_path(handler.body):
                continue
            caught = errors.caught_label(self.ctx, handler)
            self.report(
                handler,
                f"Hand-written retry loop: {caught} retries the model call on every error, "
                "including ones that fail the same way each time",
                requires_llm=found.requires,
                fix_message=(
                    "Catch only transient errors here (`except (RateLimitError, APIConnectionError):`) "
                    "and let the others propagate to the agent loop."
                ),
            )
