"""Stand-ins for the outside agencies, speaking their real protocols.

Used by the tests and the demo to exercise the extract clients end to end; never used by the pipeline itself.
"""
