"""Reading docker-compose.yml the way docker compose does, and finding the settings the code reads.

No Docker engine (nor the compose plugin) runs here, so the tests do compose's two jobs themselves:
interpolation of `${VAR...}` from the administrator's environment (Compose Specification,
"Interpolation") and resolving each service's environment, including keys without a value, which
pass a variable through from the environment or leave it unset.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml

from shared.config import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROCFILE = ROOT / "Procfile"
SERVICES = ("web", "quota", "candidates", "notifications")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset or empty: compose refuses to start."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name


# --- interpolation ---------------------------------------------------------------------------
def interpolate(text: str, env: dict[str, str]) -> str:
    """One string, interpolated as compose does: $$ is a literal $, ${VAR}, $VAR, and the
    ${VAR:-default} ${VAR-default} ${VAR:?err} ${VAR?err} ${VAR:+alt} ${VAR+alt} forms."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 1)
            out.append(_expand(text[i + 2:end], env))
            i = end + 1
        elif m := re.match(NAME, text[i + 1:]):
            out.append(env.get(m.group(0), ""))
            i += 1 + len(m.group(0))
        else:
            raise ValueError(f"a lone '$' in {text!r} (write $$ for a literal $)")
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unclosed ${{ in {text!r}")


def _expand(body: str, env: dict[str, str]) -> str:
    m = re.fullmatch(rf"({NAME})(?:(:?[-?+])(.*))?", body, re.S)
    if not m:
        raise ValueError(f"invalid interpolation ${{{body}}}")
    name, op, arg = m.group(1), m.group(2), m.group(3) or ""
    value = env.get(name)
    present = value is not None and (value != "" or not (op or "").startswith(":"))
    if op in (None,):
        return value or ""
    if op in (":-", "-"):
        return value if present else interpolate(arg, env)
    if op in (":?", "?"):
        if not present:
            raise MissingVariable(name, interpolate(arg, env))
        return value
    return interpolate(arg, env) if present else ""  # :+ and +


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(n, env) for n in node]
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env) for k, v in node.items()}
    return node


def variables_referenced(node: Any) -> set[str]:
    """Every variable a compose model's strings interpolate (not $$-escaped ones, not comments)."""
    if isinstance(node, str):
        return set(re.findall(rf"\$\{{({NAME})", node.replace("$$", "")))
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return set().union(*(variables_referenced(c) for c in children))


# --- the compose file ------------------------------------------------------------------------
def load_raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def load(env: dict[str, str]) -> dict:
    """The compose model as docker compose sees it with `env` as the shell and .env."""
    return interpolate_tree(load_raw(), env)


