"""Where a fix is not offered: the finding stands, with advice in words and no edit."""

from __future__ import annotations

import pytest
from helpers import run_example


def _fix_of(tmp_path, example, code: str):
    _files, report = run_example(tmp_path, example, {code})
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, found
    return found[0].fix


MEMORY_READ_AT_MODULE_LEVEL = """
from langchain.chains import ConversationChain
from langchain.memory import ConversationBufferMemory
from langchain_openai import ChatOpenAI

memory = ConversationBufferMemory()
chain = ConversationChain(llm=ChatOpenAI(), memory=memory)
"""

MEMORY_CLEARED_IN_A_FUNCTION = """
from langchain.chains import ConversationChain
from langchain.memory import ConversationBufferMemory
from langchain_openai import ChatOpenAI

memory = ConversationBufferMemory()

def answer(question):
    memory.clear()
    return ConversationChain(llm=ChatOpenAI(), memory=memory).predict(input=question)
"""

MEMORY_SHADOWED_BY_A_PARAMETER = """
from langchain.chains import ConversationChain
from langchain.memory import ConversationBufferMemory
from langchain_openai import ChatOpenAI

memory = ConversationBufferMemory()

def answer(question, memory):
    return ConversationChain(llm=ChatOpenAI(), memory=memory).predict(input=question)
"""


@pytest.mark.parametrize(
    "source", [MEMORY_READ_AT_MODULE_LEVEL, MEMORY_CLEARED_IN_A_FUNCTION, MEMORY_SHADOWED_BY_A_PARAMETER]
)
def test_module_memory_used_otherwise_than_as_an_argument_is_not_rebuilt_per_call(tmp_path, source):
    fix = _fix_of(tmp_path, source, "TFA1201")
    assert fix is not None and not fix.edits


RETRY_THROUGH_A_WRAPPER = {
    "llm.py": """
import openai
client = openai.OpenAI()

def complete(messages):
    return client.chat.completions.create(model="m", messages=messages)
""",
    "agent.py": """
from tenacity import retry, stop_after_attempt
from llm import complete

@retry(stop=stop_after_attempt(3))
def ask(messages):
    return complete(messages)
""",
}

RETRY_OF_AN_UNLISTED_CLIENT = """
from tenacity import retry, stop_after_attempt
from mistralai import Mistral

client = Mistral()

@retry(stop=stop_after_attempt(3))
def ask(messages):
    return client.chat.complete(model="mistral-large-latest", messages=messages)
"""

BARE_EXCEPT = """
from openai import OpenAI

client = OpenAI()

def ask(messages):
    for attempt in range(3):
        try:
            return client.chat.completions.create(model="gpt-4o", messages=messages)
        except:
            continue
"""


# open-interpreter's fixed_litellm_completions: an authentication error is retried with a dummy key.
HANDLER_THAT_SORTS_ERRORS = """
import litellm

def complete(params):
    for attempt in range(3):
        try:
            return litellm.completion(**params)
        except Exception as error:
            if isinstance(error, litellm.AuthenticationError):
                params["api_key"] = "x"
"""


@pytest.mark.parametrize(
    "example", [RETRY_THROUGH_A_WRAPPER, RETRY_OF_AN_UNLISTED_CLIENT, BARE_EXCEPT, HANDLER_THAT_SORTS_ERRORS]
)
def test_a_retry_is_narrowed_only_to_errors_the_tables_list_for_its_client(tmp_path, example):
    fix = _fix_of(tmp_path, example, "TFA0902")
    assert fix is not None and not fix.edits
