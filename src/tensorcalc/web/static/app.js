// tensorcalc serve: the page's logic, one ES module, no build step.
// The state (expression, shapes, variable, order, layout, ...) lives in the URL; every change
// computes through the JSON API (/api/...) and renders with the vendored KaTeX.

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 350;
const MAX_TEX = 12000; // LaTeX longer than this is not typeset (KaTeX would give up or take a page)
const SYNTAXES = ["auto", "text", "matlab", "latex"];
const LAYOUTS = ["jacobian", "numerator", "denominator", "vec"];
const STAR_NOTE = "read `*` as elementwise; for the matrix product write `@` or switch to MATLAB syntax";

const state = {
  expression: "",
  syntax: "auto", // how the expression is read: auto, text, matlab or latex
  shapes: {}, // declared shapes, in the --shape syntax ("n,n", "" for a scalar)
  wrt: null,
  order: 1,
  layout: "jacobian",
  where: true, // name shared subexpressions (the printers' default)
  style: "",
  backend: "numpy",
  at: {}, // analysis point
};

let info = { styles: [], examples: [], limits: {} };
let last = null; // the last successful derivative response
let seq = 0; // request sequence: answers to older requests are dropped
let timer = null;
let code = { text: "", filename: "derivative.py" };
let plotMode = "none";

// ------------------------------------------------------------------------- URL state

// Returns what in the URL could not be used (shown above the page), so nothing is silently dropped.
function readURL() {
  const p = new URLSearchParams(location.search);
  const problems = [];
  state.expression = p.get("e") ?? "";
  state.wrt = p.get("wrt") || null;
  const order = p.get("order");
  state.order = clampOrder(parseInt(order || "1", 10));
  if (order !== null && String(state.order) !== order.trim()) {
    const max = info.limits?.max_order ?? 4;
    problems.push(`order=${order} is not an order this page computes (1 to ${max}); showing order 1`);
  }
  const layout = p.get("layout");
  state.layout = LAYOUTS.includes(layout) ? layout : "jacobian";
  if (layout !== null && !LAYOUTS.includes(layout)) {
    problems.push(`layout=${layout} is not a layout (${LAYOUTS.join(", ")}); showing jacobian`);
  }
  const syntax = p.get("syntax");
  state.syntax = SYNTAXES.includes(syntax) ? syntax : p.get("latex") === "1" ? "latex" : "auto";
  if (syntax !== null && !SYNTAXES.includes(syntax)) {
    problems.push(`syntax=${syntax} is not a syntax (${SYNTAXES.join(", ")}); reading it automatically`);
  }
  state.where = p.get("where") !== "0";
  state.shapes = {};
  for (const s of p.getAll("s")) {
    const i = s.indexOf(":");
    if (i > 0) state.shapes[s.slice(0, i)] = s.slice(i + 1);
  }
  state.at = {};
  for (const s of p.getAll("at")) {
    const i = s.indexOf(":");
    const v = parseFloat(s.slice(i + 1));
    if (i > 0 && Number.isFinite(v)) state.at[s.slice(0, i)] = v;
  }
  return problems;
}

function showNotice(problems) {
  $("url-notice").hidden = problems.length === 0;
  $("url-notice-text").textContent = problems.length ? `The address asked for something this page cannot show: ${problems.join("; ")}.` : "";
  if (problems.length) history.replaceState(null, "", stateURL()); // the URL says what is shown
}

function clampOrder(k) {
  return Number.isInteger(k) && k >= 1 && k <= (info.limits?.max_order ?? 4) ? k : 1;
}

function stateURL() {
  const p = new URLSearchParams();
  if (state.expression) p.set("e", state.expression);
  if (state.wrt) p.set("wrt", state.wrt);
  if (state.order !== 1) p.set("order", String(state.order));
  if (state.layout !== "jacobian") p.set("layout", state.layout);
  if (state.syntax !== "auto") p.set("syntax", state.syntax);
  if (!state.where) p.set("where", "0");
  for (const [k, v] of Object.entries(state.shapes)) p.append("s", `${k}:${v}`);
  for (const [k, v] of Object.entries(state.at)) p.append("at", `${k}:${v}`);
  const q = p.toString();
  return q ? `?${q}` : location.pathname;
}

