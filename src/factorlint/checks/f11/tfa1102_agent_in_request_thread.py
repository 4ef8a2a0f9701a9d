from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.agents.entrypoints import DEFERRALS, entry_points
from factorlint.engine.recognise.retries import calls_in


class AgentInRequestThread(Rule):
    """## What it does
    Finds HTTP route handlers that run an agent inside the request: the handler (or a function
    of the same file that it calls) contains an agent loop or hands the loop to a framework
    (`Runner.run`, `crew.kickoff()`, `graph.invoke`, `agent.run`). Work handed to a background
    task (`BackgroundTasks.add_task(run, ...)`, `asyncio.create_task(agent.run(...))`, a queue)
    is not reported, nor are websocket handlers, whose connection is meant to stay open.

    ## Why is this bad?
    Factor 11 (trigger from anywhere) and factor 6 (launch / pause / resume): an agent run takes
    many model calls and tool calls, seconds to minutes. Run inside the request, it holds a web
    worker and the client's connection for the whole run; a proxy timeout or a client disconnect
    loses the result, and the run cannot pause for a person. factor-07's own webhook example
    warns: "you likely don't want to block the web worker here". Launch the run, return its id,
    and let clients poll or receive a callback.

    ## Example
    ```python
    @app.post("/research")
    async def research(req: ResearchRequest):
        result = await Runner.run(agent, req.question)
        return {"answer": result.final_output}
    ```

    ## Use instead
    ```python
    @app.post("/threads")
    async def launch(req: LaunchRequest, bg: BackgroundTasks):
        thread_id = store.create(Thread.from_event(req.event))
        bg.add_task(run_until_pause, thread_id)
        return {"thread_id": thread_id, "status_url": f"/threads/{thread_id}"}
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Short, bounded agents may be fine synchronously: suppress the finding with a reason.

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-11-trigger-from-anywhere.md
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-07-contact-humans-with-tools.md
    """

    meta = RuleMeta(
        code="TFA1102",
        name="agent-in-request-thread",
        factor=11,
        severity="advice",
        confidence="medium",
        summary="A route handler runs the whole agent inside the request",
        fix_advice=(
            "Create a thread, start the run in the background (BackgroundTasks, a task queue) and "
            "return the thread id at once; expose a status route or call back when it pauses or ends."
        ),
    )

    invalid = [
        """
from fastapi import FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="researcher", instructions="Research the question.")

@app.post("/research")
async def research(question: str):
    result = await Runner.run(agent, question)  # expect: TFA1102 @20-47 | Route `POST /research` runs `Runner.run` inside the request: the web worker and the client wait for the whole agent run
    return {"answer": result.final_output}
""",
        # The loop sits in a helper of the same file.
        """
from flask import Flask, request
from openai import OpenAI

app = Flask(__name__)
client = OpenAI()

def run_agent(messages):
    for _ in range(10):
        reply = client.chat.completions.create(model="gpt-4o", messages=messages)
        messages.append(reply.choices[0].message)
    return messages

@app.route("/chat", methods=["POST"])
def chat():
    return {"messages": run_agent(request.json["messages"])}  # expect: TFA1102 @25-60 | Route `route /chat` runs `run_agent()` (an agent loop) inside the request: the web worker and the client wait for the whole agent run
""",
        """
from fastapi import APIRouter
from crewai import Agent, Crew, Task

router = APIRouter()

@router.post("/report")
def report(topic: str):
    writer = Agent(role="writer", goal="write", backstory="b")
    crew = Crew(agents=[writer], tasks=[Task(description=topic, expected_output="a report", agent=writer)])
    return crew.kickoff()  # expect: TFA1102 @12-26 | Route `POST /report` runs `Crew.kickoff` inside the request: the web worker and the client wait for the whole agent run
""",
        # Streaming the run keeps the request open for all of it.
        """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.post("/chat/stream")
async def chat_stream(text: str):
    async def events():
        result = Runner.run_streamed(agent, text)
        async for event in result.stream_events():
            yield str(event)

    return StreamingResponse(events())  # expect: TFA1102 @30-38 | Route `POST /chat/stream` runs `events()` (`Runner.run_streamed`) inside the request: the web worker and the client wait for the whole agent run
""",
    ]
    valid = [
        """
from fastapi import BackgroundTasks, FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="researcher", instructions="Research the question.")

async def run_until_done(thread_id, question):
    await Runner.run(agent, question)

@app.post("/threads")
async def launch(question: str, bg: BackgroundTasks):
    bg.add_task(run_until_done, "t-1", question)
    return {"thread_id": "t-1"}
""",
        """
import asyncio
from fastapi import FastAPI
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="researcher", instructions="Research.")
TASKS = set()

@app.post("/threads")
async def launch(question: str):
    task = asyncio.create_task(Runner.run(agent, question))
    TASKS.add(task)
    return {"status": "started"}
""",
        # A single model call in a route is not an agent run.
        """
from fastapi import FastAPI
from openai import OpenAI

app = FastAPI()
client = OpenAI()

@app.post("/summarise")
def summarise(text: str):
    r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    return r.choices[0].message.content
""",
    ]
    near_miss = [
        # A websocket keeps the connection open on purpose.
        """
from fastapi import FastAPI, WebSocket
from agents import Agent, Runner

app = FastAPI()
agent = Agent(name="a", instructions="x")

@app.websocket("/ws")
async def ws(socket: WebSocket):
    text = await socket.receive_text()
    result = await Runner.run(agent, text)
    await socket.send_text(result.final_output)
""",
        # The agent runs in a CLI command, not in a route.
        """
import click
from agents import Agent, Runner

agent = Agent(name="a", instructions="x")

@click.command()
def main():
    print(Runner.run_sync(agent, "hello").final_output)
""",
        # A route that only reads stored results.
        """
from fastapi import FastAPI

app = FastAPI()
RESULTS = {}

@app.get("/threads/{thread_id}")
def status(thread_id: str):
    return RESULTS.get(thread_id)
""",
    ]

    def leave_Module(self, node: cst.Module) -> None:
        ep = entry_points(self.ctx)
        for info, trigger in ep.handlers("http"):
            with ep.scope(info.chain):
                deferred = frozenset(
                    id(inner)
                    for call in calls_in(info.node.body)
                    if (self.ctx.qualname(call.func) or "") in DEFERRALS
                    for inner in calls_in(call)
                )
            runs = ep.agent_runs(info, skip=deferred)
            if not runs:
                continue
            run = runs[0]
            self.report(
                run.node,
                f"Route {trigger.label(info.node)} runs {run.label} inside the request: the web "
                "worker and the client wait for the whole agent run",
                requires_llm=run.requires,
            )
