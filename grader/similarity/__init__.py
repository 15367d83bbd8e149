"""Work shared between students: fingerprints of each submission's own code (fingerprint.py,
made with each verdict of a batch and kept in the gradebook, store.py), every pair of a class
compared (compare.py), and the pairs shown side by side with their evidence (view.py).

The numbers describe, they never accuse: "these two share 82% of their own code" (docs/similarity.md).
"""
