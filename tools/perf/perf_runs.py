"""The runs of perf.sh results files: one JSON object per line, other lines skipped.

Shared by tools/perf/perf_table.py and tools/perf/perf_chart.py.
"""
import json


def runs(paths):
    """Every JSON run in the files `paths`, in order."""
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    yield json.loads(line)
