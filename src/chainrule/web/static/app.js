/* chainrule explorer: the page's logic. Every number shown comes from the JSON API (chainrule
   computes it); this script only lays it out. Notation: unit i in layer l, unit j in layer l + 1,
   z_j = b_j + sum_i y_i w_ij, dE/dy_i = sum_j w_ij dE/dz_j.
   One front end, two hosts: the page loads this file as it is (and `mount`s it on the document,
   asking the API over HTTP); the notebook widget (chainrule.notebook.explorer) loads the same
   file with widget.js after it, and mounts it in the widget's shadow root, asking the kernel.
   Each mount is an explorer of its own (createExplorer: its state, markup and requests), so a
   widget shown in two views is two explorers, never one driving the other's markup. */
"use strict";


// Units are numbered from 1 on the page, as in the lecture and `chainrule explain`; the API
// and the data-unit attributes count from 0.
const unitNo = (k) => k + 1;
const SVG_NS = "http://www.w3.org/2000/svg";
const FONT_PX = 11;
const CHAR_W = 0.62 * FONT_PX; // monospace advance, rounded up so estimated boxes cover the text
const LINE_H = 14;
// each at least 4.5:1 on white and on the linked highlight (#fff1c2): they colour text too
const PATH_COLORS = ["#7b3294", "#00702d", "#a8570a", "#2166ac", "#c51b7d", "#1f6f69",
  "#8c510a", "#4d4d4d"];

/* ---------------------------------------------------------------- helpers */

class ApiError extends Error {}

/** A request that got no answer at all: the server is not reachable (stopped, or the network
 *  is down). Its message is the browser's own reason ("Failed to fetch"); `path` is the request.
 *  Not a refusal (ApiError): the server said nothing about the request. */
class Unreachable extends Error {
  constructor(path, reason) {
    super(reason);
    this.path = path;
  }
}

/** The URL the page asks for API path `path` ("/api/seed": the API's name for it, which the
 *  notebook's kernel answers too): relative to the page ("./api/seed"), so a server behind a
 *  proxy under a prefix is asked at its own address (https://uni.example/chainrule/api/seed),
 *  not at the site's root, where nothing of it is. */
const pageRelative = (path) => `.${path}`;

