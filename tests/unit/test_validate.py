import json
import subprocess
import sys

import pytest

from graphrt import InvalidGraph, Registry, Runtime, load_graph
from graphrt.core.validate import check
from tests.fakeops import FAKE_OPS

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
    doc = {"nodes": {"bad id!": {"op": "test.const"}, "n": {"op": 5},
                     "x": {"op": "test.add", "in": {"a": "not a link"}}}, "extra": 1}
    codes = {(i.code, i.node) for i in issues_of(doc)}
    assert ("invalid_node_id", "bad id!") in codes
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
