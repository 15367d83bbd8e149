"""`grader serve`: the instructor's desk (a service layer over the gradebook, its pages and its /api)."""
