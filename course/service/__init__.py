"""The grading service: each submission to nbgrader's exchange graded as it arrives."""

# The command line's defaults, here so that reading them imports nothing of the service
DEFAULT_ATTEMPTS_PER_DAY = 5
POLL_SECONDS = 2.0
