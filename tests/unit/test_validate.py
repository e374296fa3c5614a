import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from graphrt import InvalidGraph, Registry, Runtime, load_graph, op
from graphrt.core.errors import Issue
from graphrt.core.types import Float
from graphrt.core.validate import check
from tests.fakeops import FAKE_OPS

ROOT = Path(__file__).resolve().parents[2]

REG = Registry(FAKE_OPS)


def issues_of(doc: dict, **kw) -> list:
    try:
        graph = load_graph(doc)
    except InvalidGraph as exc:
        return exc.issues
    _, issues = check(graph, REG, **kw)
    return issues


FIVE_MISTAKES = {
    "format": "graphrt/1",
    "args": {"v": {"type": "float", "default": 1}},
    "nodes": {
        "a": {"op": "test.cnst", "params": {"value": 1}},                    # unknown op
        "b": {"op": "test.add", "in": {"a": "nowhere.out"}},                 # unknown node
        "c": {"op": "test.add", "in": {"a": "t.out"}, "params": {"value": 1e12}},  # range
        "t": {"op": "test.text", "params": {"text": "x"}},
        "d": {"op": "test.add", "params": {"value": {"arg": "v"}}},          # missing input
        "e": {"op": "test.add", "in": {"a": "b.out", "zzz": "b.out"}},       # unknown port
        "f": {"op": "test.add", "in": {"a": "g.out"}},                        # cycle f-g
        "g": {"op": "test.add", "in": {"a": "f.out"}},
    },
    "outputs": {"x": "e.out"},
}


def test_all_mistakes_reported_at_once_with_node_and_field() -> None:
    issues = issues_of(FIVE_MISTAKES)
    found = {(i.code, i.node, i.field) for i in issues}
    assert ("unknown_op", "a", "op") in found
    assert ("unknown_node", "b", "in.a") in found
    assert ("param_above_max", "c", "params.value") in found
    assert ("type_mismatch", "c", "in.a") in found
    assert ("missing_input", "d", "in.a") in found
    assert ("unknown_port", "e", "in.zzz") in found
    assert any(i.code == "cycle" and "f → g → f" in i.message or "g → f → g" in i.message
               for i in issues)
    mismatch = next(i for i in issues if i.code == "type_mismatch")
    assert (mismatch.expected, mismatch.found) == ("FLOAT", "STRING")
    rng = next(i for i in issues if i.code == "param_above_max")
    assert rng.expected == "<= 1000000000.0" and rng.found == "1000000000000.0"


