"""Research helper for human agents: a LangChain ReAct agent over the help center and release notes."""

from __future__ import annotations

import httpx
from langchain import hub
from langchain.agents import AgentExecutor, create_react_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

HELP_CENTER_API = "https://help.parcelly.example/api/search"
RELEASE_NOTES_API = "https://status.parcelly.example/api/release-notes"

llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)


@tool
def help_center_search(query: str) -> str:
    """Search help-center articles; returns up to five titles with their URLs."""
    response = httpx.get(HELP_CENTER_API, params={"q": query, "limit": 5}, timeout=10)
    response.raise_for_status()
    return "\n".join(f"- {hit['title']} ({hit['url']})" for hit in response.json()["hits"])


@tool
def release_notes(since: str) -> str:
    """Release notes of the storefront published since an ISO date (YYYY-MM-DD)."""
    response = httpx.get(RELEASE_NOTES_API, params={"since": since}, timeout=10)
    response.raise_for_status()
    return "\n".join(f"{note['date']}: {note['title']}" for note in response.json()["notes"][:10])


def build_research_executor() -> AgentExecutor:
    """A ReAct agent with a bounded number of reasoning steps."""
    tools = [help_center_search, release_notes]
    prompt = hub.pull("hwchase17/react")
    agent = create_react_agent(llm, tools, prompt)
    return AgentExecutor(agent=agent, tools=tools, max_iterations=10, handle_parsing_errors=True)


def research_question(question: str) -> str:
    """Answer an internal question from a human agent, citing help-center articles."""
    executor = build_research_executor()
    result = executor.invoke({"input": question})
    return result["output"]
