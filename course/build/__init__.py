"""Build what students get: the editions' notebooks, the release, the assignment package."""
