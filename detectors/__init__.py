"""Machine detectors and shallow text features, scored on the texts exactly as judges see them.

A plain Python library: no Django. ``detectors.features`` holds the form and style features
that the pre-launch tell audit (``detectors.audit``) and the supervised feature detector share.
"""
