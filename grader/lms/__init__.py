"""LMS downloads in, gradebook imports out.

download.py       which LMS a class download comes from, and its files regrouped per student
canvas.py         Canvas's bulk-download names: lastfirst_[LATE_]userid_attachmentid_file
moodle.py         Moodle's "download all submissions": Full Name_id_assignsubmission_file_/
students.py       a file that names students (extensions, times): the grader's id or the LMS id
canvas_export.py  the Canvas gradebook import CSV, built from the instructor's exported gradebook
moodle_export.py  the Moodle offline grading worksheet, filled
sheet.py          CSV cells a spreadsheet will not run (formula-looking text made inert)
"""
