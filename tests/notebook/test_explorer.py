"""The explorer widget, ``cr.explorer(model, (x, t))``, in three layers.

1. Its Python model: the widget's state (the page's own script, markup and style) and the
   messages it answers, checked against the library's own derivation.
2. A real kernel (nbclient): the widget displays as a Jupyter widget and answers there.
3. Its JavaScript in Debian's chromium (Playwright): the module is loaded the way anywidget
   loads it, on a stand-in for anywidget's model whose messages go to the Python side; a click
   on a hidden unit shows the same terms w_ij dE/dz_j as the library computes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from widget_page import widget_page  # noqa: E402

import chainrule as cr
from chainrule.errors import UserError
from chainrule.notebook.explorer import Explorer, start_network

pytest.importorskip("anywidget", reason="the [notebook] extra is not installed")
pytest.importorskip("starlette", reason="the [app] extra is not installed")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def case():
    """A small trained-looking network of the user's, and one case."""
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=1)
    x, t = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])
    return net, x, t, cr.nn.SquaredError()


def library_terms(net, x, t, loss, layer, unit):
    d = cr.explain(net, x[None], t[None], loss)
    return d.terms(layer, unit), d.dE_dy(layer, unit).value


# -- 1. the Python model -------------------------------------------------------------------------


def test_widget_state_is_the_pages_own_front_end(case):
    w = cr.explorer(*case[:1], case[1:3], case[3])
    app_js = (ROOT / "src/chainrule/web/static/app.js").read_text()
    assert app_js in w._esm  # the page's script itself, not a copy of its logic
    assert "export default" in w._esm and w._esm.startswith("const CHAINRULE_WIDGET = true;")
    assert 'id="diagram"' in w._markup and 'id="paths-table"' in w._markup
    assert "<script" not in w._markup
    assert w._style.strip()


def test_it_opens_on_the_users_network_and_case(case):
    net, x, t, loss = case
    start = cr.explorer(net, (x, t), loss).explorer.answer({"id": 1, "path": "/api/seed"})
    assert start["ok"] and start["id"] == 1
    network = start["data"]
    assert network["sizes"] == [3, 4, 2]
    np.testing.assert_allclose(network["weights"][0], net[0].weight.numpy())
    np.testing.assert_allclose(network["input"], x)
    np.testing.assert_allclose(network["target"], t)
    seed = cr.explorer().explorer.answer({"id": 2, "path": "/api/seed"})["data"]
    assert seed["sizes"] == [2, 2, 3]  # no model: the lecture's seed network


def test_a_view_opened_after_the_model_changed_shows_it_as_it_is_then():
    """A widget made, then the model trained and a weight set by hand: a view opened (or
    reset) after showed the weights and E of when the widget was made."""
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=1)
    x, t, loss = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0]), cr.nn.SquaredError()
    host = cr.explorer(net, (x, t), loss).explorer
    before = host.answer({"id": "a:1", "path": "/api/seed"})["data"]
    optimizer = cr.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        loss(net(x[None]), t[None]).backward()
        optimizer.step()
    net[0].weight.data[0, 0] = 3.0
    after = host.answer({"id": "b:1", "path": "/api/seed"})["data"]  # a second view opens
    assert before["weights"][0][0][0] != 3.0
    np.testing.assert_array_equal(after["weights"][0], net[0].weight.numpy())
    np.testing.assert_array_equal(after["weights"][1], net[2].weight.numpy())
    shown = host.answer({"id": "b:2", "path": "/api/backward", "body": {"network": after}})
    assert shown["data"]["E"] == pytest.approx(loss(net(x[None]), t[None]).item(), rel=1e-12)


def test_a_model_broken_since_the_widget_was_made_is_said_so_not_called_a_bug():
    net = cr.nn.mlp([3, 4, 2], output="logistic", dtype="float64", rng=1)
    x, t = np.array([0.2, -0.7, 1.1]), np.array([1.0, 0.0])
    host = cr.explorer(net, (x, t), cr.nn.SquaredError()).explorer
    # the first view shows the snapshot taken when the explorer was made (s66): a later one
    # reads the model as it is
    assert host.answer({"id": "a:1", "path": "/api/seed"})["ok"]
    net[0].weight.data = np.ones((3, 5))  # no longer 3 -> 4
    reply = host.answer({"id": "a:2", "path": "/api/seed"})
    assert not reply["ok"] and "no longer reads as the network" in reply["error"]
    assert "a bug in chainrule" not in reply["error"]


