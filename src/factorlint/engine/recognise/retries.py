"""Retries: where a retry helper wraps code, what its arguments mean, and hand-written retry loops.

A *retry site* is a retry helper from the knowledge tables (``[[retries]]``) applied to code:
a decorator on a function (``@retry``, ``@backoff.on_exception(...)``), a constructor iterated
(``for attempt in Retrying(...)``) or applied (``Retrying(...)(fn)``, ``r = Retrying(...)`` then
``r(fn)``). The retried code is the decorated function's body, the loop's body or the callable
handed over; rules ask whether it reaches a model (directly, or through project functions that
the project pass settles) before saying anything about the policy.

A *retry loop* is a loop written by hand around a model call: a ``try`` whose ``except`` lets the
loop go round again, and a ``return``/``break`` on success. Agent loops (the loop feeds results
back into the model, see :mod:`loops`) are not retry loops.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import libcst as cst

from factorlint.engine.agents.loop_body import BodyScan, paths_in
from factorlint.engine.agents.loops import Loop, requires_of
from factorlint.engine.parse.walk import ScopeVisitor, run_visitor
from factorlint.engine.recognise import errors
from factorlint.engine.recognise.recognisers import LLMCall, has_star_kwargs, is_none, keyword_arg, positional_arg
from factorlint.engine.semantic.names import dotted_name
from factorlint.knowledge import RetrySpec

_PARTIALS = frozenset({"functools.partial"})
_INFINITE = frozenset({"math.inf", "sys.maxsize", "numpy.inf", "cmath.inf"})


@dataclass(frozen=True)
class RetrySite:
    node: cst.CSTNode  # where to report: the decorator or the helper's call
    spec: RetrySpec
    qualname: str  # the helper as resolved: tenacity.retry, tenacity.Retrying
    call: cst.Call | None  # the helper's own call; None for a bare decorator
    requires: tuple[str, ...]  # () when the retried code certainly calls a model
    # The code retried, when it is one function or block (a decorated function, a loop body).
    retried: cst.FunctionDef | cst.BaseSuite | None = None

    @property
    def label(self) -> str:
        return f"`@{self.qualname}`" if isinstance(self.node, cst.Decorator) else f"`{self.qualname}(...)`"

    @property
    def stop_keywords(self) -> str:
        return " or ".join(f"`{k}=`" for k in self.spec.stop_keywords)


# -- the model calls a piece of code makes ----------------------------------------------------


class _Calls(ScopeVisitor):
    """Calls in a block, nested defs, lambdas and classes skipped."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    scan = _Calls()
    run_visitor(node, scan)
    return scan.calls


def combine(found: Iterable[tuple[str, ...] | None]) -> tuple[str, ...] | None:
    """None: no model call; (): a certain one; else the project functions to settle later."""
    certain, any_found = False, False
    candidates: set[str] = set()
    for requires in found:
        if requires is None:
            continue
        any_found = True
        certain = certain or not requires
        candidates.update(requires)
    if not any_found:
        return None
    return () if certain else tuple(sorted(candidates))


def _of(llm: LLMCall | None) -> tuple[str, ...] | None:
    return None if llm is None else llm.requires


def llm_in(ctx, node: cst.CSTNode) -> tuple[str, ...] | None:
    """Does code (resolved in the current scope) call a model? See :func:`combine`."""
    return combine(_of(ctx.recognise.llm_call(call)) for call in calls_in(node))


def llm_in_function(ctx, function: cst.FunctionDef) -> tuple[str, ...] | None:
    """The same for a function's body, resolved inside the function.

    The dispatcher pushes a function after the rules' ``visit_FunctionDef`` has run, so the body's
    local bindings and ``self`` would not be visible yet: push it for the scan, then restore.
    """
    with _inside(ctx, function):
        return llm_in(ctx, function.body)


@contextlib.contextmanager
def _inside(ctx, function: cst.FunctionDef | None) -> Iterator[None]:
    """Names resolved as inside ``function`` (nothing changes for None)."""
    if function is not None:
        ctx.function_stack.append(function)
    try:
        yield
    finally:
        if function is not None:
            ctx.function_stack.pop()


def transient_errors(ctx, retried: cst.FunctionDef | cst.BaseSuite | None) -> tuple[str, ...] | None:
    """The exception types worth another attempt at the model calls of ``retried`` (the
    knowledge tables' ``transient_errors`` of each call's client, in order), or None when one
    of its calls is not certainly a model call of a client whose transient errors are known."""
    if retried is None:
        return None
    function = retried if isinstance(retried, cst.FunctionDef) else None
    with _inside(ctx, function):
        found: list[str] = []
        code: cst.CSTNode = function.body if function is not None else retried
        for llm in (ctx.recognise.llm_call(call) for call in calls_in(code)):
            if llm is None:
                continue
            if not llm.certain or llm.client is None or not llm.client.transient_errors:
                return None
            found.extend(e for e in llm.client.transient_errors if e not in found)
        return tuple(found) or None


