"""
Benchmarks of django-activity-feeds: ``python -m bench --scale small|full``.

Each case is measured against a reference run in the same process, on the
same data: the store's own limit (hand-written SQL, raw Redis commands) and
django-activity-stream's ``user_stream``. See BENCHMARKS.md.
"""
