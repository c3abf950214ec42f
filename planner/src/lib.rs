//! `aviary-planner`: Survey planning: patterns, camera math, estimates, validation, plan file formats.