def llm_of_callable(ctx, target: cst.BaseExpression) -> tuple[str, ...] | None:
    """A callable handed to a retrier: ``fn``, ``client.chat.completions.create``, a lambda."""
    if isinstance(target, cst.Lambda):
        return llm_in(ctx, target.body)
    if isinstance(target, cst.Call):
        qualname = ctx.qualname(target.func)
        first = positional_arg(target, 0)
        if qualname in _PARTIALS and first is not None:
            return llm_of_callable(ctx, first.value)
        return None
    qualname = ctx.qualname(target)
    if qualname is None:
        return None
    if ctx.recognise.match_llm_qualname(qualname) is not None:
        return ()
    return (qualname,) if ctx.is_project_candidate(qualname) else None


# -- retry sites ------------------------------------------------------------------------------


def decorator_sites(ctx, function: cst.FunctionDef) -> list[RetrySite]:
    sites = []
    for decorator in function.decorators:
        found = ctx.recognise.retry_decorator(decorator)
        if found is None:
            continue
        spec, call = found
        requires = llm_in_function(ctx, function)
        if requires is not None:
            qualname = ctx.qualname(call.func if call is not None else decorator.decorator)
            sites.append(RetrySite(decorator, spec, qualname or spec.name, call, requires, function))
    return sites


def _helper(ctx, call: cst.Call) -> tuple[RetrySpec, str, bool] | None:
    """A call to a retry helper: (spec, qualname, is_constructor)."""
    qualname = ctx.qualname(call.func)
    if qualname is None:
        return None
    spec = ctx.knowledge.retry_constructors.first(qualname)
    if spec is not None:
        return spec, qualname, True
    spec = ctx.knowledge.retry_decorators.first(qualname)
    return (spec, qualname, False) if spec is not None else None


def loop_site(ctx, loop: cst.For) -> RetrySite | None:
    """``for attempt in Retrying(...): with attempt: ...``."""
    if not isinstance(loop.iter, cst.Call):
        return None
    found = _helper(ctx, loop.iter)
    if found is None or not found[2]:
        return None
    requires = llm_in(ctx, loop.body)
    return None if requires is None else RetrySite(loop.iter, found[0], found[1], loop.iter, requires, loop.body)


def applied_site(ctx, call: cst.Call) -> RetrySite | None:
    """``Retrying(...)(fn, *args)`` / ``retry(stop=...)(fn)``."""
    if not isinstance(call.func, cst.Call):
        return None
    found = _helper(ctx, call.func)
    first = positional_arg(call, 0)
    if found is None or first is None:
        return None
    requires = llm_of_callable(ctx, first.value)
    return None if requires is None else RetrySite(call.func, found[0], found[1], call.func, requires)


def assigned_site(ctx, assign: cst.Assign, scope: cst.CSTNode) -> RetrySite | None:
    """``retryer = Retrying(...)``, then ``retryer(fn)`` or ``for attempt in retryer`` in ``scope``."""
    if not isinstance(assign.value, cst.Call) or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name):
        return None
    found = _helper(ctx, assign.value)
    if found is None or not found[2]:
        return None
    uses = _Uses(target.value)
    run_visitor(scope, uses)
    requires = combine(
        [llm_in(ctx, body) for body in uses.loop_bodies]
        + [llm_of_callable(ctx, fn) for fn in uses.callables]
    )
    return None if requires is None else RetrySite(assign.value, found[0], found[1], assign.value, requires)


class _Uses(_Calls):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.loop_bodies: list[cst.CSTNode] = []
        self.callables: list[cst.BaseExpression] = []

    def visit_For(self, node: cst.For) -> None:
        if isinstance(node.iter, cst.Name) and node.iter.value == self.name:
            self.loop_bodies.append(node.body)

    def visit_Call(self, node: cst.Call) -> None:
        first = positional_arg(node, 0)
        if isinstance(node.func, cst.Name) and node.func.value == self.name and first is not None:
            self.callables.append(first.value)


# -- what a policy's arguments mean ------------------------------------------------------------


def unbounded_reason(ctx, site: RetrySite) -> str | None:
    """Why the policy never stops (``"without `stop=`"``), or None when it is bounded or unknown."""
    spec, call = site.spec, site.call
    if call is None:
        return f"without {site.stop_keywords}" if spec.bare_is_unbounded else None
    if has_star_kwargs(call):
        return None
    forever = None
    for keyword in spec.stop_keywords:
        arg = keyword_arg(call, keyword)
        if arg is None or is_none(arg.value):
            continue
        if ctx.qualname(arg.value) in spec.unbounded_values:
            forever = f"with `{keyword}={ctx.code_for(arg.value)}`"
            continue
        return None
    return forever or f"without {site.stop_keywords}"


