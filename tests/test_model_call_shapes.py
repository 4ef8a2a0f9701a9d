"""Model calls written the ways real applications write them, each recognised by the engine.

Every case is a shape seen in an agent application on PyPI (shell-gpt, gptme, llm, open deep
research); each must appear in the inventory as a direct model call at its line, and each
near miss must not.
"""

from __future__ import annotations

import pytest

from factorlint.api import lint_paths
from factorlint.config import Overrides, resolve_settings

SHAPES = {
    # shell-gpt binds the SDK function to a module-level name in either branch of an `if`,
    # after a placeholder lambda.
    "either_branch.py": '''
        from typing import Any, Callable
        import litellm
        from openai import OpenAI

        completion: Callable[..., Any] = lambda *args, **kwargs: None
        if USE_LITELLM:
            completion = litellm.completion
        else:
            client = OpenAI()
            completion = client.chat.completions.create

        class Handler:
            def get_completion(self, messages):
                return completion(model="m", messages=messages)  # expect: call
        ''',
    # SDKs whose tables say which calls reach a model (mini-swe-agent's Portkey client, imported
    # inside a ``try``; metagpt's Qianfan and Ark clients; smolagents' vLLM and Hub clients).
    "more_sdks.py": '''
        import qianfan
        from huggingface_hub import InferenceClient
        from vllm import LLM
        from volcenginesdkarkruntime import AsyncArk
        from zhipuai import ZhipuAI

        try:
            from portkey_ai import Portkey
        except ImportError:
            Portkey = None

        class Models:
            def __init__(self):
                self.portkey = Portkey(api_key="k")
                self.chat = qianfan.ChatCompletion()
                self.ark = AsyncArk()
                self.local = LLM(model="m")
                self.hub = InferenceClient()
                self.zhipu = ZhipuAI(api_key="k")

            async def ask(self, messages):
                self.portkey.chat.completions.create(model="m", messages=messages)  # expect: call
                self.chat.do(messages=messages)  # expect: call
                await self.ark.chat.completions.create(model="m", messages=messages)  # expect: call
                self.local.generate(["hi"])  # expect: call
                self.hub.chat_completion(messages)  # expect: call
                self.zhipu.chat.completions.create(model="glm-4", messages=messages)  # expect: call
                self.hub.feature_extraction("text")
                self.chat.models()
        ''',
    "or_default.py": '''
        import litellm

        async def ask(messages, _completion=None):
            _completion = _completion or litellm.acompletion
            return await _completion(model="m", messages=messages)  # expect: call
        ''',
    "partial.py": '''
        from functools import partial
        import litellm

        fast = partial(litellm.completion, model="gpt-4o-mini")

        def quick(messages):
            return fast(messages=messages)  # expect: call
        ''',
    "handlers.py": '''
        import litellm
        from openai import OpenAI

        HANDLERS = {"openai": OpenAI().chat.completions.create, "lite": litellm.completion}

        def route(kind, messages):
            return HANDLERS[kind](model="m", messages=messages)  # expect: call
        ''',
    "parameter_default.py": '''
        import litellm

        def defaulted(messages, complete=litellm.completion):
            return complete(model="m", messages=messages)  # expect: call
        ''',
    "attribute_alias.py": '''
        import litellm

        class Bot:
            def __init__(self):
                self._complete = litellm.completion

            def reply(self, messages):
                return self._complete(model="m", messages=messages)  # expect: call
        ''',
    # dspy modules run a model when the instance is called.
    "dspy_instance.py": '''
        import dspy

        class Solver(dspy.Module):
            def __init__(self):
                self.gen = dspy.ChainOfThought("question -> answer")

            def forward(self, question):
                return self.gen(question=question)  # expect: call
        ''',
    # gptme and llm reach the client through a registry, a lazy proxy or a context manager; the
    # SDK's method path on that receiver, in a module importing the SDK, is the call.
    "unresolved_receiver.py": '''
        import openai
        from .limits import bounded_client

        clients = {}

        def chat(provider, messages):
            client = clients[provider]
            with bounded_client(client, provider) as send_client:
                return send_client.chat.completions.with_raw_response.create(  # expect: call
                    model="m", messages=messages
                )

        def stream(provider, messages):
            return get_client(provider).responses.create(model="m", input=messages)  # expect: call
        ''',
    # A private module path the tables do not list, behind a forward-reference return type.
    "private_path.py": '''
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from anthropic._client import Anthropic

        def _client() -> "Anthropic | None":
            return None

        def compact(messages):
            client = _client()
            return client.beta.messages.create(model="m", messages=messages)  # expect: call
        ''',
    # A parameter annotated with the framework's base class (open deep research).
    "base_class_parameter.py": '''
        from langchain_core.language_models import BaseChatModel

        async def summarize(model: BaseChatModel, text: str):
            return await model.ainvoke([("user", text)])  # expect: call

        def quoted(model: "BaseChatModel", text: str):
            return model.invoke(text)  # expect: call
        ''',
}

