"""Lintas's sandbox: a seeded synthetic Kota Malang (synth/), stand-ins of the agencies' services (standins/) and
the demo scenario (demo.py). Development and test tooling: it depends on `lintas`, never the other way round, and
the deployable image does not carry it."""
