//! `aviary-tests`: cross-crate end-to-end tests and the helper programs they drive (for
//! example `crash_writer`, a child process that the crash-safety test kills with SIGKILL).
//! Nothing here ships in the app; every other crate must not depend on this one.
