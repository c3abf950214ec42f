//! `aviary-reports`: Mission summaries, analytics, PDF and CSV writers.
