"""Ray stays an optional extra: `import graphrt`, `graphrt.distributed` and `graphrt serve`
without `--ray` never import it (SPEC §13); `--ray [ADDRESS]` only sets the address."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from graphrt.fronts.cli import _parser
from graphrt.fronts.server.cli import config_from

ROOT = Path(__file__).resolve().parents[2]

SERVE = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    import graphrt, graphrt.distributed
    after_import = "ray" in sys.modules
    from graphrt.fronts.cli import _parser
    from graphrt.fronts.server.app import create_app
    from graphrt.fronts.server.cli import config_from
    from tests.server.local import local_client
    from tests.server.workflows import txt2img
    ns = _parser().parse_args(["serve", "--state-dir", sys.argv[1], "--device", "cpu"])
    with local_client(create_app(config_from(ns))) as client:  # the server, started
        pid = client.post("/prompt", json={{"prompt": txt2img()}}).json()["prompt_id"]
        for _ in range(600):
            entry = client.get(f"/history/{{pid}}").json().get(pid)
            if entry:
                break
            time.sleep(0.1)
    print(json.dumps({{"after_import": after_import, "after_serving": "ray" in sys.modules,
                      "status": entry["status"]["status_str"]}}))
""")


def test_graphrt_and_its_server_never_import_ray(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SERVE.format(root=str(ROOT)))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "state")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"after_import": False, "after_serving": False, "status": "success"}


def test_the_ray_flag_takes_an_optional_address() -> None:
    def address(*argv: str) -> str | None:
        return config_from(_parser().parse_args(["serve", *argv])).ray_address

    assert address() is None
    assert address("--ray") == "local"  # a local cluster, started by the server
    assert address("--ray", "10.0.0.5:6379") == "10.0.0.5:6379"
