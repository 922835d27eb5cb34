"""How long the explorer page takes on the largest network it allows (MAX_LAYERS layers of 64
units, as many as MAX_WEIGHTS allows): the actions of
``tests/web/test_web_browser.py::test_largest_network_labels_do_not_overlap``, timed.

    python benchmarks/page_large_network.py                        # this checkout's page
    python benchmarks/page_large_network.py --old /tmp/other-clone # and another's, taking turns
    python benchmarks/page_large_network.py --rounds 3 --profile   # and where the time goes

Not a test. The server runs in this process on this checkout's API (as the tests start it,
``tests/web/served.py``); the page's own files (index.html, app.js, style.css) come from this
checkout's ``src/chainrule/web/static`` or, for ``--old DIR``, from DIR's (a checkout's root or
its static folder), routed by Playwright, so both pages ask the same server. Debian's chromium,
headless, as the tests launch it. Each action is timed from before Playwright's click to the
first frame after what it shows is there (its units drawn, the paths table filled): the wait a
person has. With ``--profile`` a CPU profile (Chrome DevTools Protocol) of each action prints
its heaviest functions by self time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests" / "web"))  # served.py: uvicorn in a thread
sys.path.insert(0, str(REPO / "tests"))

from chainrule.web import create_app  # noqa: E402
from chainrule.web.schemas import MAX_LAYERS  # noqa: E402

#: Units per layer: 64, the widest that MAX_LAYERS layers allow (MAX_WEIGHTS connections).
WIDTH = 64
#: The first frame after the page's work is done (a task after the next animation frame).
NEXT_FRAME = "() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))"


def _actions(width: int):
    """(name, do(page)) for each action timed, in order: the test's."""
    sizes = ",".join([str(width)] * MAX_LAYERS)
    units = width * MAX_LAYERS

    def new(page):
        page.fill("#edit-sizes", sizes)
        page.click("#btn-new")
        page.wait_for_function(f"document.querySelectorAll('g.unit').length === {units}")

    def run_all(page):
        page.click("#btn-all")
        page.wait_for_function("document.querySelector('#btn-step').disabled")

    def unit(page):
        page.click("g.unit[data-layer='3'][data-unit='5']")
        page.wait_for_selector("#paths-box:not([hidden])")
        page.wait_for_function(
            f"document.querySelectorAll('#paths-table tbody tr').length === {width}"
        )

    def seed(page):
        page.click("#btn-seed")
        page.wait_for_function("document.querySelectorAll('g.unit').length === 7")

    return [
        ("New 64 x 8", new),
        ("Run all", run_all),
        ("Paths tab", lambda page: page.click(".tabs button[data-tab=paths]")),
        ("click a unit", unit),
        ("Edit tab", lambda page: page.click(".tabs button[data-tab=edit]")),
        ("Seed network", seed),
    ]


def _route_static(page, static: Path) -> None:
    """Answer the page and its files from ``static`` instead of the server's."""

    def answer(route):
        name = route.request.url.split("?")[0].rsplit("/", 1)[-1] or "index.html"
        path = static / name
        if not path.is_file():
            return route.continue_()
        kinds = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
        route.fulfill(body=path.read_bytes(), content_type=kinds.get(path.suffix, "text/plain"))

    page.route(lambda url: url.endswith("/") or "/static/" in url, answer)


def _profile_top(profile: dict, n: int = 8) -> list[tuple[float, str]]:
    """The ``n`` functions with the most self time (ms) in a CDP Profiler profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    self_us: dict[int, float] = {}
    deltas = profile.get("timeDeltas", [])
    for sample, delta in zip(profile.get("samples", []), deltas[1:] + [0]):
        self_us[sample] = self_us.get(sample, 0.0) + delta
    by_name: dict[str, float] = {}
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        where = f"{name} {Path(frame['url']).name}:{frame['lineNumber'] + 1}"
        by_name[where] = by_name.get(where, 0.0) + us / 1000
    return sorted(((ms, name) for name, ms in by_name.items()), reverse=True)[:n]


def _one_round(
    browser, url: str, static: Path | None, width: int, profile: bool
) -> dict[str, float]:
    """Seconds of each action on one fresh page."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        if static is not None:
            _route_static(page, static)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.click(".tabs button[data-tab=edit]")
        cdp = context.new_cdp_session(page) if profile else None
        if cdp:
            cdp.send("Profiler.enable")
        times = {}
        for name, do in _actions(width):
            if cdp:
                cdp.send("Profiler.start")
            start = time.perf_counter()
            do(page)
            page.evaluate(NEXT_FRAME)
            times[name] = time.perf_counter() - start
            if cdp:
                top = _profile_top(cdp.send("Profiler.stop")["profile"])
                print(f"  {name}: {times[name]:.2f} s; self time, ms:")
                for ms, where in top:
                    print(f"    {ms:8.1f}  {where}")
        if errors:
            raise SystemExit(f"the page reported errors: {errors}")
        return times
    finally:
        context.close()


def _static_of(directory: str) -> Path:
    """The static folder of ``directory``: a checkout's root or the folder itself."""
    path = Path(directory)
    for candidate in (path / "src" / "chainrule" / "web" / "static", path):
        if (candidate / "app.js").is_file():
            return candidate
    raise SystemExit(f"{directory}: no app.js there nor in its src/chainrule/web/static")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", help="another checkout (or static folder) whose page to time too")
    parser.add_argument("--rounds", type=int, default=3, help="fresh pages per version (default 3)")
    parser.add_argument("--width", type=int, default=WIDTH, help="units per layer (default 64)")
    parser.add_argument(
        "--profile", action="store_true", help="print each action's heaviest functions"
    )
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from served import serve

    from conftest import CHROMIUM, CHROMIUM_ARGS

    versions = {"new": None}
    if args.old:
        versions = {"old": _static_of(args.old), "new": None}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in versions}
    url, stop = serve(create_app())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for k in range(args.rounds):
                    order = list(versions) if k % 2 == 0 else list(reversed(versions))
                    for name in order:
                        if args.profile:
                            print(f"round {k + 1}, {name}:")
                        results[name].append(
                            _one_round(browser, url, versions[name], args.width, args.profile)
                        )
            finally:
                browser.close()
    finally:
        stop()

    actions = [name for name, _ in _actions(args.width)]
    names = list(versions)
    header = f"{'action':<16}" + "".join(f"{name + ' s':>10}" for name in names)
    if "old" in versions:
        header += f"{'new/old':>10}"
    print(f"median of {args.rounds} rounds, seconds; {args.width} units x {MAX_LAYERS} layers")
    print(header)
    for action in actions + ["total"]:
        row = f"{action:<16}"
        medians = {}
        for name in names:
            values = [sum(r.values()) if action == "total" else r[action] for r in results[name]]
            medians[name] = statistics.median(values)
            row += f"{medians[name]:>10.2f}"
        if "old" in versions:
            row += f"{medians['new'] / medians['old']:>10.2f}"
        print(row)


if __name__ == "__main__":
    main()
