"""Pictures of networks and training: curves, computation graphs, unit diagrams.

Each module is imported on its own (matplotlib and graphviz load only when used).
"""
