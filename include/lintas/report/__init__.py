"""Reports for people who do not run the pipeline: the auditors' static HTML run report."""
