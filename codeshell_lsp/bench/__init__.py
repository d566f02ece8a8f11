"""Benchmarks: latency (keystroke replay through the real server) and quality (HumanEval infilling)."""
