from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import has_star_kwargs, keyword_arg


class FrameworkOwnedMemory(Rule):
    """## What it does
    Finds conversation memory that a framework keeps and renders into the prompt for you:
    - construction of a memory class from the knowledge tables (LangChain
      `ConversationBufferMemory`, `ConversationSummaryMemory`, `RunnableWithMessageHistory`;
      LlamaIndex `ChatMemoryBuffer`; AutoGen `ListMemory`, `BufferedChatCompletionContext`...);
    - a framework agent told to keep memory itself (CrewAI `Crew(memory=True)`,
      `Agent(memory=True)`);
    - a framework run that builds a default memory because none was passed (LlamaIndex
      `agent.run(...)` without `memory=` or `chat_history=` keeps the turn in a
      `ChatMemoryBuffer`).

    ## Why is this bad?
    Factor 3 (own your context window): each model call should be built from your own thread,
    in a format you chose, with what you decided to keep. Framework memory decides what the model
    sees (the last k turns, a running summary, vector hits) in its own format, and the decision
    is invisible in your code and hard to test.

    ## Example
    ```python
    executor = AgentExecutor(agent=agent, tools=tools, memory=ConversationBufferMemory(return_messages=True))
    ```

    ## Use instead
    ```python
    def build_context(thread: Thread, budget: int = 6000) -> str:
        events = compact(thread.events)              # drop resolved errors, summarise old output
        return render_xml(events, max_tokens=budget)  # your format, your order
    ```

    ## Fix safety
    No automatic fix.

    ## Options
    None. Memory classes are listed per framework in `rules/frameworks/*.toml` (role "memory").

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-03-own-your-context-window.md
    """

    meta = RuleMeta(
        code="TFA0301",
        name="framework-owned-memory",
        factor=3,
        severity="warning",
        confidence="high",
        summary="The framework's memory decides what history the model sees",
        fix_advice=(
            "Build each call's context yourself from your own thread (render it, compact it, "
            "budget it); if you keep the framework memory, configure its window or summary "
            "explicitly and test the rendered prompt."
        ),
    )

    invalid = [
        """
from langchain.agents import AgentExecutor
from langchain.memory import ConversationBufferMemory

executor = AgentExecutor(agent=agent, tools=tools, memory=ConversationBufferMemory(return_messages=True))  # expect: TFA0301 @59-105 | `ConversationBufferMemory` is framework memory: it decides which turns, summaries or retrieved snippets the model sees, in its own format
""",
        """
from crewai import Agent, Crew, Task

crew = Crew(
    agents=[researcher],
    tasks=[Task(description="Research {topic}", expected_output="A report", agent=researcher)],
    memory=True,  # expect: TFA0301 @5-16 | `Crew(memory=True)` hands the conversation history to CrewAI's memory, which decides what the model sees
)
""",
        """
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.memory import ChatMemoryBuffer

agent = FunctionAgent(tools=[search], llm=llm, system_prompt=SYSTEM)
memory = ChatMemoryBuffer.from_defaults(token_limit=40000)  # expect: TFA0301 @10-59 | `ChatMemoryBuffer` is framework memory: it decides which turns, summaries or retrieved snippets the model sees, in its own format

async def main(question):
    first = await agent.run(question)  # expect: TFA0301 @19-38 | `agent.run(...)` without `memory=` or `chat_history=` keeps the conversation in the framework's default `ChatMemoryBuffer`, which decides what the model sees
    return await agent.run(question, memory=memory)
""",
        """
from langchain_core.runnables.history import RunnableWithMessageHistory

chat = RunnableWithMessageHistory(chain, get_session_history)  # expect: TFA0301 @8-62 | `RunnableWithMessageHistory` is framework memory: it decides which turns, summaries or retrieved snippets the model sees, in its own format
""",
    ]
    valid = [
        # Your own thread, rendered by your own function.
        """
from openai import OpenAI
client = OpenAI()

def step(thread):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": render(thread)}])
""",
        # Memory switched off explicitly.
        """
from crewai import Crew

crew = Crew(agents=[a], tasks=[t], memory=False)
""",
        # LlamaIndex given the history the application keeps.
        """
from llama_index.core.agent.workflow import FunctionAgent

agent = FunctionAgent(tools=[search], llm=llm, system_prompt=SYSTEM)

async def main(question, history):
    return await agent.run(question, chat_history=history)
""",
    ]
    near_miss = [
        # A project class that happens to be called ...Memory.
        """
class ConversationBufferMemory:
    def __init__(self):
        self.turns = []

memory = ConversationBufferMemory()
""",
        # A checkpointer keeps state; it does not render the prompt.
        """
from langgraph.checkpoint.memory import InMemorySaver

saver = InMemorySaver()
""",
        # Options forwarded with **kwargs may carry memory=.
        """
from llama_index.core.agent.workflow import FunctionAgent

agent = FunctionAgent(tools=[search], llm=llm)

async def main(question, **run_options):
    return await agent.run(question, **run_options)
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        memory = self._memory_class(qualname)
        if memory is not None:
            self.report(
                node,
                f"`{memory}` is framework memory: it decides which turns, summaries or "
                "retrieved snippets the model sees, in its own format",
            )
            return
        construct = self.ctx.recognise.agent_construct(node)
        if construct is not None:
            for keyword in construct.spec.memory_keywords:
                arg = keyword_arg(node, keyword)
                if arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True":
                    label = construct.qualname.rsplit(".", 1)[-1]
                    self.report(
                        arg,
                        f"`{label}({keyword}=True)` hands the conversation history to "
                        f"{construct.framework.title}'s memory, which decides what the model sees",
                    )
            return
        handoff = self.ctx.recognise.handoff(node)
        if handoff is not None and handoff.spec is not None and handoff.spec.default_memory:
            spec = handoff.spec
            if has_star_kwargs(node) or any(keyword_arg(node, k) for k in spec.memory_keywords):
                return
            passed = " or ".join(f"`{k}=`" for k in spec.memory_keywords)
            label = " ".join(self.ctx.code_for(node.func).split())[:60]
            self.report(
                node,
                f"`{label}(...)` without {passed} keeps the conversation in the framework's "
                f"default `{spec.default_memory}`, which decides what the model sees",
            )

    def _memory_class(self, qualname: str) -> str | None:
        """``ConversationBufferMemory`` for its class or a ``from_*`` factory of it."""
        for candidate in (qualname, qualname.rsplit(".", 1)[0] if "." in qualname else None):
            if candidate is None:
                continue
            component = self.ctx.knowledge.components.first(candidate)
            if component is not None and component.role == "memory":
                if candidate != qualname and not qualname.rsplit(".", 1)[-1].startswith("from_"):
                    return None
                return candidate.rsplit(".", 1)[-1]
        return None