def catches_everything(ctx, site: RetrySite) -> str | None:
    """How the policy retries every exception, or None when it is selective or unknown."""
    spec, call = site.spec, site.call
    keyword = f"`{spec.exception_keyword}=`" if spec.exception_keyword else "an exception filter"
    if call is None:
        return f"without {keyword}" if spec.exception_default_is_everything else None
    value, shown = None, ""
    if spec.exception_keyword is not None:
        arg = keyword_arg(call, spec.exception_keyword)
        if arg is not None:
            value, shown = arg.value, f"{spec.exception_keyword}="
    if value is None and spec.exception_positional is not None:
        arg = positional_arg(call, spec.exception_positional)
        value = arg.value if arg is not None else None
    if value is None:
        if has_star_kwargs(call) or not spec.exception_default_is_everything:
            return None
        return f"without {keyword}"
    if _everything(ctx, spec, value):
        return f"with `{shown}{ctx.code_for(value)}`" if shown else f"on `{ctx.code_for(value)}`"
    return None


def _everything(ctx, spec: RetrySpec, value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr):
        return _everything(ctx, spec, value.left) or _everything(ctx, spec, value.right)
    if isinstance(value, cst.Call):
        if ctx.qualname(value.func) not in spec.exception_filters:
            return False
        listed = [a.value for a in value.args if not a.star]
        if not listed:
            return True  # the type filters default to ``Exception``
        return any(errors.exception_types_everything(ctx, v, spec.everything_values) for v in listed)
    return errors.exception_types_everything(ctx, value, spec.everything_values)


# -- SDK retry counts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SDKRetries:
    qualname: str  # the client constructor, chain method or call that takes the setting
    keyword: str  # max_retries / num_retries
    arg: cst.Arg
    count: float  # inf for "forever"


def sdk_retries(ctx, call: cst.Call) -> SDKRetries | None:
    """An SDK's own retry count set on a client, ``client.with_options(...)`` or a model call."""
    qualname = ctx.qualname(call.func)
    if qualname is None:
        return None
    client = ctx.knowledge_client(qualname)
    if client is None and "()." in qualname:
        receiver, member = qualname.rsplit("().", 1)
        chained = ctx.knowledge_client(receiver)
        if chained is not None and member in chained.chain_methods:
            client = chained
    if client is None:
        llm = ctx.recognise.llm_call(call)
        if llm is not None and llm.certain:
            client = llm.client  # per-call counts: litellm num_retries=, instructor max_retries=
    if client is None or not client.retry_keyword:
        return None
    arg = keyword_arg(call, client.retry_keyword)
    if arg is None:
        return None
    count = retry_count(ctx, arg.value)
    if count is None:
        return None
    return SDKRetries(qualname, client.retry_keyword, arg, count)


def retry_count(ctx, value: cst.BaseExpression) -> float | None:
    """The number a retry keyword is set to: an int, inf for forever, None when unknown."""
    if isinstance(value, cst.Name):
        constant = ctx.scan.module_constants.get(value.value)
        if constant is not None and ctx.qualname(value) is None:
            return retry_count(ctx, constant)
    if isinstance(value, cst.Integer):
        return float(value.evaluated_value)
    if isinstance(value, cst.Call) and ctx.qualname(value.func) == "builtins.float":
        first = positional_arg(value, 0)
        if first is not None and isinstance(first.value, cst.SimpleString):
            text = str(first.value.evaluated_value).strip().lower().lstrip("+")
            return float("inf") if text in ("inf", "infinity") else None
    if isinstance(value, cst.BinaryOperation) and isinstance(
        value.operator, (cst.Add, cst.Multiply, cst.Power)
    ):
        left, right = retry_count(ctx, value.left), retry_count(ctx, value.right)
        if left is None or right is None:
            return None
        if isinstance(value.operator, cst.Add):
            return left + right
        if isinstance(value.operator, cst.Multiply):
            return left * right
        return float("inf") if right > 64 else left**right
    if ctx.qualname(value) in _INFINITE:
        return float("inf")
    return None


# -- hand-written retry loops -------------------------------------------------------------------


@dataclass(frozen=True)
class RetryLoop:
    loop: Loop
    try_node: cst.Try | cst.TryStar
    handlers: tuple[errors.Handler, ...]  # the handlers that let the loop try again
    requires: tuple[str, ...]
    bounded: bool
    bound_reason: str