def test_cli_validate_json_lists_all_errors_exit_2(tmp_path) -> None:
    doc = dict(FIVE_MISTAKES)
    doc["nodes"] = {**FIVE_MISTAKES["nodes"]}
    # use real ops for the CLI (it runs the default registry): mistakes of the same kinds
    doc = {"nodes": {
        "ckpt": {"op": "model.load_checkpont", "params": {"name": "toy-shapes"}},
        "lat": {"op": "latent.empty", "params": {"width": -5, "height": 64, "batch": 1}},
        "enc": {"op": "text.encode", "in": {"clip": "nobody.clip"}, "params": {"text": "x"}},
        "mask": {"op": "mask.invert"},
        "inv": {"op": "mask.invert", "in": {"mask": "lat.out", "extra": "lat.out"}},
    }, "outputs": {"m": "inv.out"}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "graphrt", "validate", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert report["valid"] is False
    got = {(i["code"], i["node"], i["field"]) for i in report["issues"]}
    assert ("unknown_op", "ckpt", "op") in got
    assert ("invalid_param", "lat", "params.width") in got  # -5: not a multiple of 8
    assert ("unknown_node", "enc", "in.clip") in got
    assert ("missing_input", "mask", "in.mask") in got
    assert ("type_mismatch", "inv", "in.mask") in got
    assert ("unknown_port", "inv", "in.extra") in got
    assert all(i["message"] and i["node"] for i in report["issues"])


def test_structural_errors_do_not_hide_the_others() -> None:
    doc = {"nodes": {"bad/id": {"op": "test.const"}, "n": {"op": 5},
                     "x": {"op": "test.add", "in": {"a": "not a link"}}}, "extra": 1}
    codes = {(i.code, i.node) for i in issues_of(doc)}
    assert ("invalid_node_id", "bad/id") in codes
    assert ("invalid_node", "n") in codes
    assert ("invalid_document", None) in codes


def test_args_and_overrides() -> None:
    doc = {"args": {"v": {"type": "float", "default": 1.0}, "need": {"type": "int",
                                                                     "required": True}},
           "nodes": {"a": {"op": "test.const", "params": {"value": {"arg": "v"}}},
                     "b": {"op": "test.const", "params": {"value": {"arg": "nope"}}}},
           "outputs": {"x": "a.out"}}
    codes = {i.code for i in issues_of(doc, args={"v": "abc", "w": 1})}
    assert codes == {"invalid_arg", "unknown_arg", "missing_arg"}
    rt = Runtime(registry=REG)
    ok = {"args": {"v": {"type": "float", "default": 1.0}},
          "nodes": {"a": {"op": "test.const", "params": {"value": {"arg": "v"}}}},
          "outputs": {"x": "a.out"}}
    assert rt.run(ok, args={"v": "2.5"}).outputs["x"] == 2.5
    assert rt.run(ok, overrides={"a.value": 7}).outputs["x"] == 7
    with pytest.raises(InvalidGraph) as err:
        rt.run(ok, overrides={"zz.value": 7, "a.valu": 1})
    assert {i.code for i in err.value.issues} == {"unknown_node", "unknown_param"}


def test_malformed_json_is_an_issue() -> None:
    with pytest.raises(InvalidGraph) as err:
        load_graph('{"nodes": ')
    assert err.value.issues[0].code == "invalid_json"


# --- no recursion on user-controlled depth; coercion errors are issues (issue 14, 9 and 10) --

class Free(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    value: Any = None


@op("test.free")
def free(p: Free) -> Float:
    """Takes any JSON as its param (as a plugin's free-form param may)."""
    return 0.0


class Ratio(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    steps: int = Field(10, ge=1, le=10_000)
    denoise: float = Field(1.0, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _capped(self) -> "Ratio":
        if int(self.steps / self.denoise) > 10_000:  # int(inf) raises OverflowError
            raise ValueError("too many steps")
        return self


@op("test.ratio")
def ratio(p: Ratio) -> Float:
    """A validator that coerces a number itself (as sample.masked_pair's does)."""
    return float(p.steps)


FREE = Registry([*FAKE_OPS, free, ratio])
LIMIT = 63  # a param's value nests at most MAX_DEPTH - 1 levels: the params map is one


def nested(depth: int, kind: str = "list", leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value} if kind == "dict" else (value,) if kind == "tuple" else [value]
    return value


def free_doc(value: Any, **extra: Any) -> dict[str, Any]:
    return {"nodes": {"n": {"op": "test.free", "params": {"value": value}}},
            "outputs": {"x": "n.out"}, **extra}


def refused(source: Any, **kw: Any) -> list[Issue]:
    with pytest.raises(InvalidGraph) as err:
        Runtime(registry=FREE).prepare(source, **kw)
    return err.value.issues


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
@pytest.mark.parametrize("depth", [LIMIT + 1, 900, 100_000])
def test_deep_params_are_one_issue(kind: str, depth: int) -> None:
    (issue,) = refused(free_doc(nested(depth, kind)))
    assert (issue.code, issue.node, issue.field) == ("too_deep", "n", "params.value")


def test_deep_json_text_and_arg_chains_are_issues() -> None:
    text = json.dumps(free_doc(None)).replace("null", "[" * 900 + "1" + "]" * 900)
    assert [i.code for i in refused(text)] == ["too_deep"]
    chain: Any = {"arg": "x"}
    for _ in range(900):
        chain = {"arg": "x", "b": chain}  # not a reference: two keys
    assert [i.code for i in refused(free_doc(chain))] == ["too_deep"]


def test_the_depth_limit_is_exact_and_counts_substituted_args() -> None:
    rt = Runtime(registry=FREE)
    plan = rt.prepare(free_doc(nested(LIMIT)))  # checked, expanded and keyed
    assert plan.keys["n"] and rt.run(plan).ok
    args = {"v": {"type": "json"}}
    inner = nested(LIMIT - 10, leaf={"arg": "v"})
    assert rt.prepare(free_doc(inner, args=args), args={"v": nested(10)}).keys["n"]
    (issue,) = refused(free_doc(inner, args=args), args={"v": nested(11)})
    assert (issue.code, issue.field) == ("too_deep", "params.value")


def test_deep_args_defaults_and_overrides_are_issues() -> None:
    args = {"v": {"type": "json"}}
    doc = free_doc({"arg": "v"}, args=args)
    assert [i.field for i in refused(doc, args={"v": nested(5000)})] == ["args.v"]
    assert [i.field for i in refused(doc, args={"v": "[" * 5000 + "]" * 5000})] == ["args.v"]
    deep_default = free_doc({"arg": "v"}, args={"v": {"type": "json",
                                                      "default": nested(5000, "dict")}})
    assert [i.field for i in refused(deep_default)] == ["args.v.default"]
    (issue,) = refused(free_doc(1), overrides={"n.value": nested(5000)})
    assert (issue.code, issue.node, issue.field) == ("too_deep", "n", "params.value")


def test_cli_refuses_deep_documents_and_values_without_a_traceback(tmp_path) -> None:
    doc = json.loads((ROOT / "graphs" / "txt2img.json").read_text())
    doc["nodes"]["save"]["params"] = {"prefix": nested(900)}
    graph = tmp_path / "deep.json"
    graph.write_text(json.dumps(doc))
    deep = json.dumps(nested(900))
    deeper = "[" * 5000 + "]" * 5000  # beyond what the JSON parser reads: a bad argument
    for cmd, code in ((["validate", str(graph)], "too_deep"),
                      (["validate", "txt2img", "--set", f"save.prefix={deep}"], "too_deep"),
                      (["validate", "txt2img", "--set", f"save.prefix={deeper}"],
                       "bad_argument")):
        proc = subprocess.run([sys.executable, "-m", "graphrt", *cmd, "--json"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert [i["code"] for i in json.loads(proc.stdout)["issues"]] == [code]


@pytest.mark.parametrize("kind,value", [
    ("float", 10**400), ("float", "1e400"), ("float", "nan"), ("float", "-inf"),
    ("float", float("inf")), ("int", "1" * 5000), ("int", float("inf")), ("int", [1]),
    ("float", {"x": 1}),
])
def test_every_numeric_coercion_error_is_an_invalid_arg(kind: str, value: Any) -> None:
    doc = {"args": {"v": {"type": kind, "default": 1}},
           "nodes": {"a": {"op": "test.const", "params": {"value": {"arg": "v"}}}},
           "outputs": {"x": "a.out"}}
    (issue,) = refused(doc, args={"v": value})
    assert (issue.code, issue.field) == ("invalid_arg", "args.v")


def test_a_validator_that_overflows_is_an_invalid_param() -> None:
    doc = {"nodes": {"r": {"op": "test.ratio", "params": {"denoise": 5e-324}}},
           "outputs": {"x": "r.out"}}
    (issue,) = refused(doc)
    assert (issue.code, issue.node, issue.field) == ("invalid_param", "r", "params")
    assert "OverflowError" in issue.message
