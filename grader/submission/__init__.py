"""A submission as it arrives: a notebook alone, a folder holding it and its own files, or a zip.

    values.py     what was received and what was refused (SubmittedFiles), as data
    names.py      a sent name made safe for the kernel's working folder, or the reason it is refused
    collect.py    the bounds: how many files, how many bytes, names that clash
    folder.py     the files beside a notebook in a folder
    archive.py    a zip: the notebook and its files, checked before anything is extracted
    opened.py     open_submission(): any of the three, as a notebook path and a Submission

This package imports nothing of itself here: grader.notebook imports grader.submission.values.
"""
