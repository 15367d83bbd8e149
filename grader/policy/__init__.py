"""What turns a verdict into the grade everything shows: adjustments, manual points, late penalties.

`final.final_grade` is the one pure function; the desk, grades.csv, results.json, the feedback
page, the class report and the LMS exports all show the number it returns.
"""
