"""Agent loops written the ways real applications write them, each seen by the engine.

Each case is a project of a few files, modelled on a shape read in an application on PyPI
(gptme, rawdog, metagpt). The inventory must list the loop with the expected standing, and
TFA0802 (an agent loop no bound stops) must fire exactly where the loop is unbounded.
"""

from __future__ import annotations

import textwrap

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings

LLM = """
from openai import OpenAI

client = OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages)
"""


def _lint(tmp_path, files: dict[str, str]):
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in files.items():
        (package / name).write_text(textwrap.dedent(source).lstrip("\n"))
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    loops = {(s.path, s.line): s.detail for s in report.sites if s.kind == "loop"}
    unbounded = {(f.path, f.line) for f in report.findings if f.code == "TFA0802"}
    return loops, unbounded


def test_a_loop_six_wrappers_away_from_the_model_is_seen(tmp_path):
    """gptme: the chat loop calls ``step``, which reaches the SDK through five project functions
    in three modules."""
    files = {
        "llm.py": LLM,
        "reply.py": """
            from app.llm import complete

            def _after_hooks(messages):
                return complete(messages)

            def reply(messages):
                return _after_hooks(messages)
            """,
        "chat.py": """
            from app.reply import reply

            def _generate(messages):
                return reply(messages)

            def _with_recovery(messages):
                return _generate(messages)

            def step(log):
                return _with_recovery(log)

            def run(log):
                while True:
                    log.append(step(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/chat.py", 13)]["bounded"] is False
    assert unbounded == {("app/chat.py", 13)}


def test_a_closure_handed_to_a_helper_is_called_by_the_caller(tmp_path):
    """gptme's ``_reply_with_overflow_recovery`` defines ``generate`` (which calls the model) and
    hands it to ``recover_reply(generate, ...)``: the caller reaches the model through it."""
    files = {
        "llm.py": LLM,
        "recovery.py": """
            def recover(generate, messages):
                try:
                    return generate(messages)
                except ValueError:
                    return generate(messages[-4:])
            """,
        "chat.py": """
            from app.llm import complete
            from app.recovery import recover

            def step(log):
                def generate(messages):
                    return complete(messages)
                return recover(generate, log)

            def step_by_name(log):
                return recover(complete, log)

            def run(log):
                while True:
                    log.append(step(log))

            def run_by_name(log):
                while True:
                    log.append(step_by_name(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert unbounded == {("app/chat.py", 13), ("app/chat.py", 17)}
    assert set(loops) == {("app/chat.py", 13), ("app/chat.py", 17)}


def test_a_function_imported_inside_the_enclosing_function_is_followed(tmp_path):
    """gptme's ACP agent imports ``step as chat_step`` in ``prompt()`` and loops over it in a
    nested ``run_chat_turn``."""
    files = {
        "llm.py": LLM,
        "agent.py": """
            class Agent:
                def prompt(self, text):
                    from .llm import complete as chat_step

                    def run_turn():
                        log = [text]
                        while True:
                            log.extend(chat_step(log))

                    return run_turn()
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert set(loops) == unbounded == {("app/agent.py", 7)}


def test_a_loop_that_asks_a_person_through_a_project_function_is_a_conversation(tmp_path):
    """gptme's REPL gets each prompt from ``_get_user_input()`` (another module reads the console),
    metagpt's planner from ``ask_review()``: a person bounds the loop."""
    files = {
        "llm.py": LLM,
        "console.py": """
            def read_line():
                return input("> ")

            def get_user_input():
                text = read_line()
                return text.strip()
            """,
        "chat.py": """
            from app.console import get_user_input
            from app.llm import complete

            def repl(log):
                while True:
                    if log and log[-1] == "queued":
                        log.pop()
                    else:
                        log.append(get_user_input())
                    log.append(complete(log))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/chat.py", 5)]
    assert detail["human_gated"] is True and detail["bounded"] is True
    assert "get_user_input" in detail["bound"]
    assert unbounded == set()


def test_a_prompt_asked_only_on_some_path_does_not_gate_the_loop(tmp_path):
    """rawdog asks "install this package?" only when a script fails on a missing module: the
    loop around the function that may ask is still the model's to stop."""
    files = {
        "llm.py": LLM,
        "run.py": """
            def execute(script):
                output = script.upper()
                if "ModuleNotFoundError" in output:
                    if input("Install? (Y/n)") != "n":
                        output = "installed"
                return output
            """,
        "main.py": """
            from app.llm import complete
            from app.run import execute

            def rawdog(log):
                again = True
                while again:
                    script = complete(log)
                    output = execute(script)
                    log.append(output)
                    again = output.endswith("CONTINUE")
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/main.py", 6)]["human_gated"] is False
    assert unbounded == {("app/main.py", 6)}


def test_a_chat_repl_whose_history_lives_behind_the_call_is_listed(tmp_path):
    """shell-gpt's and rawdog's REPLs read the console each turn and hand the text to a handler
    that keeps the conversation: nothing is fed back in the loop, and a person bounds it."""
    files = {
        "llm.py": LLM,
        "session.py": """
            from app.llm import complete

            class Session:
                def __init__(self):
                    self.messages = []

                def handle(self, text):
                    self.messages.append(text)
                    return complete(self.messages)
            """,
        "repl.py": """
            from app.session import Session

            def repl():
                session = Session()
                while True:
                    text = input("> ")
                    print(session.handle(text))
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/repl.py", 5)]
    assert detail["human_gated"] is True and "chat REPL" in detail["bound"]
    assert unbounded == set()


def test_a_map_over_documents_is_not_a_loop(tmp_path):
    """Nothing the model returns reaches the next call: each pass works on the next item."""
    files = {
        "llm.py": LLM,
        "batch.py": """
            from app.llm import complete

            def summarise(pages, out):
                page = pages.first()
                while page:
                    out.append(complete([page.text]))
                    page = page.next()
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops == {} and unbounded == set()


def test_iterating_a_lazy_response_runs_the_model(tmp_path):
    """llm's ``Response`` calls the model only when iterated (``list(self)``), and its chain
    loop builds the next response from the tool results of the last."""
    files = {
        "llm.py": LLM,
        "models.py": """
            from app.llm import complete

            class Response:
                def __init__(self, messages):
                    self.messages = messages
                    self.chunks = None

                def __iter__(self):
                    self.chunks = complete(self.messages)
                    return iter(self.chunks)

                def tool_results(self):
                    list(self)
                    return [c for c in self.chunks if c]

            def chain(messages):
                current = Response(messages)
                while current:
                    results = current.tool_results()
                    if results:
                        prompt = messages + results
                        current = Response(prompt)
                    else:
                        current = None
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/models.py", 18)]["bounded"] is False
    assert unbounded == {("app/models.py", 18)}


LANGGRAPH = """
from typing import Literal

from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

model = ChatOpenAI(model="m")


def supervisor(state) -> Command[Literal["supervisor_tools"]]:
    reply = model.invoke(state["messages"])
    return Command(goto="supervisor_tools", update={"messages": [reply], "steps": state["steps"] + 1})


def supervisor_tools(state) -> Command[Literal["supervisor", "__end__"]]:
    if state["steps"] > state["max_steps"]:
        return Command(goto=END)
    return Command(goto="supervisor", update={"messages": run_tools(state)})


def agent(state):
    return {"messages": [model.invoke(state["messages"])]}


def route(state):
    if state["messages"][-1].tool_calls:
        return "tools"
    return END


def tools(state):
    return {"messages": run_tools(state)}


def review(state):
    answer = interrupt({"plan": state["plan"]})
    if answer is True:
        return Command(goto=END)
    return Command(goto="plan", update={"feedback": answer})


def plan(state):
    return {"plan": model.invoke(state["feedback"])}


bounded = StateGraph(dict)
bounded.add_node("supervisor", supervisor)
bounded.add_node("supervisor_tools", supervisor_tools)
bounded.add_edge(START, "supervisor")

unbounded = StateGraph(dict)
unbounded.add_node("agent", agent)
unbounded.add_node("tools", tools)
unbounded.add_conditional_edges("agent", route)
unbounded.add_edge("tools", "agent")

human = StateGraph(dict)
human.add_node("plan", plan)
human.add_node("review", review)
human.add_edge("plan", "review")

straight = StateGraph(dict)
straight.add_node("plan", plan)
straight.add_edge(START, "plan")
straight.add_edge("plan", END)
"""


def test_langgraph_cycles_are_agent_loops_with_their_bounds(tmp_path):
    """open deep research's supervisor and researcher cycles route with ``Command(goto=...)``;
    its legacy graphs with conditional edges and an ``interrupt()`` review. Each cycle is listed
    with what bounds it; a graph without a cycle is not a loop. A graph the developer wires is
    not reported by TFA0802."""
    loops, unbounded = _lint(tmp_path, {"graph.py": LANGGRAPH})
    by_graph = {d["graph"]: d for d in loops.values()}
    assert set(by_graph) == {"bounded", "unbounded", "human"}
    assert by_graph["bounded"]["bounded"] is True and "steps" in by_graph["bounded"]["bound"]
    assert by_graph["bounded"]["nodes"] == ["supervisor", "supervisor_tools"]
    assert by_graph["unbounded"]["bounded"] is False and "recursion limit" in by_graph["unbounded"]["bound"]
    assert by_graph["human"]["human_gated"] is True
    assert unbounded == set()


def test_a_result_left_on_the_object_is_fed_back(tmp_path):
    """aider's reflection loop: ``send_message`` leaves ``self.reflected_message`` (lint or test
    errors) behind, and the loop sends it next; a person's input read through another method is
    not the model's result."""
    files = {
        "llm.py": LLM,
        "coder.py": """
            from app.llm import complete

            class Coder:
                max_reflections = 3

                def send_message(self, message):
                    reply = complete([message])
                    self.reflected_message = check(reply)

                def run_one(self, message):
                    count = 0
                    while message:
                        self.reflected_message = None
                        self.send_message(message)
                        if not self.reflected_message or count >= self.max_reflections:
                            return
                        count += 1
                        message = self.reflected_message

                def run(self):
                    while True:
                        text = self.read_line()
                        self.run_one(text)
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert set(loops) == {("app/coder.py", 12)}
    assert loops[("app/coder.py", 12)]["bounded"] is True
    assert unbounded == set()


def test_an_isinstance_branch_dispatches_to_the_class_it_names(tmp_path):
    """llm: ``self.model`` is declared as the plugin base class; the branch
    ``if isinstance(self.model, KeyModel):`` calls the override that reaches the SDK."""
    files = {
        "llm.py": LLM,
        "models.py": """
            from app.llm import complete

            class Model:
                def execute(self, prompt):
                    raise NotImplementedError

            class KeyModel:
                def execute(self, prompt, key):
                    raise NotImplementedError

            class Chat(KeyModel):
                def execute(self, prompt, key):
                    return complete([prompt])

            class Response:
                model: Model

                def text(self, prompt):
                    if isinstance(self.model, KeyModel):
                        return self.model.execute(prompt, "key")
                    return self.model.execute(prompt)

            def chain(prompt):
                response = Response()
                while True:
                    reply = response.text(prompt)
                    prompt = reply
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/models.py", 25)]["bounded"] is False
    assert unbounded == {("app/models.py", 25)}


def test_a_parameter_named_like_a_model_function_is_the_parameter(tmp_path):
    """llm: the ``prompt`` command, which calls the model, takes the prompt text in a parameter
    of the same name and hands it to a template helper in a loop; handing over the text is not
    handing over the command, so the loop over templates is not an agent loop."""
    files = {
        "llm.py": LLM,
        "cli.py": """
            from app.llm import complete

            def apply_template(template, prompt, uses_input):
                text = prompt if uses_input else ""
                return template.render(text)

            def prompt(prompt, templates):
                for template in templates:
                    prompt = apply_template(template, prompt, True)
                return complete([prompt])
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops == {} and unbounded == set()


def test_a_client_passed_from_another_module_types_the_parameter(tmp_path):
    """rawdog: ``execute_script(script, llm_client)`` is called from the entry module with the
    client it built; the helper's untyped ``llm_client`` is that client."""
    files = {
        "client.py": """
            from openai import OpenAI

            class LLMClient:
                def __init__(self):
                    self.client = OpenAI()

                def ask(self, prompt):
                    return self.client.chat.completions.create(model="m", messages=[prompt])
            """,
        "repair.py": """
            def repair(script, llm_client):
                while True:
                    error = check(script)
                    if not error:
                        return script
                    script = llm_client.ask(error)
            """,
        "main.py": """
            from app.client import LLMClient
            from app.repair import repair

            def main():
                llm_client = LLMClient()
                repair("print(1)", llm_client)
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/repair.py", 2)]["bounded"] is False
    assert unbounded == {("app/repair.py", 2)}


# A helper module that imports nothing of the project is not analysed (engine.prefilter): this
# one reads its settings from the project, as helpers do.
DRIVER = """
    from .settings import VERBOSE

    def drive(step, task):
        while True:
            task = step(task)
    """


def test_a_callback_passed_from_another_module_is_what_the_helper_calls(tmp_path):
    """llm's chat loop calls ``prompt_callback``, a function its caller hands over."""
    files = {
        "llm.py": LLM,
        "driver.py": DRIVER,
        "settings.py": "VERBOSE = False\n",
        "main.py": """
            from app.driver import drive
            from app.llm import complete

            def think(task):
                return complete([task])

            def main():
                drive(think, "plan a trip")
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/driver.py", 4)]["bounded"] is False
    assert unbounded == {("app/driver.py", 4)}


def test_a_helper_handed_something_else_is_not_an_agent_loop(tmp_path):
    files = {
        "llm.py": LLM,
        "driver.py": DRIVER,
        "settings.py": "VERBOSE = False\n",
        "main.py": """
            from app.driver import drive

            def shout(task):
                return task.upper()

            def main():
                drive(shout, "plan a trip")
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops == {} and unbounded == set()


def test_a_function_handed_to_a_thread_in_its_arguments_is_called(tmp_path):
    """gptme's server runs each step in a thread, ``Thread(target=ctx.run, args=(step,))``: the
    function in the tuple of arguments is what the thread calls."""
    files = {
        "llm.py": LLM,
        "worker.py": """
            import contextvars
            import threading

            from app.llm import complete

            def _step(state):
                return complete([state])

            def start(state):
                ctx = contextvars.copy_context()
                thread = threading.Thread(target=ctx.run, args=(_step, state))
                thread.start()
                return thread.join()

            def drive(state):
                while True:
                    state = start(state)
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/worker.py", 16)]["bounded"] is False
    assert unbounded == {("app/worker.py", 16)}


def test_a_callback_returning_a_lazy_response_of_another_module_is_followed(tmp_path):
    """llm's chat REPL calls ``prompt_callback``, which returns ``conversation.chain(...)``: a
    lazy response of a class in another module, whose ``stream_events()`` runs the model. The
    callback's file cannot type its result; the project pass takes the type from ``chain``'s own
    annotation."""
    files = {
        "llm.py": LLM,
        "models.py": """
            from app.llm import complete

            class ChainResponse:
                def __init__(self, text):
                    self.text = text

                def stream_events(self):
                    yield complete([self.text])

            class Conversation:
                def chain(self, text) -> "ChainResponse":
                    return ChainResponse(text)
            """,
        "cli.py": """
            import click

            from app.models import Conversation

            def display(events):
                for event in events:
                    print(event)

            def run_chat(prompt_callback):
                while True:
                    text = click.prompt("")
                    response = prompt_callback(text)
                    display(response.stream_events())

            def chat():
                conversation = Conversation()

                def execute_chat_prompt(text):
                    response = conversation.chain(text)
                    return response

                run_chat(execute_chat_prompt)
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/cli.py", 10)]
    assert detail["human_gated"] is True and detail["bounded"] is True
    assert unbounded == set()


STEP = """
import threading

from app.llm import complete

def step(messages):
    tool_uses = []

    def generate():
        nonlocal tool_uses
        reply = complete(messages)
        tool_uses = [c for c in reply.choices[0].message.tool_calls or []]
        return reply

    reply = recover(generate)
    messages.append(reply)
    first = None
    for use in tool_uses:
        if first is None:
            first = use
    if first is not None:
        start_tools(messages, first)

def recover(generate):
    return generate()

def start_tools(messages, use):
    def run():
        messages.append(use.execute())
        {continuation}

    threading.Thread(target=run).start()
"""


def test_recursion_through_a_thread_is_an_agent_loop(tmp_path):
    """gptme's server: ``step`` keeps the tool uses the model asked for (written by a nested
    ``generate`` through ``nonlocal``), starts the first in a thread, and the thread calls
    ``step`` again. The loop closes at the call that starts the tools."""
    files = {"llm.py": LLM, "server.py": STEP.replace("{continuation}", "step(messages)")}
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/server.py", 21)]
    assert detail["bounded"] is False and detail["through"] == "start_tools"
    assert unbounded == {("app/server.py", 21)}


def test_a_call_that_never_leads_back_is_not_a_loop(tmp_path):
    """The same step, whose thread only runs the tool: no cycle, no loop."""
    files = {"llm.py": LLM, "server.py": STEP.replace("{continuation}", "print(messages)")}
    loops, unbounded = _lint(tmp_path, files)
    assert loops == {} and unbounded == set()


def test_recursion_over_gathered_model_calls_bounded_by_depth(tmp_path):
    """gpt-researcher's deep research: the follow-up questions of answers gathered with
    ``asyncio.gather`` start the next level, and ``new_depth = depth - 1`` bounds it. One loop,
    listed at the recursive call, bounded."""
    files = {
        "llm.py": LLM,
        "research.py": """
            import asyncio

            from app.llm import complete

            class DeepResearch:
                async def deep_research(self, query, depth):
                    async def process(question):
                        return complete([question])

                    tasks = [process(q) for q in query.split(";")]
                    results = await asyncio.gather(*tasks)
                    learnings = []
                    for result in results:
                        learnings.append(result.text)
                        if depth > 1:
                            new_depth = depth - 1
                            deeper = await self.deep_research(result.follow_up, depth=new_depth)
                            learnings.extend(deeper)
                    return learnings
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    assert list(loops) == [("app/research.py", 17)]
    assert loops[("app/research.py", 17)]["bounded"] is True
    assert unbounded == set()


CONTINUED = """
import subprocess

from app.llm import complete

def run_until_installed(script):
    retry = True
    while retry:
        retry = False
        error = subprocess.run(["python", script], capture_output=True, text=True).stderr
        if "No module named" in error:
            package = complete([error])
            {decision}
                if subprocess.run(["pip", "install", package]).returncode == 0:
                    retry = True
"""


def test_a_loop_the_reply_continues_is_an_agent_loop(tmp_path):
    """A ``while retry:`` whose ``retry`` is set once the package the model named installs: no
    value goes back into the next call, but the model decides whether there is one. With no
    person asked, nothing but the model ends it."""
    files = {"llm.py": LLM, "deps.py": CONTINUED.replace("{decision}", "if package:")}
    loops, unbounded = _lint(tmp_path, files)
    assert loops[("app/deps.py", 7)]["bounded"] is False
    assert unbounded == {("app/deps.py", 7)}


def test_a_loop_the_reply_continues_after_a_person_agrees_is_gated(tmp_path):
    """rawdog's dependency loop: each retry follows a person's "install it?" at the console."""
    files = {"llm.py": LLM, "deps.py": CONTINUED.replace("{decision}", 'if input(f"Install {package}? ") != "n":')}
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/deps.py", 7)]
    assert detail["bounded"] is True and detail["human_gated"] is True
    assert unbounded == set()


def test_a_retry_the_model_does_not_decide_is_not_an_agent_loop(tmp_path):
    """The same loop whose retry follows the installer's own answer, with the model asked only
    for a log line: the model's reply decides nothing."""
    source = CONTINUED.replace("{decision}", "if True:").replace(
        'subprocess.run(["pip", "install", package])', 'subprocess.run(["pip", "install", "-r", "req.txt"])'
    )
    loops, unbounded = _lint(tmp_path, {"llm.py": LLM, "deps.py": source})
    assert loops == {} and unbounded == set()


# open-interpreter: the session object hands itself to the loop of another module
# (``respond(self)``), builds its model wrapper under a condition (``Llm(self) if llm is None else
# llm``), and the wrapper hands itself to a function that calls the SDK through the class
# attribute ``completions = complete``.
SESSION = {
    "llm.py": LLM,
    "render.py": """
        def render(messages):
            print(messages[-1:])
        """,
    "wrapper.py": """
        from app.llm import complete
        from app.tool_calling import run_tool_calling

        class Llm:
            completions = complete

            def run(self, messages):
                return run_tool_calling(self, messages)
        """,
    "tool_calling.py": """
        from app.render import render

        def run_tool_calling(llm, messages):
            render(messages)
            return llm.completions(messages)
        """,
    "core.py": """
        from app.wrapper import Llm
        from app.respond import respond

        class Session:
            def __init__(self, llm=None):
                self.llm = Llm() if llm is None else llm
                self.messages = []

            def chat(self):
                return respond(self)
        """,
    "respond.py": """
        from app.render import render

        def respond(session):
            while True:
                render(session.messages)
                reply = session.llm.run(session.messages)
                session.messages.append(reply)
                if not reply:
                    break
        """,
}


def test_a_loop_reached_through_the_session_object_it_is_handed(tmp_path):
    loops, unbounded = _lint(tmp_path, SESSION)
    assert loops[("app/respond.py", 4)]["bounded"] is False
    assert unbounded == {("app/respond.py", 4)}


def test_a_repl_reading_its_turn_under_a_condition_is_gated(tmp_path):
    """open-interpreter's terminal: the message is read under ``if interactive:`` (unless one
    came on the command line), before the model's turn: a person answers every turn."""
    files = {
        "llm.py": LLM,
        "terminal.py": """
            from app.llm import complete

            def terminal(messages, interactive, first=None):
                while True:
                    if interactive:
                        if first:
                            message, first = first, None
                        else:
                            message = input("> ")
                    messages.append({"role": "user", "content": message})
                    reply = complete(messages)
                    messages.append(reply)
            """,
    }
    loops, unbounded = _lint(tmp_path, files)
    detail = loops[("app/terminal.py", 4)]
    assert detail["bounded"] is True and detail["human_gated"] is True
    assert unbounded == set()


def test_a_function_whose_calls_no_test_decides_is_not_read_for_recursion(tmp_path, monkeypatch):
    """A recursion through other functions needs the reply to decide the call that leads back;
    a function with no ``if``, ``while`` or ``for`` around its project calls is answered without
    building its value flow, and the one that has one is still found."""
    from factorlint.engine.agents import recursion

    read: list[str] = []
    original = recursion.RecursionAnalyser._analyse

    def recording(self, function):
        read.append(function.name.value)
        return original(self, function)

    monkeypatch.setattr(recursion.RecursionAnalyser, "_analyse", recording)
    steps = """
    from app.llm import complete
    from app import tools

    def straight(messages):
        reply = complete(messages)
        tools.run(reply)
        return tools.summary(reply)

    def step(messages):
        reply = complete(messages)
        if reply.choices[0].message.tool_calls:
            tools.run_and_continue(messages, reply)
    """
    tools = """
    def run(reply):
        return reply

    def summary(reply):
        return reply

    def run_and_continue(messages, reply):
        from app.steps import step
        step(messages)
    """
    loops, _ = _lint(tmp_path, {"llm.py": LLM, "steps.py": steps, "tools.py": tools})
    assert "straight" not in read and "step" in read
    assert loops[("app/steps.py", 12)]["through"] == "run_and_continue"
