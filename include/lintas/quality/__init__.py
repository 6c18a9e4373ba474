"""Quality gates: Great Expectations suites that decide whether a batch may go on."""
