"""Results: a run's comparisons, records streamed to results files, known mismatches, reports, the
upgrade check (`baseline`) and shard merging: the last stage, which imports the others, never the reverse.
"""
