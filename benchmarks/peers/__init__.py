"""Peer implementations that have no library of their own: the hand-written NumPy backprop."""