function pushURL() {
  const url = stateURL();
  if (url !== location.search && !(url === location.pathname && !location.search)) {
    history.pushState(null, "", url);
  }
}

function syncControls() {
  $("expr").value = state.expression;
  $("order").value = String(state.order);
  $("layout").value = state.layout;
  $("syntax").value = state.syntax;
  $("where").checked = state.where;
}

// ------------------------------------------------------------------------------ API

function body(extra = {}) {
  return {
    expression: state.expression,
    wrt: state.wrt,
    order: state.order,
    layout: state.layout,
    shapes: state.shapes,
    syntax: state.syntax,
    where: state.where,
    ...extra,
  };
}

async function post(task, extra) {
  const r = await fetch(`/api/${task}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body(extra)),
  });
  let data;
  try {
    data = await r.json();
  } catch {
    data = { error: `the server answered ${r.status}`, position: null };
  }
  return { ok: r.ok, status: r.status, data };
}

// ---------------------------------------------------------------------------- render

// long decimals (0.36787944117144233) shown to 6 significant digits; the text form keeps them all
function shorten(latex) {
  return latex.replace(/\d+\.\d{7,}(?:e[-+]?\d+)?/g, (m) => String(Number(Number(m).toPrecision(6))));
}

// Typeset; false (and a short message in el) when the LaTeX is too large for KaTeX or the page.
function tex(el, latex, display = true) {
  if (!window.katex) {
    el.textContent = latex;
    return true;
  }
  if (latex.length <= MAX_TEX) {
    try {
      window.katex.render(shorten(latex), el, { displayMode: display, throwOnError: true, strict: "ignore" });
      return true;
    } catch {
      // too many macro expansions, or something KaTeX cannot typeset: fall through
    }
  }
  el.textContent = `(too large to typeset: ${latex.length.toLocaleString("en")} characters of LaTeX)`;
  return false;
}

function showError(data) {
  last = null;
  const box = $("expr-error");
  box.hidden = false;
  $("expr").parentElement.classList.add("error");
  const pos = data.position;
  $("caret").textContent = Number.isInteger(pos) ? `${state.expression}\n${" ".repeat(pos)}^` : "";
  $("caret").hidden = !Number.isInteger(pos);
  $("error-message").textContent = data.error;
  document.querySelector(".result-card").classList.add("stale");
  showNotes([]);
  $("read-as").hidden = true;
  // the table and the variable list follow the text even when it does not compute, so that a
  // bad shape can be corrected where it was entered
  const names = data.variables ?? [];
  const shapes = Object.fromEntries(names.map((n) => [n, state.shapes[n] ?? null]));
  for (const [k, v] of Object.entries(state.shapes)) if (!(k in shapes)) shapes[k] = v;
  renderVars({ shapes, assumed: [] }, data.variable ?? null);
  if (names.length) renderWrt({ variables: names, wrt: names.includes(state.wrt) ? state.wrt : names[0] }, false);
}

function showNotes(notes) {
  const box = $("notes");
  box.replaceChildren(
    ...notes.map((n) => {
      const p = document.createElement("p");
      p.className = "note-line";
      p.append("Note: ");
      n.split("`").forEach((part, i) => p.append(i % 2 ? Object.assign(document.createElement("code"), { textContent: part }) : part));
      p.append(".");
      if (n === STAR_NOTE) {
        const b = Object.assign(document.createElement("button"), { className: "btn small", id: "use-matlab", textContent: "Read as MATLAB" });
        b.addEventListener("click", () => setSyntax("matlab"));
        p.append(" ", b);
      }
      return p;
    }),
  );
  box.hidden = notes.length === 0;
}

function setSyntax(syntax) {
  state.syntax = syntax;
  $("syntax").value = syntax;
  compute(true);
}