NEAR_MISSES = {
    # No SDK imported: `messages.create` is a Django-style manager, not a model call.
    "django_manager.py": '''
        from .models import Message

        def save(thread, text):
            return thread.messages.create(text=text)
        ''',
    # One-segment method names are too common to take for a model call on an unknown receiver.
    "one_segment.py": '''
        import openai

        def run(chain, question):
            return chain.invoke(question)
        ''',
    # A partial of something else, and a dict of handlers that are not model calls.
    "other_callables.py": '''
        from functools import partial
        import json
        import openai

        dump = partial(json.dumps, indent=2)
        HANDLERS = {"json": json.loads}

        def run(kind, text):
            return dump(HANDLERS[kind](text))
        ''',
    # Building a dspy module is not calling it.
    "dspy_build.py": '''
        import dspy

        def build():
            return dspy.ChainOfThought("question -> answer")
        ''',
}


def _expected(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if "# expect: call" in line]


def _inventory(tmp_path, files: dict[str, str]):
    import textwrap

    written = {}
    for name, source in files.items():
        text = textwrap.dedent(source).lstrip("\n")
        (tmp_path / name).write_text(text)
        written[name] = text
    (tmp_path / "limits.py").write_text("def bounded_client(client, provider):\n    return client\n")
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    calls = {(s.path, s.line) for s in report.sites if s.kind == "llm_call" and s.detail.get("direct")}
    return written, calls


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_shape_is_a_model_call(tmp_path, name):
    written, calls = _inventory(tmp_path, {name: SHAPES[name]})
    expected = {(name, line) for line in _expected(written[name])}
    assert expected and calls == expected


@pytest.mark.parametrize("name", sorted(NEAR_MISSES))
def test_near_misses_are_not(tmp_path, name):
    _, calls = _inventory(tmp_path, {name: NEAR_MISSES[name]})
    assert calls == set()


def test_a_module_level_alias_is_followed_from_another_module(tmp_path):
    """``from handler import completion`` in another file: the project pass follows the alias."""
    files = {
        "handler.py": "import litellm\n\ncompletion = litellm.completion\n",
        "agent.py": (
            "from handler import completion\n\n"
            "def run(messages):\n"
            "    while True:\n"
            "        reply = completion(model='m', messages=messages)\n"
            "        messages.append(reply)\n"
        ),
    }
    import textwrap

    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    assert ("agent.py", 4, "TFA0802") in {(f.path, f.line, f.code) for f in report.findings}


def test_a_parameter_is_typed_by_what_the_module_passes_to_it(tmp_path):
    """rawdog: ``llm_client = LLMClient(config)`` in ``main``, then ``rawdog(prompt, config,
    llm_client)``; the loop in ``rawdog`` calls the model through the parameter."""
    import textwrap

    (tmp_path / "agent.py").write_text(textwrap.dedent('''
        import litellm

        class LLMClient:
            def __init__(self):
                self.conversation = []

            def add_message(self, role, content):
                self.conversation.append({"role": role, "content": content})

            def get_script(self):
                return litellm.completion(model="m", messages=self.conversation)

        def rawdog(prompt, llm_client):
            llm_client.add_message("user", prompt)
            go_on = True
            while go_on:
                reply = llm_client.get_script()
                llm_client.add_message("assistant", reply)
                go_on = reply.endswith("CONTINUE")

        def main():
            llm_client = LLMClient()
            rawdog("hello", llm_client)
        ''').lstrip())
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    assert ("agent.py", 16, "TFA0802") in {(f.path, f.line, f.code) for f in report.findings}


def test_a_caller_that_passes_something_else_types_nothing(tmp_path):
    import textwrap

    (tmp_path / "agent.py").write_text(textwrap.dedent('''
        import litellm

        class Queue:
            def get(self):
                return 1

            def put(self, item):
                pass

        def drain(queue):
            busy = True
            while busy:
                item = queue.get()
                queue.put(item)
                busy = bool(item)

        def main():
            queue = Queue()
            drain(queue)
        ''').lstrip())
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    report = lint_paths([tmp_path], settings, jobs=0)
    assert not [f for f in report.findings if f.code == "TFA0802"]


