import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def graphrt(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphrt", *args], capture_output=True,
                          text=True, timeout=300, check=check)


def test_import_and_validate_do_not_import_torch(tmp_path: Path) -> None:
    probe = ("import sys, graphrt; from graphrt.fronts.cli import main; "
             "rc = main(sys.argv[1:]); "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('torch', 'k_diffusion', 'diffusers', 'transformers', 'spandrel')); "
             "print(json.dumps(bad)) if False else print('HEAVY', bad); sys.exit(rc)")
    probe = "import json\n" + probe
    for cmd in (["ops", "--json"], ["validate", "txt2img"], ["plan", "txt2img", "--json"]):
        proc = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().endswith("HEAVY []"), (cmd, proc.stdout[-300:])
    proc = subprocess.run([sys.executable, "-c", "import sys, graphrt; "
                           "print(any(m.startswith('torch') for m in sys.modules))"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False"


def test_ops_json_lists_schemas() -> None:
    schemas = json.loads(graphrt("ops", "--json", check=True).stdout)
    names = {s["name"] for s in schemas}
    assert {"sample.steps", "model.load_checkpoint", "mask.grow"} <= names
    steps = next(s for s in schemas if s["name"] == "sample.steps")
    assert steps["params"]["type"] == "object" and "seed" in steps["params"]["properties"]
    assert {p["name"] for p in steps["inputs"]} >= {"model", "positive", "negative", "latent"}


def test_bad_command_line_values_exit_2(tmp_path: Path) -> None:
    proc = graphrt("validate", "txt2img", "--arg", "nope=1", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["issues"][0]["code"] == "unknown_arg"
    proc = graphrt("validate", "txt2img", "--set", "nonsense")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cache_stats_and_clear(tmp_path: Path) -> None:
    out = json.loads(graphrt("cache", "stats", "--json", "--cache-dir", str(tmp_path),
                             check=True).stdout)
    assert out["entries"] == 0
    graphrt("cache", "clear", "--cache-dir", str(tmp_path), check=True)


def test_progress_printer_draws_a_bar_per_sampling_node(capsys) -> None:
    from graphrt import Registry, Runtime
    from graphrt.fronts.progress import ProgressPrinter
    from tests.fakeops import FAKE_OPS

    doc = {"nodes": {"a": {"op": "test.const"},
                     "s": {"op": "test.slow", "in": {"a": "a.out"},
                           "params": {"steps": 3, "delay": 0}}}, "outputs": {"x": "s.out"}}
    printer = ProgressPrinter(enabled=True)
    Runtime(registry=Registry(FAKE_OPS)).run(doc, on_event=printer)
    printer.close()
    err = capsys.readouterr().err
    assert "done   a (test.const)" in err and "done   s (test.slow)" in err
    assert "3/3" in err  # the tqdm bar reached the last step
    quiet = ProgressPrinter(enabled=False)
    Runtime(registry=Registry(FAKE_OPS)).run(doc, on_event=quiet)
    assert capsys.readouterr().err == ""
