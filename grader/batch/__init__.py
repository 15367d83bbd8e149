"""A whole class: finding submissions, the tasks and where they run, the gradebook, the outputs."""
