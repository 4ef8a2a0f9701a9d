from __future__ import annotations

import fnmatch
import re

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.entrypoints import entry_points, name_words
from factorlint.engine.recognise.recognisers import keyword_arg
from factorlint.engine.recognise.retries import calls_in
from factorlint.engine.semantic.names import dotted_name

# Routes that receive events from elsewhere (catalog FA1103): by path or function name.
_WEBHOOK_WORDS = frozenset({"webhook", "webhooks", "callback", "callbacks", "hook", "hooks", "events",
                            "slack", "resume", "approve", "approval", "approvals"})
# Calls that load a thread/state or resume a paused run.
_LOADS = re.compile(
    r"(?i)^a?(load|restore|resume)($|_)|(^|_)(get|aget|fetch|read)_(thread|state|session|conversation|run)"
    r"|^(from_json|from_string)$|^(approve|reject)$"
)
_RESUME_COMMANDS = frozenset({"langgraph.types.Command"})
# What a verifier is called: ``verify_request``, ``check_signature``, ``require_auth``,
# ``login_required``, ``authenticate``, ``authorize`` (not ``author``).
_VERIFY = re.compile(r"(?i)verif|signature|hmac|authenticat|authoriz|(?:^|_)auth(?:$|_)|login_required")


class UnverifiedResumeWebhook(Rule):
    """## What it does
    Finds webhook-style routes (a path or function name with `webhook`, `callback`, `hook`,
    `events`, `slack`, `resume`, `approve`) that resume an agent or load its thread, and never
    check who sent the request: no `hmac.compare_digest`/`hmac.new`, no signature verifier
    (svix, Standard Webhooks, slack_sdk `SignatureVerifier`, `stripe.Webhook.construct_event`,
    Twilio `RequestValidator`), no dependency, decorator or helper named like `verify_*`/
    `*signature*`, `require_auth`, `login_required` or `authorize*`, and none of the configured
    `webhook-verifiers`.

    ## Why is this bad?
    Factor 11 (trigger from anywhere) makes webhooks the way in; factor 6 makes them the way a
    paused agent resumes. A resume endpoint is a control-flow entry into an agent that has tools:
    anyone who can reach it and guess a thread id can approve a deployment, answer on a human's
    behalf, or start runs that cost money. The got-agents reference server rejects requests with
    an invalid webhook signature before it touches a thread.

    ## Example
    ```python
    @app.post("/webhooks/approval")
    async def approval(req: Request):
        body = await req.json()
        return graph.invoke(Command(resume=body["decision"]), {"configurable": {"thread_id": body["thread_id"]}})
    ```

    ## Use instead
    ```python
    @app.post("/webhooks/approval")
    async def approval(req: Request):
        payload = await req.body()
        expected = hmac.new(SECRET, payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, req.headers["X-Signature"]):
            raise HTTPException(401)
        ...
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    - `webhook-verifiers`: qualified names (fnmatch patterns) of your own verification functions or
      middleware, e.g. `["myapp.security.verify_request"]`.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-11-trigger-from-anywhere.md
    - OWASP API2: Broken Authentication
    """

    meta = RuleMeta(
        code="TFA1103",
        name="unverified-resume-webhook",
        factor=11,
        severity="warning",
        confidence="medium",
        summary="A webhook route resumes an agent without verifying the sender",
        fix_advice=(
            "Verify the request before touching the thread: an HMAC signature checked with "
            "`hmac.compare_digest`, or the provider's verifier (svix, Slack SignatureVerifier, "
            "Stripe construct_event); reject with 401 otherwise."
        ),
    )

    invalid = [
        """
from fastapi import FastAPI, Request
from langgraph.graph import StateGraph
from langgraph.types import Command

app = FastAPI()
graph = StateGraph(dict).compile()

@app.post("/webhooks/approval")  # expect: TFA1103 @1-32 | Webhook route `POST /webhooks/approval` resumes a paused graph (`Command(resume=...)`) without verifying who sent the request: anyone who can reach it can drive the agent
async def approval(req: Request):
    body = await req.json()
    return graph.invoke(Command(resume=body["decision"]), {"configurable": {"thread_id": body["thread_id"]}})
""",
        """
from flask import Flask, request
from agents import Agent, Runner

app = Flask(__name__)
agent = Agent(name="a", instructions="x")

@app.route("/slack/events", methods=["POST"])  # expect: TFA1103 @1-46 | Webhook route `route /slack/events` runs `Runner.run_sync` without verifying who sent the request: anyone who can reach it can drive the agent
def slack_events():
    return Runner.run_sync(agent, request.json["event"]["text"]).final_output
""",
        """
from fastapi import APIRouter
from openai import OpenAI

router = APIRouter()
client = OpenAI()

def continue_thread(thread):
    for _ in range(5):
        reply = client.chat.completions.create(model="gpt-4o", messages=thread)
        thread.append(reply.choices[0].message)

@router.post("/threads/{thread_id}/response")  # expect: TFA1103 @1-46 | Webhook route `POST /threads/{thread_id}/response` loads agent state (`load_thread()`) without verifying who sent the request: anyone who can reach it can drive the agent
def resume_thread(thread_id: str, answer: str, store=None):
    thread = store.load_thread(thread_id)
    thread.append({"role": "user", "content": answer})
    continue_thread(thread)
""",
        # The agent lives in another module of the project.
        {
            "agent.py": """
import litellm

async def agent_loop(thread):
    for _ in range(10):
        r = await litellm.acompletion(model="gpt-4o", messages=thread)
        thread.append(r.choices[0].message)
    return thread
""",
            "server.py": """
from fastapi import FastAPI
from agent import agent_loop

app = FastAPI()
THREADS = {}

@app.post("/webhooks/human-response/{thread_id}")  # expect: TFA1103 @1-50 | Webhook route `POST /webhooks/human-response/{thread_id}` calls `agent_loop()`, which reaches a model without verifying who sent the request: anyone who can reach it can drive the agent
async def human_response(thread_id: str, body: dict):
    thread = THREADS[thread_id]
    thread.append({"role": "user", "content": body["text"]})
    return await agent_loop(thread)
""",
        },
        # A Django class-based view.
        """
from django.views import View
from langgraph.graph import StateGraph
from langgraph.types import Command

graph = StateGraph(dict).compile()

class ApprovalWebhook(View):
    def post(self, request):  # expect: TFA1103 @9-13 | Webhook route `ApprovalWebhook.post` resumes a paused graph (`Command(resume=...)`) without verifying who sent the request: anyone who can reach it can drive the agent
        decision = Command(resume=request.POST["decision"])
        return graph.invoke(decision, {"configurable": {"thread_id": request.POST["id"]}})
""",
    ]
    valid = [
        """
import hashlib
import hmac
from fastapi import FastAPI, HTTPException, Request
from langgraph.graph import StateGraph
from langgraph.types import Command

app = FastAPI()
graph = StateGraph(dict).compile()
SECRET = b"s"

@app.post("/webhooks/approval")
async def approval(req: Request):
    payload = await req.body()
    expected = hmac.new(SECRET, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, req.headers["x-signature"]):
        raise HTTPException(401)
    body = await req.json()
    return graph.invoke(Command(resume=body["decision"]), {"configurable": {"thread_id": body["id"]}})
""",
        # A FastAPI dependency that checks the signature.
        """
from fastapi import Depends, FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

def verify_signature():
    return True

@app.post("/webhook", dependencies=[Depends(verify_signature)])
async def webhook(text: str):
    return (await Runner.run(agent, text)).final_output
""",
        """
from flask import Flask, request
from slack_sdk.signature import SignatureVerifier
from agents import Agent, Runner

app = Flask(__name__)
agent = Agent(name="a", instructions="x")
verifier = SignatureVerifier("secret")

@app.post("/slack/events")
def slack_events():
    if not verifier.is_valid_request(request.get_data(), request.headers):
        return "invalid", 401
    return Runner.run_sync(agent, request.json["event"]["text"]).final_output
""",
    ]
    near_miss = [
        # The route declares the project's own authentication decorator.
        """
from fastapi import FastAPI
from agents import Agent, Runner
from .auth import require_auth

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/webhook")
@require_auth
async def webhook(text: str):
    return (await Runner.run(agent, text)).final_output
""",
        # A webhook that only records the event (no agent, no thread).
        """
from fastapi import FastAPI

app = FastAPI()
EVENTS = []

@app.post("/webhook")
def webhook(event: dict):
    EVENTS.append(event)
    return {"ok": True}
""",
        # A route that runs an agent but is not a webhook (TFA1102's business).
        """
from fastapi import FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/research")
async def research(question: str):
    return (await Runner.run(agent, question)).final_output
""",
        # A webhook that calls a project helper which never reaches a model.
        {
            "notify.py": """
def record(event):
    return dict(event)
""",
            "server.py": """
from fastapi import FastAPI
from notify import record

app = FastAPI()

@app.post("/webhook")
def webhook(event: dict):
    return record(event)
""",
        },
        # "hookup" is not "hook"; the words of the name are compared, not substrings.
        """
from fastapi import FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/hookups")
async def hookups(text: str):
    return (await Runner.run(agent, text)).final_output
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        ep = entry_points(self.ctx)
        for info, trigger in ep.handlers("http"):
            owner = self.ctx.scan.class_of_function.get(id(info.node), "")  # class-based views
            words = name_words(info.node.name.value) | name_words(trigger.path or "") | name_words(owner)
            if not words & _WEBHOOK_WORDS:
                continue
            with ep.scope(info.chain):
                found = self._resumes(ep, info)
                if found is None or self._verified(ep, info):
                    continue
            action, requires = found
            self.report(
                trigger.node if trigger.owner is None else info.node.name,
                f"Webhook route {trigger.label(info.node)} {action} without verifying who sent "
                "the request: anyone who can reach it can drive the agent",
                requires_llm=requires,
            )

    def _resumes(self, ep, info) -> tuple[str, tuple[str, ...]] | None:
        for call in calls_in(info.node.body):
            qualname = self.ctx.qualname(call.func) or ""
            if qualname in _RESUME_COMMANDS and keyword_arg(call, "resume") is not None:
                return "resumes a paused graph (`Command(resume=...)`)", ()
            name = dotted_name(call.func)
            if name is not None and _LOADS.search(name.rsplit(".", 1)[-1]):
                return f"loads agent state (`{name.rsplit('.', 1)[-1]}()`)", ()
        runs = ep.agent_runs(info)
        if runs:
            return f"runs {runs[0].label}", runs[0].requires
        # A project function that reaches a model (settled by the project pass): the webhook
        # drives the agent through it.
        web = ep.web_packages()
        candidates = [
            llm for llm in map(self.ctx.recognise.llm_call, calls_in(info.node.body))
            if llm is not None and not llm.certain and llm.qualname.split(".", 1)[0] not in web
        ]
        if candidates:
            requires = tuple(sorted({q for llm in candidates for q in llm.requires}))
            return f"calls `{candidates[0].qualname.rsplit('.', 1)[-1]}()`, which reaches a model", requires
        return None

    def _verified(self, ep, info) -> bool:
        extra = tuple(getattr(self.settings, "webhook_verifiers", ()) or ())
        functions = [info]
        for call in calls_in(info.node.body):
            callee = ep.local_callee(call)
            if callee is not None and callee is not info:
                functions.append(callee)
        nodes: list[cst.CSTNode] = [info.node.body, info.node.params]
        nodes.extend(d.decorator for d in info.node.decorators)
        nodes.extend(f.node.body for f in functions[1:])
        for node in nodes:
            for call in calls_in(node):
                if self._is_verifier(call.func, extra):
                    return True
                for arg in call.args:  # Depends(verify_signature), Security(check_hmac)
                    if isinstance(arg.value, (cst.Name, cst.Attribute)) and self._is_verifier(arg.value, extra):
                        return True
        for decorator in info.node.decorators:
            expr = decorator.decorator
            if self._is_verifier(expr.func if isinstance(expr, cst.Call) else expr, extra):
                return True
        return False

    def _is_verifier(self, expr: cst.BaseExpression, extra: tuple[str, ...]) -> bool:
        qualname = self.ctx.qualname(expr) or ""
        if any(c.role == "webhook_verifier" for c in self.ctx.knowledge.components.get(qualname)):
            return True
        if extra and any(fnmatch.fnmatchcase(qualname, p) for p in extra):
            return True
        name = dotted_name(expr)
        return name is not None and bool(_VERIFY.search(name.rsplit(".", 1)[-1]))
