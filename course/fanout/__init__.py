"""Grade many: the one grader the commands share, on local workers or a Dask cluster."""
