from __future__ import annotations

from factorlint.checks.base import RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence, where
from factorlint.engine.taint.analyser import SinkFinding, host_is_fixed


class ModelChosenUrlFetch(TaintRule):
    """## What it does
    Finds HTTP requests (`requests`, `httpx`, `aiohttp`, `urllib.request`) whose URL the model
    chooses, host included: a tool argument or a model's reply used as the URL, or as the start
    of it (`f"{base}/v1"`), with no check of the value before the request. A URL whose host is
    fixed in the code (`f"https://api.example.com/search?q={query}"`) is fine, and so is a value
    that an `if` or `assert` compares (`if urlparse(url).hostname not in ALLOWED: raise ...`) or
    that a check function of the project receives first.

    ## Why is this bad?
    A fetch tool lets the model make requests from inside your network. A prompt injection can
    point it at cloud metadata (`http://169.254.169.254/`), internal admin pages, or an attacker's
    server with data in the URL: server-side request forgery. Allow-list the hosts and block
    private address ranges.

    ## Example
    ```python
    @tool
    def fetch_page(url: str) -> str:
        return requests.get(url, timeout=10).text
    ```

    ## Use instead
    ```python
    ALLOWED_HOSTS = {"docs.python.org", "en.wikipedia.org"}

    @tool
    def fetch_page(url: str) -> str:
        if urlparse(url).hostname not in ALLOWED_HOSTS:
            return "error: host not allowed"
        return requests.get(url, timeout=10, allow_redirects=False).text
    ```

    ## Fix safety
    No automatic fix: the allow-list is a product decision.

    ## Options
    None. HTTP calls are data in `rules/frameworks/security_sinks.toml`.

    ## References
    - https://owasp.org/www-community/attacks/Server_Side_Request_Forgery
    - https://genai.owasp.org/llmrisk/llm062025-excessive-agency/
    """

    meta = RuleMeta(
        code="TFS007",
        name="model-chosen-url-fetch",
        factor=None,
        severity="advice",
        confidence="medium",
        summary="The model chooses the URL of an HTTP request, host included",
        fix_advice=(
            "Check the host against an allow-list (and block private address ranges) before the "
            "request, or keep the host fixed in the code and let the model choose only the path "
            "or query."
        ),
    )
    kind = "fetch"

    invalid = [
        """
import requests
from langchain_core.tools import tool

@tool
def fetch_page(url: str) -> str:
    \"\"\"Fetch a web page.\"\"\"
    return requests.get(url, timeout=10).text  # expect: TFS007 @12-41 | The tool argument `url` is the URL of `requests.get()`: the model chooses which host this program calls
""",
        # The host comes first in an f-string; an async client method.
        """
import httpx
from agents import function_tool

@function_tool
async def call_service(host: str, path: str) -> str:
    \"\"\"Call an internal service.\"\"\"
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{host}/{path}")  # expect: TFS007 @26-61 | The tool argument `host` is the URL of `client.get()`: the model chooses which host this program calls
    return response.text
""",
        # The model's reply picks the URL in a hand-written loop.
        """
import urllib.request
from openai import OpenAI

client = OpenAI()

def browse(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    url = reply.choices[0].message.content.strip()
    with urllib.request.urlopen(url) as page:  # expect: TFS007 @10-37 | The reply of `client.chat.completions.create` is the URL of `urllib.request.urlopen()`: the model chooses which host this program calls
        return page.read()
""",
    ]
    valid = [
        # An allow-list check before the request.
        """
from urllib.parse import urlparse
import requests
from langchain_core.tools import tool

ALLOWED_HOSTS = {"docs.python.org", "en.wikipedia.org"}

@tool
def fetch_page(url: str) -> str:
    \"\"\"Fetch a page from an allowed site.\"\"\"
    if urlparse(url).hostname not in ALLOWED_HOSTS:
        return "error: host not allowed"
    return requests.get(url, timeout=10).text
""",
        # The host is fixed; the model only fills in the query.
        """
import requests
from langchain_core.tools import tool

@tool
def weather(city: str) -> str:
    \"\"\"Weather for a city.\"\"\"
    return requests.get(f"https://api.weather.example/v1/current?city={city}", timeout=10).text
""",
        # A project check function that raises on a bad URL.
        """
import httpx
from langchain_core.tools import tool
from app.security import ensure_public_url

@tool
def fetch(url: str) -> str:
    \"\"\"Fetch a public page.\"\"\"
    ensure_public_url(url)
    return httpx.get(url).text
""",
    ]
    near_miss = [
        # A fixed base URL constant with a model-chosen path.
        """
import requests
from langchain_core.tools import tool

BASE_URL = "https://api.github.com"

@tool
def repo_info(repo: str) -> str:
    \"\"\"Information about a GitHub repository.\"\"\"
    return requests.get(BASE_URL + "/repos/" + repo, timeout=10).text
""",
        # The model's text is sent as data, not as the URL.
        """
import requests
from openai import OpenAI

client = OpenAI()

def notify(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    requests.post("https://hooks.example.com/notify", json={"text": reply.choices[0].message.content})
""",
        # An ordinary function with a URL parameter, not a tool.
        """
import requests

def download(url):
    return requests.get(url, timeout=30).content
""",
    ]

    def check(self, finding: SinkFinding) -> None:
        taint = finding.taint
        if taint is None or taint.checked or host_is_fixed(taint.lead):
            return
        chosen = chosen_source(finding, module=self.ctx.module_name)
        if chosen is None:
            return
        source, requires = chosen
        self.report(
            finding.node,
            f"{sentence(source.label)} is the URL of {finding.label}"
            f"{where(finding)}: the model chooses which host this program calls",
            requires_llm=requires,
        )
