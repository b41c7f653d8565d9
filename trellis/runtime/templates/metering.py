"""The compiled form of a template, with the budget's charges written in.

Jinja compiles a template to Python; its sandbox intercepts attribute access, calls and some
operators, but loops, `~`, comparisons, slices and literal lists run as plain Python. This code
generator routes those through the environment too (`Sandbox` in `sandbox.py` charges them):

- each pass of a loop, each call of a macro, `caller()` or a block charges the steps its body
  weighs (how many nodes it holds), and so does each item a loop's `if` tests (`metered`);
- `a ~ b` is built by `environment.joined`, which charges what it builds before building it;
- comparisons (`==`, `in`, `<`) charge the steps of going over what they compare;
- slices and literal lists, tuples and dicts are charged as values built.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, operators, optimizeconst

#: The statements whose body runs again and again.
_REPEATED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Block)


def weight(body: list[nodes.Node]) -> int:
    """How many steps one run of `body` is charged: one, and one for each node it holds."""
    return 1 + sum(1 + sum(1 for _ in statement.find_all(nodes.Node)) for statement in body)


def meter(tree: nodes.Template) -> dict[int, int]:
    """Write the charges into the bodies that run again and again (loops, macros and
    `caller()`, blocks) as a first statement, and around the items of a loop with an `if`.
    Jinja allows no node types of its own, so the charges are plain nodes the parser never
    makes (a bare statement, a call of an environment attribute), known by identity: the
    result maps each one's `id` to its weight."""
    weights: dict[int, int] = {}
    repeated = [node for node in tree.find_all(nodes.Stmt) if isinstance(node, _REPEATED)]
    for node in repeated:
        charge = nodes.ExprStmt(nodes.Const(None), lineno=node.lineno)
        weights[id(charge)] = weight(node.body)
        node.body.insert(0, charge)
        if isinstance(node, nodes.For) and node.test is not None:
            items = nodes.Call(nodes.EnvironmentAttribute("metered"), [node.iter], [], None, None, lineno=node.lineno)
            weights[id(items)] = weight([node.test])
            node.iter = items
    return weights


class MeteredCodeGenerator(CodeGenerator):
    """Jinja's code generator, with the budget's charges (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._weights: dict[int, int] = {}

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        self._weights = meter(node)
        super().visit_Template(node, frame)

    def visit_ExprStmt(self, node: nodes.ExprStmt, frame: Frame) -> None:
        charge = self._weights.get(id(node))
        if charge is None:
            super().visit_ExprStmt(node, frame)
            return
        self.writeline(f"environment.charge_steps({charge})", node)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        charge = self._weights.get(id(node))
        if charge is None:
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        self.write("environment.metered(")
        self.visit(node.args[0], frame)
        self.write(f", {charge})")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.joined((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    @optimizeconst
    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("(")
        self._handled(node.expr, frame)
        for operand in node.ops:
            self.write(f" {operators[operand.op]} ")
            self._handled(operand.expr, frame)
        self.write(")")

    def _handled(self, node: nodes.Expr, frame: Frame) -> None:
        if isinstance(node, nodes.Const):
            self.visit(node, frame)
            return
        self.write("environment.handled(")
        self.visit(node, frame)
        self.write(")")

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):  # the sandbox's getitem sees the others
            super().visit_Getitem(node, frame)
            return
        self._built(super().visit_Getitem, node, frame)

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._built(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._built(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a target: `for a, b in …`, `set a, b = …`
            super().visit_Tuple(node, frame)
            return
        self._built(super().visit_Tuple, node, frame)

    def _built(self, visit: Any, node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.built(")
        visit(node, frame)
        self.write(")")
