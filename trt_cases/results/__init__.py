"""Results: a run's comparisons, records streamed to results files, known mismatches, the upgrade check
(`baseline`) and shard merging. Reports (`report/`) and bug-report bundles (`export/`) come after it in the flow.
"""
