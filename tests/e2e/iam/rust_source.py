"""The AWS SDK calls a Rust binary can make, read from its source.

A code base (a folder of crates, such as hooks/ or functions/) is read as text:
comments, string contents and `#[cfg(test)]` modules are blanked out (the tests'
mocks make no calls), then every `fn` is indexed by name. A binary's calls are the
SDK fluent-builder calls (`client.get_alias()...send()`, or a builder handed to a
macro of the code base that sends it) in the functions reachable
from its `main`, where "reachable" follows calls by name: `name(` or `.name(` of a
function defined in the code base. Following by name over-approximates (two methods
of one name are both followed), which errs towards requiring a grant, never towards
missing one.

One refinement keeps two binaries of one library apart: a binary that passes an enum
variant from `main` (`serve(Hook::PreTraffic)`) only follows its own arm where the
code matches on that enum (`Hook::PostTraffic => ...` is skipped for pre-traffic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CHAR_LITERAL = re.compile(r"'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'")


def blank(text: str) -> str:
    """`text` with comments and the insides of string and char literals replaced by
    spaces (newlines kept), so that braces and parentheses can be counted."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            wipe(i, end)
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            wipe(i, j)
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            start = i + 2 + len(hashes)
            end = text.find('"' + hashes, start)
            end = n if end < 0 else end
            wipe(start, end)
            i = end + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, j)
            i = j + 1
        elif c == "'":
            m = CHAR_LITERAL.match(text, i)
            if m:
                wipe(i + 1, m.end() - 1)
                i = m.end()
            else:  # a lifetime
                i += 1
        else:
            i += 1
    return "".join(out)


def matching(text: str, open_at: int) -> int:
    """The index of the bracket closing the one at `open_at` (text already blanked)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack = []
    for k in range(open_at, len(text)):
        c = text[k]
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                raise ValueError(f"unbalanced {c!r} at {k}")
            if not stack:
                return k
    raise ValueError("unclosed bracket")


def matching_angle(text: str, open_at: int) -> int:
    """The index of the `>` closing the generics `<` at `open_at`."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "<":
            depth += 1
        elif text[k] == ">" and text[k - 1] != "-":
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unclosed generics")


def strip_test_modules(text: str) -> str:
    """Blanks `#[cfg(test)]` items (the `mod tests { ... }` blocks)."""
    out = text
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        brace = out.find("{", m.end())
        semi = out.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue
        end = matching(out, brace)
        out = out[: m.start()] + re.sub(r"[^\n]", " ", out[m.start() : end + 1]) + out[end + 1 :]
    return out


@dataclass
class Function:
    name: str
    file: Path
    line: int
    body: str  # blanked
    body_start: int
    params: int  # not counting self
    method: bool  # takes self


def count_args(text: str) -> int:
    """How many comma-separated items `text` (inside one pair of brackets) holds."""
    if not text.strip():
        return 0
    depth, count = 0, 1
    for k, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "<" and depth >= 0 and k > 0 and (text[k - 1].isalnum() or text[k - 1] in "_&: "):
            depth += 1  # generics in a parameter's type: Result<A, B>
        elif c == ">" and text[k - 1] != "-":
            depth -= 1
        elif c == "," and depth == 0:
            count += 1
    return count - (1 if text.rstrip().endswith(",") else 0)


@dataclass
class SdkCall:
    crate: str  # the SDK crate's service, e.g. "lambda"
    method: str  # the fluent builder method, e.g. "get_alias"
    file: Path
    line: int
    function: str


@dataclass
class CodeBase:
    """Every function of the crates under one folder, by name."""

    root: Path
    files: dict[Path, str] = field(default_factory=dict)  # blanked text
    functions: dict[str, list[Function]] = field(default_factory=dict)
    enums: set[str] = field(default_factory=set)
    # Macros that send the builder they are given (`send!(ctx, "Call", client.op()...)`
    # whose body ends `$op ... .send()`): a builder chain inside one is a call.
    sending_macros: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, root: Path) -> "CodeBase":
        base = cls(root)
        for path in sorted(root.rglob("*.rs")):
            if any(part in ("target", "tests", "benches", "examples") for part in path.relative_to(root).parts):
                continue
            text = strip_test_modules(blank(path.read_text()))
            base.files[path] = text
            base.enums.update(m.group(1) for m in re.finditer(r"\benum\s+(\w+)", text))
            for m in re.finditer(r"\bmacro_rules!\s*(\w+)\s*\{", text):
                body = text[m.end() - 1 : matching(text, m.end() - 1) + 1]
                if re.search(r"\.\s*(send|into_paginator)\s*\(\s*\)", body):
                    base.sending_macros.add(m.group(1))
            for m in re.finditer(r"\bfn\s+(\w+)", text):
                body = base._body_after(text, m.end())
                if body is None:
                    continue  # a declaration without a body (a trait's)
                start, end = body
                line = text.count("\n", 0, m.start()) + 1
                open_paren = text.index("(", m.end())
                if text[m.end() : open_paren].strip().startswith("<"):
                    open_paren = text.index("(", matching_angle(text, text.index("<", m.end())))
                params = text[open_paren + 1 : matching(text, open_paren)]
                first = params.split(",")[0]
                method = bool(re.search(r"\bself\b", first))
                base.functions.setdefault(m.group(1), []).append(
                    Function(m.group(1), path, line, text[start : end + 1], start, count_args(params) - method, method)
                )
        return base

    @staticmethod
    def _body_after(text: str, at: int):
        """(start, end) of the body of the fn whose name ends at `at`, or None."""
        k = at
        depth = 0
        while k < len(text):
            c = text[k]
            if c in "(<[":
                depth += 1
            elif c in ")>]":
                # `->` is not a closing angle bracket.
                if not (c == ">" and text[k - 1] == "-"):
                    depth -= 1
            elif c == ";" and depth <= 0:
                return None
            elif c == "{" and depth <= 0:
                return k, matching(text, k)
            k += 1
        return None


