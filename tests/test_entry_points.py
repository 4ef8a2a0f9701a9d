"""Factor 5, 6 and 11 rules: options, severities and the entry-point index they share."""

from __future__ import annotations

import textwrap

import libcst as cst
from helpers import run_example

from factorlint.config import Settings
from factorlint.engine.agents.entrypoints import entry_points
from factorlint.engine.semantic.context import FileContext
from factorlint.knowledge import default_knowledge

INTERRUPT = """
from langgraph.graph import StateGraph

app = StateGraph(dict).compile(interrupt_before=["deploy"])
app.invoke({"change": "v2"})
"""

WEBHOOK = """
from fastapi import FastAPI
from agents import Agent, Runner
from myapp.security import check_request

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/webhook")
async def webhook(text: str):
    check_request()
    return (await Runner.run(agent, text)).final_output
"""


def test_langgraph_platform_silences_interrupt_without_checkpointer(tmp_path):
    _, report = run_example(tmp_path / "a", INTERRUPT, {"TFA0603"})
    assert [f.code for f in report.findings] == ["TFA0603"]
    _, report = run_example(tmp_path / "b", INTERRUPT, {"TFA0603"}, langgraph_platform=True)
    assert report.findings == []


def test_webhook_verifiers_option(tmp_path):
    _, report = run_example(tmp_path / "a", WEBHOOK, {"TFA1103"})
    assert [f.code for f in report.findings] == ["TFA1103"]
    _, report = run_example(
        tmp_path / "b", WEBHOOK, {"TFA1103"}, webhook_verifiers=("myapp.security.*",)
    )
    assert report.findings == []


def test_ephemeral_checkpointer_is_a_warning_only_in_a_service(tmp_path):
    script = "from langgraph.checkpoint.memory import MemorySaver\nsaver = MemorySaver()\n"
    service = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/x')\ndef x():\n    return 'x'\n\n" + script
    _, report = run_example(tmp_path / "a", script, {"TFA0602"})
    assert [f.severity for f in report.findings] == ["advice"]
    _, report = run_example(tmp_path / "b", service, {"TFA0602"})
    assert [f.severity for f in report.findings] == ["warning"]


def _index(source: str):
    source = textwrap.dedent(source)
    ctx = FileContext(
        "app.py", cst.parse_module(source), source, "app", "", default_knowledge(),
        Settings(root=".", config_path=None, enabled=set()),
    )
    return ctx, entry_points(ctx)


def test_entry_point_index_finds_every_trigger_kind():
    ctx, ep = _index(
        """
        import click
        from celery import shared_task
        from django.urls import path
        from django.views import View
        from fastapi import APIRouter
        from slack_bolt import App

        router = APIRouter()
        slack = App()

        @router.post("/threads/{thread_id}/response")
        def respond(thread_id): ...

        @slack.event("app_mention")
        def mention(event): ...

        @shared_task
        def nightly(): ...

        @click.group()
        def cli(): ...

        @cli.command()
        def run(): ...

        class Approve(View):
            def post(self, request): ...

        def status(request): ...

        urlpatterns = [path("status/", status)]

        if __name__ == "__main__":
            cli()
        """
    )
    for statement in ctx.module.body:  # registration calls are fed in by the rules' visit_Call
        for call in _calls(statement):
            ep.record_call(call)
    kinds = {info.node.name.value: sorted(info.kinds()) for info in ep.functions if info.triggers}
    assert kinds == {
        "respond": ["http"], "mention": ["event"], "nightly": ["queue"], "cli": ["cli"],
        "run": ["cli"], "post": ["http"], "status": ["http"],
    }
    respond = next(i for i in ep.functions if i.node.name.value == "respond")
    assert respond.triggers[0].label(respond.node) == "`POST /threads/{thread_id}/response`"
    assert len(ep.main_guards) == 1 and ep.serves()


def _calls(node):
    found = []

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, call):
            found.append(call)

    node.visit(_Collect())
    return found


def test_class_based_view_label_names_the_view():
    _, ep = _index(
        """
        from django.views import View

        class ApproveWebhook(View):
            def post(self, request): ...
        """
    )
    info = ep.functions[0]
    assert info.triggers[0].label(info.node) == "`ApproveWebhook.post`"


def test_knowledge_facts_for_factors_5_6_11():
    knowledge = default_knowledge()
    client = knowledge.client_constructors.first("openai.OpenAI")
    assert knowledge.call_spec(client, "responses.create").state_keywords == ["previous_response_id", "conversation"]
    assert "beta.threads.messages.create" in client.vendor_state_methods
    assert "" in knowledge.call_spec(client, "chat.completions.create").sdk_object_paths
    assert knowledge.call_spec(knowledge.client_modules["litellm"], "responses").state_keywords == ["previous_response_id"]
    _, runner = knowledge.handoff_functions.first("agents.Runner.run")
    assert "previous_response_id" in runner.state_keywords and "conversation_id" in runner.state_keywords
    session = next(c for c in knowledge.components.get("agents.SQLiteSession") if c.role == "checkpointer")
    assert session.persistent is False and session.persistent_keywords == ["db_path"]
    assert session.persistent_positional == 1
    assert any(c.role == "vendor_state" for c in knowledge.components.get("agents.OpenAIConversationsSession"))
    _, graph = knowledge.agent_constructors.first("langgraph.graph.StateGraph")
    assert graph.checkpointer_method == "compile" and graph.interrupt_keywords == ["interrupt_before", "interrupt_after"]
    _, create_agent = knowledge.agent_constructors.first("langchain.agents.create_agent")
    assert create_agent.interrupt_keywords == ["interrupt_before", "interrupt_after"]
    assert knowledge.route_decorators.first("fastapi.APIRouter().post").kind == "http"
    assert knowledge.route_decorators.first("fastapi.FastAPI().websocket").kind == "websocket"
    assert knowledge.route_decorators.first("fastapi.FastAPI().middleware") is None
    assert knowledge.route_functions.first("django.urls.path").handler_positional == 1
    assert any(c.role == "webhook_verifier" for c in knowledge.components.get("hmac.compare_digest"))
    # The web table must not make web modules "agent code".
    assert not knowledge.is_framework_module("fastapi.FastAPI")
