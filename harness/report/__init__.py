"""Reports of a run: summary.json, the console table, and the single-file HTML report."""
