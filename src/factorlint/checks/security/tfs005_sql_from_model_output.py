from __future__ import annotations

from factorlint.checks.base import RuleMeta
from factorlint.checks.security._common import TaintRule, chosen_source, sentence, where
from factorlint.engine.taint.analyser import SinkFinding


class SqlFromModelOutput(TaintRule):
    """## What it does
    Finds SQL built by interpolating text the model chose (an f-string, `+`, `.format` or `%`)
    and sent to a database: DB-API `cursor.execute` / `connection.execute`, SQLAlchemy `text()`
    and `exec_driver_sql`, `pandas.read_sql`, DuckDB, asyncpg. The text is a model's reply or a
    tool function's argument, followed through assignments and one call into a function of the
    same file.

    A query the model writes whole (a text-to-SQL tool) is not reported: nothing can be
    parameterised there, and the defence is a read-only role, not a different call.

    ## Why is this bad?
    A value spliced into SQL can close the string and add its own clauses: `'; DROP TABLE
    users; --`. A tool argument is chosen by the model, and the model can be steered by any text
    it reads (OWASP LLM05; bandit B608). Parameters keep the value out of the SQL text.

    ## Example
    ```python
    @tool
    def find_orders(customer: str) -> list:
        return db.execute(f"SELECT * FROM orders WHERE customer = '{customer}'").fetchall()
    ```

    ## Use instead
    ```python
    @tool
    def find_orders(customer: str) -> list:
        return db.execute("SELECT * FROM orders WHERE customer = ?", (customer,)).fetchall()
    ```
    Give agent tools a read-only database role as well.

    ## Fix safety
    No automatic fix: placeholders differ between drivers (`?`, `%s`, `:name`).

    ## Options
    None. Database calls are data in `rules/frameworks/security_sinks.toml`.

    ## References
    - https://bandit.readthedocs.io/en/latest/plugins/b608_hardcoded_sql_expressions.html
    - https://genai.owasp.org/llmrisk/llm052025-improper-output-handling/
    """

    meta = RuleMeta(
        code="TFS005",
        name="sql-from-model-output",
        factor=None,
        also_factor=4,
        severity="error",
        confidence="medium",
        summary="Text the model chose is interpolated into a SQL query",
        fix_advice=(
            "Use a parameterised query (`execute(\"... WHERE x = ?\", (value,))`) and give the "
            "agent's tools a read-only database role."
        ),
    )
    kind = "sql"

    invalid = [
        """
import sqlite3
from langchain_core.tools import tool

conn = sqlite3.connect("shop.db")

@tool
def find_orders(customer: str) -> list:
    \"\"\"Orders of a customer.\"\"\"
    cur = conn.cursor()
    cur.execute(f"SELECT * FROM orders WHERE customer = '{customer}'")  # expect: TFS005 @5-71 | The tool argument `customer` is interpolated into a SQL query: the model can rewrite the query
    return cur.fetchall()
""",
        # The model's reply through .format, and into SQLAlchemy text() and pandas.
        """
import pandas as pd
import sqlalchemy
from openai import OpenAI

client = OpenAI()
engine = sqlalchemy.create_engine("sqlite:///shop.db")

def report(messages):
    reply = client.chat.completions.create(model="gpt-4o", messages=messages)
    region = reply.choices[0].message.content.strip()
    query = "SELECT * FROM sales WHERE region = '{}'".format(region)
    frame = pd.read_sql(query, engine)  # expect: TFS005 @13-39 | The reply of `client.chat.completions.create` is interpolated into a SQL query: the model can rewrite the query
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("DELETE FROM cache WHERE region = '" + region + "'"))  # expect: TFS005 @28-96 | The reply of `client.chat.completions.create` is interpolated into a SQL text() clause: the model can rewrite the query
    return frame
""",
        # One call deep: the tool argument reaches a same-file helper that builds the query.
        """
import psycopg
from pydantic_ai import Agent

agent = Agent("openai:gpt-4o")

def fetch(conn: psycopg.Connection, table, name):
    return conn.execute("SELECT * FROM %s WHERE name = '%s'" % (table, name)).fetchall()

@agent.tool_plain
def lookup(name: str) -> list:
    \"\"\"Look a person up.\"\"\"
    with psycopg.connect("dbname=crm") as conn:
        return fetch(conn, "people", name)  # expect: TFS005 @16-43 | The tool argument `name` is interpolated into a SQL query inside `fetch()`: the model can rewrite the query
""",
    ]
    valid = [
        """
import sqlite3
from langchain_core.tools import tool

conn = sqlite3.connect("shop.db")

@tool
def find_orders(customer: str) -> list:
    \"\"\"Orders of a customer.\"\"\"
    return conn.execute("SELECT * FROM orders WHERE customer = ?", (customer,)).fetchall()
""",
        """
import sqlalchemy
from openai import OpenAI

client = OpenAI()
engine = sqlalchemy.create_engine("sqlite:///shop.db")

def report(messages):
    region = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message.content
    with engine.connect() as connection:
        return connection.execute(sqlalchemy.text("SELECT * FROM sales WHERE region = :r"), {"r": region})
""",
        # The model's choice is mapped to a fixed column name first.
        """
import sqlite3
from langchain_core.tools import tool

conn = sqlite3.connect("shop.db")
COLUMNS = {"newest": "created_at", "cheapest": "price"}

@tool
def list_products(order: str) -> list:
    \"\"\"Products in an order.\"\"\"
    column = COLUMNS.get(order, "id")
    return conn.execute(f"SELECT * FROM products ORDER BY {column}").fetchall()
""",
    ]
    near_miss = [
        # The model writes the whole query (text-to-SQL): no interpolation to parameterise.
        """
import sqlite3
from langchain_core.tools import tool

conn = sqlite3.connect("file:shop.db?mode=ro", uri=True)

@tool
def run_query(sql: str) -> list:
    \"\"\"Run a read-only query.\"\"\"
    return conn.execute(sql).fetchall()
""",
        # Interpolating a constant table name, outside any tool and without model output.
        """
import sqlite3

TABLE = "events"

def count(conn: sqlite3.Connection):
    return conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()
""",
        # A number the model chose, made an int before it is interpolated.
        """
import sqlite3
from langchain_core.tools import tool

conn = sqlite3.connect("shop.db")

@tool
def latest(limit: str) -> list:
    \"\"\"Latest orders.\"\"\"
    return conn.execute(f"SELECT * FROM orders ORDER BY id DESC LIMIT {int(limit)}").fetchall()
""",
    ]

    def check(self, finding: SinkFinding) -> None:
        if finding.taint is None or (finding.interpolation_only and not finding.taint.interpolated):
            return  # a whole query the model wrote: nothing to parameterise
        chosen = chosen_source(finding, module=self.ctx.module_name)
        if chosen is None:
            return
        source, requires = chosen
        self.report(
            finding.node,
            f"{sentence(source.label)} is interpolated into {finding.label}"
            f"{where(finding)}: the model can rewrite the query",
            requires_llm=requires,
        )
