//! `aviary-tests`: Cross-crate end-to-end tests.
