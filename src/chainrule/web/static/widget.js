/* The explorer as a notebook widget (anywidget): the notebook host of app.js. Python joins
   `const CHAINRULE_WIDGET = true;`, app.js and this file into one ES module, so the page and the
   widget run the same front end; only the transport and the root differ. The widget asks the
   kernel instead of a server: each API request is a custom message {id, path, body}, and the
   kernel answers {id, ok, data} or {id, ok: false, error} (chainrule.notebook.explorer). */

function kernelTransport(model) {
  let next = 0;
  const waiting = new Map();
  model.on("msg:custom", (msg) => {
    const request = waiting.get(msg.id);
    if (!request) return;
    waiting.delete(msg.id);
    if (msg.ok) request.resolve(msg.data);
    else request.reject(new ApiError(msg.error));
  });
  return (path, body) => new Promise((resolve, reject) => {
    const id = ++next;
    waiting.set(id, { resolve, reject });
    model.send({ id, path, body: body === undefined ? null : body });
  });
}

export default {
  render({ model, el }) {
    // A shadow root keeps the page's stylesheet and the notebook's apart, both ways.
    const shadow = el.attachShadow({ mode: "open" });
    shadow.innerHTML = `<style>${model.get("_style")}</style>` +
      `<div class="chainrule-explorer">${model.get("_markup")}</div>`;
    mount(shadow, kernelTransport(model), el);
  },
};
