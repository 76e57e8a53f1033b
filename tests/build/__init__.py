"""course/build/: the editions, the release, the package every worker gets, the sample class, the install."""