function describeShape(shape) {
  const [kind, dims] = kindOf(shape);
  if (kind === "scalar") return "scalar";
  return `${kind} ${kind === "symmetric" ? `${dims[0]}×${dims[0]}` : dims.join("×")}`;
}

function clearError() {
  $("expr-error").hidden = true;
  $("expr").parentElement.classList.remove("error");
  document.querySelector(".result-card").classList.remove("stale");
}

function partial(order, wrtLatex) {
  return order === 1
    ? `\\frac{\\partial}{\\partial ${wrtLatex}}`
    : `\\frac{\\partial^{${order}}}{\\partial ${wrtLatex}^{${order}}}`;
}

function showResult(d) {
  last = d;
  clearError();
  const lhs = `${partial(d.order, d.wrt_latex)}\\left(${d.expression.latex}\\right)`;
  const typeset = tex($("result"), `${lhs} = ${d.latex}`);
  $("too-large").hidden = typeset;
  $("lhs-rhs").hidden = !typeset;
  document.querySelector(".result-card").classList.toggle("huge", !typeset);
  if (!typeset) {
    $("result").textContent = "";
    $("too-large-text").textContent =
      `The derivative is too large to typeset (${d.latex.length.toLocaleString("en")} characters of LaTeX, ` +
      `${d.text.length.toLocaleString("en")} of text). Its text form is below; download it to read it in full.`;
  }
  $("result-text").textContent = d.text;
  showNotes(d.notes ?? []);
  const readAs = $("read-as");
  readAs.replaceChildren("Read as ", Object.assign(document.createElement("code"), { textContent: d.expression.text }),
    ` (${d.syntax === "matlab" ? "MATLAB" : d.syntax} syntax), with `,
    Object.entries(d.shapes).map(([k, v]) => `${k}: ${describeShape(v)}`).join(", ") || "no variables");
  readAs.hidden = false;
  $("shape-badge").textContent = d.shape_text === "scalar" ? "scalar" : `shape ${d.shape_text}`;
  $("result-title").textContent = d.order === 1 ? "Derivative" : `Derivative of order ${d.order}`;
  $("check-result").hidden = true;
  renderWrt(d);
  renderVars(d);
  $("analysis").hidden = !d.analysis;
}

function renderWrt(d, keep = true) {
  const sel = $("wrt");
  sel.replaceChildren(...d.variables.map((v) => new Option(v, v)));
  sel.value = d.wrt;
  if (keep) state.wrt = d.wrt;
}

const KINDS = [
  ["scalar", "scalar"],
  ["vector", "vector"],
  ["matrix", "matrix"],
  ["symmetric", "symmetric matrix"],
  ["tensor", "tensor"],
];

function kindOf(shape) {
  const dims = shape.split(",").map((s) => s.trim()).filter(Boolean);
  if (dims.length >= 3 && /^sym/.test(dims[dims.length - 1])) return ["symmetric", dims.slice(0, -1)];
  return [["scalar", "vector", "matrix"][dims.length] ?? "tensor", dims];
}

function shapeFor(kind, dims) {
  const d = dims.filter(Boolean);
  if (kind === "scalar") return "";
  if (kind === "vector") return d[0] ?? "n";
  if (kind === "matrix") return [d[0] ?? "n", d[1] ?? d[0] ?? "n"].join(",");
  if (kind === "symmetric") return `${d[0] ?? "n"},${d[0] ?? "n"},sym`;
  return d.join(",");
}