def test_a_factory_classmethod_types_the_model_its_instances_hold(tmp_path):
    """gpt-researcher: ``GenericLLMProvider.from_provider(name)`` builds a LangChain chat model in
    one branch per provider and returns ``cls(llm)``; ``__init__`` keeps it as ``self.llm``. The
    provider's own calls are direct, and so are other modules' calls on ``from_provider(...).llm``,
    whose receiver is typed by the factory's inferred return type."""
    files = {
        "provider.py": '''
            class Provider:
                def __init__(self, llm, verbose=True):
                    self.llm = llm

                @classmethod
                def from_provider(cls, name, **kwargs):
                    if name == "openai":
                        from langchain_openai import ChatOpenAI
                        llm = ChatOpenAI(**kwargs)
                    elif name == "anthropic":
                        from langchain_anthropic import ChatAnthropic
                        llm = ChatAnthropic(**kwargs)
                    else:
                        raise ValueError(name)
                    return cls(llm)

                async def chat(self, messages):
                    return await self.llm.ainvoke(messages)  # expect: call
            ''',
        "tools.py": '''
            from provider import Provider

            async def with_tools(name, messages, tools):
                instance = Provider.from_provider(name)
                bound = instance.llm.bind_tools(tools)
                return await bound.ainvoke(messages)  # expect: call
            ''',
    }
    written, calls = _inventory(tmp_path, files)
    expected = {(name, line) for name, text in written.items() for line in _expected(text)}
    assert calls == expected


def test_a_lazy_module_proxy_stands_for_the_module(tmp_path):
    """aider defers ``import litellm``: ``litellm = LazyLiteLLM()``, whose ``__getattr__`` imports
    the module by name on first use. Calls through the proxy are the module's own calls; a proxy
    of a module that is not a model framework is not followed."""
    files = {
        "lazy.py": '''
            import importlib

            class LazyLiteLLM:
                _module = None

                def __getattr__(self, name):
                    if self._module is None:
                        self._module = importlib.import_module("litellm")
                    return getattr(self._module, name)

            class LazyYaml:
                def __getattr__(self, name):
                    return getattr(importlib.import_module("yaml"), name)

            litellm = LazyLiteLLM()
            yaml = LazyYaml()
            ''',
        "models.py": '''
            from lazy import litellm, yaml

            def send(messages):
                return litellm.completion(model="m", messages=messages)  # expect: call

            def load(text):
                return yaml.safe_load(text)
            ''',
    }
    written, calls = _inventory(tmp_path, files)
    expected = {(name, line) for name, text in written.items() for line in _expected(text)}
    assert calls == expected


def test_a_model_function_handed_to_a_helper_is_a_model_call(tmp_path):
    """smolagents hands the SDK method to its retry helper (``self.retryer(self.client.chat
    .completions.create, **kwargs)``), with the client built by ``self.create_client()``; a pool
    runs ``litellm.completion`` handed to ``submit``."""
    files = {
        "models.py": '''
            from concurrent.futures import ThreadPoolExecutor

            import litellm
            import openai

            class OpenAIModel:
                def __init__(self, retryer):
                    self.retryer = retryer
                    self.client = self.create_client()

                def create_client(self):
                    return openai.OpenAI()

                def generate(self, messages):
                    return self.retryer(self.client.chat.completions.create, model="m", messages=messages)  # expect: call

            def fan_out(batches):
                with ThreadPoolExecutor() as pool:
                    return [pool.submit(litellm.completion, model="m", messages=b) for b in batches]  # expect: call

            def not_a_model(items):
                with ThreadPoolExecutor() as pool:
                    return list(pool.map(str.upper, items))
            ''',
    }
    written, calls = _inventory(tmp_path, files)
    expected = {(name, line) for name, text in written.items() for line in _expected(text)}
    assert calls == expected


def test_calls_the_engine_cannot_follow_are_named_in_the_audit(tmp_path):
    """A call named like a model call on a receiver nothing resolves (a plugin registry, an
    untyped parameter no caller types) is listed as not followed, with what to do about it; a
    library's own ``parse`` is not the project's to name, and a wrapper that reaches no model is
    simply not a model call."""
    from factorlint.audit.build import build_audit, unresolved_hint

    (tmp_path / "registry.py").write_text(
        "import openai\n"
        "import tomllib\n"
        "PLUGINS = load_plugins()\n\n"
        "def ask(name, prompt):\n"
        "    config = tomllib.loads('')\n"
        "    return PLUGINS[name].generate(prompt)\n\n"
        "def run(llm, prompt):\n"
        "    return llm.ainvoke(prompt)\n\n"
        "class Echo:\n"
        "    def generate(self, prompt):\n"
        "        return prompt\n\n"
        "def echo(prompt):\n"
        "    return Echo().generate(prompt)\n"
    )
    settings = resolve_settings(tmp_path, Overrides(isolated=True), tmp_path)
    audit = build_audit(lint_paths([tmp_path], settings), settings)
    unresolved = {(s.line, unresolved_hint(s)) for s in audit.inventory.unresolved}
    assert unresolved == {
        (7, "`PLUGINS[name].generate`: the receiver is chosen at run time (a registry, a plugin); if it "
            "calls a model, call it through a project function and name that in `llm-functions`"),
        (10, "`llm.ainvoke`: `llm` is a parameter of `run` that no caller types; annotate it with its "
             "client class"),
    }
    assert audit.inventory.llm_calls == []
