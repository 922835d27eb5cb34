"""Workload 7: the explainer on a 784-100-10 logistic network, one case.

Times ``cr.explain`` (forward, backward, every per-unit record) and then every term w_ij dE/dz_j
of dE/dy_i for all 100 hidden units (the lecture's sum over j, unit by unit), first without the
finite-difference checks and then with them (``check=True``, the default, capped by
``max_checks``); then with the checks on a float32 batch (``cases``, ``dtype``) and its JSON
document (``to_json``), which a finite difference per case and a tolerance per weight made slow
(a 784-256-10 float32 model: 150 s for 600 cases, 52 s for the JSON of one). Its 100 cases'
JSON is 1.04 GB, nearly all of it 7.84 million terms of the sums over j: 37 s of CPU when each
was an object and each of its numbers formatted where it stood, 12.7 s written as text with each
w_ij and dE/dz_j formatted once (docs/profile.md, "Workload 7c"). chainrule only: no peer has an
explainer.
"""

from __future__ import annotations

import time

import numpy as np

SIZES = [784, 100, 10]


def measure(
    reps: int,
    check: bool,
    max_checks: int = 20_000,
    cases: int = 1,
    dtype: str = "float64",
    to_json: bool = False,
) -> dict:
    """Seconds to explain ``cases`` cases and walk every hidden unit's terms (and with
    ``to_json``, to write the JSON document)."""
    import chainrule as cr

    cr.backend.keep_freed_memory()  # as the CLI and Trainer.fit do (not done by the import)

    try:
        explain = cr.explain
        model = cr.nn.mlp(SIZES, activation="logistic", output="logistic", dtype=dtype, rng=0)
    except (ImportError, AttributeError) as error:
        return {"status": "skipped", "reason": f"chainrule.explainer unavailable ({error})"}
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (cases, SIZES[0]))
    t = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], cases)]
    times, cpu_times, n_terms = [], [], 0
    for _ in range(reps):
        cpu0 = time.process_time()
        start = time.perf_counter()
        derivation = explain(
            model,
            x,
            t,
            loss="squared-error",
            check=check,
            perturbation=False,
            max_checks=max_checks,
        )
        n_terms = sum(len(derivation.terms(1, unit)) for unit in range(SIZES[1]))
        if to_json:
            from chainrule.explainer.serialize import to_json as document

            document(derivation)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu0)
    return {"times": times, "cpu_times": cpu_times, "terms": n_terms, "check": check,
            "cases": cases}  # fmt: skip
