"""A submission as it arrives: a notebook alone, a folder holding it and its own files, or a zip.

    notebook.py   the notebook read once (bounded, any nbformat, sha256 of the same bytes): cells + problems
    values.py     what was received and what was refused (SubmittedFiles), as data
    names.py      a sent name made safe for the kernel's working folder, or the reason it is refused
    collect.py    the bounds: how many files, how many bytes, names that clash
    folder.py     the files beside a notebook in a folder
    archive.py    a zip: the notebook and its files, checked before anything is extracted
    opened.py     open_submission(): the one entry point, any of the three read once, with its assignment

This package imports nothing of itself here: notebook.py imports values.py.
"""