// d.shapes: name -> shape ("n,n"), or null for a name whose shape is not known (after an error);
// bad: the variable whose declared shape the server refused.
function renderVars(d, bad = null) {
  const tbody = document.querySelector("#vars-table tbody");
  const rows = Object.entries(d.shapes).map(([name, shape]) => {
    const unknown = shape === null;
    const [kind, dims] = unknown ? ["", []] : kindOf(shape);
    const tr = document.createElement("tr");
    tr.dataset.name = name;
    const tdName = document.createElement("td");
    tdName.className = "name";
    tdName.textContent = name;
    const sel = document.createElement("select");
    sel.className = "kind";
    sel.setAttribute("aria-label", `kind of ${name}`);
    if (unknown) sel.add(new Option("inferred", ""));
    for (const [value, label] of KINDS) {
      if (value === "tensor" && kind !== "tensor") continue;
      sel.add(new Option(label, value));
    }
    sel.value = kind;
    const input = document.createElement("input");
    input.type = "text";
    input.className = "dims";
    input.value = kind === "symmetric" ? dims[0] : dims.join(", ");
    input.disabled = kind === "scalar" || unknown;
    input.placeholder = kind === "scalar" || unknown ? "—" : "n";
    input.setAttribute("aria-label", `dimensions of ${name}`);
    if (name === bad) {
      input.setAttribute("aria-invalid", "true");
      tr.classList.add("bad");
    }
    const tag = document.createElement("span");
    const declared = name in state.shapes;
    const assumedHere = d.assumed.includes(name);
    tag.className = declared ? "tag declared" : "tag";
    tag.textContent = declared ? "declared" : unknown ? "—" : assumedHere ? "assumed" : "inferred";
    const tdKind = document.createElement("td");
    tdKind.append(sel);
    const tdDims = document.createElement("td");
    tdDims.append(input);
    const tdTag = document.createElement("td");
    tdTag.append(tag);
    if (declared) {
      const forget = Object.assign(document.createElement("button"), { className: "btn small forget", textContent: "×", title: `forget the declared shape of ${name}` });
      forget.setAttribute("aria-label", `forget the declared shape of ${name}`);
      forget.addEventListener("click", () => {
        delete state.shapes[name];
        compute(true);
      });
      tdTag.append(" ", forget);
    }
    tr.append(tdName, tdKind, tdDims, tdTag);
    const update = () => {
      if (sel.value === "") return;
      const dimsNow = input.value.split(",").map((s) => s.trim());
      state.shapes[name] = shapeFor(sel.value, dimsNow);
      compute(true);
    };
    sel.addEventListener("change", update);
    input.addEventListener("change", update);
    input.addEventListener("keydown", (e) => e.key === "Enter" && update());
    return tr;
  });
  tbody.replaceChildren(...rows);
}

// --------------------------------------------------------------------------- compute

async function compute(push) {
  clearTimeout(timer);
  if (!state.expression.trim()) {
    $("result").textContent = "";
    $("result-text").textContent = "";
    $("shape-badge").textContent = "";
    $("read-as").hidden = true;
    showNotes([]);
    return;
  }
  const mine = ++seq;
  document.querySelector(".result-card").classList.add("busy-state");
  const r = await post("derivative");
  if (mine !== seq) return;
  document.querySelector(".result-card").classList.remove("busy-state");
  if (!r.ok) {
    showError(r.data);
    if (push) pushURL();
    return;
  }
  // drop declarations of names the expression no longer has
  for (const k of Object.keys(state.shapes)) if (!(k in r.data.shapes)) delete state.shapes[k];
  showResult(r.data);
  if (push) pushURL();
  if ($("steps-panel").open) loadSteps();
  loadCode();
  if (r.data.analysis) loadAnalysis(plotMode);
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => compute(true), DEBOUNCE_MS);
}

// ----------------------------------------------------------------------------- steps

async function loadSteps() {
  const mine = seq;
  const list = $("steps");
  list.classList.add("busy");
  const r = await post("explain", { style: state.style || null });
  if (mine !== seq) return;
  list.classList.remove("busy");
  if (!r.ok) {
    list.replaceChildren(Object.assign(document.createElement("li"), { className: "step-error", textContent: r.data.error }));
    return;
  }
  // only the styles that apply to this expression and variable
  const styles = r.data.styles || [];
  $("style-label").hidden = styles.length === 0;
  const sel = $("style");
  sel.replaceChildren(new Option("automatic", ""), ...styles.map((s) => new Option(s, s)));
  sel.value = styles.includes(state.style) ? state.style : "";
  const title = $("steps-title");
  title.textContent = r.data.title || "";
  title.hidden = !r.data.title;
  list.replaceChildren(...r.data.steps.map(renderStep));
}