def without_other_arms(body: str, chosen: dict[str, str]) -> str:
    """`body` without the match arms of enum variants another binary takes."""
    for enum, variant in chosen.items():
        for m in reversed(list(re.finditer(rf"\b{enum}::(\w+)\s*=>", body))):
            if m.group(1) == variant:
                continue
            k = m.end()
            while k < len(body) and body[k] in " \t\n":
                k += 1
            if k < len(body) and body[k] == "{":
                end = matching(body, k) + 1
            else:
                end, depth = k, 0
                while end < len(body):
                    c = body[end]
                    if c in "([{":
                        depth += 1
                    elif c in ")]}":
                        if depth == 0:
                            break
                        depth -= 1
                    elif c == "," and depth == 0:
                        break
                    end += 1
            body = body[: m.start()] + re.sub(r"[^\n]", " ", body[m.start() : end]) + body[end:]
    return body


def inside_sending_macro(body: str, at: int, macros: set[str]) -> bool:
    """Whether `at` lies in the arguments of an invocation of one of `macros`."""
    for m in re.finditer(r"\b(\w+)!\s*[(\[{]", body):
        if m.group(1) in macros and m.end() - 1 < at <= matching(body, m.end() - 1):
            return True
    return False


def chain_sends(body: str, at: int) -> bool:
    """Whether the method chain continuing at `at` (just after `.op()`) is sent:
    `.send()` or `.into_paginator()` before the expression ends."""
    k = at
    while k < len(body):
        while k < len(body) and body[k] in " \t\n?":
            k += 1
        if not body.startswith(".", k):
            return False
        m = IDENT.match(body, k + 1)
        if not m:
            return False
        if m.group(0) in ("send", "into_paginator"):
            return True
        k = m.end()
        while k < len(body) and body[k] in " \t\n":
            k += 1
        if body.startswith("::<", k):
            k = body.index(">", k) + 1
        if k < len(body) and body[k] == "(":
            k = matching(body, k) + 1
    return False


def binary_calls(
    base: CodeBase,
    main: Path,
    sdk_methods: dict[str, set[str]],
    skip: frozenset[str] = frozenset(),
    providers: dict[str, tuple[str, str]] | None = None,
) -> list[SdkCall]:
    """The SDK calls reachable from the `main` in `main`, not through functions named
    in `skip`.

    `sdk_methods`: per SDK service the crate depends on, its fluent-builder method
    names (get_alias, ...). `providers`: paths whose use makes a call of its own
    (`AssumeRoleProvider::builder` -> ("sts", "assume_role"))."""
    mains = [f for f in base.functions.get("main", []) if f.file == main]
    if not mains:
        raise ValueError(f"{main}: no fn main")
    chosen = {}
    for enum, variant in re.findall(r"(?=\b(\w+)::(\w+))", mains[0].body):
        if enum in base.enums:
            chosen[enum] = variant
    seen: set[int] = set()
    todo = list(mains)
    calls: list[SdkCall] = []
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        body = without_other_arms(fn.body, chosen)
        for path, (service, method) in (providers or {}).items():
            for m in re.finditer(re.escape(path) + r"\s*\(", body):
                line = base.files[fn.file].count("\n", 0, fn.body_start + m.start()) + 1
                calls.append(SdkCall(service, method, fn.file, line, fn.name))
        for m in re.finditer(r"(?<!\w)(\w+)\s*(?:::<[^>]*>)?\s*\(", body):
            name = m.group(1)
            before = body[: m.start()].rstrip()
            if before.endswith("fn") and not before[:-2][-1:].isalnum():
                continue  # a declaration
            if before.endswith(".") and body[m.end() :].lstrip().startswith(")"):
                services = [s for s, methods in sdk_methods.items() if name in methods]
                close = body.index(")", m.end())
                if services and (chain_sends(body, close + 1) or inside_sending_macro(body, m.start(), base.sending_macros)):
                    # An operation two services share (lambda and iam both have
                    # get_policy) is told apart by a client named after its crate
                    # (`self.lambda.get_policy()`).
                    receiver = re.search(r"(\w+)\s*\.$", before)
                    if len(services) > 1 and receiver and receiver.group(1) in services:
                        services = [receiver.group(1)]
                    if len(services) > 1:
                        raise ValueError(
                            f"{fn.file}:{fn.line}: .{name}() is an operation of {' and '.join(services)}, "
                            "which this code base both uses, on a client not named after either: the scanner cannot tell which it calls"
                        )
                    line = base.files[fn.file].count("\n", 0, fn.body_start + m.start()) + 1
                    calls.append(SdkCall(services[0], name, fn.file, line, fn.name))
                    continue
            # Followed only into functions that take as many arguments: `.finish()` on
            # a writer is not the ledger's `.finish(run, status, detail)`.
            args = count_args(body[m.end() : matching(body, m.end() - 1)])
            is_method = before.endswith(".")
            if name in skip:
                continue
            for callee in base.functions.get(name, []):
                fits = args == callee.params if is_method else args in (callee.params, callee.params + callee.method)
                if fits and (callee.method or not is_method) and id(callee) not in seen:
                    todo.append(callee)
    return calls
