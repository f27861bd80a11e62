"""Closed-loop runtime: observation history → chunk predictor → action buffer → safety controller.

See docs/runtime.md for the buffer semantics, the timing diagram, the limits and take-over.
"""
