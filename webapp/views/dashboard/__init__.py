"""The researcher's dashboard, split by topic: ``studies`` (list, create, corpora, power
planner), ``texts`` (generation, review, preview), ``live`` (launch, lifecycle, monitor,
accuracy) and ``data`` (exports, judges, sharing, report, audit log). Every view requires
login and reaches its study through ``studies.access.access_study_by_user``."""