function renderStep(s) {
  const li = document.createElement("li");
  li.className = "step";
  const num = Object.assign(document.createElement("span"), { className: "num", textContent: `${s.number}.` });
  const main = document.createElement("div");
  const rule = Object.assign(document.createElement("div"), { className: "rule", textContent: s.rule });
  const eq = document.createElement("div");
  eq.className = "eq";
  if (s.latex) tex(eq, s.latex, false);
  else eq.textContent = s.text;
  eq.title = s.text || "";
  main.append(rule, eq);
  const shapes = s.shapes && typeof s.shapes === "object" ? Object.entries(s.shapes) : [];
  if (shapes.length || (typeof s.shapes === "string" && s.shapes)) {
    const sh = document.createElement("div");
    sh.className = "shapes";
    sh.textContent = shapes.length ? shapes.map(([k, v]) => `${k}: ${v}`).join("   ") : s.shapes;
    main.append(sh);
  }
  const v = document.createElement("span");
  v.className = "verified " + (s.verified === true ? "yes" : s.verified === false ? "no" : "na");
  v.textContent = s.verified === true ? "✓ verified" : s.verified === false ? "✗ fails" : "—";
  v.title = s.verified == null ? "not checked numerically" : "both sides evaluated at random values";
  li.append(num, main, v);
  return li;
}

// ----------------------------------------------------------------------------- check

async function runCheck() {
  const btn = $("check-btn");
  btn.disabled = true;
  btn.classList.add("busy");
  const r = await post("check", { seed: Math.floor(Math.random() * 1e6) });
  btn.disabled = false;
  btn.classList.remove("busy");
  const box = $("check-result");
  box.hidden = false;
  if (!r.ok) {
    box.className = "check-result bad";
    box.textContent = r.data.error;
    return;
  }
  const c = r.data;
  box.className = `check-result ${c.passed ? "ok" : "bad"}`;
  box.replaceChildren();
  const mark = Object.assign(document.createElement("span"), { className: "mark", textContent: c.passed ? "✓" : "✗" });
  const text = document.createElement("span");
  text.textContent =
    (c.checked ? `${c.checked.text}: ` : "") +
    (c.passed ? "agrees with finite differences at random values" : "does NOT agree with finite differences") +
    ` — max abs error ${c.max_abs_error.toExponential(2)}, max rel error ${c.max_rel_error.toExponential(2)},` +
    ` error estimate ${c.error_estimate.toExponential(2)}` +
    (c.notes.length ? ` (${c.notes.join("; ")})` : "");
  box.title = c.report;
  box.append(mark, text);
}

// ------------------------------------------------------------------------------ code

async function loadCode() {
  const mine = seq;
  const pre = $("code").firstElementChild;
  const r = await post("code", { backend: state.backend });
  if (mine !== seq) return;
  if (!r.ok) {
    pre.textContent = `# ${r.data.error}`;
    return;
  }
  code = { text: r.data.code, filename: r.data.filename };
  pre.textContent = r.data.code;
  const library = {
    numpy: "NumPy (numpy arrays)",
    jax: "JAX (jax.numpy operations, in float64; wrap fun in jax.jit yourself to compile it)",
    torch: "PyTorch (torch operations, on the device and in the dtype of the inputs)",
    dask: "Dask (dask.array operations, evaluated when the results are computed)",
    tensorflow: "TensorFlow (eager tf operations; wrap fun in tf.function yourself to trace it)",
  }[state.backend];
  $("code-hint").textContent =
    `A Python script for ${library}: a function fun(...) that returns the value and the derivatives, ` +
    `with shape checks; random test data; and a check of each derivative against central differences ` +
    `of the one before. Run it: python ${r.data.filename}`;
}

function selectTab(backend, focus = false) {
  state.backend = backend;
  for (const t of document.querySelectorAll(".tab")) {
    const on = t.dataset.backend === backend;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    if (on && focus) t.focus();
    if (on) $("code-panel").setAttribute("aria-labelledby", t.id);
  }
  loadCode();
}

