"""The floor of a pure-Python engine: the least it costs per node to do what graphrt does
on a first run, on the graphs of bench/engine_overhead.py.

`floor_run` does each step graphrt must, in the fewest Python operations we found, fused
into one function over plain dicts and tuples: copy the document's nodes (the caller may
edit its dict afterwards), look up each op, validate params once per recipe, check each
link's port and type once per (op, port, source op, source port), order the nodes
(Kahn's algorithm, smallest id first), key every node with graphrt's exact key bytes
(asserted below), call the ops, size and store each result in an LRU dict under a lock,
and drop intermediate results once consumed. It builds no node objects, emits no events,
reports no errors (it gives up on anything unusual) and keeps no plans: it is a
yardstick, not an engine. What it costs over the bare loop is what any CPython engine
doing this work pays; graphrt's per-node targets are read against it.

    python bench/engine_floor.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import msgpack
import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphrt import Registry, Runtime  # noqa: E402
from graphrt.core.hashing import KEY_HEADER, recipe_head, recipe_tail  # noqa: E402
from graphrt.core.values import nbytes  # noqa: E402
from tests.fakeops import FAKE_OPS  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from engine_overhead import SHAPES, bare_loop  # noqa: E402

_FIELDS = frozenset({"op", "in", "params", "title"})
_EMPTY: dict[str, Any] = {}


def floor_run(doc: dict[str, Any], registry: Registry) -> dict[str, str]:
    """Run `doc` the floor's way (see the module docstring); its keys by node."""
    spec_of = registry.by_name.get
    specs, params_of, links_of, consumers = {}, {}, {}, {}
    recipes: dict[tuple[Any, ...], Any] = {}
    for node_id, nd in doc["nodes"].items():
        if type(nd) is not dict or not _FIELDS.issuperset(nd) or not node_id.isalnum():
            raise ValueError(node_id)
        spec = spec_of(nd["op"])
        links, params = nd.get("in", _EMPTY), dict(nd.get("params", _EMPTY))
        recipe = (spec, tuple(params.items()), tuple(map(type, params.values())))
        model = recipes.get(recipe)
        if model is None:
            model = recipes[recipe] = spec.params.model_validate(params)
        refs = []
        for port, text in links.items():
            for i, t in enumerate(text) if type(text) is list else ((None, text),):
                up, _, out = t.rpartition(".")
                refs.append((port if i is None else f"{port}#{i}", port, up, out))
        specs[node_id], params_of[node_id], links_of[node_id] = spec, model, refs
        consumers[node_id] = []
    checked: set[tuple[Any, ...]] = set()
    indegree = {}
    for node_id, refs in links_of.items():
        for _name, port, up, out in refs:
            consumers[up].append(node_id)
            link = (specs[node_id], port, specs[up], out)
            if link not in checked:
                want = specs[node_id].inputs_by_name[port].type
                if not want.accepts(specs[up].outputs_by_name[out].type):
                    raise ValueError(node_id)
                checked.add(link)
        indegree[node_id] = len(refs)
    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for c in consumers[n]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, c)
    keys: dict[str, str] = {}
    heads: dict[tuple[Any, int], bytes] = {}
    pack = msgpack.Packer(use_bin_type=True, use_single_float=False).pack
    for n in order:
        spec, model = specs[n], params_of[n]
        head = heads.get((spec, id(model)))
        if head is None:
            head = heads[spec, id(model)] = recipe_head(
                spec.name, spec.version, model.model_dump(mode="json")) + recipe_tail()
        refs = links_of[n]
        if len(refs) == 1:
            name, _, up, out = refs[0]
            body = b"".join((head, b"\x91\x93", pack(name), KEY_HEADER, keys[up].encode(),
                             pack(out)))
        else:
            body = head + pack(sorted((name, keys[up], out) for name, _, up, out in refs))
        keys[n] = xxhash.xxh3_128_hexdigest(body)
    store: OrderedDict[str, tuple[Any, int]] = OrderedDict()
    lock, live = threading.Lock(), {}
    remaining = {n: len(c) for n, c in consumers.items()}
    for n in order:
        spec = specs[n]
        outs = {spec.first_output: spec.fn(params_of[n], *[live[up][out] for _, _, up, out
                                                           in links_of[n]])}
        size = nbytes(outs)
        lock.acquire()
        store[keys[n]] = (outs, size)
        lock.release()
        live[n] = outs
        for _, _, up, _ in links_of[n]:
            remaining[up] -= 1
            if remaining[up] == 0:
                del live[up]
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    ns = parser.parse_args()
    registry = Registry(FAKE_OPS)
    print(f"{'graph':6} {'nodes':>6} {'floor µs/node':>14} {'bare µs/node':>13} "
          f"{'floor × bare':>13}")
    per_node: dict[tuple[str, int], float] = {}
    for shape, make in SHAPES.items():
        for n in (1_000, 10_000):
            doc = make(n)
            assert floor_run(doc, registry) == Runtime(registry=registry).prepare(doc).keys
            floor = bare = float("inf")
            for _ in range(ns.repeat):
                gc.collect()
                gc.disable()  # as graphrt while it plans
                t0 = time.perf_counter()
                floor_run(doc, registry)
                floor = min(floor, time.perf_counter() - t0)
                gc.enable()
                bare = min(bare, bare_loop(shape, n))
            per_node[shape, n] = floor / n * 1e6
            print(f"{shape:6} {n:>6} {floor / n * 1e6:14.2f} {bare / n * 1e6:13.2f} "
                  f"{floor / bare:13.1f}")
    for shape in SHAPES:
        ratio = per_node[shape, 10_000] * 10 / per_node[shape, 1_000]
        print(f"{shape}: 10k/1k time ratio {ratio:.1f}")


if __name__ == "__main__":
    main()