def test_a_batch_is_refused_up_front_and_one_case_of_it_opens(case):
    """A 2-case X was flattened into one 6-long input for a 3-input net; every request then
    failed. The explorer shows one case: a batch is refused, a row of it opens."""
    net, x, t, loss = case
    X, T = np.stack([x, x[::-1]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(UserError, match=r"one case, but x has 2 rows.*X\[0\], T\[0\]"):
        start_network(net, (X, T), loss)
    network = start_network(net, (X[1], T[1]), loss)
    request = {"id": 1, "path": "/api/backward", "body": {"network": network}}
    reply = Explorer(network).answer(request)
    E = loss(net(cr.tensor(X[1:])), T[1:])
    assert reply["ok"] and reply["data"]["E"] == pytest.approx(E.item(), rel=1e-12)


def test_a_model_without_a_loss_asks_for_one(case):
    """The docstring promised 'the model's own' loss, which an nn.Sequential does not have;
    the error said 'explain: loss None is not known'."""
    net, x, t, _ = case
    with pytest.raises(UserError, match=r"explorer: give the loss.*nn.SquaredError\(\)"):
        start_network(net, (x, t))
    labels = cr.nn.mlp([3, 4, 2], dtype="float64", rng=1)  # logits, for cross-entropy
    network = start_network(labels, (x, 1), cr.nn.CrossEntropy())  # one case's class label
    assert network["target"] == [0.0, 1.0] and network["output"] == "softmax"


@pytest.mark.parametrize("case", [np.ones(3), (np.ones(3),), [np.ones(3), 1, 0], 3.0])
def test_a_case_that_is_not_a_pair_is_refused_in_one_line(case):
    """explorer(model, x, loss) without the (x, t) pair was 'ValueError: too many values to
    unpack (expected 2)'."""
    net = cr.nn.mlp([3, 4, 2], activation="tanh", output="logistic", dtype="float64", rng=0)
    shown = r"^explorer: the case is a pair \(x, t\), e.g. \(X\[0\], T\[0\]\); got \w+"
    with pytest.raises(UserError, match=shown):
        cr.explorer(net, case, "squared-error")


def test_a_model_the_page_cannot_show_is_refused_in_one_line_up_front():
    """Two Linear layers with no unit between them opened, and then every request failed with
    "invalid request: network.activation: Input should be 'logistic', 'tanh' or 'relu'"; the
    refusal says which units the page computes and what writes this model out instead."""
    net = cr.nn.Sequential(
        cr.nn.Linear(4, 3, dtype="float64", rng=0), cr.nn.Linear(3, 2, dtype="float64", rng=1)
    )
    shown = r"^explorer: the page's hidden units are logistic, tanh, relu, .*identity.*explain"
    with pytest.raises(UserError, match=shown) as refused:
        cr.explorer(net, (np.ones(4), np.array([1.0, 0.0])), cr.nn.SquaredError())
    assert "\n" not in str(refused.value)


def test_a_model_too_big_for_the_page_is_refused_as_serve_refuses_it():
    """A 784-256-10 model was refused with the request schema's "sizes.0: Input should be less
    than or equal to 128 (this model has 784)"; serve --model said what fits."""
    net = cr.nn.mlp([784, 256, 10], rng=0)
    shown = (
        r"^explorer: a 784-256-10 network is too big for the explorer, which shows at most "
        r"8 layers, 128 units in a layer and \d+ connections \(a 64-128-10 digits model fits\)$"
    )
    with pytest.raises(UserError, match=shown):
        cr.explorer(net, (np.zeros(784), 3), cr.nn.CrossEntropy())


def test_a_hidden_units_paths_are_the_librarys_terms(case):
    net, x, t, loss = case
    host = cr.explorer(net, (x, t), loss).explorer
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    reply = host.answer(
        {"id": 7, "path": "/api/paths", "body": {"network": network, "layer": 1, "unit": 2}}
    )
    assert reply["ok"] and reply["id"] == 7
    terms, dE_dy = library_terms(net, x, t, loss, 1, 2)
    shown = reply["data"]["terms"]
    assert [s["j"] for s in shown] == [term.j for term in terms]
    for s, term in zip(shown, terms):
        assert s["w_ij"] == pytest.approx(term.w, rel=1e-12)
        assert s["dE_dz_j"] == pytest.approx(term.dE_dz, rel=1e-9)
    assert reply["data"]["dE_dy"] == pytest.approx(dE_dy, rel=1e-9)
    json.dumps(reply, allow_nan=False)  # what travels to the front end is plain JSON


def test_bad_requests_get_the_apis_messages_and_change_nothing(case):
    host = cr.explorer().explorer
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    bad = host.answer({"id": 2, "path": "/api/paths", "body": {"network": network, "layer": "x"}})
    assert bad == {"id": 2, "ok": False, "error": bad["error"]}
    assert "layer" in bad["error"]
    assert "no API path" in host.answer({"id": 3, "path": "/api/nope"})["error"]
    assert "{id, path, body}" in host.answer("not a request")["error"]
    assert host.answer({"id": 4, "path": "/api/seed"})["data"] == network
    # as over HTTP (a 422): /api/seed with a body was answered as if it had none
    seeded = host.answer({"id": 5, "path": "/api/seed", "body": {"a": 1}})
    assert seeded == {"id": 5, "ok": False, "error": "/api/seed takes no request body"}


def test_a_nudge_by_zero_is_answered():
    """The page's nudge slider sends eps = 0 at its midpoint."""
    host = Explorer()
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    body = {"network": network, "layer": 1, "unit": 0, "eps": 0}
    reply = host.answer({"id": 2, "path": "/api/nudge", "body": body})
    assert reply["ok"], reply
    assert reply["data"]["measured"] == 0.0 and reply["data"]["predicted"] == 0.0


def test_an_unexpected_exception_is_an_error_reply_not_silence(monkeypatch):
    """A bug in a handler still answers the front end (the server would answer 500)."""
    host = Explorer()

    def broken(body, session):
        raise ZeroDivisionError("float division by zero")

    endpoint = dataclasses.replace(host._endpoints["/api/backward"], handler=broken)
    monkeypatch.setitem(host._endpoints, "/api/backward", endpoint)
    network = host.answer({"id": 1, "path": "/api/seed"})["data"]
    reply = host.answer({"id": 2, "path": "/api/backward", "body": {"network": network}})
    assert reply == {"id": 2, "ok": False, "error": reply["error"]}
    assert "/api/backward" in reply["error"] and "ZeroDivisionError" in reply["error"]
    json.dumps(reply, allow_nan=False)


def test_an_overflowed_result_is_the_apis_refusal_not_a_success():
    """The HTTP API refuses a result of inf (422, strict JSON); the widget answered it as ok, and
    through a kernel the page got E: null. The same request gets the same error from both."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient
    from chainrule.web import create_app

    layers = [cr.nn.Linear(1, 1, dtype=np.float32), cr.nn.ReLU()]
    layers += [cr.nn.Linear(1, 1, dtype=np.float32), cr.nn.ReLU()]  # not [...] * 2: one layer
    net = cr.nn.Sequential(*layers, cr.nn.Linear(1, 1, dtype=np.float32))
    for linear in (net[0], net[2], net[4]):
        linear.weight.data[...], linear.bias.data[...] = 1e6, 0.0
    host = cr.explorer(net, (np.array([1e6]), np.array([0.0])), cr.nn.SquaredError()).explorer
    body = {"network": host.start}
    with np.errstate(over="ignore"):
        reply = host.answer({"id": 3, "path": "/api/backward", "body": body})
        client = TestClient(create_app(), base_url="http://127.0.0.1")
        response = client.post(
            "/api/backward", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert reply == {"id": 3, "ok": False, "error": response.json()["error"]}
    assert "not finite" in reply["error"]


@pytest.mark.parametrize("body", [[1], "{}", 3])
def test_a_body_that_is_not_an_object_gets_the_servers_message(body):
    """The widget answered "Input should be a valid dictionary or instance of NetworkRequest"
    (pydantic's Python mode, naming a class of ours); the server says the body is no object."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
        from starlette.testclient import TestClient
    from chainrule.web import create_app

    reply = cr.explorer().explorer.answer({"id": 2, "path": "/api/backward", "body": body})
    client = TestClient(create_app(), base_url="http://127.0.0.1")
    response = client.post(
        "/api/backward", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert reply == {"id": 2, "ok": False, "error": response.json()["error"]}
    assert "NetworkRequest" not in reply["error"]


def test_messages_travel_through_the_widget(case, monkeypatch):
    """What the front end sends arrives at the widget's message handler, and the reply is sent."""
    w = cr.explorer()
    sent = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append(content))
    w._handle_custom_msg({"id": 5, "path": "/api/datasets", "body": None}, [])
    assert len(sent) == 1 and sent[0]["id"] == 5 and sent[0]["ok"]
    assert "xor" in json.dumps(sent[0]["data"])


def test_each_widget_trains_its_own_run():
    one, two = cr.explorer().explorer, cr.explorer().explorer
    body = {"dataset": "xor", "hidden": [3], "optimizer": "sgd", "lr": 0.5, "batch_size": 4}
    started = one.answer({"id": 1, "path": "/api/train/start", "body": body})
    assert started["ok"], started
    stepped = one.answer({"id": 2, "path": "/api/train/step", "body": {"steps": 3}})
    assert stepped["ok"] and stepped["data"]["step"] == 3
    assert not two.answer({"id": 3, "path": "/api/train/state"})["ok"]  # the other has none


# -- 2. a real kernel ----------------------------------------------------------------------------


def test_in_a_kernel_it_displays_as_a_widget_and_answers():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    expected = cr.explain().dE_dy(1, 0).value
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import chainrule as cr\nw = cr.explorer()\nw"),
        nbformat.v4.new_code_cell(
            "net = w.explorer.answer({'id': 1, 'path': '/api/seed'})['data']\n"
            "r = w.explorer.answer({'id': 2, 'path': '/api/paths',\n"
            "                       'body': {'network': net, 'layer': 1, 'unit': 0}})\n"
            "print(repr(r['data']['dE_dy']))"
        ),
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *filter(None, [
        os.environ.get("PYTHONPATH")])]))  # fmt: skip
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute(env=env)
    shown = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert float(nb.cells[1].outputs[0]["text"]) == pytest.approx(expected, rel=1e-12)