// arrow keys, Home and End move between the code tabs (the ARIA tabs pattern)
function tabKeys(e) {
  const tabs = [...document.querySelectorAll(".tab")];
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  selectTab(tabs[(to + tabs.length) % tabs.length].dataset.backend, true);
}

function downloadText(text, filename, type = "text/plain") {
  const blob = new Blob([text], { type });
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function download() {
  downloadText(code.text, code.filename, "text/x-python");
}

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  const old = btn.textContent;
  btn.textContent = "Copied";
  setTimeout(() => (btn.textContent = old), 1200);
}

// -------------------------------------------------------------------------- analysis

function renderPointInputs(names) {
  const row = $("point-inputs");
  if ([...row.querySelectorAll("input")].map((i) => i.name).join() === names.join()) return;
  row.replaceChildren(
    ...names.map((n) => {
      const label = document.createElement("label");
      label.append(`${n} =`);
      const input = Object.assign(document.createElement("input"), { type: "number", step: "any", name: n });
      input.value = String(state.at[n] ?? 0);
      input.addEventListener("change", () => {
        const v = parseFloat(input.value);
        if (Number.isFinite(v)) state.at[n] = v;
        pushURL();
        loadAnalysis(plotMode);
      });
      label.append(input);
      return label;
    }),
  );
}

async function loadAnalysis(mode) {
  plotMode = mode;
  const mine = seq;
  const at = {};
  for (const v of last?.variables ?? []) at[v] = state.at[v] ?? 0;
  const box = $("analysis");
  box.classList.add("busy-state");
  const r = await post("analysis", { at, taylor_order: parseInt($("taylor-order").value, 10), plot: mode });
  if (mine !== seq) return;
  box.classList.remove("busy-state");
  if (!r.ok) {
    $("analysis-hint").textContent = r.data.error;
    return;
  }
  const a = r.data;
  renderPointInputs(a.variables);
  const point = a.variables.map((v) => a.at[v]).join(", ");
  tex($("taylor"), `T_{${a.taylor.order}}(${a.variables.join(", ")}) = ${a.taylor.latex}`);
  $("analysis-hint").textContent = `Taylor polynomial about (${point}); critical points searched on ${a.variables
    .map((v) => `${v} ∈ [${a.over[v].join(", ")}]`)
    .join(", ")}.`;
  const tbody = document.querySelector("#critical tbody");
  tbody.replaceChildren(
    ...(a.critical.length
      ? a.critical.map((p) => {
          const tr = document.createElement("tr");
          const cells = [
            Object.entries(p.point).map(([k, v]) => `${k} = ${fmt(v)}`).join(", "),
            fmt(p.value),
            p.kind,
          ];
          for (const c of cells) tr.append(Object.assign(document.createElement("td"), { textContent: c }));
          return tr;
        })
      : [Object.assign(document.createElement("tr"), { innerHTML: "<td colspan=3>none found</td>" })]),
  );
  if (a.plot) {
    $("plot").src = a.plot;
    $("plot").hidden = false;
    $("plot-hint").hidden = true;
  }
}

function fmt(v) {
  return Math.abs(v) < 1e-12 ? "0" : Number(v.toPrecision(8)).toString();
}

// -------------------------------------------------------------------------- examples

function fillExamples() {
  const sel = $("examples");
  const groups = new Map();
  info.examples.forEach((ex, i) => {
    if (!groups.has(ex.group)) {
      const g = document.createElement("optgroup");
      g.label = ex.group;
      groups.set(ex.group, g);
      sel.append(g);
    }
    groups.get(ex.group).append(new Option(ex.title, String(i)));
  });
}

function loadExample(i) {
  const ex = info.examples[i];
  Object.assign(state, {
    expression: ex.expression, wrt: ex.wrt, order: ex.order, layout: ex.layout,
    shapes: { ...ex.shapes }, syntax: ex.syntax ?? "auto", at: { ...(ex.at ?? {}) },
  });
  plotMode = ex.plot ?? "none";
  $("plot").hidden = true;
  $("plot-hint").hidden = false;
  syncControls();
  const note = $("example-note");
  note.hidden = false;
  note.textContent = `${ex.group}: ${ex.title}. Expected: ${ex.note}`;
  compute(true);
}

