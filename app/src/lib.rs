//! `aviary-app`: The Aviary desktop application and the `aviary` command line.
