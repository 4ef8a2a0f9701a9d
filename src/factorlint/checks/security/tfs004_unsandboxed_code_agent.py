from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule, RuleMeta
from factorlint.engine.recognise.recognisers import keyword_arg, positional_arg
from factorlint.engine.semantic.names import literal_string


class UnsandboxedCodeAgent(Rule):
    """## What it does
    Finds agents and tools that run model-written code or commands on the host:
    - settings that switch isolation off: smolagents `CodeAgent(additional_authorized_imports=
      ["*"])` or with `os`, `subprocess`, `shutil`, `socket`, `sys`, ... while the executor is the
      default local one; AutoGen 0.2 `code_execution_config={"use_docker": False}`; CrewAI
      `Agent(code_execution_mode="unsafe")` and `CodeInterpreterTool(unsafe_mode=True)`;
      LangChain `allow_dangerous_code=True` / `allow_dangerous_requests=True` (errors);
    - code executors that run on the host by design: LangChain `PythonREPLTool`,
      `PythonAstREPLTool`, `ShellTool`, AutoGen `LocalCommandLineCodeExecutor`,
      `JupyterCodeExecutor` (warnings).

    Executors known to isolate the code (Docker, E2B, Modal, Blaxel, DSPy's WebAssembly
    interpreter, CrewAI's Docker interpreter) are left alone, and so is a `CodeAgent` given
    `executor_type="docker"` / `"e2b"` / `"modal"` or its own `executor=`.

    ## Why is this bad?
    A code agent runs whatever the model writes. A prompt injection in a web page or a file the
    agent reads becomes code running with the program's rights: reading secrets, deleting files,
    calling out to the network (OWASP LLM06, excessive agency). Least privilege for an agent that
    writes code means running that code somewhere it can do no harm.

    ## Example
    ```python
    agent = CodeAgent(tools=[], model=model, additional_authorized_imports=["*"])
    ```

    ## Use instead
    ```python
    agent = CodeAgent(tools=[], model=model, additional_authorized_imports=["*"],
                      executor_type="docker")
    ```

    ## Fix safety
    No automatic fix: a sandbox needs infrastructure (Docker, an E2B key) that the code cannot
    provide.

    ## Options
    None. Settings and executors are data in `rules/frameworks/security_sinks.toml` and the
    `code_executor` components of the framework tables.

    ## References
    - https://genai.owasp.org/llmrisk/llm062025-excessive-agency/
    - https://huggingface.co/docs/smolagents/tutorials/secure_code_execution
    """

    meta = RuleMeta(
        code="TFS004",
        name="unsandboxed-code-agent",
        factor=None,
        severity="error",
        confidence="high",
        summary="Model-written code runs on the host without a sandbox",
        fix_advice=(
            "Run the model's code in an isolated executor (smolagents `executor_type=\"docker\"` "
            "/ `\"e2b\"`, AutoGen `use_docker=True` or `DockerCommandLineCodeExecutor`, CrewAI "
            "`code_execution_mode=\"safe\"`) with only the imports it needs."
        ),
    )

    invalid = [
        """
from smolagents import CodeAgent, InferenceClientModel

agent = CodeAgent(tools=[], model=InferenceClientModel(), additional_authorized_imports=["*"])  # expect: TFS004 @9-95 | `additional_authorized_imports` on `CodeAgent` lets the model's code import any module (`*`) in the local executor, which runs in this process
""",
        # Dangerous modules with the default local executor, also through a module constant.
        """
from smolagents import CodeAgent, LiteLLMModel

IMPORTS = ["pandas", "subprocess"]
model = LiteLLMModel(model_id="gpt-4o")
analyst = CodeAgent(tools=[], model=model, additional_authorized_imports=["numpy", "os.path"], executor_type="local")  # expect: TFS004 @11-118 | `additional_authorized_imports` on `CodeAgent` lets the model's code import `os.path` in the local executor, which runs in this process
ops = CodeAgent(tools=[], model=model, additional_authorized_imports=IMPORTS)  # expect: TFS004 @7-78 | `additional_authorized_imports` on `CodeAgent` lets the model's code import `subprocess` in the local executor, which runs in this process
""",
        """
import autogen

user = autogen.UserProxyAgent(  # expect: TFS004 @8-6:2 | `code_execution_config` on `UserProxyAgent` runs the code blocks the model writes directly on the host (use_docker=False)
    "user",
    code_execution_config={"work_dir": "coding", "use_docker": False},
)
""",
        """
from crewai import Agent
from crewai_tools import CodeInterpreterTool
from langchain_experimental.agents import create_pandas_dataframe_agent
from langchain_experimental.tools import PythonREPLTool

coder = Agent(role="coder", goal="write code", backstory="...", allow_code_execution=True, code_execution_mode="unsafe")  # expect: TFS004 @9-121 | `code_execution_mode` on `Agent` runs the code the agent writes directly on the host instead of in Docker
interpreter = CodeInterpreterTool(unsafe_mode=True)  # expect: TFS004 @15-52 | `unsafe_mode` on `CodeInterpreterTool` runs the model's code directly on the host instead of in Docker
repl = PythonREPLTool()  # expect: TFS004 @8-24 | `PythonREPLTool` runs the code or commands the model writes on this host, with no sandbox

def analyst(llm, df):
    return create_pandas_dataframe_agent(llm, df, allow_dangerous_code=True)  # expect: TFS004 @12-77 | `allow_dangerous_code` on `create_pandas_dataframe_agent` gives the agent a Python REPL that runs the model's code in this process
""",
    ]
    valid = [
        # Only harmless imports with the local executor.
        """
from smolagents import CodeAgent, InferenceClientModel

agent = CodeAgent(tools=[], model=InferenceClientModel(), additional_authorized_imports=["numpy", "pandas"])
""",
        """
import autogen
from autogen.coding import DockerCommandLineCodeExecutor

user = autogen.UserProxyAgent("user", code_execution_config={"executor": DockerCommandLineCodeExecutor()})
helper = autogen.UserProxyAgent("helper", code_execution_config={"work_dir": "coding", "use_docker": True})
quiet = autogen.UserProxyAgent("quiet", code_execution_config=False)
""",
        """
from crewai import Agent

coder = Agent(role="coder", goal="write code", backstory="...", allow_code_execution=True, code_execution_mode="safe")
""",
    ]
    near_miss = [
        # Every import allowed, but the code runs in a Docker or E2B sandbox.
        """
from smolagents import CodeAgent, InferenceClientModel

model = InferenceClientModel()
docker_agent = CodeAgent(tools=[], model=model, additional_authorized_imports=["*"], executor_type="docker")
e2b_agent = CodeAgent(tools=[], model=model, additional_authorized_imports=["os", "subprocess"], executor_type="e2b")
""",
        # A module whose name starts like a dangerous one.
        """
from smolagents import CodeAgent, InferenceClientModel

agent = CodeAgent(tools=[], model=InferenceClientModel(), additional_authorized_imports=["osmnx", "systemd_utils"])
""",
        # The flag is False, and an unrelated class has the same keyword.
        """
from langchain_experimental.agents import create_pandas_dataframe_agent
from mylib import Sandbox

def analyst(llm, df):
    box = Sandbox(allow_dangerous_code=True)
    return create_pandas_dataframe_agent(llm, df, allow_dangerous_code=False), box
""",
        # A sandboxed interpreter (Deno + Pyodide).
        """
import dspy

interpreter = dspy.PythonInterpreter()
""",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.ctx.qualname(node.func)
        if qualname is None:
            return
        settings = self.ctx.knowledge.unsafe_settings.get(qualname)
        for setting in settings:
            unsafe = self._unsafe_value(node, setting)
            if unsafe is not None and not self._sandboxed(node, setting):
                shown = "any module (`*`)" if unsafe == "*" else f"`{unsafe}`"
                detail = setting.description.replace("{value}", shown)
                self.report(
                    node,
                    f"`{setting.keyword}` on `{qualname.rsplit('.', 1)[-1]}` {detail}",
                    severity=setting.severity,
                )
                return
        components = [
            c for c in self.ctx.knowledge.components.get(qualname) if c.role == "code_executor"
        ]
        # An explicit ``allow_dangerous_code=False``: the framework refuses to run the code.
        declined = any(keyword_arg(node, s.keyword) is not None for s in settings)
        if components and not declined and not any(
            c.isolation in ("sandbox", "restricted") for c in components
        ):
            name = qualname.rsplit(".", 1)[-1]
            self.report(
                node,
                f"`{name}` runs the code or commands the model writes on this host, with no "
                "sandbox",
                severity="warning",
                fix_message=(
                    f"Replace `{name}` with an executor that isolates the code (a Docker, E2B or "
                    "Modal executor) and keep it away from secrets and the network."
                ),
            )

    def _argument(self, node: cst.Call, setting) -> cst.BaseExpression | None:
        arg = keyword_arg(node, setting.keyword)
        if arg is None and setting.positional is not None:
            arg = positional_arg(node, setting.positional)
        if arg is None:
            return None
        value = arg.value
        if isinstance(value, cst.Name) and value.value in self.ctx.scan.module_constants:
            return self.ctx.scan.module_constants[value.value]
        return value

    def _unsafe_value(self, node: cst.Call, setting) -> str | None:
        """The unsafe value given to the setting's keyword (for the message), or None."""
        value = self._argument(node, setting)
        if value is None:
            return None
        if setting.dict_key is not None:
            if not isinstance(value, cst.Dict):
                return None
            for element in value.elements:
                if isinstance(element, cst.DictElement) and literal_string(element.key) == setting.dict_key:
                    literal = _literal(element.value)
                    if literal is not None and literal in setting.values:
                        return f"{setting.dict_key}={element.value.value if isinstance(element.value, cst.Name) else literal}"
            return None
        if setting.elements and isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                module = literal_string(element.value)
                if module is not None and any(
                    module == danger or (danger != "*" and module.startswith(danger + "."))
                    for danger in setting.elements
                ):
                    return module
            return None
        literal = _literal(value)
        if literal is not None and literal in setting.values:
            return self.ctx.code_for(value)
        return None

    def _sandboxed(self, node: cst.Call, setting) -> bool:
        if any(keyword_arg(node, k) is not None for k in setting.sandbox_keywords):
            return True
        if setting.sandbox_keyword is None:
            return False
        arg = keyword_arg(node, setting.sandbox_keyword)
        if arg is None:
            return setting.sandbox_default in setting.sandbox_values
        chosen = literal_string(arg.value)
        return chosen is None or chosen in setting.sandbox_values  # unknown: give it the benefit


def _literal(node: cst.BaseExpression) -> bool | str | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return literal_string(node)
