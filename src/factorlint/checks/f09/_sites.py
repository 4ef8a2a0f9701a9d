"""The retry sites both factor-9 retry rules look at: decorators, retrying loops and objects."""

from __future__ import annotations

import libcst as cst

from factorlint.checks.base import Rule
from factorlint.engine.recognise import retries


class RetrySiteRule(Rule):
    """Finds every retry site and hands it to ``_check_site``; loops also go to ``_check_loop``."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for site in retries.decorator_sites(self.ctx, node):
            self._check_site(site)

    def visit_For(self, node: cst.For) -> None:
        site = retries.loop_site(self.ctx, node)
        if site is not None:
            self._check_site(site)
        self._check_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        scope = self.ctx.function_stack[-1].body if self.ctx.function_stack else self.ctx.module
        site = retries.assigned_site(self.ctx, node, scope)
        if site is not None:
            self._check_site(site)

    def visit_Call(self, node: cst.Call) -> None:
        site = retries.applied_site(self.ctx, node)
        if site is not None:
            self._check_site(site)

    def _check_site(self, site: retries.RetrySite) -> None:
        raise NotImplementedError

    def _check_loop(self, node) -> None:
        raise NotImplementedError
