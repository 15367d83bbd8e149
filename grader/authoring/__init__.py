"""For instructors: the student notebook from the master (`grader assign`), a new assignment (`grader new`)."""
