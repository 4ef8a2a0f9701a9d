from __future__ import annotations

import libcst as cst

from factorlint.checks.base import CodeFix, RawEdit, RuleMeta
from factorlint.checks.edits import add_keyword, replace_whole
from factorlint.checks.f09._sites import RetrySiteRule
from factorlint.engine.parse.walk import find_all
from factorlint.engine.recognise import errors, retries
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg


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
    Unsafe: the fix narrows the retry to the errors a second attempt can cure, as the knowledge
    tables list them for the client the retried code calls (OpenAI, Anthropic, Groq: rate limit,
    connection, timeout and server errors; LiteLLM: its mapped equivalents). tenacity gets
    `retry=retry_if_exception_type((...))` (or its `Exception` replaced), backoff's exception
    argument and a hand-written `except Exception:` get the tuple; other types already listed
    (`ValueError`) are kept. Every other error then propagates at once instead of being retried,
    which is the point, but changes behaviour. No fix when the retried code reaches a model
    through your own wrapper, calls a client whose transient errors are not listed, or uses
    another tenacity predicate, a bare `except:`, or a handler that tells the errors apart itself
    (`isinstance(error, AuthenticationError)`: narrowing would make that branch dead).

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
        fix="sometimes",
    )

    fixes = [
        (
            """
import anthropic
from tenacity import retry, stop_after_attempt

client = anthropic.Anthropic()


@retry(stop=stop_after_attempt(5))
def ask(messages):
    return client.messages.create(model="m", max_tokens=1024, messages=messages)
""",
            """
import anthropic
from tenacity import retry, stop_after_attempt
from tenacity import retry_if_exception_type

client = anthropic.Anthropic()


@retry(stop=stop_after_attempt(5), retry=retry_if_exception_type((anthropic.RateLimitError, anthropic.APIConnectionError, anthropic.APITimeoutError, anthropic.InternalServerError)))
def ask(messages):
    return client.messages.create(model="m", max_tokens=1024, messages=messages)
""",
        ),
        (
            """
import backoff
import tenacity as t
from openai import OpenAI

client = OpenAI()


@t.retry(stop=t.stop_after_attempt(3), retry=t.retry_if_exception_type(Exception))
def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)


@backoff.on_exception(backoff.expo, (ValueError, Exception), max_tries=3)
def ask_again(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)


def ask_by_hand(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except Exception as error:
            print(error)
    raise RuntimeError("model unavailable")
""",
            """
import backoff
import tenacity as t
from openai import OpenAI
import openai

client = OpenAI()


@t.retry(stop=t.stop_after_attempt(3), retry=t.retry_if_exception_type((openai.RateLimitError, openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError)))
def ask(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)


@backoff.on_exception(backoff.expo, (openai.RateLimitError, openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError, ValueError), max_tries=3)
def ask_again(messages):
    return client.chat.completions.create(model="gpt-4o", messages=messages)


def ask_by_hand(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except (openai.RateLimitError, openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as error:
            print(error)
    raise RuntimeError("model unavailable")
""",
        ),
    ]

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
            fix=self._narrowed_site(site),
        )

    def _check_loop(self, node) -> None:
        found = retries.retry_loop(self.ctx, node)
        if found is None:
            return
        transient = retries.transient_errors(self.ctx, found.try_node.body)
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
                fix=self._narrowed(handler.type, transient) if handler.type and _narrowable(handler) and transient else None,
            )

    # -- the fix: the provider's transient errors instead of every exception ------------------

    def _narrowed_site(self, site: retries.RetrySite) -> CodeFix | None:
        """tenacity's ``retry=retry_if_exception_type((...))`` added (or its ``Exception``
        replaced), backoff's exception argument replaced, by the transient errors the knowledge
        tables list for the clients the retried code calls."""
        transient = retries.transient_errors(self.ctx, site.retried)
        if transient is None:
            return None
        call, spec = site.call, site.spec
        if spec.name == "tenacity":
            return self._tenacity(site, transient)
        if call is None or spec.exception_positional is None:
            return None
        given = keyword_arg(call, spec.exception_keyword) if spec.exception_keyword else None
        given = given or positional_arg(call, spec.exception_positional)
        return self._narrowed(given.value, transient) if given is not None else None

    def _tenacity(self, site: retries.RetrySite, transient: tuple[str, ...]) -> CodeFix | None:
        call = site.call
        target = site.node.decorator if isinstance(site.node, cst.Decorator) else site.node
        written = self.ctx.code_for(call.func if call is not None else target)
        module = written.rsplit(".", 1)[0] + "." if "." in written else ""
        given = keyword_arg(call, "retry") if call is not None else None
        if given is not None:
            value = given.value
            if not (isinstance(value, cst.Call) and (self.ctx.qualname(value.func) or "").endswith(
                    ".retry_if_exception_type")):
                return None  # another predicate: the person decides what it should retry
            listed = [a for a in value.args if not a.star and not a.keyword]
            if listed:
                return self._narrowed(listed[0].value, transient)
            # ``retry_if_exception_type()``: its default is ``Exception``.
            content = f"{self.ctx.code_for(value.func)}({self._types(None, transient)})"
            return CodeFix((RawEdit(value, content),), _imports(transient), unsafe=True)
        imports = _imports(transient)
        if not module:
            imports = (("tenacity", "retry_if_exception_type"), *imports)
        predicate = f"{module}retry_if_exception_type({_tuple(transient)})"
        if call is None:  # a bare ``@retry``
            edit = RawEdit(target, f"{written}(retry={predicate})")
        else:
            edit = add_keyword(self.ctx, call, "retry", predicate)
        return CodeFix((edit,), imports, unsafe=True)

    def _narrowed(self, types: cst.BaseExpression, transient: tuple[str, ...]) -> CodeFix:
        """``types`` (an exception type, or a tuple of them) replaced by the transient errors and
        the types it names that do not stand for every exception (``ValueError`` is kept)."""
        return CodeFix((replace_whole(types, self._types(types, transient)),), _imports(transient), unsafe=True)

    def _types(self, types: cst.BaseExpression | None, transient: tuple[str, ...]) -> str:
        kept: list[str] = []
        if isinstance(types, (cst.Tuple, cst.List)):
            kept = [
                self.ctx.code_for(e.value) for e in types.elements
                if not errors.exception_types_everything(self.ctx, e.value)
            ]
        return _tuple((*transient, *kept))


def _narrowable(handler) -> bool:
    """A handler whose type can be narrowed without undoing what it does: not a bare ``except:``
    (no type to narrow), and not one that tells the errors it catches apart itself
    (``isinstance(error, AuthenticationError)`` would never hold any more)."""
    if handler.type is None:
        return False
    if handler.name is None or not isinstance(handler.name.name, cst.Name):
        return True
    caught = handler.name.name.value
    for call in find_all(handler.body, cst.Call):
        if isinstance(call.func, cst.Name) and call.func.value == "isinstance" and call.args:
            first = call.args[0].value
            if isinstance(first, cst.Name) and first.value == caught:
                return False
    return True


def _tuple(names: tuple[str, ...]) -> str:
    return f"({', '.join(names)})" if len(names) > 1 else names[0]


def _imports(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``import openai`` for ``openai.RateLimitError``: each module the names are read from."""
    found: list[tuple[str, str]] = []
    for name in names:
        module = (name.rsplit(".", 1)[0], "")
        if module not in found:
            found.append(module)
    return tuple(found)