async function httpTransport(path, body) {
  const init = body === undefined ? { method: "GET" } : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(pageRelative(path), init);
  } catch (error) {  // fetch rejects only where no answer came (a TypeError, in every browser)
    throw new Unreachable(path, String(error.message || error));
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_) {  // not the API's JSON (a proxy's page, a server that broke off): say what came
    const status = `HTTP ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.ok ? `${path}: the answer is not JSON (${status})` : status);
  }
  if (!response.ok) throw new ApiError((data && data.error) || `${path}: HTTP ${response.status}`);
  return data;
}

/** Short form for the diagram: 3 significant digits, exponent for tiny or huge numbers. */
function fmt(x, digits = 3) {
  if (x === null || x === undefined) return "";
  if (x === 0) return "0";
  const a = Math.abs(x);
  const text = (a < 1e-3 || a >= 1e5) ? x.toExponential(digits - 1) : x.toPrecision(digits);
  return text.replaceAll("-", "\u2212");  // the exponent's too: 3.53e\u22124, not 3.53e-4
}
/** Long form for the panel's tables (6 significant digits). */
const fmtLong = (x) => fmt(x, 6);
/** A number in exponent form, as fmt writes it (3.53e\u22124) or a server's sentence does (1e-06). */
const EXPONENT = String.raw`(?<![\w.])([+\-\u2212]?\d+(?:\.\d+)?)e([+\-\u2212]?)(\d+)(?!\w|\.\d)`;
/** EXPONENT as one group, for String.split (the pieces between, and each number). */
const EXPONENT_SPLIT = new RegExp(`(${EXPONENT.replace(/\((?!\?)/g, "(?:")})`, "i");
/** `text` with each number in exponent form in words, as a screen reader should say it:
 *  "3.53e\u22124" is "3.53 times 10 to the minus 4", and "1e-5" "10 to the minus 5" (a reader
 *  said "3.53 e minus 4", or spelled it out). */
function spoken(text) {
  return String(text).replace(new RegExp(EXPONENT, "gi"), (_, mantissa, sign, power) => {
    const ten = `10 to the ${sign === "-" || sign === "\u2212" ? "minus " : ""}${Number(power)}`;
    const negative = /^[-\u2212]/.test(mantissa);
    const digits = mantissa.replace(/^[+\-\u2212]/, "");
    return `${negative ? "minus " : ""}${digits === "1" ? "" : `${digits} times `}${ten}`;
  });
}
/** `text` shown in `node`: plain text, but each number in exponent form shown as it is (hidden
 *  from a screen reader) and said in words (spoken) in a span that only a screen reader reads. */
function putText(node, text) {
  const pieces = String(text).split(EXPONENT_SPLIT);
  if (pieces.length === 1) { node.textContent = text; return; }
  node.replaceChildren(...pieces.flatMap((piece, k) => {
    if (k % 2 === 0) return piece ? [document.createTextNode(piece)] : [];
    const shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = piece;
    const said = document.createElement("span");
    said.className = "sr-only";
    said.textContent = spoken(piece);
    return [shown, said];
  }));
}
/** `text` as HTML (for innerHTML), escaped, its numbers in exponent form as putText shows them. */
function numberHTML(text) {
  const span = document.createElement("span");
  putText(span, text);
  return span.innerHTML;
}
/** A signed number as shown to people: U+2212 for its minus, as fmt writes (the fields a person
 *  types in keep ASCII). */
const minusSign = (text) => String(text).replaceAll("-", "\u2212");
/** Two subscripts of one symbol: run together while each is one digit (w12), with a comma once
 *  either has more (w1,12 and w11,2, which w112 would not tell apart), as the explainer writes
 *  them (chainrule.explainer.notation.index_pair). */
const indexPair = (a, b) => (String(a).length === 1 && String(b).length === 1 ? `${a}${b}` : `${a},${b}`);
const signClass = (x) => (x > 0 ? "pos" : x < 0 ? "neg" : "");

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url; a.download = name; document.body.appendChild(a); a.click();
  setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 0);
}

/** Where `value` (parsed JSON) has its first number that is not finite, as "weights[0][0][1]"
 *  ("" for the value itself), or null if it has none. JSON.parse reads a number too large for a
 *  double (1e400) as Infinity, which JSON.stringify sends as null: in `weights` that would be a
 *  weight that does not exist (a network in blocks), elsewhere a refusal about something else.
 *  The order is JSON.parse's own (a reviver sees the numbers in it). */
function nonFinite(value, where = "") {
  if (typeof value === "number") return Number.isFinite(value) ? null : where;
  if (value === null || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    const found = nonFinite(item, Array.isArray(value) ? `${where}[${key}]` : where ? `${where}.${key}` : key);
    if (found !== null) return found;
  }
  return null;
}

/** A decimal number as a person writes one (1.5, -2, .5, 3e-4). Chromium's number fields
 *  dropped the keys they do not take, so "1,5" became 15 and "0x10" 10; the fields are text
 *  fields and this reads them, refusing what it is not (JavaScript's Number would read "0x10"
 *  as 16 and "" as 0). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The number typed in a field, or an ApiError saying why the text is none ("not a number",
 *  and for a decimal comma "use a decimal point"). */
function readNumber(typed) {
  const text = typed.trim();
  if (text === "") throw new ApiError("not a number");
  if (!DECIMAL.test(text)) {
    const point = text.replace(",", ".");
    throw new ApiError(DECIMAL.test(point)
      ? `"${text}" is not a number: use a decimal point (${point})`
      : `"${text}" is not a number: write it in decimal digits with a decimal point, as 0.5 or -1.5e-3`);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ApiError(`"${text}" is not a finite number (it overflows)`);
  return value;
}

/** The sizes of a list field of units per layer ("4,3", spaces around an entry are fine):
 *  whole numbers in digits, separated by single commas; `what` names the field. An empty field
 *  is no sizes (the Train tab's no hidden layer). An empty entry ("2,,3", "2,3,") or one that is
 *  no whole number in digits ("1e1", "2.5", "-2") is refused, naming the field and the entry: a
 *  reader of numbers dropped the empty ones and read "1e1" as 10, so a typo ran as another
 *  network. */
function readSizes(typed, what) {
  const text = typed.trim();
  if (text === "") return [];
  return text.split(",").map((s) => s.trim()).map((item, k) => {
    if (item === "") throw new ApiError(`${what}: "${text}" has an empty entry (entry ${k + 1}): write the sizes as whole numbers separated by single commas, as 2,3`);
    if (!/^\d+$/.test(item)) throw new ApiError(`${what}: "${item}" (entry ${k + 1}) is not a number of units: write each size as a whole number in digits, as 2,3`);
    return Number(item);
  });
}

/* ---------------------------------------------------------------- one explorer */

/** One explorer in `ROOT` (a document or a shadow root), asking `transport(path, body)`: its
 *  own state S, markup and requests, so two views of one widget never share any of them (a
 *  closure per call, not module variables). `host` (the page's body, or the widget's element)
 *  gets data-ready="true" once the network shows. `onModel`: the network /api/seed answers is a
 *  user's model (chainrule serve --model's, a notebook widget's), not the seed network, so the
 *  Edit tab's button that asks for it again reads "Reload model", not "Seed network".
 *  `liveModel` (implies onModel): that model lives outside the explorer and may change while it
 *  shows (a notebook kernel's, trained or edited there), so Reset reads it again, as the button
 *  does; without one (the page, with or without --model, whose model the server read once; a
 *  widget on the seed network) nothing but the explorer changes its network, and Reset keeps
 *  it. `resume`: the page's, whose browser session may have a training run on the server
 *  already (a reload): the Train tab shows it (a widget's view starts with none). Returns
 *  {S, ready, dispose}. */
function createExplorer(ROOT, transport, host, { onModel = false, liveModel = false, resume = false } = {}) {
  const S = {
    net: null,        // the network's JSON (as the API takes it)
    pass: null,       // /api/backward's answer for it
    phase: 0,         // how far the forward/backward stepping has gone (index into phases())
    selected: null,   // {layer, unit}
    paths: null,      // /api/paths for the selected unit
    nudge: null,      // /api/nudge for the selected unit
    views: null,      // /api/views for the selected unit (three views of its dE/dy)
    linkedJ: null,    // the term j selected in one of the three views
    bug: null,        // /api/bug for the network and the bug chosen (null: the real engine)
    bugNote: null, // why the bug chosen was turned off (the server refused it for the network)
    nudgeSeq: 0,
    netSeq: 0,        // setNetwork calls so far (each network asked for has its number)
    shownSeq: 0,      // the number of the network shown: an older one's answer is dropped
    pending: null,    // the network asked for and not yet shown (the next edit builds on it)
    pendingFromModel: false,  // whether S.pending is the model as /api/seed read it (not the view's own)
    fetchSeq: 0,      // networks asked of the server (fetchNetwork) or loaded so far: the newest wins
    fetching: null,   // {done, arrive}: the newest network asked of the server while its answer is on its way
    exported: null,   // {format, text}
    // the training run; shown: whether the diagram shows its network; gen: user changes so far;
    // shownStep: the run's step the diagram shows (null: none of this run's yet); behind:
    // {state, why} while the network of the step recorded is not shown (why: null, on its way)
    train: { state: null, playing: false, shown: false, gen: 0, shownStep: null, behind: null, inFlight: false },
    // /api/losses: the losses the page offers, in order, by name: {name, top_units (the unit
    // the loss applies itself, null: any), targets_in_unit_interval}, as the loss objects say
    losses: new Map(),
    // /api/datasets: the datasets the Train tab offers, in order, by name: {name, label,
    // hidden, lr (the sizes and learning rate it fills in when one is chosen)}
    datasets: new Map(),
    // the lists the start could not load, by endpoint: what each is and why, in words
    // ("the losses (/api/losses: Failed to fetch)"); their selects stay empty and disabled
    missing: new Map(),
  };

  /** Where this explorer's markup lives: the page's document, or a widget's shadow root. */
  const $ = (id) => ROOT.getElementById(id);

  /** How this explorer asks chainrule: over HTTP on the page; a widget passes its own. */
  function api(path, body) {
    return transport(path, body);
  }

  function showMessage(text) {
    const box = $("message");
    box.textContent = text || "";
    box.hidden = !text;
  }

  /** Runs of guarded() so far: only the latest may clear the message box, so a slow earlier
   *  action that succeeds cannot hide the error of a later one. */
  let guardedRuns = 0;

  /** What the message box says of `error`: a refusal's own words; a request that got no
   *  answer as the server not reachable; anything else (a bug of the page's) as unexpected. */
  function errorText(error) {
    if (error instanceof ApiError) return error.message;
    if (error instanceof Unreachable) {
      return `The server is not reachable: ${error.path} got no answer (${error.message}). `
        + "Is chainrule serve still running? Try again once it is (reload the page if it was restarted).";
    }
    return `Unexpected problem: ${error}`;
  }

  /** Why a request failed, in a few words: the API's refusal, or the browser's ("Failed to
   *  fetch" for one that never got an answer). */
  const reasonOf = (error) => (error instanceof ApiError ? error.message : String(error.message || error));

  async function guarded(action) {
    const run = ++guardedRuns;
    try {
      await action();
      if (run === guardedRuns) showMessage("");
    } catch (error) {
      showMessage(errorText(error));
      if (!(error instanceof ApiError || error instanceof Unreachable)) console.error(error);
    }
  }

  /* ---------------------------------------------------------------- stepping */

  /** Fill the <select> `id` with `choices`, in order: [value, the text it shows, and
   *  optionally its tooltip]. */
  function fillSelect(id, choices) {
    $(id).replaceChildren(...choices.map(([value, text, title]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      if (title) option.title = title;
      return option;
    }));
  }

  /** The loss list of the Edit form, filled from the server's (/api/losses): the page keeps no
   *  copy of which losses there are or of what each needs. */
  function showLosses({ losses }) {
    S.losses = new Map(losses.map((loss) => [loss.name, loss]));
    fillSelect("edit-loss", losses.map((loss) => [loss.name, loss.name]));
  }

  /** The Edit form's hidden and top units, filled from the server's lists (/api/units). */
  function showUnits({ hidden, top }) {
    fillSelect("edit-activation", hidden.map((unit) => [unit, unit]));
    fillSelect("edit-output", top.map((unit) => [unit, unit]));
  }

  /** The Train tab's datasets, filled from the server's (/api/datasets), and the first one's
   *  defaults put in its fields: the page keeps no copy of the datasets or of their defaults. */
  function showDatasets({ datasets }) {
    S.datasets = new Map(datasets.map((dataset) => [dataset.name, dataset]));
    fillSelect("train-dataset", datasets.map((dataset) => [dataset.name, dataset.label]));
    fillTrainDefaults();
  }

  /** The Train tab's optimizers, filled from the server's (/api/optimizers), each with the
   *  library optimizer and settings it means as its tooltip: the page keeps no copy of them. */
  function showOptimizers({ optimizers }) {
    const means = ({ optimizer, settings }) => [optimizer, ...Object.entries(settings)
      .map(([name, value]) => `${name} ${value}`)].join(", ");
    fillSelect("train-optimizer", optimizers.map((o) => [o.name, o.name, `optim ${means(o)}`]));
  }

  /** The teaching bugs, filled from the server's (/api/bugs, the explainer's table) after the
   *  page's own first choice, none (the real engine). */
  function showBugs({ bugs }) {
    const none = $("bug-select").querySelector('option[value=""]').textContent;
    fillSelect("bug-select", [["", none], ...bugs.map((bug) => [bug.name, `${bug.name}: ${bug.title}`])]);
  }

  /** The lists the page fills from the server as it starts: the endpoint, what it lists (in
   *  words), how it is shown, and the selects it fills. */
  const LISTS = [
    { path: "/api/losses", what: "the losses", show: showLosses, selects: ["edit-loss"] },
    { path: "/api/units", what: "the hidden and top units", show: showUnits,
      selects: ["edit-activation", "edit-output"] },
    { path: "/api/datasets", what: "the datasets", show: showDatasets, selects: ["train-dataset"] },
    { path: "/api/optimizers", what: "the optimizers", show: showOptimizers, selects: ["train-optimizer"] },
    { path: "/api/bugs", what: "the teaching bugs", show: showBugs, selects: ["bug-select"] },
  ];

  /** Load and show one of LISTS. Where it cannot be loaded (the request failed, or its answer
   *  is not such a list), its selects are disabled, saying why, and S.missing records it, so
   *  the rest of the page still starts; the bugs' select keeps its "none" (the real engine).
   *  Never throws. */
  async function loadList({ path, what, show, selects }) {
    try {
      show(await api(path));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      const why = `${what} (${path}: ${reasonOf(error)})`;
      S.missing.set(path, why);
      for (const id of selects) {
        const select = $(id);
        if (id !== "bug-select") select.replaceChildren();
        select.disabled = true;
        select.title = `The page could not load ${why}.`;
      }
    }
  }

  /** What the message box says of the lists that could not be loaded ("" where none). */
  function missingText() {
    const missing = [...S.missing.values()];
    if (!missing.length) return "";
    const one = missing.length === 1;
    return `The page could not load ${missing.join(" or ")}: ${one ? "its list stays" : "their lists stay"} `
      + `empty and what needs ${one ? "it" : "them"} is refused; reload the page (a notebook: show the widget again) to ask again.`;
  }

  /** Refuse `action` where one of the lists it needs (`paths`) could not be loaded. */
  function requireLists(action, ...paths) {
    const missing = paths.filter((path) => S.missing.has(path)).map((path) => S.missing.get(path));
    if (missing.length) {
      throw new ApiError(`${action}: needs ${missing.join(" and ")}, which the page could not load `
        + "when it started; reload the page (a notebook: show the widget again) to ask again.");
    }
  }

  /** The hidden sizes and learning rate the server gives the chosen dataset, in their fields. */
  function fillTrainDefaults() {
    const dataset = S.datasets.get($("train-dataset").value);
    if (!dataset) return;  // none offered
    $("train-hidden").value = dataset.hidden.join(",");
    $("train-lr").value = String(dataset.lr);
  }

  /** What loss `name` needs, as the server said: its top units (null: any) and whether its
   *  targets lie in [0, 1]. */
  const lossNeeds = (name) => S.losses.get(name) || { name, top_units: null, targets_in_unit_interval: false };

  /** The loss that takes the place of one that cannot read top units `output`: the first of the
   *  server's list that can. */
  function lossFor(output) {
    const loss = [...S.losses.values()].find((l) => l.top_units === null || l.top_units === output);
    if (!loss) throw new ApiError(`top units: none of the losses the server offers reads ${output} top units`);
    return loss.name;
  }

  const topLayer = () => S.net.sizes.length - 1;

  /** The first layer (counting the input as 0) whose units `net` joins in blocks, as an
   *  nn.Parallel joins them: a weight that does not exist is null in `weights` (its layer's
   *  other weights form blocks along the diagonal). 0: every layer full. */
  const blockLayer = (net) => net.weights.findIndex((w) => w.some((row) => row.some((v) => v === null))) + 1;

  /** Refuse a change of the layers, units or activations of a network joined in blocks: the
   *  page edits its numbers (weights, biases, input, target), not its structure. */
  function refuseStructure(net, what) {
    const l = blockLayer(net);
    if (!l) return;
    syncEditForm();  // the form shows the network's own sizes and units again
    $("edit-sizes").value = net.sizes.join(",");
    throw new ApiError(`${what}: layer ${l} of this network joins its units in blocks (an nn.Parallel), `
      + "and the page changes only its numbers (weights, biases, input and target), not its layers, "
      + `units or activations; the ${$("btn-seed").textContent} button or Load JSON starts another network.`);
  }
  /** Whether E is computed from the top layer's logits z, as the server's pass says (its
   *  `loss`: what the loss object reads and the unit it applies), never guessed from a name. */
  const readsLogits = () => S.pass.loss.reads === "z";

  /** What E reads, in words: the top units' outputs y, or their logits z and the unit the loss
   *  applies to them itself. */
  function lossReadsText() {
    const { name, reads, applies } = S.pass.loss;
    return reads === "z"
      ? `logits z (the ${name} applies the ${applies} to them itself, so y is not on E's path)`
      : "outputs y";
  }

  /** ∂E/∂z_j of a top unit as a formula, for the losses that read z whose gradient the page
   *  writes out (text only: whether E reads z is the pass's word); any other loss that reads z
   *  gets a general sentence (topUnitGradient). */
  const LOGIT_GRADIENT = {
    "cross-entropy": (dz) => `(y<sub>j</sub> &Sigma;<sub>k</sub> t<sub>k</sub> &minus; t<sub>j</sub>) / N =
        <code>${dz}</code> directly (N: the cases the loss averages over;
        &Sigma;<sub>k</sub> t<sub>k</sub> is 1 for a target that is one class).`,
    "binary-cross-entropy": (dz) => `(y<sub>j</sub> &minus; t<sub>j</sub>) / N = <code>${dz}</code> directly
        (N: the outputs times the cases the loss averages over).`,
  };

  /** ∂E/∂z_j of a top unit from the ∂E/∂y's, by its units (the network's `output`), as the
   *  explainer writes the rule (explainer/sections_backward.py, _dz_general). A softmax's y_k
   *  each depend on every z_j, so its rule sums over k, not dy_j/dz_j · ∂E/∂y_j. */
  const TOP_DZ_RULE = {
    logistic: "\u2202E/\u2202z_j = dy_j/dz_j \u00B7 \u2202E/\u2202y_j = y_j(1 \u2212 y_j) \u2202E/\u2202y_j",
    linear: "\u2202E/\u2202z_j = \u2202E/\u2202y_j (linear units: y_j = z_j)",
    softmax: "\u2202E/\u2202z_j = \u03A3_k \u2202y_k/\u2202z_j \u00B7 \u2202E/\u2202y_k = y_j (\u2202E/\u2202y_j \u2212 \u03A3_k y_k \u2202E/\u2202y_k) "
      + "(every softmax output y_k depends on every z_j)",
  };
  /** The rule for top units the table does not know: the chain rule over every y_k. */
  const TOP_DZ_GENERAL = "\u2202E/\u2202z_j = \u03A3_k \u2202y_k/\u2202z_j \u00B7 \u2202E/\u2202y_k";

  /** The steps: inputs, each layer forward, E, then dE/dz of the top, dE/dy and dE/dz downwards. */
  function phases() {
    const top = topLayer();
    const list = [{ kind: "input", layer: 0 }];
    for (let l = 1; l <= top; l++) list.push({ kind: "fwd", layer: l });
    list.push({ kind: "loss", layer: top });
    list.push({ kind: "dz", layer: top });
    for (let l = top - 1; l >= 0; l--) {
      list.push({ kind: "dy", layer: l });
      if (l > 0) list.push({ kind: "dz", layer: l });
    }
    return list;
  }

  /** What the current phase shows for layer l: y, z, E, dz, dy. */
  function revealed(layer, what) {
    const shown = phases().slice(0, S.phase + 1);
    return shown.some((p) => {
      if (what === "y" || what === "z") return (p.kind === "input" || p.kind === "fwd") && p.layer === layer;
      if (what === "E") return p.kind === "loss";
      if (what === "dz") return p.kind === "dz" && p.layer === layer;
      if (what === "dy") return (p.kind === "dy" || (p.kind === "dz" && p.layer === topLayer())) && p.layer === layer;
      return false;
    });
  }

  function phaseText(p) {
    const top = topLayer();
    const act = (l) => (l === top ? S.net.output : S.net.activation);
    switch (p.kind) {
      case "input": return ["Inputs", "Layer 0 holds the input: its units' y are the case's values."];
      case "fwd": return [`Forward: layer ${p.layer}`,
        `z_j = b_j + \u03A3_i y_i w_ij, then y_j = ${act(p.layer)}(z_j) for each unit of layer ${p.layer}.`];
      case "loss": return ["Error E", `E = ${S.pass.loss.name} of the top units' ${lossReadsText()} against the targets.`];
      case "dz": return [`Backward: \u2202E/\u2202z in layer ${p.layer}`, p.layer === top
        ? (readsLogits()
          ? `\u2202E/\u2202z_j straight from the loss: the ${S.pass.loss.name} reads the logits z, so these units have no \u2202E/\u2202y_j step.`
          : `\u2202E/\u2202y_j from the loss, then ${TOP_DZ_RULE[S.net.output] || TOP_DZ_GENERAL}.`)
        : `\u2202E/\u2202z_i = dy_i/dz_i \u00B7 \u2202E/\u2202y_i for each unit of layer ${p.layer}.`];
      case "dy": return [`Backward: \u2202E/\u2202y in layer ${p.layer}`,
        `\u2202E/\u2202y_i = \u03A3_j w_ij \u2202E/\u2202z_j: each unit i collects one term from every path to layer ${p.layer + 1}. Select one.`];
      default: return ["", ""];
    }
  }

  function setPhase(index) {
    if (!S.net) return;  // no network yet (a widget's kernel busy, the page's server slow)
    const list = phases();
    S.phase = Math.max(0, Math.min(list.length - 1, index));
    render();
  }

  /* ---------------------------------------------------------------- computing (the API) */

  /** The paths, views and nudge of unit `sel` in `net` (none for a top unit); `selected` is
   *  null where `net` has no such unit. */
  async function selectionOf(net, sel) {
    const top = net.sizes.length - 1;
    const exists = sel && sel.layer <= top && sel.unit < net.sizes[sel.layer];
    const none = { selected: exists ? sel : null, paths: null, views: null, nudge: null };
    if (!exists || sel.layer === top) return none;
    const where = { network: net, layer: sel.layer, unit: sel.unit };
    const paths = await api("/api/paths", where);
    const views = await api("/api/views", where);
    const nudge = await api("/api/nudge", { ...where, eps: Number($("nudge").value) });
    return { selected: sel, paths, views, nudge };
  }

  async function refreshSelection() {
    const net = S.net, sel = S.selected;
    const found = await selectionOf(net, sel);
    if (S.net !== net || S.selected !== sel) return;  // the network or the unit changed meanwhile
    S.nudgeSeq++;  // a slider answer still on its way is for the old selection
    Object.assign(S, found);
  }

  async function refreshNudge() {
    const sel = S.selected;
    if (!sel || sel.layer >= topLayer()) return;
    const seq = ++S.nudgeSeq;
    const eps = Number($("nudge").value);
    const answer = await api("/api/nudge", { network: S.net, layer: sel.layer, unit: sel.unit, eps });
    if (seq === S.nudgeSeq) { S.nudge = answer; renderNudge(); }
  }

  /** The network shown, for an action on it; before the first has come (a notebook's kernel
   *  still busy, the page's server slow) a refusal saying so, not a TypeError on null. */
  function shownNetwork() {
    if (!S.net) throw new ApiError(NOT_LOADED);
    return S.net;
  }
  const NOT_LOADED = "The network has not loaded yet: try again once it shows (a notebook's widget waits for its kernel).";

  /** The network the next edit builds on: the latest one asked for, shown or still on its way,
   *  so two quick edits compose instead of the second undoing the first. */
  const latestNetwork = () => S.pending || shownNetwork();

  /** Whether the latest network asked for, on its way or else shown, is the model as /api/seed
   *  read it rather than a network of the view's own: an edit (or a training step) still on its
   *  way is the view's own already, so a Reset clicked before it shows keeps it (it read the
   *  model again, and the edit was lost), and the model's note names Reload model for it. */
  const latestFromModel = () => (S.pending ? S.pendingFromModel : Boolean(S.fromModel));

  /** Ask the server for a new network (`request`: /api/seed, /api/network/new) and show it
   *  (setNetwork's `options`). The rule: the newest user action wins, counted from its click,
   *  not from its answer. Such a network is numbered when asked for; its answer is dropped if
   *  a newer one was asked for or loaded meanwhile (dropFetch), and an edit made while it is on
   *  its way waits for it and is made on it (afterFetch), where the answer replaced the edit. */
  async function fetchNetwork(request, options) {
    dropFetch();
    const seq = S.fetchSeq;
    let arrived;
    const fetching = {
      done: new Promise((resolve) => { arrived = resolve; }),
      arrive: () => { if (S.fetching === fetching) S.fetching = null; arrived(); },
    };
    S.fetching = fetching;
    let net;
    try {
      net = await request();
    } catch (error) {
      fetching.arrive();  // refused: the edits waiting are made on the network shown
      throw error;
    }
    if (seq !== S.fetchSeq) return;  // a newer network was asked for or loaded (dropFetch)
    const shown = setNetwork(net, options);  // S.pending now: the edits waiting build on it
    fetching.arrive();
    await shown;
  }

  /** A network of the user's own replaces the one asked of the server, still on its way. */
  function dropFetch() {
    S.fetchSeq++;
    if (S.fetching) S.fetching.arrive();
  }

  /** Wait until no network asked of the server is on its way (fetchNetwork); whether the edit
   *  that waited still stands (false: a newer network was asked for or loaded meanwhile). The
   *  edit reads latestNetwork() after it, in the same task, so edits that waited compose. */
  async function afterFetch() {
    const asked = S.fetchSeq;
    while (S.fetching) await S.fetching.done;
    return S.fetchSeq === asked;
  }

  /** Show a new network; if the server refuses it, nothing changes (the error says why). The
   *  networks asked for are numbered: an answer is shown only if no newer network is shown
   *  already, so an older answer that arrives late never overwrites a newer network. While the
   *  latest is on its way it is S.pending, the one the next edit builds on. `training`: the
   *  network is the training run's (otherwise a user's change, which ends playing the run). */
  async function setNetwork(net, { resetPhase = false, keepSelection = true, training = false, wholePass = false, fromModel = false } = {}) {
    const seq = ++S.netSeq;
    const outdated = () => seq < S.shownSeq;
    S.pending = net;
    S.pendingFromModel = fromModel;
    // a network of the user's own: the run's step not shown is no longer on its way
    if (!training) { S.train.playing = false; S.train.gen++; S.train.behind = null; }
    let pass, found, bug, sel = null;  // bug: {bug, refused}, a refusal no error of the network (bugOf)
    try {
      pass = await api("/api/backward", { network: net });
      if (outdated()) return;
      sel = keepSelection ? S.selected : null;
      found = await selectionOf(net, sel);
      bug = await bugOf(net);
    } catch (error) {
      if (seq === S.netSeq) S.pending = null;  // later edits build on the network shown
      if (outdated()) return;  // a newer network is shown: this one's refusal says nothing of it
      throw error;
    }
    if (outdated()) return;  // a newer network is shown already: this one is out of date
    S.shownSeq = seq;
    if (seq === S.netSeq) S.pending = null;
    S.net = net;
    S.fromModel = fromModel;  // the opened-on network as /api/seed gave it, not the view's own
    S.pass = pass;
    S.nudgeSeq++;
    // a unit clicked while this network was on its way (a training step, as the run plays): the
    // click stands (it was undone), and its paths, asked for on the network shown before (an
    // answer selectUnit drops), are asked for on this one
    const picked = keepSelection && S.selected !== sel;
    if (picked) found = { selected: S.selected, paths: null, views: null, nudge: null };
    if (found.selected !== S.selected) S.linkedJ = null;  // the term picked was the old unit's
    Object.assign(S, found);
    // another bug chosen while this network was on its way: its own request was for the
    // network shown before, so ask again for this one
    if (!showBug(bug)) guarded(refreshBug);
    if (resetPhase) S.phase = 0;
    S.phase = wholePass ? phases().length - 1 : Math.min(S.phase, phases().length - 1);
    S.train.shown = training;
    clearStale();
    showModelNotes(net.notes);
    syncEditForm();
    render();
    renderTraining();
    if (picked) guarded(async () => { await refreshSelection(); render(); });
  }

  /** What described the previous network and not this one: the gradient check, the export and a
   *  note about the last architecture change. */
  function clearStale() {
    S.exported = null;
    $("export-text").value = "";
    $("btn-export-download").disabled = true;
    $("gradcheck-result").textContent = "";
    showEditNote("");
  }

  /** The network's notes (its JSON's `notes`: what the explainer says of the model it was read
   *  from that its numbers do not, a dropout or a run's weight decay), listed under the diagram,
   *  each once; the box hidden for a network without any. Written only when they change (a
   *  status region: a step or a training frame says nothing again). */
  function showModelNotes(notes = []) {
    const box = $("model-notes");
    const said = JSON.stringify(notes);
    if (box.shownNotes === said) return;
    box.shownNotes = said;
    $("model-notes-list").replaceChildren(...notes.map((note) => {
      const item = document.createElement("li");
      putText(item, note);  // a number in exponent form said in words
      return item;
    }));
    box.hidden = !notes.length;
  }

  function showEditNote(text) {
    const note = $("edit-note");
    note.textContent = text;
    note.hidden = !text;
  }

  /** The teaching bug chosen, run on `net`: {bug, refused}. The bug view is an extra: where
   *  the server refuses it (a network too large to check every derivative of), `refused` says
   *  why and `bug` is null, so the refusal never holds back the network itself (an edit, a
   *  loaded file or a training run's network is shown all the same). */
  async function bugOf(net) {
    const select = $("bug-select");
    const name = select.value;
    if (!name) return { bug: null, refused: null, name };
    try {
      return { bug: await api("/api/bug", { network: net, bug: name }), refused: null, name };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { bug: null, refused: `The bug ${bugLabel()} was turned off for this network: ${error.message}`, name };
    }
  }

  /** The chosen bug's name as the drop-down shows it. */
  function bugLabel() {
    const select = $("bug-select");
    return select.selectedOptions[0] ? select.selectedOptions[0].textContent : select.value;
  }

  /** Show bugOf's answer, if it is for the bug chosen now: a slow answer for a bug chosen
   *  before must not replace the one chosen since (that one's own request shows it). Says
   *  whether it was shown. A refused bug is no longer chosen (the real engine is shown, and the
   *  bug panel says why). */
  function showBug({ bug, refused, name }) {
    if (name !== $("bug-select").value) return false;
    S.bug = bug;
    S.bugNote = refused;
    if (refused) $("bug-select").value = "";
    return true;
  }

  /** The chosen bug run on the network shown, in the bug panel; while it runs, the panel says
   *  so instead of showing the bug chosen before. */
  async function refreshBug() {
    const net = shownNetwork();
    S.bug = null;
    S.bugNote = $("bug-select").value ? `Running the engine with the bug ${bugLabel()}…` : null;
    renderBug();
    const bug = await bugOf(net);
    if (S.net === net && showBug(bug)) renderBug();
  }

  /* ---------------------------------------------------------------- the diagram */

  /** How far (px) a label keeps from a line it must not cross: half a path's 3.5 px stroke. */
  const LINE_GAP = 2;
  /** The height (px) a unit's labels take beyond its circle: two lines above it (z, y: the
   *  nearer 5 px off, the upper one's glyphs 0.95em over its baseline) and two below (dE/dy,
   *  dE/dz: the nearer's baseline FONT_PX + 2 off, the lower's descent 0.25em), and 2 px apart. */
  const UNIT_LABELS = 5 + LINE_H + 0.95 * FONT_PX + FONT_PX + 2 + LINE_H + 0.25 * FONT_PX + 2;
  /** More connections than this make a diagram whose every repaint is slow (the largest has
   *  28,672): its current units pulse in opacity, not in the width of their outline (style.css). */
  const MANY_LINES = 1000;
  /** Layers of up to this many units have room for all their units' labels. */
  const FULL_LABELS_UP_TO = 8;
  /** The circle's radius (px) where such a layer's units are as close as their labels allow. */
  const FULL_LABELS_RADIUS = 12;

  /** Whether the segment (x1, y1)-(x2, y2) passes through box `b` grown by `gap` on every side
   *  (Liang-Barsky: clip the segment's parameter range to the box's four sides), as
   *  chainrule.viz.style.segment_crosses does for the Python diagrams. */
  function segmentCrosses(b, x1, y1, x2, y2, gap) {
    const dx = x2 - x1, dy = y2 - y1;
    let low = 0, high = 1;
    for (const [p, q] of [[-dx, x1 - (b.x - gap)], [dx, b.x + b.w + gap - x1],
      [-dy, y1 - (b.y - gap)], [dy, b.y + b.h + gap - y1]]) {
      if (p === 0) { if (q < 0) return false; continue; }  // parallel to this side: outside it?
      const t = q / p;
      if (p < 0) low = Math.max(low, t); else high = Math.min(high, t);
      if (low > high) return false;
    }
    return true;
  }

  /** Greedy label placement: a candidate box is kept only if it overlaps nothing placed before
   *  (boxes: units, labels) and crosses no line given to blockLine (a path's line: drawn on top
   *  in full colour, it cut through the unit labels it passed). A label on a line itself (a
   *  path's term) names that line as its own, and only its own line may run under it. */
  class Placer {
    constructor() { this.boxes = []; this.lines = []; }
    blockLine(x1, y1, x2, y2, key) { this.lines.push({ x1, y1, x2, y2, key }); }
    crossesLine(b, own) {
      return this.lines.some((s) => s.key !== own && segmentCrosses(b, s.x1, s.y1, s.x2, s.y2, LINE_GAP));
    }
    fits(b, own) {
      return this.boxes.every((o) => b.x + b.w <= o.x || o.x + o.w <= b.x || b.y + b.h <= o.y || o.y + o.h <= b.y)
        && !this.crossesLine(b, own);
    }
    take(b, own) { if (!this.fits(b, own)) return false; this.boxes.push(b); return true; }
  }

  function textBox(x, y, text, anchor) {
    const w = text.length * CHAR_W + 2;
    const left = anchor === "middle" ? x - w / 2 : anchor === "end" ? x - w : x;
    // the font's ascent and descent (DejaVu Sans Mono: 0.93em and 0.24em) around the baseline y
    return { x: left, y: y - 0.95 * FONT_PX, w, h: 1.2 * FONT_PX };
  }

  function layout() {
    const wrap = $("diagram-wrap");
    const width = Math.max(wrap.clientWidth, 420);
    const sizes = S.net.sizes;
    const maxUnits = Math.max(...sizes);
    // room for full labels (two lines above, two below a unit: UNIT_LABELS) when there are few
    // units; past that the picture grows taller than the box and scrolls rather than crowding.
    // (34 px was room for none: in a low box, 200% zoom's, the labels of units the steps had
    // revealed were dropped.) Layers of 9 to 16 units keep 34 px and drop the labels that would
    // crowd, as before.
    const fewUnits = maxUnits <= FULL_LABELS_UP_TO;
    const minSpacing = maxUnits > 16 ? 14 : fewUnits ? UNIT_LABELS + 2 * FULL_LABELS_RADIUS : 34;
    const height = Math.max(wrap.clientHeight, maxUnits * minSpacing + 60);
    const left = 70, right = 95, top = 34, bottom = 16;
    const gap = (width - left - right) / (sizes.length - 1);
    const spacing = sizes.map((n) => Math.min(170, (height - top - bottom) / n));
    const least = Math.min(...spacing);
    // with few units, a circle no larger than leaves its labels their room
    const radius = Math.max(4, Math.min(20, least * 0.3, gap * 0.12, fewUnits ? (least - UNIT_LABELS) / 2 : 20));
    const units = sizes.map((n, l) => {
      const span = spacing[l] * n;
      const y0 = top + (height - top - bottom - span) / 2 + spacing[l] / 2;
      return Array.from({ length: n }, (_, i) => ({ x: left + l * gap, y: y0 + i * spacing[l] }));
    });
    return { width, height, units, radius, gap };
  }

  function unitFill(y, layer) {
    if (!revealed(layer, "y")) return "#ffffff";
    const unit = layer === topLayer() ? S.net.output : layer === 0 ? "input" : S.net.activation;
    // map y onto [0, 1] for the fill: logistic and softmax already are; tanh from [-1, 1]
    let v = unit === "tanh" ? (y + 1) / 2 : unit === "logistic" || unit === "softmax" ? y : 1 / (1 + Math.exp(-y));
    v = Math.max(0, Math.min(1, v));
    const light = Math.round(97 - v * 42);
    return `hsl(48, 90%, ${light}%)`;
  }

  function gradColor(g, scale) {
    if (!g) return "#9aa3b2";
    const a = Math.min(1, Math.abs(g) / (scale || 1));
    const base = g > 0 ? [217, 95, 2] : [31, 120, 180];
    const mix = (c) => Math.round(200 - (200 - c) * (0.35 + 0.65 * a));
    return `rgb(${mix(base[0])}, ${mix(base[1])}, ${mix(base[2])})`;
  }

  /** The diagram's connections as last drawn: their group, the network and the layout they
   *  were drawn for (`net`, `key`), their lines by layer, i and j, and per layer the unit whose
   *  paths they show (`shows`, -1: none). On the largest network (7 x 64 x 64 lines) drawing
   *  them anew at each render took seconds (creating them, their style, and painting each
   *  again): a render for the same network and layout (a step, Run all, a unit selected)
   *  keeps them, restyling only a layer whose selected unit changed. */
  let drawnEdges = null;

  /** How connection i -> j of weight `v` is drawn: a path of the selected unit (`highlighted`)
   *  in its path's colour, the other lines of its layer dimmed (`dim`), any other line in its
   *  sign's colour and as wide as its weight is large against the largest, `maxW`, to 0.1 px
   *  (to 0.01 px, nearly every line had a width of its own, and so a style of its own to work
   *  out: twice the time on the largest network). */
  function edgeLook(v, j, maxW, highlighted, dim) {
    const widthPx = highlighted ? 3.5 : 0.6 + 2.4 * Math.abs(v) / maxW;
    return {
      class: `edge${dim ? " dim" : ""}${highlighted ? " path" : ""}`,
      stroke: highlighted ? PATH_COLORS[j % PATH_COLORS.length] : (v >= 0 ? "var(--pos)" : "var(--neg)"),
      "stroke-width": widthPx.toFixed(1),
      "stroke-opacity": highlighted ? "1" : "0.85",
    };
  }

  function renderDiagram() {
    const svg = $("diagram");
    // the unit that has the keyboard's focus keeps it in the new drawing (Enter redraws it)
    const active = ROOT.activeElement;
    const focused = active && active.closest ? active.closest("g.unit") : null;
    const focusKey = focused ? `${focused.dataset.layer}:${focused.dataset.unit}` : null;
    if (!S.net || !S.pass) { svg.replaceChildren(); drawnEdges = null; return; }
    const L = layout();
    svg.setAttribute("viewBox", `0 0 ${L.width} ${L.height}`);
    svg.style.height = `${L.height}px`;
    // a diagram of many lines: its current units pulse in a way that does not paint it again
    // at every frame of the pulse (style.css)
    const lines = S.net.sizes.slice(1).reduce((sum, n, l) => sum + n * S.net.sizes[l], 0);
    svg.classList.toggle("many-lines", lines > MANY_LINES);
    const layers = S.pass.layers;
    const top = topLayer();
    const sel = S.selected;
    const placer = new Placer();
    // the connections of the last drawing where they are this network's at this layout (kept
    // in the document: taken out and put back, each line would be laid out and painted anew)
    const edgeKey = `${L.width}x${L.height}:${L.radius}`;
    const kept = drawnEdges && drawnEdges.net === S.net && drawnEdges.key === edgeKey
      && drawnEdges.group.parentNode === svg ? drawnEdges : null;
    for (const child of [...svg.children]) if (!kept || child !== kept.group) child.remove();
    // the units are what a screen reader reads (each named in words); the lines and labels
    // say the same again in pictures
    const edges = kept || { net: S.net, key: edgeKey, lines: [], shows: [],
      group: el("g", { class: "edges", "aria-hidden": "true" }) };
    drawnEdges = edges;
    const edgeGroup = edges.group;
    const unitGroup = el("g", { class: "units" });
    const labelGroup = el("g", { class: "labels", "aria-hidden": "true" });
    const rover = roverUnit();

    let maxW = 1e-12;
    // null: no such weight (a layer joined in blocks)
    for (const w of S.net.weights) for (const row of w) for (const v of row) if (v !== null) maxW = Math.max(maxW, Math.abs(v));
    let maxG = 1e-12;
    for (const layer of layers) for (const g of layer.dE_dz || []) maxG = Math.max(maxG, Math.abs(g));

    // unit circles first: they are obstacles for every label
    L.units.forEach((col, l) => col.forEach((p) => {
      placer.boxes.push({ x: p.x - L.radius - 1, y: p.y - L.radius - 1, w: 2 * L.radius + 2, h: 2 * L.radius + 2 });
    }));

    // connections
    const edgeLabels = [];
    for (let l = 0; l < top; l++) {
      const w = S.net.weights[l];
      const onPath = sel && sel.layer === l;
      const denseLayer = w.length * w[0].length > 36;
      // the layer's lines: drawn (none kept), restyled (kept, for another selected unit), or
      // left as they are
      const shows = onPath ? sel.unit : -1;
      const fresh = !edges.lines[l];
      const restyle = !fresh && edges.shows[l] !== shows;
      if (fresh) edges.lines[l] = w.map(() => []);
      // each layer's lines a group of their own (style.css paints each apart): a unit selected
      // repaints its own layer's lines, not its neighbours' that cross the same area
      const layerGroup = fresh ? edgeGroup.appendChild(el("g", { class: "edge-layer", "data-layer": l })) : null;
      edges.shows[l] = shows;
      for (let i = 0; i < w.length; i++) {
        for (let j = 0; j < w[i].length; j++) {
          const a = L.units[l][i], b = L.units[l + 1][j];
          const v = w[i][j];
          if (v === null) continue;  // no weight joins them (a layer joined in blocks): no edge
          const highlighted = onPath && sel.unit === i;
          const ends = { x1: a.x + L.radius, y1: a.y, x2: b.x - L.radius, y2: b.y };
          if (fresh || restyle) {
            const look = edgeLook(v, j, maxW, highlighted, onPath && !highlighted);
            if (fresh) {
              const line = el("line", {
                ...ends, ...look,
                // the sign not by colour alone: a negative weight's line is dashed
                ...(v < 0 ? { "stroke-dasharray": "5 3" } : {}),
                "data-layer": l, "data-i": i, "data-j": j,
              });
              line.append(el("title", {}, `w(${l}:${unitNo(i)} \u2192 ${l + 1}:${unitNo(j)}) = ${fmtLong(v)}`));
              layerGroup.append(line);
              edges.lines[l][i][j] = line;
            } else {  // only what changed: a line set again is painted again
              const line = edges.lines[l][i][j];
              for (const [name, value] of Object.entries(look)) {
                if (line.getAttribute(name) !== value) line.setAttribute(name, value);
              }
            }
          }
          if (highlighted) placer.blockLine(ends.x1, ends.y1, ends.x2, ends.y2, `path-${j}`);
          if (highlighted && S.paths) {
            const path = S.paths.terms.find((t) => t.j === j);  // the paths of i's own block
            const term = path ? path.term : null;
            edgeLabels.push({ prio: 0, a, b, text: `${fmt(term)}`, cls: "label term bg", ts: [0.72, 0.6, 0.82, 0.5],
              color: PATH_COLORS[j % PATH_COLORS.length], testid: `term-${j}`, own: `path-${j}` });
          } else if (!denseLayer && !(onPath)) {
            edgeLabels.push({ prio: 2, a, b, text: fmt(v), cls: "label muted bg",
              ts: [0.3 + 0.4 * (i + 0.5) / w.length, 0.5, 0.25, 0.75, 0.4, 0.6] });
          }
        }
      }
    }

    // the lines first, then the units over them, then the labels over both
    if (!kept) svg.append(edgeGroup);
    svg.append(unitGroup, labelGroup);

    // units and their labels
    const unitLabels = [];
    let focusUnit = null;  // given the focus once every unit is drawn (not amid their drawing)
    L.units.forEach((col, l) => col.forEach((p, i) => {
      // one Tab stop, the roving unit's (the arrow keys move it: wire, moveInDiagram)
      const g = el("g", { class: "unit", "data-layer": l, "data-unit": i, role: "button",
        tabindex: rover.layer === l && rover.unit === i ? 0 : -1 });
      const layer = layers[l];
      const y = layer.y[i];
      const circle = el("circle", { cx: p.x, cy: p.y, r: L.radius, fill: unitFill(y, l) });
      const lit = revealed(l, "dz") || (l === 0 && revealed(0, "dy"));
      if (lit) {
        const g0 = l === 0 ? layer.dE_dy[i] : layer.dE_dz[i];
        circle.setAttribute("stroke", gradColor(g0, maxG));
        g.classList.add("lit");
      }
      const current = phases()[S.phase];
      if (current && current.layer === l && current.kind !== "loss" && current.kind !== "input") g.classList.add("current");
      if (sel && sel.layer === l && sel.unit === i) g.classList.add("selected");
      g.append(circle);
      const tip = [`layer ${l}, unit ${unitNo(i)}`, `y = ${fmtLong(y)}`];
      if (l > 0) tip.push(`z = ${fmtLong(layer.z[i])}`);
      // null where the loss reads z (the server's word): a 0 would contradict dE/dz = f'(z) dE/dy
      if (revealed(l, "dy")) tip.push(layer.dE_dy === null
        ? `\u2202E/\u2202y: not shown (the ${S.pass.loss.name} reads z directly)`
        : `\u2202E/\u2202y = ${fmtLong(layer.dE_dy[i])}`);
      if (l > 0 && revealed(l, "dz")) tip.push(`\u2202E/\u2202z = ${fmtLong(layer.dE_dz[i])}`);
      if (l === top) tip.push(`target t = ${fmtLong(S.net.target[i])}`);
      g.append(el("title", {}, tip.join("\n")));
      const said = sel && sel.layer === l && sel.unit === i ? [...tip, "selected"] : tip;
      g.setAttribute("aria-label", spoken(said.join(", ")).replaceAll("\u2212", "minus "));
      g.addEventListener("click", () => guarded(() => selectUnit(l, i)));
      unitGroup.append(g);
      if (focusKey === `${l}:${i}`) focusUnit = g;

      const r = L.radius;
      const above = [], below = [];
      if (revealed(l, "y")) above.unshift({ text: `y ${fmt(y)}`, prio: 1, cls: "label" });
      if (l > 0 && revealed(l, "z")) above.unshift({ text: `z ${fmt(layer.z[i])}`, prio: 3, cls: "label muted" });
      // a loss that reads the logits z: the top units' y is not on E's path
      const fromLogits = l === top && readsLogits();
      if (revealed(l, "dy") && !fromLogits) below.push({ text: `\u2202E/\u2202y ${fmt(layer.dE_dy[i])}`, prio: 1, cls: `label grad ${signClass(layer.dE_dy[i])}` });
      if (l > 0 && revealed(l, "dz")) below.push({ text: `\u2202E/\u2202z ${fmt(layer.dE_dz[i])}`, prio: 1, cls: `label grad ${signClass(layer.dE_dz[i])}` });
      above.forEach((lab, k) => unitLabels.push({ ...lab, x: p.x, y: p.y - r - 5 - (above.length - 1 - k) * LINE_H, anchor: "middle" }));
      below.forEach((lab, k) => unitLabels.push({ ...lab, x: p.x, y: p.y + r + FONT_PX + 2 + k * LINE_H, anchor: "middle" }));
      if (l === top) unitLabels.push({ text: `t ${fmt(S.net.target[i])}`, prio: 2, cls: "label muted", x: p.x + r + 6, y: p.y + 4, anchor: "start" });
    }));
    if (focusUnit) focusUnit.focus();

    // place by priority: layer names, path terms, y and gradients, then targets, then z, then
    // weights; each kept only where it overlaps nothing placed before
    // a colour in the style, not a fill attribute: .label's ink outranks any attribute, and
    // each path's term was drawn in ink instead of its line's colour
    const fill = (color) => (color ? { style: `fill: ${color}` } : {});
    const placeText = (x, y, text, anchor, cls, color, testid, own) => {
      const box = textBox(x, y, text, anchor);
      if (!placer.take(box, own)) return false;
      const attrs = { x, y, "text-anchor": anchor, class: cls, ...fill(color) };
      if (testid) attrs["data-testid"] = testid;
      // a label on a line gets a solid ground: the line passes under it, not between its letters
      // (a pixel taller than the box: Chromium rounds the font's ascent and descent outwards)
      if (cls.split(" ").includes("bg")) labelGroup.append(el("rect", {
        x: box.x, y: box.y - 1, width: box.w, height: box.h + 2, class: "label-bg", rx: 2 }));
      labelGroup.append(el("text", attrs, text));
      return true;
    };
    placeLayerNames(L, placer, labelGroup);
    const terms = edgeLabels.filter((e) => e.prio === 0);
    for (const e of terms) placeEdgeLabel(e, placeText);
    for (const prio of [1, 2, 3]) {
      for (const lab of unitLabels.filter((u) => u.prio === prio)) placeUnitLabel(lab, placer, placeText);
    }
    for (const e of edgeLabels.filter((x) => x.prio === 2)) placeEdgeLabel(e, placeText);
  }

  /** The unit that is the diagram's one Tab stop: the one the keyboard (or a click) was on
   *  last, where the network still has it, else the selected unit, else the first input. */
  function roverUnit() {
    const has = (u) => u && u.layer < S.net.sizes.length && u.unit < S.net.sizes[u.layer];
    return has(S.rover) ? S.rover : has(S.selected) ? S.selected : { layer: 0, unit: 0 };
  }

  /** Make unit `to` the diagram's Tab stop ({layer, unit}), and give it the focus if `focus`. */
  function setRover(to, focus) {
    S.rover = to;
    for (const g of $("diagram").querySelectorAll("g.unit")) {
      const here = Number(g.dataset.layer) === to.layer && Number(g.dataset.unit) === to.unit;
      g.setAttribute("tabindex", here ? "0" : "-1");
      if (here && focus) g.focus();
    }
  }

  /** The diagram's keys, on the unit with the focus: Left and Right to the next layer's unit at
   *  the same height (in proportion), Up and Down (Home, End) within the layer, Enter or Space
   *  selects it, as a click does (one Tab stop: the Tab key leaves the diagram). */
  function moveInDiagram(e) {
    const g = e.target.closest ? e.target.closest("g.unit") : null;
    if (!g || !S.net) return;
    const l = Number(g.dataset.layer), i = Number(g.dataset.unit);
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();  // Space would scroll the diagram
      guarded(() => selectUnit(l, i));
      return;
    }
    const sizes = S.net.sizes;
    const across = (to) => {
      const layer = Math.max(0, Math.min(sizes.length - 1, to));
      const n = sizes[l], m = sizes[layer];
      return [layer, n === 1 ? 0 : Math.round((i * (m - 1)) / (n - 1))];
    };
    const to = {
      ArrowLeft: across(l - 1), ArrowRight: across(l + 1), ArrowUp: [l, i - 1], ArrowDown: [l, i + 1],
      Home: [l, 0], End: [l, sizes[l] - 1],
    }[e.key];
    if (!to) return;
    e.preventDefault();  // the arrows would scroll the diagram's box
    setRover({ layer: to[0], unit: Math.max(0, Math.min(sizes[to[0]] - 1, to[1])) }, true);
  }

  /** The layer names along the top, placed first so that no unit label takes their place (they
   *  were lost after Run all on a tall layer). Their font is not the numbers' monospace one, so
   *  each is measured as drawn; where the full name does not fit (many narrow layers), the
   *  shorter one without the units' kind. */
  function placeLayerNames(L, placer, labelGroup) {
    const top = topLayer();
    S.net.sizes.forEach((n, l) => {
      const kind = l === top ? S.net.output : S.net.activation;
      const name = l === 0 ? "input" : l === top ? "top" : `hidden ${l}`;
      for (const text of l === 0 ? [name] : [`${name} (${kind})`, name]) {
        const x = L.units[l][0].x;
        const label = el("text", { x, y: 14, "text-anchor": "middle", class: "label layer" }, text);
        labelGroup.append(label);
        const drawn = label.getBBox();  // 0 wide where nothing is laid out (a hidden widget)
        const guess = textBox(x, 14, text, "middle");
        const box = drawn.width > guess.w ? { x: drawn.x, y: drawn.y, w: drawn.width, h: drawn.height } : guess;
        if (placer.take(box)) break;
        label.remove();
      }
    });
  }

  /** A unit's label where it belongs, centred on its unit; where a path's line crosses it there
   *  (the selected unit's lines leave it on the right, and reach the units above on their left),
   *  beside the centre instead: wholly left of it, then wholly right. */
  function placeUnitLabel(lab, placer, placeText) {
    if (placeText(lab.x, lab.y, lab.text, lab.anchor, lab.cls)) return;
    if (lab.anchor !== "middle" || !placer.crossesLine(textBox(lab.x, lab.y, lab.text, "middle"))) return;
    for (const [dx, anchor] of [[2, "end"], [-2, "start"]]) {
      if (placeText(lab.x + dx, lab.y, lab.text, anchor, lab.cls)) return;
    }
  }

  function placeEdgeLabel(e, placeText) {
    for (const t of e.ts) {
      const x = e.a.x + (e.b.x - e.a.x) * t;
      const y = e.a.y + (e.b.y - e.a.y) * t + 4;
      if (placeText(x, y, e.text, "middle", e.cls, e.color, e.testid, e.own)) return;
    }
  }

  /* ---------------------------------------------------------------- the panel */

  function renderHeader() {
    const list = phases();
    const [title, caption] = phaseText(list[S.phase]);
    // a live region: written only when its words change (a screen reader reads each write)
    writeText($("phase"), `Step ${S.phase + 1}/${list.length}: ${title}`);
    writeText($("caption"), caption);
    writeText($("error-value"), S.pass && revealed(0, "E") ? `E = ${fmtLong(S.pass.E)}` : "E = ?");
    const [back, step] = [$("btn-back"), $("btn-step")];
    disable([[back, S.phase === 0, step], [step, S.phase === list.length - 1, back]]);
  }

  /** Sets `node`'s text (putText: numbers in exponent form said in words), only where it
   *  differs (no mutation for a live region to announce). */
  function writeText(node, text) {
    if (node.shownText === text) return;
    node.shownText = text;
    putText(node, text);
  }

  /** Sets each [button, disabled, counterpart]; a button with the keyboard's focus that goes
   *  disabled hands it to its counterpart (Step to Back, Play to Pause, ...), where it fell to
   *  the document's body. */
  function disable(buttons) {
    const active = ROOT.activeElement;
    for (const [button, off] of buttons) button.disabled = off;
    for (const [button, off, counterpart] of buttons) {
      if (off && button === active && !counterpart.disabled) counterpart.focus();
    }
  }

  /** Where a top unit's ∂E/∂y_j and ∂E/∂z_j come from, as HTML: from the loss through
   *  y, or straight from the loss on z (the pass's `loss` says which). */
  function topUnitGradient(layer, j) {
    const { name, reads, applies } = S.pass.loss;
    const dz = numberHTML(fmtLong(layer.dE_dz[j]));
    if (reads === "y") {
      return `&part;E/&part;y<sub>j</sub> = <code>${numberHTML(fmtLong(layer.dE_dy[j]))}</code> comes from the loss
        (${name}); &part;E/&part;z<sub>j</sub> = <code>${dz}</code>.`;
    }
    const written = LOGIT_GRADIENT[name];
    return written
      ? `The ${name} is computed from the logits z, so &part;E/&part;z<sub>j</sub> = ${written(dz)}`
      : `The ${name} is computed from the logits z (it applies the ${applies} to them itself), so
        &part;E/&part;z<sub>j</sub> = <code>${dz}</code> comes straight from the loss.`;
  }

  /** What the Paths tab says while no unit is selected (index.html's text). */
  const UNIT_HINT = $("unit-info").innerHTML;

  function renderPaths() {
    const info = $("unit-info");
    const box = $("paths-box");
    const sel = S.selected;
    // no unit selected (none yet, or a new network): the hint, not the last unit's numbers
    if (!sel) { box.hidden = true; info.innerHTML = UNIT_HINT; return; }
    const top = topLayer();
    const layer = S.pass.layers[sel.layer];
    if (sel.layer === top) {
      box.hidden = true;
      const t = S.net.target[sel.unit];
      info.innerHTML = `<b>Top unit j = ${unitNo(sel.unit)}</b> (${S.net.output}): y<sub>j</sub> = <code>${numberHTML(fmtLong(layer.y[sel.unit]))}</code>,
        target t<sub>j</sub> = <code>${numberHTML(fmtLong(t))}</code>.<br>
        ${topUnitGradient(layer, sel.unit)}
        A top unit has no paths upwards: select a unit in a lower layer to split its &part;E/&part;y.`;
      return;
    }
    const P = S.paths;
    if (!P) { box.hidden = true; return; }
    box.hidden = false;
    const name = sel.layer === 0 ? "input unit" : "hidden unit";
    info.innerHTML = `<b>${name} i = ${unitNo(sel.unit)}</b> of layer ${sel.layer}: y<sub>i</sub> = <code>${numberHTML(fmtLong(P.y))}</code>.
      &part;E/&part;y<sub>i</sub> = &Sigma;<sub>j</sub> w<sub>ij</sub> &part;E/&part;z<sub>j</sub> over the
      ${P.terms.length} path${P.terms.length === 1 ? "" : "s"} to layer ${sel.layer + 1}.`;
    const body = $("paths-table").tBodies[0];
    body.replaceChildren();
    P.terms.forEach((t) => {
      const row = body.insertRow();
      row.dataset.j = t.j;
      const color = PATH_COLORS[t.j % PATH_COLORS.length];
      row.insertCell().outerHTML = `<th scope="row"><span class="swatch" style="background:${color}"></span>j=${unitNo(t.j)}</th>`;
      for (const [key, v] of [["w", t.w_ij], ["dz", t.dE_dz_j], ["term", t.term]]) {
        const cell = row.insertCell();
        putText(cell, fmtLong(v));
        cell.dataset.value = String(v);
        cell.dataset.key = key;
        if (key === "term") cell.className = signClass(v);
      }
    });
    const put = (id, v) => { const c = $(id); putText(c, fmtLong(v)); c.dataset.value = String(v); };
    put("paths-sum", P.sum_of_terms);
    put("paths-engine", P.dE_dy);
    if (P.finite_difference === null) {  // a relu unit above at its kink, or it overflowed
      const c = $("paths-fd");
      c.textContent = P.fd_note;  // the server's words for why: no check there
      delete c.dataset.value;
    } else {
      put("paths-fd", P.finite_difference);
    }
    // beside a difference, what the explainer's check of it says (fd_note, the server's words):
    // one it cannot resolve at this size (within the tolerance of 0) is no check, and a
    // disagreement says how far; nothing where they agree
    const said = P.finite_difference === null ? null : P.fd_note;
    // the server's words as they are (its exponents too: a copy of them, not the page's)
    $("paths-fd-note").textContent = said || "";
    $("paths-fd-row").hidden = !said;
    $("paths-fd-row").dataset.ok = String(P.fd_ok);
    renderStackedBar(P);
  }

  /** A waterfall: each path's term as a bar starting where the previous one ended, so the last
   * bar ends at their sum; below it the sum itself, with the finite difference as a dashed line. */
  function renderStackedBar(P) {
    const svg = $("stacked-bar");
    svg.replaceChildren();
    const n = P.terms.length;
    const rowH = Math.max(4, Math.min(16, 150 / n));
    const width = svg.clientWidth || 360;
    const height = n * rowH + 54;  // the bars, the sum's bar, and two lines of caption
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.style.height = `${height}px`;
    let cum = 0, lo = 0, hi = 0;
    const spans = P.terms.map((t) => { const a = cum; cum += t.term; lo = Math.min(lo, a, cum); hi = Math.max(hi, a, cum); return [a, cum]; });
    const fd = P.finite_difference;  // null at a relu kink: no dashed line
    if (fd !== null) { lo = Math.min(lo, fd); hi = Math.max(hi, fd); }
    const pad = 8, range = (hi - lo) || 1;
    const X = (v) => pad + (v - lo) / range * (width - 2 * pad);
    svg.append(el("line", { x1: X(0), x2: X(0), y1: 0, y2: height - 14, stroke: "#9aa3b2" }));
    spans.forEach(([a, b], k) => {
      const rect = el("rect", { x: Math.min(X(a), X(b)), y: k * rowH + 1, width: Math.max(1, Math.abs(X(b) - X(a))), height: rowH - 2,
        fill: PATH_COLORS[P.terms[k].j % PATH_COLORS.length], "data-j": P.terms[k].j });
      rect.append(el("title", {}, `path i \u2192 j=${unitNo(P.terms[k].j)}: ${fmtLong(P.terms[k].term)}`));
      svg.append(rect);
    });
    const yS = n * rowH + 4;
    svg.append(el("rect", { x: Math.min(X(0), X(P.sum_of_terms)), y: yS, width: Math.max(1, Math.abs(X(P.sum_of_terms) - X(0))), height: 12, fill: "#3d4452" }));
    if (fd !== null) {
      svg.append(el("line", { x1: X(fd), x2: X(fd), y1: yS - 3, y2: yS + 15, stroke: "#e7298a", "stroke-width": 2, "stroke-dasharray": "3 2" }));
    }
    const fdText = fd === null ? `finite difference ${P.kink ? "not checked (relu kink)" : "not checked (see the table)"}`
      : `dashed: finite difference ${fmt(fd, 4)}${P.fd_ok === null ? " (cannot resolve it: see the table)" : P.fd_ok ? "" : " (disagrees: see the table)"}`;
    // one line each: side by side they ran past a 340 px panel's edge
    svg.append(el("text", { x: pad, y: height - 16, class: "label muted" }, `sum ${fmt(P.sum_of_terms, 4)}`));
    svg.append(el("text", { x: pad, y: height - 2, class: "label muted" }, fdText));
  }

  function renderNudge() {
    const N = S.nudge;
    $("nudge-eps").textContent = epsText();
    const body = $("nudge-table").tBodies[0];
    body.replaceChildren();
    if (!N) {  // no unit selected: no sums of a unit selected before
      for (const id of ["nudge-predicted", "nudge-measured"]) { $(id).textContent = ""; delete $(id).dataset.value; }
      return;
    }
    N.predicted_per_path.forEach((v, k) => {
      const j = N.path_j ? N.path_j[k] : k;  // the path's unit above (its block's, in blocks)
      const row = body.insertRow();
      row.insertCell().outerHTML = `<th scope="row"><span class="swatch" style="background:${PATH_COLORS[j % PATH_COLORS.length]}"></span>via j=${unitNo(j)}</th>`;
      const cell = row.insertCell();
      putText(cell, fmtLong(v)); cell.dataset.value = String(v); cell.className = signClass(v);
    });
    for (const [id, v] of [["nudge-predicted", N.predicted], ["nudge-measured", N.measured]]) {
      putText($(id), fmtLong(v)); $(id).dataset.value = String(v);
    }
  }

  /** The nudge slider's eps as shown: two decimals, a negative one with U+2212 (as every number
   *  the page shows; the slider's own value stays ASCII). */
  const epsText = () => Number($("nudge").value).toFixed(2).replace("-", "\u2212");

  /** The API's refusal of an edit to the number at `path` (network.target[2]) as the Edit tab
   *  says it after the field's label ("target t3"): without "invalid request: " and without the
   *  API's place for the field, its own (network.target[2]) or that of the list it is in
   *  (network.target, a check of every target), which the label names already. */
  function editRefusal(message, path) {
    const why = message.replace(/^invalid request: /, "");
    for (let place = path, outer; ; place = outer) {
      if (why.startsWith(`${place}: `)) return why.slice(place.length + 2);
      outer = place.replace(/\[\d+\]$/, "");
      if (outer === place) return why;  // about another field: its place stays
    }
  }

  function renderEditUnit() {
    const box = $("edit-unit");
    const sel = S.selected;
    if (!sel) {
      delete box.dataset.fields;
      box.className = "hint"; box.textContent = "Select a unit to edit its input, bias, target and outgoing weights.";
      return;
    }
    const fields = [];
    /** One field: `label` (HTML), the number's place in the API's network (`path`, as the
     *  server's messages name it), how to read it from a network and how to set it. */
    const add = (label, path, get, apply) => fields.push({ label, path, get, apply });
    const top = topLayer();
    const { layer: l, unit: i } = sel;
    if (l === 0) add(`input y<sub>${unitNo(i)}</sub>`, `network.input[${i}]`, (n) => n.input[i], (n, v) => { n.input[i] = v; });
    if (l > 0 && S.net.biases[l - 1]) add(`bias b<sub>${unitNo(i)}</sub>`, `network.biases[${l - 1}][${i}]`, (n) => n.biases[l - 1][i], (n, v) => { n.biases[l - 1][i] = v; });
    if (l === top) add(`target t<sub>${unitNo(i)}</sub>`, `network.target[${i}]`, (n) => n.target[i], (n, v) => { n.target[i] = v; });
    // only the weights that exist: none joins i to a unit outside its block (null)
    if (l < top) S.net.weights[l][i].forEach((w, j) => w !== null && add(`w<sub>${unitNo(i)}&rarr;${unitNo(j)}</sub>`, `network.weights[${l}][${i}][${j}]`, (n) => n.weights[l][i][j], (n, v) => { n.weights[l][i][j] = v; }));
    // the same unit's same fields (an edit saved, a step): their numbers updated in place, so
    // the field being typed in keeps the focus and what is typed (rebuilt, each saved edit took
    // both away: Tab to the next field and type lost the typing)
    const key = `${l}:${i}:${fields.map((f) => f.path).join()}`;
    if (box.dataset.fields === key) {
      const active = ROOT.activeElement;
      for (const f of fields) {
        const input = box.querySelector(`input[data-path="${f.path}"]`);
        const shown = String(f.get(S.net));
        // a field typed in and not yet saved keeps what was typed
        if (input !== active || input.value === input.dataset.shown) input.value = shown;
        input.dataset.shown = shown;
      }
      return;
    }
    box.dataset.fields = key;
    box.className = "";
    box.replaceChildren();
    const rows = document.createElement("div");
    rows.className = "edit-rows";
    for (const { label, path, get, apply } of fields) {
      const row = document.createElement("label");
      row.className = "edit-row";
      row.innerHTML = `<span>${label}</span>`;
      const input = document.createElement("input");
      // text, read by readNumber: a number field turned "1,5" into 15 without a word
      input.type = "text"; input.spellcheck = false; input.value = String(get(S.net));
      input.dataset.path = path;
      input.dataset.shown = input.value;
      input.addEventListener("change", () => guarded(async () => {
        const name = row.firstChild.textContent;  // the label as text ("input y1"), not HTML
        const typed = input.value;
        try {
          const v = readNumber(typed);
          if (S.fetching && !(await afterFetch())) return;  // made on the network on its way
          const base = latestNetwork();  // on an edit still on its way too, so both count
          if (base.sizes.join() !== S.net.sizes.join()) {
            throw new ApiError("the network is being replaced: edit it again once it shows");
          }
          const next = structuredClone(base);
          apply(next, v);
          if (JSON.stringify(next) === JSON.stringify(base)) return;  // no change (a second blur)
          await setNetwork(next);
        } catch (error) {
          // refused: the network is as it was, and so is its field, unless the user has typed on
          // since (a field replaced since shows the new network's number already)
          if (input.isConnected && input.value === typed) input.value = String(get(S.net));
          if (!(error instanceof ApiError)) throw error;
          throw new ApiError(`${name}: ${editRefusal(error.message, path)}`);
        }
      }));
      row.append(input);
      rows.append(row);
    }
    const title = document.createElement("div");
    title.className = "hint";
    title.textContent = `layer ${l}, unit ${unitNo(i)}`;
    box.append(title, rows);
  }

  /** The sizes syncEditForm last wrote: a sizes field the user has edited since is left alone
   *  unless the network's sizes themselves changed (a new network, a loaded file), so a slow
   *  update that lands while the user types does not overwrite what they typed. */
  let shownSizes = null;

  function syncEditForm() {
    const sizes = S.net.sizes.join(",");
    const field = $("edit-sizes");
    if (sizes !== shownSizes || field.value === shownSizes) field.value = sizes;
    shownSizes = sizes;
    $("edit-activation").value = S.net.activation;
    $("edit-output").value = S.net.output;
    $("edit-loss").value = S.net.loss;
  }

  function render() {
    if (!S.net || !S.pass) return;
    renderHeader();
    renderDiagram();
    renderPaths();
    renderViews();
    renderNudge();
    renderEditUnit();
    renderBug();
  }

  /* ---------------------------------------------------------------- three views, teaching bugs */

  /** dE/dy_i three ways; each term carries its j, and selecting one lights up its twins. */
  function renderViews() {
    const V = S.views;
    const i = V ? unitNo(V.unit) : "i";
    const rows = V ? {
      hinton: V.hinton.terms.map((t) => [t.j, `w${indexPair(i, unitNo(t.j))}·∂E/∂z${unitNo(t.j)} = ${fmt(t.w)}·${fmt(t.dE_dz)}`, t.value]),
      matrix: V.matrix.terms.map((t) => [t.j, `W[${i},${unitNo(t.j)}]·(∂E/∂z)[${unitNo(t.j)}]`, t.value]),
      graph: V.graph ? V.graph.consumers.map((c) => [c.j, `from ${c.consumer}`, c.value]) : [],
    } : { hinton: [], matrix: [], graph: [] };
    const totals = V ? { hinton: V.hinton.total, matrix: V.matrix.total, graph: V.graph && V.graph.total } : {};
    for (const view of ROOT.querySelectorAll("#views-box .view")) {
      const name = view.dataset.view;
      const list = view.querySelector("ol");
      list.replaceChildren();
      for (const [j, text, value] of rows[name]) {
        const item = document.createElement("li");
        item.className = `term ${signClass(value)}`;
        item.tabIndex = 0;
        item.dataset.j = String(j);
        item.dataset.value = String(value);
        item.dataset.testid = `view-${name}-${j}`;
        putText(item, `${text} = ${fmtLong(value)}`);
        item.classList.toggle("linked", S.linkedJ === j);
        const pick = () => { S.linkedJ = S.linkedJ === j ? null : j; highlightTerms(); };
        item.addEventListener("click", pick);
        item.addEventListener("keydown", (e) => {
          if (e.key !== "Enter" && e.key !== " ") return;
          e.preventDefault();  // Space would scroll the panel
          pick();
        });
        list.appendChild(item);
      }
      const total = totals[name];
      putText(view.querySelector(".view-total"),
        total === undefined || total === null ? (V && name === "graph" ? "(too large to draw unit by unit)" : "")
          : `sum = ${fmtLong(total)}`);
    }
  }

  function highlightTerms() {
    for (const item of ROOT.querySelectorAll("#views-box li.term, #paths-table tbody tr")) {
      item.classList.toggle("linked", S.linkedJ !== null && item.dataset.j === String(S.linkedJ));
    }
  }

  function renderBug() {
    const B = S.bug;
    const table = $("bug-table");
    const info = $("bug-result");
    const why = $("bug-why");
    if (!B) {
      table.hidden = true;
      why.hidden = true;
      // a live region: written only where its words change (each render wrote it, every step of Play)
      writeText(info, S.bugNote || "The real engine: every gradient is the sum over its consumers.");
      return;
    }
    // a row passing within a tolerance as large as its gradient gets no verdict (the server's
    // `no_verdict`, its reason), never ✓: the explainer's write-ups mark it "? no verdict" too
    const noVerdict = B.rows.filter((r) => !r.caught && r.no_verdict);
    const unresolved = `it gives no verdict on ${noVerdict.length} (? no verdict)`;
    writeText(info, `${B.title} (${B.source}). ${B.note} ${B.caught
      ? `The gradient check catches it: ${B.n_caught} of ${B.rows.length} disagree${noVerdict.length ? `, and ${unresolved}` : ""}.`
      : noVerdict.length ? `The gradient check cannot catch it here: ${unresolved} of ${B.rows.length}, and no verdict is not a pass.`
        : "The gradient check finds nothing here."}`);
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const r of B.rows) {
      const row = body.insertRow();
      const unsaid = !r.caught && r.no_verdict ? r.no_verdict : null;
      row.className = r.caught ? "caught" : unsaid ? "no-verdict" : "";
      for (const v of [r.label, fmtLong(r.right), fmtLong(r.wrong), r.numeric === null ? "-" : fmtLong(r.numeric)]) {
        putText(row.insertCell(), v);
      }
      // the check's mark, and in words for a screen reader; no verdict in words for everyone,
      // its reason as the cell's tooltip and in the line under the table
      const mark = row.insertCell();
      if (r.caught) mark.innerHTML = '<span aria-hidden="true">✗</span><span class="sr-only">caught</span>';
      else if (unsaid) { mark.textContent = "? no verdict"; mark.title = unsaid; }
      else if (r.numeric === null) mark.textContent = "not checked";
      else mark.innerHTML = '<span aria-hidden="true">✓</span><span class="sr-only">agrees</span>';
    }
    table.hidden = false;
    const reasons = noVerdict.map((r) => `${r.label}: ${r.no_verdict}`).join("; ");
    putText(why, reasons ? `Why no verdict: ${reasons}.` : "");
    why.hidden = !reasons;
  }

  /** The network the explorer opened on, asked for again (/api/seed): the page's seed network
   *  (or serve --model's model, as the server read it), a notebook's model as it is now. It is shown from the inputs with no
   *  unit selected, as a new network: nothing of the network shown before stays (its unit, paths,
   *  nudge, views, gradient check, export). */
  async function reloadModel() {
    await fetchNetwork(() => api("/api/seed"), { resetPhase: true, keepSelection: false, fromModel: true });
  }

  async function selectUnit(layer, unit) {
    S.selected = { layer, unit };
    S.paths = null; S.nudge = null; S.views = null; S.linkedJ = null;
    await refreshSelection();
    render();
  }

  /* ---------------------------------------------------------------- training */

  /** The first words of the server's refusal of a step with no run to take it on (api.py). */
  const NO_RUN = "no training run";
  /** The first words of its refusal of a step for the run this page started where another tab
   *  of the browser (which shares its session, and so its run) has started one since (api.py). */
  const REPLACED_RUN = "training run replaced";
  /** What the Train tab says while there is no run (index.html's text). */
  const TRAIN_HINT = $("train-status").textContent;

  function renderTraining() {
    const T = S.train.state;
    const playing = S.train.playing;
    const [play, pause, step] = [$("btn-train-play"), $("btn-train-pause"), $("btn-train-step")];
    disable([[play, !T || playing, pause], [pause, !playing, play], [step, !T || playing, pause]]);
    const canvas = $("loss-curve");
    const losses = T ? T.loss : [];
    drawLossCurve(canvas, losses);
    canvas.dataset.steps = T ? String(T.step) : "0";
    // the picture in words: how many steps it draws and the latest loss (each step's batch's)
    const latest = losses.length ? fmt(losses[losses.length - 1], 4) : null;
    canvas.setAttribute("aria-label", latest === null ? "Loss of each step's batch: no steps yet"
      : spoken(`Loss of each step's batch: ${losses.length} step${losses.length === 1 ? "" : "s"}, latest loss ${latest}`).replaceAll("\u2212", "minus "));
    const status = $("train-status");
    if (T) {
      // the last step's loss said as its batch's (with mini-batches, a few cases only), then
      // the loss and the accuracy of the same cases, all of them, with the weights now
      const onBatch = latest === null ? "" : `, loss ${latest} on its batch`;
      const whole = [];
      if (T.dataset_loss != null) {
        whole.push(`loss ${fmt(T.dataset_loss, 4)} (their ${T.reduction === "sum" ? "sum" : "mean"})`);
      }
      if (T.accuracy !== null) whole.push(`accuracy ${(100 * T.accuracy).toFixed(1)}%`);
      const all = whole.length ? `; over all ${T.cases} cases now: ${whole.join(", ")}` : "";
      const run = `${T.dataset}: step ${T.step}${onBatch}${all}.`;
      const behind = diagramBehind(T);
      putText(status, `${run} ${behind || "The diagram shows case 0."}`);
      status.classList.toggle("stale", Boolean(behind));
      announceTraining(`${run} ${behind}`.trim());
    } else {  // no run (yet, or any more): the page's own hint again
      status.textContent = TRAIN_HINT;
      status.classList.remove("stale");
      announceTraining("");  // the message box (an alert) says why a run is gone
    }
    drawGradNorms($("grad-norms"), T ? T.grad_norms : []);
  }

  /** Seconds between two of the training's announcements while it plays. */
  const ANNOUNCE_EVERY_MS = 3000;
  /** The live region a screen reader hears the run in (#train-live): the latest words, when
   *  they were last written (performance.now()), and the write that is due. */
  const announced = { text: "", at: -Infinity, timer: null };

  /** Say `text` (the run's step, loss and accuracy, and what the diagram shows) in the Train
   *  tab's live region: at once after a start or a step, and at most every ANNOUNCE_EVERY_MS
   *  while the run plays, then with its latest words. Written at every step of Play, a screen
   *  reader read one update per step, each cut off by the next. */
  function announceTraining(text) {
    announced.text = text;
    // paused with a step on its way (its answer, or its network, still coming): what to say
    // is that step, once it is shown (the step before it, said a moment earlier, was cut off
    // by it, or by the same step's words again once its network was drawn)
    if (!S.train.playing && S.train.inFlight) return;
    const wait = S.train.playing ? announced.at + ANNOUNCE_EVERY_MS - performance.now() : 0;
    if (wait <= 0) { writeAnnouncement(); return; }
    if (announced.timer === null) announced.timer = setTimeout(writeAnnouncement, wait);
  }

  function writeAnnouncement() {
    clearTimeout(announced.timer);
    announced.timer = null;
    const live = $("train-live");
    const words = spoken(announced.text).replaceAll("\u2212", "minus ");
    if (live.textContent === words) return;
    live.textContent = words;
    announced.at = performance.now();
  }

  /** Why the diagram does not show the network of the run's step `T`, in a sentence ("" when
   *  it does). The Train tab keeps the server's step (the run took it), so where the diagram
   *  could not follow it says which network the diagram still shows and why. */
  function diagramBehind(T) {
    if (S.train.shown && S.net === T.network) return "";
    const behind = S.train.behind && S.train.behind.state === T ? S.train.behind : null;
    if (!behind) {  // the user changed the network since: theirs stays
      return "Out of date: the diagram no longer shows this run's network (it was changed since); "
        + "Step or Play goes on with the run's own network.";
    }
    const shows = !S.train.shown ? "another network, not this run's"
      : S.train.shownStep === null ? "the previous run's network" : `step ${S.train.shownStep}`;
    if (behind.why === null) {
      return `The diagram still shows ${shows}: step ${T.step}'s network is on its way.`;
    }
    return `The diagram still shows ${shows}: step ${T.step}'s network could not be shown `
      + `(${behind.why}). Step or Play goes on with the run, and shows the step it reaches.`;
  }

  /** The Train tab's loss curve and gradient norms drawn again as they are, at their boxes'
   *  sizes now (renderTraining draws them with the rest of the tab). */
  function redrawTrainingPictures() {
    const T = S.train.state;
    drawLossCurve($("loss-curve"), T ? T.loss : []);
    drawGradNorms($("grad-norms"), T ? T.grad_norms : []);
  }

  function drawLossCurve(canvas, losses) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 360, h = canvas.clientHeight || 150;
    canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    ctx.font = "11px sans-serif"; ctx.fillStyle = "#5b6475";
    if (!losses.length) { ctx.fillText("each step's batch loss appears here", 10, h / 2); return; }
    const pad = { l: 44, r: 8, t: 8, b: 18 };
    const hi = Math.max(...losses), lo = Math.min(...losses);
    const X = (k) => pad.l + (losses.length === 1 ? 0 : k / (losses.length - 1)) * (w - pad.l - pad.r);
    const Y = (v) => pad.t + (1 - (v - lo) / ((hi - lo) || 1)) * (h - pad.t - pad.b);
    ctx.strokeStyle = "#d5dae3"; ctx.beginPath(); ctx.moveTo(pad.l, pad.t); ctx.lineTo(pad.l, h - pad.b); ctx.lineTo(w - pad.r, h - pad.b); ctx.stroke();
    ctx.fillText(fmt(hi, 3), 2, pad.t + 8); ctx.fillText(fmt(lo, 3), 2, h - pad.b);
    ctx.fillText(`step ${losses.length}`, w - 70, h - 4);
    ctx.strokeStyle = "#3b5bdb"; ctx.lineWidth = 1.6; ctx.beginPath();
    losses.forEach((v, k) => (k ? ctx.lineTo(X(k), Y(v)) : ctx.moveTo(X(k), Y(v))));
    ctx.stroke();
  }

  function drawGradNorms(svg, norms) {
    svg.replaceChildren();
    const width = svg.clientWidth || 360, rowH = 18;
    const height = Math.max(1, norms.length) * rowH + 4;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.style.height = `${height}px`;
    const said = norms.map((v, l) => `layer ${l} to ${l + 1}: ${fmt(v, 3)}`).join(", ");
    svg.setAttribute("aria-label", `Per-layer gradient norms: ${norms.length ? spoken(said) : "after a training step"}`);
    if (!norms.length) { svg.append(el("text", { x: 4, y: 14, class: "label muted" }, "after a training step")); return; }
    const hi = Math.max(...norms) || 1;
    norms.forEach((v, l) => {
      const y = l * rowH + 2;
      svg.append(el("text", { x: 0, y: y + 12, class: "label muted" }, `W${l}\u2192${l + 1}`));
      svg.append(el("rect", { x: 70, y, width: Math.max(1, (v / hi) * (width - 170)), height: rowH - 5, fill: "#7b8cde", "data-layer": l }));
      svg.append(el("text", { x: width - 2, y: y + 12, "text-anchor": "end", class: "label" }, fmt(v, 3)));
    });
  }

  /** The number in the field `id`, its refusal named after the field's label `what`. */
  function fieldNumber(id, what) {
    try { return readNumber($(id).value); } catch (error) { throw new ApiError(`${what}: ${error.message}`); }
  }

  function trainBody() {
    const hidden = readSizes($("train-hidden").value, "hidden sizes");
    const batch = $("train-batch").value.trim();
    return {
      dataset: $("train-dataset").value,
      hidden,
      activation: S.net ? S.net.activation : "logistic",
      optimizer: $("train-optimizer").value,
      lr: fieldNumber("train-lr", "learning rate"),
      batch_size: batch === "" ? null : fieldNumber("train-batch", "batch size"),
    };
  }

  /** Record the run's state and show its network, unless the user changed the network since
   *  the request went out (`gen`): then the diagram keeps theirs and the Train tab says so. The
   *  run took the step on the server whatever happens here, so the Train tab shows it; where its
   *  network cannot be shown (refused, or its request failed) the tab says that the diagram is
   *  behind and why, and the error goes on to the message box as any other. */
  async function showTrainState(state, gen) {
    S.train.state = state;
    S.train.behind = gen === S.train.gen ? { state, why: null } : null;
    if (!S.train.behind) { renderTraining(); return; }
    try {
      // a trained network is shown with its whole forward and backward pass; set once it is in
      // place (a phase past the shown network's made any render meanwhile fail: a resize's)
      await setNetwork(state.network, { training: true, wholePass: true });
    } catch (error) {
      // the tab says why, unless a newer run state has come since (its own note stands) or the
      // user changed the network meanwhile (theirs is shown, and the tab says that instead)
      if (S.train.behind && S.train.behind.state === state) {
        S.train.behind = gen === S.train.gen ? { state, why: errorText(error) } : null;
      }
      renderTraining();
      throw error;
    }
    if (S.net === state.network) S.train.shownStep = state.step;
    if (S.train.behind && S.train.behind.state === state) S.train.behind = null;
    renderTraining();
  }

  async function trainStep() {
    const steps = Math.max(1, Math.min(500, fieldNumber("train-chunk", "steps per frame")));
    const gen = S.train.gen;
    let state;
    try {
      // the run this page started (its id, from the start's answer): the server refuses a step
      // where another tab has replaced it, rather than step that tab's run and show it here
      const run = S.train.state ? S.train.state.run : undefined;
      S.train.inFlight = true;
      state = await api("/api/train/step", { steps, run });
    } catch (error) {
      S.train.inFlight = false;
      // the server has no run for this page (api.py's NO_RUN: it forgot it to make room for
      // newer ones; REPLACED_RUN: another tab started one since): the Train tab shows none
      // either, the message box says why, and only Start goes on
      const gone = error instanceof ApiError && [NO_RUN, REPLACED_RUN].some((words) => error.message.startsWith(words));
      if (gone) {
        S.train.state = null;
        S.train.playing = false;
        renderTraining();
      }
      throw error;
    }
    try {
      await showTrainState(state, gen);  // the step is on its way until its network is shown
    } finally {
      S.train.inFlight = false;
      if (!S.train.playing) announceTraining(announced.text);  // what a pause held back
    }
  }

  /** The run this browser already has on the server (the page was reloaded, or opened in
   *  another tab: its tabs share one run), shown as Start shows one, so Step and Play go on
   *  with it. `run: null` (this browser started none here, or reset it): nothing to show. The
   *  server's "no training run" refusal (409: it lost this browser's run, restarted since or
   *  forgetting it for newer browsers): the message box says so and why, as after a step. */
  async function resumeRun() {
    const gen = S.train.gen;
    let state;
    try {
      state = await api("/api/train/state");
    } catch (error) {
      if (error instanceof ApiError && error.message.startsWith(NO_RUN)) throw error;
      throw new ApiError(`The page could not ask for this browser's training run (/api/train/state: ${reasonOf(error)}).`);
    }
    if (state.run === null) return;
    await showTrainState(state, gen);
  }

  async function playLoop() {
    while (S.train.playing) {
      try {
        await trainStep();
      } catch (error) {
        S.train.playing = false;
        renderTraining();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }

  /* ---------------------------------------------------------------- wiring */

  /** Open the tab of button `b` (set in wire). */
  let openTab = null;

  /** Clicks on the things of `container` (its `selector`s) that a drawing made anew (the units
   *  of the diagram, the terms of the three views) kept even when one is drawn again while the
   *  button is down: the box resized (the diagram is drawn again 80 ms on), a training step or
   *  an answer arriving. The press is then on the old element and the release on the new one,
   *  and the browser fires no click at all: the click was lost (a unit not selected, its paths
   *  never shown). A release on the new element of the same thing (`key`: the same unit, the
   *  same term) that the browser gives no click of its own gets one. */
  function keepClicksAcrossRedraws(container, selector, key) {
    let pressed = null;  // {element, key} of the press, while the button is down
    let owed = null;     // the key of the thing owed a click, until the browser's own click comes
    container.addEventListener("pointerdown", (e) => {
      const element = e.button === 0 && e.target.closest(selector);
      pressed = element ? { element, key: key(element) } : null;
    });
    container.addEventListener("pointerup", (e) => {
      const down = pressed;
      pressed = null;
      if (!down || down.element.isConnected || e.button !== 0) return;  // the browser's click follows
      const up = e.target.closest(selector);
      if (!up || key(up) !== down.key) return;  // released elsewhere: no click, as the browser's
      owed = down.key;
      // the browser's click, if it gives one after all, comes in the same task as the release;
      // the click goes to the thing as it is drawn then (it may have been drawn again since)
      setTimeout(() => {
        const now = owed === down.key
          && [...container.querySelectorAll(selector)].find((element) => key(element) === down.key);
        owed = null;
        if (now) {
          now.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, composed: true,
            clientX: e.clientX, clientY: e.clientY }));
        }
      }, 0);
    });
    container.addEventListener("click", () => { owed = null; }, true);
  }

  function wire() {
    keepClicksAcrossRedraws($("diagram"), "g.unit", (g) => `${g.dataset.layer}:${g.dataset.unit}`);
    // one Tab stop for the whole diagram: the arrow keys move between its units, and the unit a
    // click (or anything else) gave the focus is where Tab comes back to (on the diagram's box:
    // Chromium puts an <svg> with a focus listener of its own in the Tab order)
    $("diagram-wrap").addEventListener("keydown", moveInDiagram);
    $("diagram-wrap").addEventListener("focusin", (e) => {
      const g = e.target.closest ? e.target.closest("g.unit") : null;
      if (g) setRover({ layer: Number(g.dataset.layer), unit: Number(g.dataset.unit) }, false);
    });
    // past the header and the diagram to the derivation: the Paths tab, opened, with the focus
    // (by hand: a link's own jump cannot reach into a widget's shadow root)
    $("skip-link").addEventListener("click", (e) => {
      e.preventDefault();
      openTab(ROOT.getElementById("tabbtn-paths"));
      $("tab-paths").focus();
    });
    keepClicksAcrossRedraws($("views-box"), "li.term", (item) => item.dataset.testid);
    $("bug-select").addEventListener("change", () => guarded(refreshBug));
    $("btn-step").addEventListener("click", () => setPhase(S.phase + 1));
    $("btn-back").addEventListener("click", () => setPhase(S.phase - 1));
    // Back to the inputs. A model that lives outside the explorer (liveModel) may have been
    // trained since it was read: while the view shows it as read, it is read again; a network
    // of the view's own (edited, loaded or trained here on purpose) is kept, as on the page,
    // where it is the only copy ("Reload model" drops it for the model); an edit still on its
    // way to the kernel counts as shown (latestFromModel). Before the first network, nothing.
    $("btn-reset").addEventListener("click", () => (liveModel && S.net && latestFromModel() ? guarded(reloadModel) : setPhase(0)));
    $("btn-all").addEventListener("click", () => setPhase(Infinity));  // the last step: setPhase clamps
    // a tab list as ARIA's: the active tab aria-selected and the only one in the Tab order
    // (roving tabindex); Left/Right (Home/End) move to the next tab and open it
    const tabs = [...ROOT.querySelectorAll(".tabs button")];
    openTab = (b) => {
      for (const o of tabs) {
        o.classList.toggle("active", o === b);
        o.setAttribute("aria-selected", String(o === b));
        o.tabIndex = o === b ? 0 : -1;
      }
      ROOT.querySelectorAll(".tab").forEach((t) => { t.hidden = t.id !== `tab-${b.dataset.tab}`; });
      if (b.dataset.tab === "train") renderTraining();
      if (b.dataset.tab === "paths" && S.paths) renderStackedBar(S.paths);
    };
    tabs.forEach((b, k) => {
      b.addEventListener("click", () => openTab(b));
      b.addEventListener("keydown", (e) => {
        const to = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        const next = tabs[(to + tabs.length) % tabs.length];
        openTab(next);
        next.focus();
      });
    });
    let nudgeTimer = null;
    $("nudge").addEventListener("input", () => {
      $("nudge-eps").textContent = epsText();
      clearTimeout(nudgeTimer);
      nudgeTimer = setTimeout(() => guarded(refreshNudge), 40);
    });

    for (const id of ["edit-activation", "edit-output", "edit-loss"]) {
      $(id).addEventListener("change", () => guarded(async () => {
        requireLists("Edit", "/api/losses", "/api/units");  // the form reads all three selects
        if (S.fetching && !(await afterFetch())) return;  // made on the network on its way
        const base = latestNetwork();
        const next = structuredClone(base);
        next.activation = $("edit-activation").value;
        next.output = $("edit-output").value;
        next.loss = $("edit-loss").value;
        if (next.activation !== base.activation || next.output !== base.output) {
          refuseStructure(base, id === "edit-activation" ? "hidden units" : "top units");
        }
        let note = "";
        // a loss that applies its own unit (the cross-entropies) is defined for that top unit only
        const needs = lossNeeds(next.loss).top_units;
        if (needs && next.output !== needs) {
          if (id === "edit-loss") {  // the loss chosen: its top units follow
            note = `The ${next.loss} loss needs ${needs} top units: the top units changed from ${next.output} to ${needs}.`;
            next.output = needs;
          } else {  // the top units chosen: a loss that cannot read them gives way, saying so
            const other = lossFor(next.output);
            note = `The ${next.loss} loss needs ${needs} top units, not ${next.output}: the loss changed to ${other}.`;
            next.loss = other;
          }
        }
        if (next.loss !== base.loss) {  // the new loss's own reduction and options
          delete next.reduction;
          delete next.loss_options;
        }
        if (next.output !== base.output) refuseStructure(base, "loss");  // its top units would change
        if (lossNeeds(next.loss).targets_in_unit_interval && next.target.some((t) => t < 0 || t > 1)) {
          next.target = next.target.map((t) => Math.min(1, Math.max(0, t)));
          note += `${note ? " " : ""}The ${next.loss} loss needs targets in [0, 1]: the targets were clipped to it.`;
        }
        await setNetwork(next);
        if (S.net === next) showEditNote(note);
      }));
    }
    $("btn-new").addEventListener("click", () => guarded(async () => {
      requireLists("New weights", "/api/losses", "/api/units");
      refuseStructure(latestNetwork(), "New weights for these sizes");
      const sizes = readSizes($("edit-sizes").value, "layer sizes");
      const base = latestNetwork();
      const body = {
        sizes, activation: $("edit-activation").value, output: $("edit-output").value,
        loss: $("edit-loss").value, seed: Math.floor(Math.random() * 1e6),
      };
      if (body.loss === base.loss) {  // the same loss: its reduction and options too
        if (base.reduction != null) body.reduction = base.reduction;
        if (base.loss_options != null) body.loss_options = base.loss_options;
      }
      await fetchNetwork(() => api("/api/network/new", body), { resetPhase: true, keepSelection: false });
    }));
    $("btn-seed").addEventListener("click", () => guarded(reloadModel));

    $("train-dataset").addEventListener("change", fillTrainDefaults);
    $("btn-train-start").addEventListener("click", () => guarded(async () => {
      requireLists("Start training", "/api/datasets", "/api/optimizers");
      S.train.playing = false;
      S.selected = null;
      const gen = S.train.gen;
      const state = await api("/api/train/start", trainBody());
      S.train.shownStep = null;  // a step the diagram shows now is the previous run's
      await showTrainState(state, gen);
    }));
    $("btn-train-step").addEventListener("click", () => guarded(trainStep));
    $("btn-train-play").addEventListener("click", () => {
      S.train.playing = true;
      renderTraining();
      guarded(playLoop);
    });
    $("btn-train-pause").addEventListener("click", () => { S.train.playing = false; renderTraining(); });

    const exportAs = (format) => guarded(async () => {
      const focus = S.selected ? { layer: S.selected.layer, unit: S.selected.unit } : {};
      const net = shownNetwork();
      const exported = await api("/api/export", { network: net, format, ...focus });
      if (S.net !== net) return;  // the network changed meanwhile: this text is not its
      S.exported = exported;
      $("export-text").value = S.exported.text;
      $("btn-export-download").disabled = false;
    });
    $("btn-export-md").addEventListener("click", () => exportAs("markdown"));
    $("btn-export-tex").addEventListener("click", () => exportAs("latex"));
    $("btn-export-download").addEventListener("click", () => {
      if (!S.exported) return;
      const md = S.exported.format === "markdown";
      download(md ? "derivation.md" : "derivation.tex", S.exported.text, md ? "text/markdown" : "application/x-tex");
    });
    $("btn-gradcheck").addEventListener("click", () => guarded(async () => {
      const net = shownNetwork();
      const r = await api("/api/gradcheck", { network: net });
      if (S.net !== net) return;  // the network changed meanwhile: this check is not of it
      const notes = r.notes || [];
      const box = $("gradcheck-result");
      // ok null: none disagrees, but each agrees only within the tolerance of 0, which proves nothing
      const mark = (code) => `<span aria-hidden="true">${code}</span>`;  // the words say it
      const verdict = r.ok === null ? `${mark("&#x2753;")} inconclusive, no pass` : r.ok ? `${mark("&#x2714;")} passed` : `${mark("&#x2718;")} FAILED (${r.failed} disagree)`;
      const nearZero = r.ok === null
        ? ` All ${r.checked} of them agree only within the tolerance of 0: the check says only that the derivatives are small against its tolerance, not that their rules are right (an engine value of 0 would pass too).`
        : r.near_zero ? ` ${r.near_zero} of them agree within the tolerance of 0: for those the check says only that the derivative is small.` : "";
      box.innerHTML = `${verdict}: ${r.checked} derivatives against central differences
        (&epsilon; = ${numberHTML(String(r.eps))}${notes.length ? ", the base step: smaller where a note below says so" : ""}); largest difference <code>${numberHTML(fmt(r.max_abs_error, 3))}</code> (relative <code>${numberHTML(fmt(r.max_rel_error, 3))}</code>)${r.where ? `; furthest outside its tolerance: ${r.where}` : ""}.${nearZero}`;
      // the explainer's own notes on its steps (a smaller step for large weights or y's), as text
      for (const note of notes) {
        const line = document.createElement("p");
        line.className = "gradcheck-note";
        line.textContent = note;
        box.appendChild(line);
      }
    }));
    $("btn-save").addEventListener("click", () => download("network.json", JSON.stringify(S.net, null, 1), "application/json"));
    $("btn-load").addEventListener("click", () => $("load-file").click());  // the file chooser
    $("load-file").addEventListener("change", (event) => guarded(async () => {
      const file = event.target.files[0];
      event.target.value = "";
      if (!file) return;
      if (file.size > 1048576) throw new ApiError(`${file.name}: over 1 MiB, not a network file`);
      const overflows = [];  // the text of each number JSON.parse read as +-Infinity, in order
      const keep = (key, value, context) => {
        if (typeof value === "number" && !Number.isFinite(value)) overflows.push(context && context.source);
        return value;
      };
      let net;
      try { net = JSON.parse(await file.text(), keep); } catch (error) { throw new ApiError(`${file.name}: not JSON (${error.message})`); }
      const where = nonFinite(net);
      if (where !== null) {  // JSON.stringify would send it as null: "no weight here", or another refusal
        const text = overflows[0] || "it";  // the number as written, where the browser says
        throw new ApiError(`${file.name}: ${where || "the file"} is not a finite number (${text} overflows); nothing was loaded`);
      }
      dropFetch();  // the file is newer than a network still on its way from the server
      try {
        await setNetwork(net, { resetPhase: true, keepSelection: false });
      } catch (error) {  // the server's refusal names a place in the file, this names the file
        if (error instanceof ApiError) throw new ApiError(`${file.name}: ${error.message}`);
        throw error;
      }
    }));
  }

  /* ---------------------------------------------------------------- start */

  if (liveModel) {  // the button reads the model again: say so, and what Reset does with it
    $("btn-seed").textContent = "Reload model";
    $("btn-seed").title = "Read the model again as it is now (trained or edited since), dropping the changes made here";
    $("btn-reset").title = "Back to the inputs, on the model as it is now (a network edited or trained here is kept)";
  } else if (onModel) {  // serve --model: the model as the server read it, which never changes
    $("btn-seed").textContent = "Reload model";
    $("btn-seed").title = "Back to the model this page was started on (chainrule serve --model), from the inputs, dropping what was edited, loaded or trained here";
    $("btn-reset").title = "Back to the inputs, on the network shown (what was edited, loaded or trained here is kept; Reload model returns to the model)";
  }
  wire();
  // A widget on a model: its host says, with a reply of the kernel's, whether the model changed
  // since this view read it (a "chainrule-model-changed" event, detail true or false), in a note
  // (chainrule.notebook.explorer: the kernel compares as it answers)
  if (liveModel) {
    host.addEventListener("chainrule-model-changed", ({ detail }) => {
      const note = $("model-changed");
      if (!note) return;
      // said as the reply comes, before the network it answers shows: the latest one decides
      const how = latestFromModel() || !S.net ? "Reset" : "Reload model (on the Edit tab)";
      note.textContent = detail ? `The model has changed since this view read it: ${how} shows it now.` : "";
      note.hidden = !detail;
    });
  }
  // Drawn again when the diagram's box changes size, not only the window: in a notebook the
  // widget's column narrows (a side panel opens) and its corner is dragged with no window
  // resizing. The observer's first report is the box as it is first drawn: nothing to redraw.
  // The loss curve's canvas too (a phone turned sideways: its curve was stretched from the old
  // width), drawn again at once in the same element (a canvas has nothing to press, so no click
  // is lost as with a redrawn unit: keepClicksAcrossRedraws), with the gradient norms beside it.
  let resizeTimer = null, boxSize = null, curveWidth = null;
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      if (entry.target === $("loss-curve")) {
        const width = entry.contentRect.width;
        if (curveWidth !== null && width !== curveWidth) redrawTrainingPictures();
        curveWidth = width;
        continue;
      }
      const size = `${entry.contentRect.width}x${entry.contentRect.height}`;
      if (boxSize !== null && size !== boxSize) {
        clearTimeout(resizeTimer);
        resizeTimer = setTimeout(render, 80);
      }
      boxSize = size;
    }
  });
  resized.observe($("diagram-wrap"));
  resized.observe($("loss-curve"));
  const ready = (async () => {
    await guarded(async () => {
      // the form's lists before the network (the form shows its units and loss); a list that
      // cannot be loaded holds back only what needs it, never the network
      await Promise.all(LISTS.map(loadList));
      let failure = null;
      try {
        const seed = await api("/api/seed").catch((error) => {
          throw new ApiError(`The page could not load the network (/api/seed: ${reasonOf(error)}).`);
        });
        await setNetwork(seed, { fromModel: true });
        if (resume) await resumeRun();
      } catch (error) {
        failure = error;
        if (!(error instanceof ApiError)) console.error(error);
      }
      // both said: what kept the network away, and which lists are missing
      const text = [failure && errorText(failure), missingText()].filter(Boolean).join(" ");
      if (text) throw new ApiError(text);
    });
    renderTraining();
    // a widget's "waiting for the kernel" line: the kernel answered (the network, or why not);
    // a refusal for want of the network, clicked meanwhile, is out of date once it shows
    if ($("kernel-wait")) $("kernel-wait").hidden = true;
    if (S.net && $("message").textContent === NOT_LOADED) showMessage("");
    host.dataset.ready = "true";
  })();
  return { S, ready, dispose: () => { resized.disconnect(); clearTimeout(resizeTimer); clearTimeout(announced.timer); } };
}

/** Whether this module's host shows a model that lives outside the explorer (createExplorer's
 *  liveModel): a notebook widget made on a user's model, whose module begins by saying so
 *  (chainrule.notebook.explorer.front_end); the page's model is its own. */
const LIVE_MODEL = typeof CHAINRULE_LIVE_MODEL !== "undefined" && CHAINRULE_LIVE_MODEL === true;

/** Start the explorer in `root`, asking `ask(path, body)` (see createExplorer). The page's
 *  server says in the page it sends whether it was started on a model (`chainrule serve
 *  --model`: <body data-opened-on="model">, chainrule.web.app); a widget's module says so in
 *  LIVE_MODEL. */
function mount(root = document, ask = httpTransport, host = document.body) {
  const onModel = LIVE_MODEL || host.dataset.openedOn === "model";
  const resume = typeof CHAINRULE_WIDGET === "undefined";  // the page's session, not a view's
  return createExplorer(root, ask, host, { onModel, liveModel: LIVE_MODEL, resume });
}

// The page: one explorer on the document, over HTTP; its state is `S` (for a console's look).
const PAGE = typeof CHAINRULE_WIDGET === "undefined" ? mount() : null;
const S = PAGE ? PAGE.S : null;
