"""The assignment itself: the notebook, its helpers and data, its public tests, the mistakes they catch."""