def retry_loop(ctx, loop: Loop) -> RetryLoop | None:
    """The loop as a hand-written retry around a model call, or None."""
    fed_back = ctx.loops.analyse(loop).llm_calls
    if fed_back and not requires_of(fed_back):
        return None  # an agent loop: results are fed back (TFA0802 / TFA0903 territory)
    if not isinstance(loop.body, cst.IndentedBlock):
        return None
    for index, statement in enumerate(loop.body.body):
        if not isinstance(statement, (cst.Try, cst.TryStar)):
            continue
        requires = llm_in(ctx, statement.body)
        if requires is None:
            continue
        retried = next((c for c in calls_in(statement.body) if ctx.recognise.llm_call(c) is not None), None)
        if any(c.node is retried for c in fed_back):
            return None  # the call the try makes is fed its own results: an agent loop
        if isinstance(loop, cst.For) and _item_feeds(loop, statement.body):
            continue  # each pass calls with the next item: a map over items, not another attempt
        if isinstance(loop, cst.While) and _fresh_input(ctx, statement.body):
            continue  # each pass handles a new message (a websocket receive loop), not an attempt
        last = index == len(loop.body.body) - 1
        # A handler that falls through goes round again only when nothing follows the try;
        # otherwise the iteration carries on with what the handler recovered.
        handlers = tuple(
            h for h in statement.handlers
            if not errors.leaves(h.body) and (last or _continues(h.body))
        )
        if not handlers or not _has_success_exit(statement, loop.body.body[index + 1:]):
            continue
        scan = BodyScan()
        run_visitor(loop.body, scan)
        if isinstance(loop, cst.While):
            run_visitor(loop.test, scan)
        bounded, reason = ctx.loops.bound(loop, scan)
        return RetryLoop(loop, statement, handlers, requires, bounded, reason)
    return None


def _has_success_exit(try_node, after: Iterable[cst.BaseStatement]) -> bool:
    """A ``return``/``break`` of this loop in the try (outside its handlers) or after it: the
    way out once the call succeeds. An early exit before the try (a budget check) is not one."""
    exits = _Exits(try_node)
    run_visitor(try_node, exits)
    for statement in after:
        run_visitor(statement, exits)
    return exits.found


def _continues(block: cst.BaseSuite) -> bool:
    """A ``continue`` of this loop in the block (nested loops and defs are another loop's)."""
    find = _OwnContinue()
    run_visitor(block, find)
    return find.found


def _item_feeds(loop: cst.For, body: cst.BaseSuite) -> bool:
    """Does a name the ``for`` binds reach a call in ``body`` (``summarise(doc)``)? Not asked
    of ``range(...)``, whose numbers are attempts even when a call reads them."""
    iterable = loop.iter
    if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "range":
        return False
    targets = {p.split(".")[0] for p in paths_in(loop.target)}
    for call in calls_in(body):
        used = {p.split(".")[0] for p in paths_in(call)}
        if targets & used:
            return True
    return False


def _fresh_input(ctx, body: cst.BaseSuite) -> bool:
    """Does ``body`` take a new message each pass (``data = await websocket.receive()``,
    ``item = queue.get()``: a call given no positional argument) and hand it to a call that may
    reach a model (``handle(data)``)? A loop over messages, not attempts at one call."""
    fresh: set[str] = set()
    for assign in _assigns(body):
        value = assign.value.expression if isinstance(assign.value, cst.Await) else assign.value
        if isinstance(value, cst.Call) and not any(a.keyword is None for a in value.args):
            fresh.update(p.split(".")[0] for t in assign.targets for p in paths_in(t.target))
    if not fresh:
        return False
    for call in calls_in(body):
        if ctx.recognise.llm_call(call) is None:
            continue
        read = {p.split(".")[0] for a in call.args for p in paths_in(a.value)}
        if read & fresh:
            return True
    return False


def _assigns(node: cst.CSTNode) -> list[cst.Assign]:
    find = _Assigns()
    run_visitor(node, find)
    return find.found


class _OwnContinue(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.For, cst.While)):
            return False
        if isinstance(node, cst.Continue):
            self.found = True
        return not self.found


class _Assigns(cst.CSTVisitor):
    """The assignments of a scope, outside the functions nested in it."""

    def __init__(self) -> None:
        self.found: list[cst.Assign] = []

    def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
        return False

    def visit_Assign(self, inner: cst.Assign) -> None:
        self.found.append(inner)


class _Exits(cst.CSTVisitor):
    def __init__(self, try_node) -> None:
        self.skip = {id(h) for h in try_node.handlers}
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.skip or isinstance(
            node, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.For, cst.While)
        ):
            return False
        if isinstance(node, (cst.Return, cst.Break)):
            self.found = True
        return not self.found
