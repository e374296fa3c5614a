// graphrt's plan for the open workflow, in a bottom-panel tab of the ComfyUI editor: per
// node of the workflow, whether it will run or is cached, and the model calls it will make.
// Served by `graphrt serve` at /extensions/graphrt/graphrt.js (GET /extensions lists it);
// see docs/editor-frontend.md. It only reads (POST /api/graphrt/plan with the workflow's API
// prompt); every failure is shown in the panel and never thrown into the editor.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const TAB = "graphrt-plan";
const panel = { el: null, seq: 0 };

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

async function fetchPlan() {
  const { output } = await app.graphToPrompt();
  const res = await api.fetchApi("/graphrt/plan", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: output }),
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message || `HTTP ${res.status}`);
  return body;
}

// Plan rows (graphrt nodes, after macro expansion) grouped by the workflow node they come from.
function byWorkflowNode(rows) {
  const groups = new Map();
  for (const row of rows) {
    const id = String(row.source ?? row.node).split("/")[0];
    const g = groups.get(id) ?? { id, ops: new Set(), run: 0, cached: 0, calls: 0 };
    g.ops.add(row.op);
    if (row.status === "execute") g.run += 1;
    if (row.status === "cached") g.cached += 1;
    g.calls = g.calls === null || row.model_calls == null ? null : g.calls + row.model_calls;
    groups.set(id, g);
  }
  return [...groups.values()];
}

function show(plan) {
  if (!panel.el) return;
  const rows = Array.isArray(plan?.nodes) ? plan.nodes : [];
  const s = plan?.summary ?? {};
  const calls = s.model_calls ?? "?";
  const summary = el("div", `${s.execute ?? 0} to run, ${s.cached ?? 0} cached, ` +
    `${calls} model calls predicted`, { "data-testid": "graphrt-plan-summary" });
  const table = el("table", null, { "data-testid": "graphrt-plan-table" });
  table.style.cssText = "border-collapse:collapse;margin-top:6px";
  const head = el("tr");
  for (const h of ["node", "ops", "status", "model calls"]) head.append(el("th", h));
  table.append(head);
  for (const g of byWorkflowNode(rows)) {
    const node = app.graph?.getNodeById?.(Number(g.id)) ?? app.graph?.getNodeById?.(g.id);
    const status = g.run ? (g.cached ? `run ${g.run}, cached ${g.cached}` : "run") :
      g.cached ? "cached" : "skipped";
    const tr = el("tr", null, { "data-node": g.id, "data-status": status });
    tr.append(el("td", node?.title ? `#${g.id} ${node.title}` : `#${g.id}`),
      el("td", [...g.ops].join(", ")), el("td", status), el("td", g.calls ?? "?"));
    table.append(tr);
  }
  for (const cell of table.querySelectorAll("td,th")) cell.style.cssText = "padding:1px 8px";
  panel.el.querySelector("[data-role=body]")?.replaceChildren(summary, table);
}

async function refresh() {
  if (!panel.el) return;
  const seq = ++panel.seq;
  try {
    const plan = await fetchPlan();
    if (seq === panel.seq) show(plan);
  } catch (err) {
    if (seq === panel.seq) {
      panel.el?.querySelector("[data-role=body]")?.replaceChildren(el("div", `graphrt plan unavailable: ${err?.message ?? err}`,
        { "data-testid": "graphrt-plan-error" }));
    }
  }
}

function mount(container) {
  panel.el = container;
  container.style.cssText = "padding:8px;overflow:auto;height:100%;font-size:13px";
  const button = el("button", "Refresh", { "data-testid": "graphrt-plan-refresh" });
  button.addEventListener("click", () => void refresh());
  container.replaceChildren(button, el("div", "planning…", { "data-role": "body" }));
  void refresh();
}

try {
  app.registerExtension({
    name: "graphrt.Plan",
    bottomPanelTabs: [{
      id: TAB, title: "graphrt plan", type: "custom",
      render: (container) => { try { mount(container); } catch (e) { console.warn(e); } },
      destroy: () => { panel.el = null; },
    }],
    setup() {
      for (const event of ["execution_success", "execution_error", "execution_interrupted"]) {
        api.addEventListener(event, () => void refresh());
      }
    },
  });
} catch (err) {
  console.warn("graphrt: the plan panel is not available:", err);
}