def service_environment(service: dict, env: dict[str, str]) -> dict[str, str]:
    """The container's environment: keys without a value take the variable from `env` or stay unset."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    resolved = {}
    for key, value in raw.items():
        if value is None:
            if key in env:
                resolved[key] = env[key]
        else:
            resolved[key] = str(value)
    return resolved


def declared_environment_keys(service: dict) -> set[str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return {item.split("=", 1)[0] for item in raw}
    return set(raw)


def chitieu_services(model: dict) -> dict[str, dict]:
    """The services that run the chitieu image (APIs, workers and one-shot jobs)."""
    return {name: svc for name, svc in model["services"].items() if svc.get("build")}


# --- the Procfile ----------------------------------------------------------------------------
def procfile_processes() -> dict[str, str]:
    """name -> command, read now (other engineers add lines)."""
    processes = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([a-z0-9-]+):\s*(.+)$", line)
        if m:
            processes[m.group(1)] = m.group(2).strip()
    return processes


def service_of(process: str) -> str:
    """quota-api -> quota: a process belongs to the service its name starts with."""
    svc = process.split("-", 1)[0]
    assert svc in SERVICES, f"Procfile process {process!r} does not start with a service name"
    return svc


# --- settings the code reads -----------------------------------------------------------------
def settings_read_by_code(root: Path = ROOT) -> dict[str, set[str]]:
    """Every CHITIEU_* environment variable the running code reads -> the files that read it.

    Looks at the Python of shared/, services/, deploy/ and scripts/, and at the Procfile.
    Found in Python: os.environ.get / os.getenv / os.environ[...] / `in os.environ` with a
    literal name, and calls to any function that reads f"CHITIEU_{name}" from the environment
    (like `_env` in shared/config.py), or that passes its own argument on to such a function
    (like `_flag` in services/notifications/settings.py). An f-string name such as
    f"{service.upper()}_DATABASE_URL" is expanded for each service.
    Not looked at: scripts/*.sh, the no-Docker local stack's own settings (CHITIEU_KAFKA_PORT,
    CHITIEU_PG_*, CHITIEU_STACK_DIR), which a compose deployment does not use.
    """
    found: dict[str, set[str]] = {}
    files = [p for d in ("shared", "services", "deploy", "scripts") for p in sorted((root / d).rglob("*.py"))]
    for path in files:
        rel = str(path.relative_to(root))
        for name in names_read_in_source(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(rel)
    procfile = root / "Procfile"
    if procfile.exists():
        for name in re.findall(r"\$\{?(CHITIEU_[A-Z0-9_]+)", procfile.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add("Procfile")
    return found


def names_read_in_source(source: str) -> set[str]:
    tree = ast.parse(source)
    readers = _prefixing_readers(tree, _imported_readers(tree))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            callee = _dotted(node.func)
            if callee in ("os.environ.get", "environ.get", "os.getenv", "getenv", "os.environ.pop",
                          "os.environ.setdefault"):
                if not _is_generic_reader_name(node.args[0]):  # the body of `_env` itself
                    names |= {n for n in _literal_names(node.args[0]) if n.startswith("CHITIEU_")}
            elif callee in readers:
                names |= {"CHITIEU_" + n for n in _literal_names(node.args[0])}
        elif isinstance(node, ast.Subscript) and _dotted(node.value) in ("os.environ", "environ"):
            names |= {n for n in _literal_names(node.slice) if n.startswith("CHITIEU_")}
        elif isinstance(node, ast.Compare) and len(node.comparators) == 1 \
                and _dotted(node.comparators[0]) in ("os.environ", "environ"):
            names |= {n for n in _literal_names(node.left) if n.startswith("CHITIEU_")}
    return names


def _prefixing_readers(tree: ast.AST, imported: set[str]) -> set[str]:
    """Functions of this module that read f"CHITIEU_{<their first argument>}" from the environment,
    directly or by handing their first argument to another such function."""
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.args.args}
    readers: set[str] = set(imported)
    changed = True
    while changed:
        changed = False
        for name, func in functions.items():
            if name in readers:
                continue
            param = func.args.args[0].arg
            for node in ast.walk(func):
                if isinstance(node, ast.JoinedStr) and _is_prefixed_param(node, param):
                    readers.add(name)
                elif isinstance(node, ast.Call) and _dotted(node.func) in readers and node.args \
                        and isinstance(node.args[0], ast.Name) and node.args[0].id == param:
                    readers.add(name)
                else:
                    continue
                changed = True
                break
    return readers


def _imported_readers(tree: ast.AST) -> set[str]:
    """shared.config's `setting` (CHITIEU_<name> or CHITIEU_<name>_FILE), under the name it is
    imported as."""
    return {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and (node.module or "").split(".")[-1] == "config" for alias in node.names
            if alias.name == "setting"}


def _is_generic_reader_name(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) and len(node.values) == 2 \
        and isinstance(node.values[1], ast.FormattedValue) and isinstance(node.values[1].value, ast.Name) \
        and _is_prefixed_param(node, node.values[1].value.id)


def _is_prefixed_param(node: ast.JoinedStr, param: str) -> bool:
    parts = node.values
    return (len(parts) == 2 and isinstance(parts[0], ast.Constant) and parts[0].value == "CHITIEU_"
            and isinstance(parts[1], ast.FormattedValue) and isinstance(parts[1].value, ast.Name)
            and parts[1].value.id == param)


def _literal_names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):  # f"{service.upper()}_DATABASE_URL": one per service
        variants = {""}
        for part in node.values:
            if isinstance(part, ast.Constant):
                variants = {v + str(part.value) for v in variants}
            else:
                variants = {v + svc.upper() for v in variants for svc in SERVICES}
        return variants
    return set()


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


# --- .env.example ----------------------------------------------------------------------------
def documented_names() -> set[str]:
    """Variables .env.example documents: `NAME=...`, `#NAME=...` or a `# NAME  description` row."""
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"^#?\s*({NAME})(=|\s{{2,}})", line)
        if m and m.group(1).isupper():
            names.add(m.group(1))
    return names


def assigned_names() -> dict[str, str]:
    """Variables .env.example sets or shows with a default: NAME -> value (commented or not)."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"^#?({NAME})=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values
