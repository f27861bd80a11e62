"""Recorded (synthetic, byte-exact) teleop device streams for replay demos: ``--device replay:FILE``."""
