"""What turns a verdict into the grade everything shows: adjustments, manual points, late penalties.

`final.final_grade` is the one pure function; the desk, grades.csv, results.json, the feedback
page, the class report and the LMS exports all show the number it returns. Questions a person
grades: questions.py ([manual.*] in assignment.toml), answers.py (each answer found and kept in
the verdict), manual.py (statuses, rubric arithmetic, `final_of`), gradestore.py and grading.py
(grades, rubric items and comments in the gradebook; the service the desk calls), release.py
(`grader release`).
"""
