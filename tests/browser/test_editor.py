"""The ComfyUI editor on a real `graphrt serve`, in Debian's Chromium (issue 13).

One session as a user has it: the editor loads from graphrt (no failed request, no console
error, nothing fetched from elsewhere), lists graphrt's classes, opens a UI-format workflow
from a file, Run makes the image in its Save Image node, the queue panel lists the job, a
second Run is all cached (execution_cached) and graphrt's plan panel says so. Screenshots
of each step, and the requests made, are kept (see conftest.py). Bounded: under two
minutes and a few hundred requests.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.browser.traffic import Traffic
from tests.server.live import serving

WORKFLOW = Path(__file__).with_name("txt2img_ui.json")  # 64×64, 3 steps, seed fixed
SAVE = 9  # the workflow's Save Image node
APP = "window.comfyAPI?.app?.app"
LIMIT_S, LIMIT_REQUESTS = 120, 600
WAIT_MS = 30_000

RECORD_EVENTS = """() => {
  window.__graphrt = {cached: [], done: []};
  const api = window.comfyAPI.api.api;
  api.addEventListener("execution_cached", (e) => window.__graphrt.cached.push(e.detail));
  api.addEventListener("execution_success", (e) => window.__graphrt.done.push(e.detail));
}"""


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))


def no_problems(traffic: Traffic, artifacts: Path, started: float) -> None:
    """Nothing failed, nothing left the machine, no console error (kept as traffic.json)."""
    problems = {"outside": traffic.outside, "failed": traffic.failed,
                "console errors": traffic.errors}
    (artifacts / "traffic.json").write_text(json.dumps(
        {**problems, "seconds": round(time.monotonic() - started, 1),
         "requests": traffic.requests}, indent=1))
    assert not any(problems.values()), json.dumps(problems, indent=1)
    assert len(traffic.requests) < LIMIT_REQUESTS, len(traffic.requests)


def toggle_plan(page: Any) -> None:
    """Open (or close) graphrt's plan tab in the bottom panel, by the editor's command."""
    page.evaluate(f"() => {APP}.extensionManager.command.execute("
                  "'Workspace.ToggleBottomPanelTab.graphrt-plan')")


def plan_rows(page: Any) -> dict[str, dict[str, str]]:
    """The plan tab's rows: workflow node id → status and model calls."""
    rows: list[dict[str, str]] = page.eval_on_selector_all(
        "[data-testid=graphrt-plan-table] tr[data-node]",
        "rows => rows.map(r => ({node: r.dataset.node, status: r.dataset.status, "
        "calls: r.lastChild.textContent}))")
    return {r["node"]: r for r in rows}


def run(page: Any, runs: int) -> str:
    """Click the editor's Run button; wait until this run's prompt has finished."""
    with page.expect_response(lambda r: r.url.endswith("/api/prompt")
                              and r.request.method == "POST") as posted:
        page.get_by_test_id("queue-button").first.click()
    response = posted.value
    assert response.status == 200, response.text()
    prompt_id: str = response.json()["prompt_id"]
    page.wait_for_function("n => window.__graphrt.done.length >= n", arg=runs, timeout=WAIT_MS)
    assert page.evaluate("() => window.__graphrt.done.at(-1).prompt_id") == prompt_id
    return prompt_id


def watched_page(browser: Any, url: str) -> tuple[Any, Traffic]:
    """A new page whose requests are recorded (to check that all of them go to `url`)."""
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_default_timeout(WAIT_MS)
    traffic = Traffic(url)
    traffic.watch(page)
    return page, traffic


def load_editor(page: Any, url: str) -> None:
    """Open the editor and wait until it has its graph and KSampler among its node types."""
    page.goto(url + "/")
    page.wait_for_function(f"() => {APP}?.graph && window.LiteGraph?.registered_node_types"
                           "?.KSampler")


