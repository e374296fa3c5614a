"""The `graphrt` command: run, validate, plan, ops, cache, serve.

Exit codes: 0 ok, 1 a node failed, 2 the document (or the command line) is invalid,
130 interrupted. Outputs a document that skips invalid outputs leaves out (every ComfyUI
prompt does) are warned about on stderr; the rest runs. `validate`, `plan`, `ops` and
`cache` never import torch.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from graphrt.core.args import parse_override
from graphrt.core.errors import Code, InvalidGraph, Issue

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    ns = parser.parse_args(argv)
    try:
        return int(ns.func(ns))
    except InvalidGraph as exc:
        return _report_invalid(exc.issues, ns)
    except BrokenPipeError:
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="graphrt", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def graph_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_)
        c.add_argument("graph",
                       help="a graph file (native or ComfyUI API format) or a built-in name")
        c.add_argument("--arg", action="append", default=[], metavar="NAME=VALUE")
        c.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE")
        c.add_argument("--json", action="store_true", help="machine-readable output")
        c.add_argument("--device", default=os.environ.get("GRAPHRT_DEVICE", "auto"),
                       help="auto, cpu, cuda, cuda:1, ... (default $GRAPHRT_DEVICE or auto); "
                       "part of the cache keys of ops that compute on it")
        c.add_argument("--dtype", default=os.environ.get("GRAPHRT_DTYPE", "auto"),
                       help="model weights on accelerators: auto (fp16), fp16, bf16, fp32")
        _dirs(c)
        return c

    run = graph_cmd("run", "run a graph")
    run.add_argument("--output", action="append", default=None, metavar="NAME",
                     help="compute only these graph outputs")
    run.add_argument("--strict", action="store_true", help="check that no op mutates its inputs")
    run.set_defaults(func=cmd_run)
    graph_cmd("validate", "check a graph without running it").set_defaults(func=cmd_validate)
    graph_cmd("plan", "show what a run would execute and what the cache has").set_defaults(
        func=cmd_plan)
    ops = sub.add_parser("ops", help="list ops with their JSON Schemas")
    ops.add_argument("--json", action="store_true")
    ops.set_defaults(func=cmd_ops)
    cache = sub.add_parser("cache", help="inspect or clear the disk cache")
    cache.add_argument("action", choices=["stats", "clear"])
    cache.add_argument("--cache-dir", default=None)
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(func=cmd_cache)
    from graphrt.fronts.server.cli import (
        add_arguments as serve_arguments,  # imports no starlette, no torch
    )

    serve_arguments(sub.add_parser("serve", help="serve the HTTP API (ComfyUI-compatible)"))
    return p


def _dirs(c: argparse.ArgumentParser) -> None:
    c.add_argument("--cache-dir", default=None, help="disk cache (default $GRAPHRT_CACHE_DIR "
                   "or ~/.cache/graphrt/cache)")
    c.add_argument("--no-disk-cache", action="store_true", help="memory cache only")
    c.add_argument("--out", "--output-dir", dest="output_dir", default=None)
    c.add_argument("--models-dir", default=None)
    c.add_argument("--input-dir", default=None)


def default_cache_dir(given: str | None) -> Path:
    chosen = given or os.environ.get("GRAPHRT_CACHE_DIR") or "~/.cache/graphrt/cache"
    return Path(chosen).expanduser()


def resolve_graph(name: str) -> str | Path:
    """A path as given, else a built-in graph by name (with or without .json)."""
    path = Path(name)
    if path.exists() or name.lstrip().startswith("{"):
        return name
    stem = name[:-5] if name.endswith(".json") else name
    builtin = resources.files("graphrt.graphs") / f"{Path(stem).name}.json"
    if builtin.is_file():
        return Path(str(builtin))
    return name


def _runtime(ns: argparse.Namespace, **extra: Any) -> Any:
    from graphrt.library import Runtime

    cache = None if ns.no_disk_cache else default_cache_dir(ns.cache_dir)
    try:
        return Runtime(cache_dir=cache, models_dir=ns.models_dir, input_dir=ns.input_dir,
                       output_dir=ns.output_dir, device=ns.device, dtype=ns.dtype, **extra)
    except ValueError as exc:  # an unknown device or dtype
        raise InvalidGraph([Issue(code=Code.BAD_ARGUMENT, field="--device/--dtype",
                                  message=str(exc), expected="a known device and dtype",
                                  found=f"{ns.device} / {ns.dtype}")]) from None


def _inputs(ns: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    args, overrides, issues = {}, {}, []
    for item in ns.arg:
        name, eq, value = item.partition("=")
        if not eq or not name:
            issues.append(Issue(code=Code.BAD_ARGUMENT, field="--arg",
                                message="expected NAME=VALUE", expected="NAME=VALUE",
                                found=item))
        args[name] = value
    for item in ns.set:
        try:
            target, value = parse_override(item)
            overrides[target] = value
        except ValueError as exc:
            issues.append(Issue(code=Code.BAD_ARGUMENT, field="--set", message=str(exc),
                                expected="NODE.PARAM=VALUE", found=item))
    if issues:
        raise InvalidGraph(issues)
    return args, overrides


def cmd_validate(ns: argparse.Namespace) -> int:
    rt = _runtime(ns)
    args, overrides = _inputs(ns)
    report = rt.plan(resolve_graph(ns.graph), args=args, overrides=overrides)
    _warn_dropped(report.plan)
    if ns.json:
        print(json.dumps({"valid": True, "issues": [], "nodes": len(report.plan.order),
                          "dropped_outputs": report.plan.dropped_json()}))
    else:
        print(f"valid: {len(report.plan.order)} nodes after expansion")
    return EXIT_OK


def cmd_plan(ns: argparse.Namespace) -> int:
    rt = _runtime(ns)
    args, overrides = _inputs(ns)
    report = rt.plan(resolve_graph(ns.graph), args=args, overrides=overrides)
    _warn_degraded(rt)
    _warn_dropped(report.plan)
    data = {**report.to_dict(), "dropped_outputs": report.plan.dropped_json()}
    if ns.json:
        print(json.dumps(data))
        return EXIT_OK
    for row in data["nodes"]:
        calls = "?" if row["model_calls"] is None else row["model_calls"]
        print(f"{row['status']:8} {row['node']:32} {row['op']:28} {row['key'][:12]} calls={calls}")
    s = data["summary"]
    print(f"{s['execute']} to execute, {s['cached']} cached, {s['skipped']} not needed; "
          f"model calls: {'unknown' if s['model_calls'] is None else s['model_calls']}")
    return EXIT_OK


def cmd_run(ns: argparse.Namespace) -> int:
    from graphrt.fronts.progress import ProgressPrinter

    rt = _runtime(ns, strict=ns.strict)
    args, overrides = _inputs(ns)
    printer = ProgressPrinter(enabled=not ns.json and sys.stderr.isatty(), warnings=not ns.json)
    plan = rt.prepare(resolve_graph(ns.graph), args=args, overrides=overrides,
                      outputs=ns.output)
    _warn_dropped(plan)
    previous = signal.signal(signal.SIGINT, lambda *_: rt.interrupt())
    try:
        result = rt.run(plan, on_event=printer)
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()
    summary = {"outputs": {k: _jsonable(v) for k, v in result.outputs.items()},
               "executed": result.executed, "cached": result.cached, "failed": result.failed,
               "blocked": result.blocked, "interrupted": result.interrupted,
               "stats": result.stats, "warnings": printer.warned,
               "dropped_outputs": plan.dropped_json()}
    if ns.json:
        print(json.dumps(summary))
    else:
        for name, value in summary["outputs"].items():
            print(f"{name}: {value}")
        for node, info in result.failed.items():
            print(f"FAILED {node} ({info['op']}): {info['message']}", file=sys.stderr)
        st = result.stats
        print(f"{st['executed']} executed, {st['cached']} cached, {st['failed']} failed, "
              f"{st['model_calls']} model calls, {st['wall_time']:.2f}s", file=sys.stderr)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_ops(ns: argparse.Namespace) -> int:
    from graphrt.core.schema import op_schema
    from graphrt.library import default_registry

    schemas = [op_schema(spec) for spec in default_registry()]
    if ns.json:
        print(json.dumps(schemas))
    else:
        for s in schemas:
            ins = ", ".join(f"{p['name']}: {p['type']}" for p in s["inputs"])
            outs = ", ".join(f"{p['name']}: {p['type']}" for p in s["outputs"])
            print(f"{s['name']} v{s['version']}({ins}) -> {outs}")
    return EXIT_OK


def _warn_dropped(plan: Any) -> None:
    """One warning per output a document that skips invalid outputs left out, with why."""
    for name, issues in plan.dropped_outputs.items():
        why = "; ".join(str(i) for i in issues)
        print(f"warning: output {name!r} left out: {why}", file=sys.stderr)


def _warn_degraded(rt: Any) -> None:
    """A plan made without the disk cache says so (its statuses know only memory)."""
    detail = getattr(rt.store, "degraded", None)
    if detail:
        print(f"warning: {detail}; the plan knows the memory cache only", file=sys.stderr)


def cmd_cache(ns: argparse.Namespace) -> int:
    from graphrt.core.errors import DiskFault
    from graphrt.core.store import DiskStore

    store = DiskStore(default_cache_dir(ns.cache_dir))
    try:
        if ns.action == "clear":
            store.clear()
        stats = store.stats()
    except DiskFault as fault:
        print(f"error: {fault.detail}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    print(json.dumps(stats) if ns.json else "\n".join(f"{k}: {v}" for k, v in stats.items()))
    return EXIT_OK


def _report_invalid(issues: list[Issue], ns: argparse.Namespace) -> int:
    if getattr(ns, "json", False):
        print(json.dumps({"valid": False, "issues": [i.model_dump(mode="json") for i in issues]}))
    else:
        print(f"invalid graph: {len(issues)} problem(s)", file=sys.stderr)
        for issue in issues:
            extra = ""
            if issue.expected or issue.found:
                extra = f" (expected {issue.expected}, found {issue.found})"
            print(f"  - {issue}{extra}", file=sys.stderr)
    return EXIT_INVALID


def _jsonable(value: Any) -> Any:
    from graphrt.core.values import is_tensor

    if is_tensor(value):
        return {"tensor": list(value.shape), "dtype": str(value.dtype).replace("torch.", "")}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
