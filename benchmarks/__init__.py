"""Scripts that print timings; run each from the checkout: .venv/bin/python -m benchmarks.<name>."""