def test_the_editor_runs_a_workflow_on_graphrt(tmp_path: Path, browser: Any,
                                               artifacts: Path) -> None:
    started = time.monotonic()
    with serving(tmp_path, "--no-disk-cache") as live:
        page, traffic = watched_page(browser, live.url)

        # 1. the editor loads, from graphrt only (for a returning user: a first visit opens
        #    the templates dialog over the canvas)
        seen = httpx.post(f"{live.url}/api/settings", json={"Comfy.TutorialCompleted": True})
        assert seen.status_code == 200, seen.text
        load_editor(page, live.url)
        page.get_by_test_id("queue-button").first.wait_for()
        page.evaluate(RECORD_EVENTS)
        shot(page, artifacts, "01-loaded")

        # 2. it lists graphrt's classes: every class of /object_info
        classes = set(httpx.get(f"{live.url}/object_info", timeout=30).json())
        registered = set(page.evaluate("() => Object.keys(LiteGraph.registered_node_types)"))
        assert {"KSampler", "CheckpointLoaderSimple", "SaveImage"} <= classes
        assert classes <= registered, classes - registered

        # 3. a UI-format workflow opens from a file, as the Open command reads one
        page.set_input_files("#comfy-file-input", str(WORKFLOW))
        page.wait_for_function(f"() => {APP}.graph.nodes.length === 7 && "
                               f"{APP}.graph.getNodeById({SAVE})?.type === 'SaveImage'")
        shot(page, artifacts, "02-workflow")

        # 3b. graphrt's plan panel: all of it will run; the sampler makes the model calls
        toggle_plan(page)
        page.get_by_test_id("graphrt-plan-summary").wait_for()
        plan = plan_rows(page)
        assert page.get_by_test_id("graphrt-plan-summary").inner_text().startswith("7 to run, ")
        assert {r["status"] for r in plan.values()} == {"run"}, plan
        assert int(plan["3"]["calls"]) > 0 and plan["5"]["calls"] == "0", plan
        shot(page, artifacts, "02b-plan")
        toggle_plan(page)

        # 4. Run: the image shows in the Save Image node, fetched from /view
        with page.expect_response(lambda r: "/api/view?" in r.url and r.status == 200) as view:
            first = run(page, 1)
        assert "graphrt_editor" in view.value.url
        assert view.value.header_value("content-type") == "image/png"
        shown = page.wait_for_function(  # the node's image, decoded: 64×64
            f"() => ({APP}.graph.getNodeById({SAVE}).imgs ?? [])"
            ".filter(i => i.complete && i.naturalWidth === 64).map(i => i.src)[0]").json_value()
        assert "/api/view?filename=graphrt_editor_00001_.png" in shown, shown
        images = list((live.output).glob("graphrt_editor_*.png"))
        assert len(images) == 1, images
        shot(page, artifacts, "03-ran")

        # 5. the queue panel lists the job
        page.get_by_test_id("queue-overlay-toggle").first.click()
        overlay = page.get_by_test_id("queue-progress-overlay").first
        overlay.wait_for()
        jobs = httpx.get(f"{live.url}/api/jobs", timeout=30).json()
        assert first in json.dumps(jobs)
        page.wait_for_function("() => document.querySelector('[data-testid="
                               "queue-progress-overlay]')?.innerText.includes("
                               "'graphrt_editor_00001_.png')")
        shot(page, artifacts, "04-queue")
        page.get_by_test_id("queue-overlay-toggle").first.click()

        # 6. a second Run: every node cached, and graphrt's plan panel says so
        second = run(page, 2)
        assert second != first
        cached = page.evaluate("id => window.__graphrt.cached.filter(c => c.prompt_id === id)"
                               ".flatMap(c => c.nodes).map(String)", second)
        assert sorted(cached) == ["3", "4", "5", "6", "7", "8", "9"], cached
        toggle_plan(page)
        summary = page.get_by_test_id("graphrt-plan-summary")
        summary.wait_for()
        assert summary.inner_text().startswith("0 to run, "), summary.inner_text()
        plan = plan_rows(page)
        assert len(plan) == 7 and {r["status"] for r in plan.values()} == {"cached"}, plan
        shot(page, artifacts, "05-cached")

        # nothing failed, nothing left the machine, within bounds
        no_problems(traffic, artifacts, started)
        assert traffic.count(f"POST {live.url}/api/prompt") == 2  # one per click, no more
        page.close()
    assert time.monotonic() - started < LIMIT_S


def test_a_first_visit_loads_cleanly(tmp_path: Path, browser: Any, artifacts: Path) -> None:
    """A new user's first load opens the templates dialog (graphrt ships no templates). If
    graphrt's plan endpoint fails, the plan panel says so and the editor carries on."""
    started = time.monotonic()
    with serving(tmp_path, "--no-disk-cache") as live:
        page, traffic = watched_page(browser, live.url)
        load_editor(page, live.url)
        page.get_by_test_id("dialog-overlay").wait_for()
        page.wait_for_load_state("networkidle")
        shot(page, artifacts, "01-first-visit")
        assert traffic.count("/templates/index.json") >= 1
        no_problems(traffic, artifacts, started)

        page.keyboard.press("Escape")
        page.route("**/api/graphrt/plan", lambda route: route.fulfill(
            status=500, content_type="application/json",
            body=json.dumps({"error": {"type": "test", "message": "planner down"}})))
        toggle_plan(page)
        error = page.get_by_test_id("graphrt-plan-error")
        error.wait_for()
        assert "planner down" in error.inner_text()
        shot(page, artifacts, "02-plan-unavailable")
        page.set_input_files("#comfy-file-input", str(WORKFLOW))  # the editor still works
        page.wait_for_function(f"() => {APP}.graph.nodes.length === 7")
        assert [e for e in traffic.errors if e.startswith("uncaught")] == []
        page.close()
