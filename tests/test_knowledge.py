"""The knowledge tables load, follow the schema, and carry the facts the rules rely on."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from factorlint.knowledge import (
    BoundSpec,
    Knowledge,
    KnowledgeError,
    load_knowledge,
)

RULES = Path(__file__).resolve().parents[1] / "rules"

EXPECTED_TABLES = {
    "anthropic", "autogen", "autogen_agentchat", "backoff", "baml", "cohere", "crewai", "dspy",
    "google_genai", "groq", "instructor", "langchain", "langgraph", "litellm", "llama_index",
    "langchain_prompts", "mistral", "ollama", "openai", "openai_agents", "pydantic_ai", "smolagents",
    "tenacity", "portkey", "zhipuai", "volcengine_ark", "qianfan", "vllm", "huggingface_hub",
    "security_sinks", "secrets",
    "web",
    "side_effects", "humanlayer",
}


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(RULES)


def _agent(knowledge: Knowledge, qualname: str):
    found = knowledge.agent_constructors.get(qualname)
    assert found, f"{qualname} is not an agent constructor"
    assert len({id(agent) for _, agent in found}) == 1, f"{qualname} matches several agent specs"
    return found[0][1]


def _bound_all_bounds(knowledge: Knowledge):
    for fw in knowledge.frameworks:
        for agent in fw.agents:
            for bound in (agent.bound, agent.run_bound):
                if bound:
                    yield fw.name, agent.name, bound
        for handoff in fw.handoffs:
            if handoff.bound:
                yield fw.name, handoff.name, handoff.bound
        for client in fw.clients:
            for call in client.calls:
                if call.bound:
                    yield fw.name, client.kind, call.bound


# ------------------------------------------------------------------------------------------------
# Loading


def test_all_tables_load(knowledge: Knowledge) -> None:
    assert {fw.name for fw in knowledge.frameworks} == EXPECTED_TABLES
    assert {p.stem for p in (RULES / "frameworks").glob("*.toml")} == EXPECTED_TABLES


def test_every_table_starts_with_a_comment_naming_its_source() -> None:
    for path in sorted((RULES / "frameworks").glob("*.toml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{path.name} must start with a comment naming the library"


def test_kinds_and_agent_names_are_unique(knowledge: Knowledge) -> None:
    kinds = Counter(c.kind for fw in knowledge.frameworks for c in fw.clients)
    names = Counter(a.name for fw in knowledge.frameworks for a in fw.agents)
    assert [k for k, n in kinds.items() if n > 1] == []
    assert [k for k, n in names.items() if n > 1] == []


def test_version_ranges_parse_and_bound_defaults_are_consistent(knowledge: Knowledge) -> None:
    for fw_name, owner, bound in _bound_all_bounds(knowledge):
        for entry in bound.defaults:
            SpecifierSet(entry.versions)  # raises on a bad specifier
            assert entry.source, f"{fw_name}/{owner}: every default cites its source"
        if len(bound.defaults) > 1:
            assert bound.distribution, f"{fw_name}/{owner}: versioned defaults need a distribution"
            assert all(d.versions for d in bound.defaults)
        if bound.where == "config":
            assert bound.config_key, f"{fw_name}/{owner}: config bounds name their key"


# ------------------------------------------------------------------------------------------------
# Facts


def test_agent_executor_is_bounded_by_max_iterations_15(knowledge: Knowledge) -> None:
    for qualname in (
        "langchain.agents.AgentExecutor",
        "langchain.agents.agent.AgentExecutor",
        "langchain_classic.agents.AgentExecutor",
    ):
        agent = _agent(knowledge, qualname)
        assert agent.owns_loop and agent.call_runs
        assert "invoke" in agent.run_methods and "iter" in agent.step_control_methods
        assert agent.bound is not None
        assert agent.bound.parameter == "max_iterations"
        assert agent.bound.where == "constructor"
        assert "max_execution_time" in agent.bound.alternatives
        default, certain = agent.bound.default_for(None)
        assert default is not None and default.value == 15 and certain


def test_initialize_agent_writes_its_own_prompt(knowledge: Knowledge) -> None:
    agent = _agent(knowledge, "langchain.agents.initialize_agent")
    assert agent.prompt is not None and agent.prompt.framework_default
    assert agent.prompt.override_keywords == ["agent_kwargs"]


def test_classic_agent_factories_do_not_own_the_loop(knowledge: Knowledge) -> None:
    agent = _agent(knowledge, "langchain_classic.agents.create_tool_calling_agent")
    assert not agent.owns_loop
    assert agent.prompt is not None and agent.prompt.keywords == ["prompt"]


def test_chat_models_are_clients_and_prompt_classes_are_not(knowledge: Knowledge) -> None:
    for qualname in (
        "langchain_openai.ChatOpenAI",
        "langchain_openai.chat_models.base.ChatOpenAI",
        "langchain_anthropic.ChatAnthropic",
        "langchain_community.chat_models.ChatOllama",
        "langchain_openai.AzureChatOpenAI",
        # The base class, as parameter annotations name it (``model: BaseChatModel``).
        "langchain_core.language_models.chat_models.BaseChatModel",
    ):
        clients = knowledge.client_constructors.get(qualname)
        assert clients and clients[0].kind == "langchain_chat_model", qualname
    assert knowledge.client_factories.first("langchain.chat_models.init_chat_model") is not None
    for qualname in (
        "langchain_core.prompts.ChatPromptTemplate",
        "langchain_core.prompts.chat.ChatPromptTemplate",
        "langchain_core.messages.ChatMessage",
        "langchain_community.chat_message_histories.ChatMessageHistory",
        "langchain_community.llms.utils.enforce_stop_tokens",
    ):
        assert knowledge.client_constructors.get(qualname) == [], qualname
    chat = knowledge.clients_by_kind["langchain_chat_model"]
    invoke = knowledge.call_spec(chat, "invoke")
    assert invoke is not None and invoke.prompt_positional == 0
    assert "with_structured_output" in chat.structured_chain_methods


def test_langgraph_recursion_limit_default_per_version(knowledge: Knowledge) -> None:
    graph = _agent(knowledge, "langgraph.graph.StateGraph")
    assert not graph.owns_loop and "compile" in graph.chain_methods
    bound = graph.run_bound
    assert bound is not None and bound.where == "config" and bound.config_key == "recursion_limit"
    assert bound.distribution == "langgraph"
    assert bound.default_for("0.2.74")[0].value == 25
    assert bound.default_for("1.0.5") == (bound.defaults[0], True)
    assert bound.default_for("1.0.5")[0].value == 25
    assert bound.default_for("1.0.6")[0].value == 10000
    assert bound.default_for("1.1.3")[0].value == 10000
    assert bound.default_for("1.1.4")[0].value == 10007
    newest, certain = bound.default_for(None)
    assert newest.value == 10007 and not certain
    prebuilt = _agent(knowledge, "langgraph.prebuilt.create_react_agent")
    assert prebuilt.owns_loop and prebuilt.prompt.keywords == ["prompt"]
    assert prebuilt.run_bound.default_for("1.0.6")[0].value == 10000


def test_create_agent_default_follows_the_langchain_version(knowledge: Knowledge) -> None:
    agent = _agent(knowledge, "langchain.agents.create_agent")
    assert agent.owns_loop
    assert "middleware" in agent.step_control_keywords
    assert agent.checkpointer_keywords == ["checkpointer"]
    assert agent.prompt is not None and agent.prompt.keywords == ["system_prompt"]
    assert not agent.prompt.framework_default
    bound = agent.run_bound
    assert bound.distribution == "langchain" and bound.effectively_unbounded_above == 1000
    assert bound.default_for("1.0.4")[0].value == 25
    assert bound.default_for("1.0.5")[0].value == 10000
    assert bound.default_for("1.2.13")[0].value == 10000
    assert bound.default_for("1.2.14")[0].value == 9999


def test_openai_client_and_calls(knowledge: Knowledge) -> None:
    client = knowledge.client_constructors.first("openai.OpenAI")
    assert client is not None and client.kind == "openai"
    assert knowledge.client_modules["openai"] is client
    assert client.retry_keyword == "max_retries" and client.default_retries == 2
    parse = knowledge.call_spec(client, "chat.completions.parse")
    assert parse is not None and parse.always_structured
    create = knowledge.call_spec(client, "chat.completions.create")
    assert create.message_keywords == ["messages"] and "response_format" in create.structured_keywords
    responses = knowledge.call_spec(client, "responses.create")
    assert responses.prompt_keywords == ["instructions"] and responses.message_keywords == ["input"]
    assert knowledge.call_spec(client, "ChatCompletion.create") is not None
    assert knowledge.call_spec(client, "embeddings.create") is None
    assert client in knowledge.clients_with_member("chat.completions.create")


def test_anthropic_tool_runner_owns_the_loop_without_a_default_bound(knowledge: Knowledge) -> None:
    client = knowledge.client_constructors.first("anthropic.Anthropic")
    runner = knowledge.call_spec(client, "beta.messages.tool_runner")
    assert runner is not None and runner.owns_loop
    assert runner.bound.parameter == "max_iterations" and runner.bound.where == "call"
    default, certain = runner.bound.default_for("0.70.0")
    assert default is not None and default.value is None and certain
    assert knowledge.call_spec(client, "messages.create").prompt_keywords == ["system"]
    assert knowledge.call_spec(client, "messages.count_tokens") is None


def test_litellm_and_instructor(knowledge: Knowledge) -> None:
    litellm = knowledge.client_modules["litellm"]
    completion = knowledge.call_spec(litellm, "completion")
    assert completion is not None and completion.prompt_positional == 1
    assert litellm.retry_keyword == "num_retries"
    instructor = knowledge.client_factories.first("instructor.from_openai")
    assert instructor is not None and instructor.default_retries == 3
    assert knowledge.call_spec(instructor, "chat.completions.create").always_structured
    assert knowledge.client_factories.get("instructor.Mode") == []


def test_baml_client_calls_any_function(knowledge: Knowledge) -> None:
    for module in ("baml_client.b", "baml_client.sync_client.b", "baml_client.async_client.b"):
        baml = knowledge.client_modules[module]
        assert baml.kind == "baml"
    spec = baml.calls[0]
    assert spec.methods == ["*", "stream.*"] and spec.always_structured


def test_openai_agents_runner_is_a_handoff_bounded_by_max_turns(knowledge: Knowledge) -> None:
    for qualname in ("agents.Runner.run", "agents.Runner.run_sync", "agents.Runner.run_streamed"):
        found = knowledge.handoff_functions.get(qualname)
        assert found, qualname
        _, handoff = found[0]
        assert handoff.bound.parameter == "max_turns" and handoff.bound.where == "call"
        assert handoff.bound.none_disables
        assert handoff.bound.default_for(None)[0].value == 10
    tool = knowledge.tool_decorators.first("agents.function_tool")
    assert tool is not None and tool.approval_keywords == ["needs_approval"]


def test_framework_prompt_owners(knowledge: Knowledge) -> None:
    crew_agent = _agent(knowledge, "crewai.Agent")
    assert crew_agent.prompt.framework_default
    assert set(crew_agent.prompt.override_keywords) == {"system_template", "prompt_template"}
    assert crew_agent.bound.default_for(None)[0].value == 25
    assert not _agent(knowledge, "crewai.Flow").owns_loop
    autogen = _agent(knowledge, "autogen.AssistantAgent")
    assert autogen.prompt.framework_default and autogen.prompt.keywords == ["system_message"]
    assert autogen.bound.default_for(None)[0].value == 100
    assert _agent(knowledge, "autogen.GroupChat").bound.default_for(None)[0].value == 10
    smol = _agent(knowledge, "smolagents.CodeAgent")
    assert smol.prompt.framework_default and smol.prompt.override_keywords == ["prompt_templates"]
    assert smol.bound.default_for(None)[0].value == 20 and "step_callbacks" in smol.step_control_keywords
    react = _agent(knowledge, "dspy.ReAct")
    assert react.call_runs and react.prompt.framework_default and react.prompt.default_description
    assert react.bound.default_for(None)[0].value == 10


def test_teams_without_termination_are_unbounded(knowledge: Knowledge) -> None:
    team = _agent(knowledge, "autogen_agentchat.teams.RoundRobinGroupChat")
    assert team.bound.parameter == "max_turns" and "termination_condition" in team.bound.alternatives
    default, _ = team.bound.default_for(None)
    assert default.value is None
    magentic = _agent(knowledge, "autogen_agentchat.teams.MagenticOneGroupChat")
    assert magentic.bound.default_for(None)[0].value == 20


def test_llama_index_falsy_bound_means_default(knowledge: Knowledge) -> None:
    agent = _agent(knowledge, "llama_index.core.agent.workflow.FunctionAgent")
    assert agent.run_bound.where == "call" and not agent.run_bound.none_disables
    assert agent.run_bound.default_for(None)[0].value == 20
    legacy = _agent(knowledge, "llama_index.core.agent.ReActAgent.from_tools")
    assert legacy.bound.default_for(None)[0].value == 10


def test_pydantic_ai_limits_and_approval(knowledge: Knowledge) -> None:
    agent = _agent(knowledge, "pydantic_ai.Agent")
    assert agent.run_bound.parameter == "usage_limits" and agent.run_bound.default_for(None)[0].value == 50
    assert agent.step_control_methods == ["iter"]
    tool = knowledge.tool_decorators.first("pydantic_ai.Agent().tool")
    assert tool is not None and tool.approval_keywords == ["requires_approval"]


def test_retry_helpers(knowledge: Knowledge) -> None:
    tenacity = knowledge.retry_decorators.first("tenacity.retry")
    assert tenacity is not None and tenacity.bare_is_unbounded
    assert tenacity.stop_keywords == ["stop"] and "tenacity.stop_never" in tenacity.unbounded_values
    assert tenacity.exception_keyword == "retry"
    assert "tenacity.retry_if_exception_type" in tenacity.exception_filters
    assert knowledge.retry_constructors.first("tenacity.AsyncRetrying") is tenacity
    backoff = knowledge.retry_decorators.first("backoff.on_exception")
    assert backoff is not None and not backoff.bare_is_unbounded
    assert set(backoff.stop_keywords) == {"max_tries", "max_time"}
    assert backoff.exception_positional == 1 and backoff.exception_keyword == "exception"


def test_components(knowledge: Knowledge) -> None:
    def role(qualname: str):
        found = knowledge.components.get(qualname)
        assert found, qualname
        return found[0]

    assert role("langgraph.checkpoint.memory.MemorySaver").persistent is False
    assert role("langgraph.checkpoint.memory.InMemorySaver").persistent is False
    assert role("langgraph.checkpoint.sqlite.SqliteSaver").persistent is True
    assert role("langgraph.checkpoint.postgres.aio.AsyncPostgresSaver").persistent is True
    assert role("agents.SQLiteSession").role == "checkpointer"
    assert role("langgraph.types.interrupt").role == "interrupt"
    assert role("langchain.agents.middleware.HumanInTheLoopMiddleware").role == "approval"
    assert role("langchain.memory.ConversationBufferMemory").role == "memory"
    assert role("langchain_classic.memory.buffer_window.ConversationBufferWindowMemory").role == "memory"
    assert role("llama_index.core.memory.ChatMemoryBuffer").role == "memory"
    assert role("smolagents.LocalPythonExecutor").role == "code_executor"
    assert role("langchain_experimental.tools.PythonREPLTool").role == "code_executor"
    assert knowledge.components.get("langgraph.checkpoint.serde.jsonplus.JsonPlusSerializer") == []


def test_remote_prompts_and_tools(knowledge: Knowledge) -> None:
    hub = knowledge.remote_prompts.first("langchain.hub.pull")
    assert hub is not None and hub.pin_separator == ":"
    assert knowledge.remote_prompts.first("langsmith.Client().pull_prompt") is not None
    assert knowledge.tool_decorators.first("langchain_core.tools.tool") is not None
    assert knowledge.tool_base_classes.first("langchain_core.tools.BaseTool") is not None
    assert knowledge.tool_decorators.first("anthropic.beta_tool") is not None


def test_framework_modules_and_distributions(knowledge: Knowledge) -> None:
    assert knowledge.is_framework_module("langchain_openai.chat_models")
    assert knowledge.is_framework_module("agents.run")
    assert not knowledge.is_framework_module("requests")
    assert knowledge.distribution_of_package["langgraph"] == "langgraph"
    assert knowledge.distribution_of_package["agents"] == "openai-agents"


# ------------------------------------------------------------------------------------------------
# Broken tables


def _tree_with(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "rules"
    (root / "frameworks").mkdir(parents=True)
    shutil.copy(RULES / "factors.toml", root / "factors.toml")
    shutil.copy(RULES / "frameworks" / "openai.toml", root / "frameworks" / "openai.toml")
    (root / "frameworks" / name).write_text(text, encoding="utf-8")
    return root


def test_a_table_that_breaks_the_schema_names_the_file(tmp_path: Path) -> None:
    root = _tree_with(
        tmp_path,
        "broken.toml",
        'name = "broken"\ntitle = "Broken"\npackages = ["broken"]\n\n'
        '[[agents]]\nname = "x"\nconstructors = ["broken.Agent"]\nmax_steps = 3\n',
    )
    with pytest.raises(KnowledgeError, match=r"broken\.toml") as info:
        load_knowledge(root)
    assert "max_steps" in str(info.value)


def test_a_bad_bound_location_names_the_file_and_field(tmp_path: Path) -> None:
    root = _tree_with(
        tmp_path,
        "badbound.toml",
        'name = "badbound"\ntitle = "Bad"\npackages = ["bad"]\n\n'
        '[[handoffs]]\nname = "h"\nfunctions = ["bad.run"]\n\n'
        '[handoffs.bound]\nparameter = "max_turns"\nwhere = "somewhere"\n',
    )
    with pytest.raises(KnowledgeError, match=r"badbound\.toml: handoffs\.0\.bound\.where"):
        load_knowledge(root)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    root = _tree_with(tmp_path, "syntax.toml", 'name = "syntax\n')
    with pytest.raises(KnowledgeError, match=r"syntax\.toml"):
        load_knowledge(root)


def test_a_bad_package_name_is_rejected(tmp_path: Path) -> None:
    root = _tree_with(tmp_path, "pkg.toml", 'name = "pkg"\ntitle = "Pkg"\npackages = ["not a name"]\n')
    with pytest.raises(KnowledgeError, match=r"pkg\.toml: packages"):
        load_knowledge(root)


def test_bound_default_for_unknown_or_invalid_versions() -> None:
    bound = BoundSpec.model_validate({
        "parameter": "recursion_limit",
        "where": "config",
        "config_key": "recursion_limit",
        "distribution": "langgraph",
        "defaults": [
            {"versions": "<1.0.6", "value": 25},
            {"versions": ">=1.0.6", "value": 10000},
        ],
    })
    assert bound.default_for("not a version") == (bound.defaults[-1], False)
    assert bound.default_for("1.0.0")[0].value == 25