# -- 3. its JavaScript in chromium ---------------------------------------------------------------


# anywidget's side, reduced to what the module uses: get, on("msg:custom"), send. The module is
# imported from a blob URL, as anywidget imports it, and rendered into a fresh element.
HARNESS = """
async ([esm, state]) => {
  const listeners = [];
  const model = {
    get: (name) => state[name],
    on: (event, callback) => { if (event === "msg:custom") listeners.push(callback); },
    send: (content) => window.chainruleKernel(JSON.stringify(content))
      .then((reply) => listeners.forEach((callback) => callback(JSON.parse(reply)))),
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  const el = document.createElement("div");
  el.id = "widget";
  document.body.appendChild(el);
  widget.render({ model, el });
}
"""


def test_in_chromium_clicking_a_hidden_unit_shows_the_librarys_terms(case, chromium):
    net, x, t, loss = case
    w = cr.explorer(net, (x, t), loss)
    terms, dE_dy = library_terms(net, x, t, loss, 1, 1)
    page, errors = widget_page(chromium, w, HARNESS, height=900)
    page.wait_for_selector("#widget[data-ready=true]")
    page.click("#btn-all")  # Playwright's selectors reach into the widget's shadow root
    page.click("g.unit[data-layer='1'][data-unit='1']")
    page.wait_for_selector("#paths-box:not([hidden])")
    rows = page.locator("#paths-table tbody tr")
    assert rows.count() == len(terms) == 2
    for k, term in enumerate(terms):
        cells = rows.nth(k).locator("td")
        w_ij, dE_dz, product = (
            float(cells.nth(c).inner_text().replace("\u2212", "-")) for c in range(3)
        )
        assert w_ij == pytest.approx(term.w, rel=1e-4, abs=1e-6)
        assert dE_dz == pytest.approx(term.dE_dz, rel=1e-4, abs=1e-9)
        assert product == pytest.approx(term.product, rel=1e-4, abs=1e-9)
    engine = float(page.inner_text("#paths-engine").replace("\u2212", "-"))
    assert engine == pytest.approx(dE_dy, rel=1e-4, abs=1e-9)
    # the three linked views work inside the shadow root too
    page.click("#views-box li[data-testid=view-graph-1]")
    for view in ("hinton", "matrix", "graph"):
        for j in range(len(terms)):
            item = page.locator(f"#views-box li[data-testid=view-{view}-{j}]")
            assert float(item.get_attribute("data-value")) == pytest.approx(
                terms[j].product, abs=1e-12
            )
            assert ("linked" in item.get_attribute("class").split()) == (j == 1)
    # the notebook's own styles are untouched: the page's stylesheet lives in the shadow root
    assert page.evaluate("document.head.querySelectorAll('style').length") == 0
    assert not errors, errors


def test_a_seed_reply_is_a_copy_a_caller_may_change():
    host = cr.explorer().explorer
    host.answer({"id": 1, "path": "/api/seed"})["data"]["weights"][0][0][0] = 99.0
    assert host.answer({"id": 2, "path": "/api/seed"})["data"]["weights"][0][0][0] != 99.0
