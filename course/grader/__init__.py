"""Grade one submission: bytes in; scores, the autograded notebook and its feedback page out."""