// ---------------------------------------------------------------------------- wiring

function onExpressionInput() {
  state.expression = $("expr").value;
  $("example-note").hidden = true;
  if (state.wrt && !new RegExp(`(^|[^A-Za-z0-9_])${state.wrt}([^A-Za-z0-9_]|$)`).test(state.expression)) {
    state.wrt = null;
  }
  schedule();
}

function wire() {
  $("expr").addEventListener("input", onExpressionInput);
  $("expr").addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      state.expression = $("expr").value;
      compute(true);
    }
  });
  $("syntax").addEventListener("change", (e) => setSyntax(e.target.value));
  $("url-notice-close").addEventListener("click", () => ($("url-notice").hidden = true));
  $("download-text").addEventListener("click", () => last && downloadText(last.text, "derivative.txt"));
  $("download-latex").addEventListener("click", () => last && downloadText(last.latex, "derivative.tex", "application/x-tex"));
  $("wrt").addEventListener("change", (e) => {
    state.wrt = e.target.value;
    compute(true);
  });
  $("order").addEventListener("change", (e) => {
    state.order = clampOrder(parseInt(e.target.value, 10));
    compute(true);
  });
  $("layout").addEventListener("change", (e) => {
    state.layout = e.target.value;
    compute(true);
  });
  $("where").addEventListener("change", (e) => {
    state.where = e.target.checked;
    compute(true);
  });
  $("style").addEventListener("change", (e) => {
    state.style = e.target.value;
    loadSteps();
  });
  $("steps-panel").addEventListener("toggle", () => $("steps-panel").open && loadSteps());
  $("check-btn").addEventListener("click", runCheck);
  $("copy-text").addEventListener("click", (e) => copy($("result-text").textContent, e.target));
  $("copy-latex").addEventListener("click", (e) => last && copy(last.latex, e.target));
  $("copy-code").addEventListener("click", (e) => copy(code.text, e.target));
  $("download-code").addEventListener("click", download);
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => selectTab(t.dataset.backend));
  document.querySelector(".tabs").addEventListener("keydown", tabKeys);
  $("plot-btn").addEventListener("click", () => loadAnalysis("plain"));
  $("plot-taylor-btn").addEventListener("click", () => loadAnalysis("taylor"));
  $("taylor-order").addEventListener("change", () => loadAnalysis(plotMode));
  // A closed select fires "change" on every arrow key: with the keyboard an example loads on
  // Enter, not on the first ArrowDown; a mouse (or touch) choice loads at once.
  const examples = $("examples");
  let browsing = false;
  const commit = () => {
    browsing = false;
    if (examples.value !== "") loadExample(parseInt(examples.value, 10));
    examples.value = "";
  };
  examples.addEventListener("keydown", (e) => {
    if (["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End"].includes(e.key) || e.key.length === 1) browsing = true;
    if (e.key === "Enter" && examples.value !== "") {
      e.preventDefault();
      commit();
    }
  });
  examples.addEventListener("pointerdown", () => (browsing = false));
  examples.addEventListener("change", () => !browsing && commit());
  examples.addEventListener("blur", () => {
    browsing = false;
    examples.value = "";
  });
  window.addEventListener("popstate", () => {
    showNotice(readURL());
    syncControls();
    compute(false);
  });
}

async function main() {
  const r = await fetch("/api/info");
  info = await r.json();
  $("version").textContent = info.version;
  fillExamples();
  for (const el of document.querySelectorAll("[data-tex]")) tex(el, el.dataset.tex, false);
  wire();
  const problems = readURL();
  if (!location.search) {
    state.expression = "x' @ A @ x";
  }
  syncControls();
  showNotice(problems);
  await compute(false);
  document.body.dataset.ready = "1";
}

main();
