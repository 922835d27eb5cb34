"""chainrule's benchmark suite against its peers; run it with ``python benchmarks/run.py``."""
