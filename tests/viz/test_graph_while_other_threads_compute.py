"""A drawing of a graph reads the cache of shared number constants while other threads' ops add
to it: a notebook's drawing beside a training thread failed now and then with "dictionary
changed size during iteration" (39 of 2,000 drawings in a QA run)."""

from __future__ import annotations

import random
import sys
import threading

import numpy as np

import chainrule as cr
from chainrule.ops import shape


def test_shared_constants_are_read_while_another_thread_adds_numbers():
    x = cr.tensor(np.ones(3))
    stop = threading.Event()

    filling = threading.Event()

    def new_numbers() -> None:  # each product makes a new 0-d constant in the cache
        rng = random.Random(0)
        for _ in range(500):  # a cache long enough that a read takes a while
            x * rng.random()
        filling.set()
        while not stop.is_set():
            x * rng.random()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: the old code failed ~2% of reads here
    worker = threading.Thread(target=new_numbers)
    worker.start()
    try:
        filling.wait()
        for _ in range(3000):
            shape.shared_constants()
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(interval)
