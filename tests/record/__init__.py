"""course/record/: the gradebook (SQLite and PostgreSQL), grades.csv, the class report, the progress bar."""
