from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import has_star_kwargs, is_none, keyword_arg, positional_arg


class FrameworkDefaultPrompt(Rule):
    """## What it does
    Finds framework agents built without the argument that replaces the framework's own prompt:
    a CrewAI `Agent` without `system_template=`/`prompt_template=`, an AutoGen `AssistantAgent`
    without `system_message=`, `initialize_agent` without `agent_kwargs=`, a smolagents
    `CodeAgent` without `prompt_templates=`. Agents that cannot be given a prompt of your own at
    all (`dspy.ReAct`) are reported as advice.

    ## Why is this bad?
    Factor 2 (own your prompts) says: don't outsource your prompt engineering to a framework.
    When the framework writes the prompt, the most important input of every model call is text
    you have never read, cannot review in a pull request and cannot test; it changes when you
    upgrade the library. CrewAI's `Agent(role=..., goal=..., backstory=...)` is the guide's own
    example of that black box: the three fields are pasted into a template you do not see.

    ## Example
    ```python
    from crewai import Agent

    analyst = Agent(role="Analyst", goal="Find churn drivers", backstory="Data scientist", tools=[sql])
    ```

    ## Use instead
    ```python
    from pathlib import Path
    from crewai import Agent

    PROMPTS = Path(__file__).parent / "prompts"
    analyst = Agent(
        role="Analyst", goal="Find churn drivers", backstory="Data scientist", tools=[sql],
        system_template=(PROMPTS / "analyst.system.md").read_text(),
        prompt_template=(PROMPTS / "analyst.task.md").read_text(),
    )
    ```
    Better still for factor 2: call the model yourself with a prompt you wrote (a BAML function
    or a template in the repository).

    ## Fix safety
    No automatic fix: the framework's effective prompt is not available statically. Print it
    once, commit it as your template, and pass it explicitly.

    ## Options
    The constructors and their override keywords are data (`rules/frameworks/*.toml`,
    `[agents.prompt]`). A call that passes `**kwargs` is not reported (the keyword may be in it).

    ## References
    - https://github.com/humanlayer/12-factor-agents/blob/main/content/factor-02-own-your-prompts.md
    """

    meta = RuleMeta(
        code="TFA0201",
        name="framework-default-prompt",
        factor=2,
        severity="warning",
        confidence="high",
        summary="The framework writes this agent's prompt: you never see, review or test it",
        fix_advice=(
            "Pass the framework's prompt override with text you own (a template file in the "
            "repository), or call the model yourself with a prompt you wrote."
        ),
    )

    invalid = [
        """
from crewai import Agent

analyst = Agent(  # expect: TFA0201 @11-7:2 | CrewAI writes the prompt of this `Agent`: CrewAI assembles the system and task prompts from role, goal and backstory with its own built-in templates (i18n prompt slices). Pass `system_template=` or `prompt_template=` with a prompt you own.
    role="Analyst",
    goal="Find churn drivers",
    backstory="Veteran data scientist",
)
""",
        # An alias of the package; an override passed as None is the default again.
        """
import crewai as c

def build(tools):
    return c.Agent(role="Writer", goal="Draft", backstory="-", tools=tools, system_template=None)  # expect: TFA0201 @12-98 | CrewAI writes the prompt of this `Agent`: CrewAI assembles the system and task prompts from role, goal and backstory with its own built-in templates (i18n prompt slices). Pass `system_template=` or `prompt_template=` with a prompt you own.
""",
        """
from langchain.agents import initialize_agent, AgentType

agent = initialize_agent(tools, llm, agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION)  # expect: TFA0201 @9-82 | LangChain writes the prompt of this `initialize_agent`: LangChain writes the whole prompt from the built-in template of the chosen AgentType (prefix, tool descriptions, format instructions, suffix). Pass `agent_kwargs=` with a prompt you own.
""",
        """
from autogen import AssistantAgent

assistant = AssistantAgent(name="coder", llm_config={"model": "gpt-4o"})  # expect: TFA0201 @13-73 | AutoGen 0.2 / AG2 writes the prompt of this `AssistantAgent`: AssistantAgent.DEFAULT_SYSTEM_MESSAGE: a long built-in prompt that tells the model to solve tasks with Python/shell code blocks and reply TERMINATE when done. Pass `system_message=` with a prompt you own.
""",
        """
from smolagents import CodeAgent, InferenceClientModel

agent = CodeAgent(tools=[], model=InferenceClientModel(), instructions="Be brief.")  # expect: TFA0201 @9-84 | smolagents writes the prompt of this `CodeAgent`: smolagents fills its built-in YAML prompt templates (code_agent.yaml / toolcalling_agent.yaml) with the tool descriptions; instructions are only inserted into that template. Pass `prompt_templates=` with a prompt you own.
""",
        # dspy.ReAct has no override at all: reported as advice.
        """
import dspy

react = dspy.ReAct("question -> answer", tools=[search])  # expect: TFA0201 @9-57 | DSPy writes the prompt of this `ReAct` and offers no argument to replace it: dspy.ReAct generates its own agent instructions (tool list, next_thought / next_tool_name / next_tool_args fields) from the signature; there is no parameter to replace them.
""",
    ]
    valid = [
        """
from pathlib import Path
from crewai import Agent

analyst = Agent(
    role="Analyst",
    goal="Find churn drivers",
    backstory="-",
    system_template=Path("prompts/analyst.system.md").read_text(),
    prompt_template=Path("prompts/analyst.task.md").read_text(),
)
""",
        """
from autogen_agentchat.agents import AssistantAgent

SYSTEM = open("prompts/coder.md").read()
assistant = AssistantAgent("coder", model_client=client, system_message=SYSTEM)
""",
        """
from langchain.agents import initialize_agent, AgentType

agent = initialize_agent(
    tools, llm, agent=AgentType.ZERO_SHOT_REACT_DESCRIPTION,
    agent_kwargs={"prefix": PREFIX, "suffix": SUFFIX},
)
""",
        """
import yaml
from smolagents import CodeAgent

agent = CodeAgent(tools=[], model=model, prompt_templates=yaml.safe_load(open("prompts/code_agent.yaml")))
""",
    ]
    near_miss = [
        # The keywords may be in **options: unknown, not reported.
        """
from crewai import Agent

def build(options):
    return Agent(role="Analyst", goal="Find churn drivers", backstory="-", **options)
""",
        # A project class that happens to be called Agent.
        """
from myapp.agents import Agent

analyst = Agent(role="Analyst", goal="Find churn drivers", backstory="-")
""",
        # The prompt is an argument of the factory: the developer writes it (no framework default).
        """
from langchain.agents import create_react_agent

agent = create_react_agent(llm, tools, prompt)
""",
        # A CrewAI Task has prompt text but no framework-written prompt of its own.
        """
from crewai import Task

task = Task(description="Summarise the report", expected_output="Three bullet points")
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        agent = self.ctx.recognise.agent_construct(node)
        if agent is None or agent.spec.prompt is None or not agent.spec.prompt.framework_default:
            return
        if has_star_kwargs(node):
            return
        prompt = agent.spec.prompt
        # The keywords that replace the framework's prompt: the override keywords when the table
        # names some, else the prompt keywords themselves (AutoGen's system_message replaces the
        # default system message outright).
        owning = list(prompt.override_keywords) or list(prompt.keywords)
        if any(_given(keyword_arg(node, kw)) for kw in owning):
            return
        override_positional = getattr(prompt, "override_positional", None)
        if override_positional is not None and _given(positional_arg(node, override_positional)):
            return
        constructor = agent.qualname.rsplit(".", 1)[-1]
        described = f" {prompt.default_description}" if prompt.default_description else ""
        if owning:
            passes = " or ".join(f"`{kw}=`" for kw in owning)
            message = (
                f"{agent.framework.title} writes the prompt of this `{constructor}`:{described} "
                f"Pass {passes} with a prompt you own."
            )
            self.report(node, message)
        else:
            message = (
                f"{agent.framework.title} writes the prompt of this `{constructor}` and offers no "
                f"argument to replace it:{described}"
            )
            self.report(
                node,
                message,
                severity="advice",
                fix_message=(
                    "Review the prompt the framework generates (print it once and commit it as a "
                    "test fixture), or call the model yourself with a prompt you wrote."
                ),
            )


def _given(arg) -> bool:
    return arg is not None and not is_none(arg.value)
