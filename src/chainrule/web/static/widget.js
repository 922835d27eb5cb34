/* The explorer as a notebook widget (anywidget): the notebook host of app.js. Python joins
   `const CHAINRULE_WIDGET = true;`, app.js and this file into one ES module, so the page and the
   widget run the same front end; only the transport and the root differ. The widget asks the
   kernel instead of a server: each API request is a custom message {id, path, body}, and the
   kernel answers {id, ok, data} or {id, ok: false, error} (chainrule.notebook.explorer). Each view
   of a widget (render() runs once per view) has its own explorer: state, markup and requests,
   and its own training run in the kernel, kept under the view's part of the request ids. */

/** Views of this module so far: each view's requests carry its own number, "view:request". */
let views = 0;

/** One view's transport: its requests are numbered "v:n" with this view's own v, and it takes
 *  only the replies to those. anywidget hands every reply of the model to every view's listener
 *  (all views of one model share it), so a view must not take another's reply as its own.
 *  A reply's `model_changed` (a widget on a model: whether the model changed since this view
 *  read it) goes to app.js's note as a "chainrule-model-changed" event on `host`.
 *  Returns {ask, close}: close stops listening when the view goes. */
function kernelTransport(model, host) {
  const view = `${++views}.${Math.random().toString(36).slice(2, 8)}`;  // unique across loads too
  let next = 0;
  const waiting = new Map();
  const listener = (msg) => {
    const request = msg && waiting.get(msg.id);
    if (!request) return;  // another view's reply, or one to a request this view no longer has
    waiting.delete(msg.id);
    if (typeof msg.model_changed === "boolean") {
      host.dispatchEvent(new CustomEvent("chainrule-model-changed", { detail: msg.model_changed }));
    }
    if (msg.ok) request.resolve(msg.data);
    else request.reject(new ApiError(msg.error));
  };
  model.on("msg:custom", listener);
  const ask = (path, body) => new Promise((resolve, reject) => {
    const id = `${view}:${++next}`;
    waiting.set(id, { resolve, reject });
    model.send({ id, path, body: body === undefined ? null : body });
  });
  const close = () => { if (model.off) model.off("msg:custom", listener); waiting.clear(); };
  return { ask, close };
}

/** The page's headings one level down: its title is an h2 here (a heading of the notebook's
 *  page, which has its own h1), so the panel's sections (the page's h2) are h3 and the three
 *  views (h3) h4, never a second h2 beside the title nor a level skipped. Each keeps its
 *  attributes and content (the stylesheet styles them by class, whatever their level). */
function sectionsUnderTheTitle(root) {
  for (const heading of root.querySelectorAll("main h2, main h3, main h4, main h5")) {
    const lower = document.createElement(`h${Number(heading.tagName[1]) + 1}`);
    for (const { name, value } of heading.attributes) lower.setAttribute(name, value);
    lower.append(...heading.childNodes);
    heading.replaceWith(lower);
  }
}

export default {
  render({ model, el }) {
    // A shadow root keeps the page's stylesheet and the notebook's apart, both ways.
    const shadow = el.attachShadow({ mode: "open" });
    shadow.innerHTML = `<style>${model.get("_style")}</style>` +
      // a region of the notebook's page, named, in the page's language
      `<div class="chainrule-explorer" role="region" aria-label="chainrule explorer" lang="en">` +
      `${model.get("_markup")}</div>`;
    sectionsUnderTheTitle(shadow);
    // one explorer per view (anywidget calls render once per view): its own state and requests
    const transport = kernelTransport(model, el);
    const explorer = mount(shadow, transport.ask, el);
    return () => { transport.close(); explorer.dispose(); };  // anywidget calls it as the view goes
  },
};
