"""course/fanout/: a whole class graded, on local workers or a Dask cluster."""
